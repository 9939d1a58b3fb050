//! `aisle-server webhook …` with the real binary on a real registry: the URL checks an
//! operator meets (https only, nothing that resolves to loopback unless allowed, no unknown
//! message type), the secret printed once and stored, rotation with an overlap, and
//! disabling and enabling.

use aisle_server::{Registry, SqliteRegistry};
use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_aisle-server");

fn cli(data: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--data")
        .arg(data)
        .args(args)
        .env_remove("AISLE_CONFIG")
        .output()
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn an_operator_adds_lists_rotates_and_disables_a_webhook_and_unsafe_targets_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path();
    assert!(cli(data, &["tenant", "add", "acme"]).status.success());

    for (args, expected) in [
        (
            vec!["--url", "http://erp.example.com/hook"],
            "must be https",
        ),
        (
            vec!["--url", "https://localhost:9443/hook"],
            "a loopback address",
        ),
        (
            vec!["--url", "https://169.254.169.254/latest"],
            "link-local (cloud metadata)",
        ),
        (
            vec!["--url", "https://user:pw@erp.example.com/hook"],
            "user name or password",
        ),
        (
            vec![
                "--url",
                "http://127.0.0.1:9/hook",
                "--allow-http-loopback",
                "--event",
                "goods.recieved",
            ],
            "unknown message type \"goods.recieved\"",
        ),
    ] {
        let output = cli(data, &[&["webhook", "add", "acme"][..], &args].concat());
        let stderr = text(&output.stderr);
        assert!(!output.status.success(), "{args:?} is refused");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }

    let added = cli(
        data,
        &[
            "webhook",
            "add",
            "acme",
            "--url",
            "http://127.0.0.1:9/hook",
            "--allow-http-loopback",
            "--event",
            "goods.received",
        ],
    );
    assert!(added.status.success(), "{}", text(&added.stderr));
    let line = text(&added.stdout);
    let (id, secret) = line.trim().split_once('\t').expect("id and secret");
    assert!(secret.starts_with("whsec_"), "{line}");
    assert!(
        !text(&added.stderr).contains(secret),
        "the secret is on stdout only"
    );

    let registry = SqliteRegistry::open(&aisle_server::registry_path(data)).expect("registry");
    let hook: aisle_server::registry::WebhookId = id.parse().expect("id");
    let now = aisle_server::now_ms();
    let stored = registry.webhook_secrets(hook, now).expect("secrets");
    assert_eq!(
        stored
            .iter()
            .map(|secret| secret.expose())
            .collect::<Vec<_>>(),
        [secret],
        "the printed secret is the one that signs"
    );

    let listed = text(&cli(data, &["webhook", "list", "acme"]).stdout);
    assert_eq!(
        listed.trim(),
        format!("{id}\tenabled\tgoods.received\thttp://127.0.0.1:9/hook"),
        "listed, never with its secret"
    );

    let rotated = cli(data, &["webhook", "rotate", id, "--overlap-hours", "2"]);
    assert!(rotated.status.success(), "{}", text(&rotated.stderr));
    let new_secret = text(&rotated.stdout).trim().to_owned();
    assert!(new_secret.starts_with("whsec_") && new_secret != secret);
    let signing = registry
        .webhook_secrets(hook, aisle_server::now_ms())
        .expect("secrets");
    assert_eq!(
        signing
            .iter()
            .map(|secret| secret.expose())
            .collect::<Vec<_>>(),
        [new_secret.as_str(), secret],
        "both sign during the overlap, the new one first"
    );

    assert!(cli(
        data,
        &["webhook", "disable", id, "--reason", "erp maintenance"]
    )
    .status
    .success());
    let listed = text(&cli(data, &["webhook", "list", "acme"]).stdout);
    assert!(
        listed.contains("\tdisabled (erp maintenance)\t"),
        "{listed}"
    );
    assert!(cli(data, &["webhook", "enable", id]).status.success());
    assert!(text(&cli(data, &["webhook", "list", "acme"]).stdout).contains("\tenabled\t"));
    let unknown = cli(
        data,
        &["webhook", "enable", "0193a5c4-2222-7abc-8def-0123456789ab"],
    );
    assert!(!unknown.status.success() && text(&unknown.stderr).contains("no webhook"));
}
