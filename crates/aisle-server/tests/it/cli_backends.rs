//! The admin CLI's backend flags, run as the real `aisle-server` binary: `--database URL`
//! works on the PostgreSQL registry (a real cluster from aisle-pgtest), neither flag nor
//! both is refused before anything is opened, and what the PostgreSQL backend cannot do yet
//! answers `not yet for PostgreSQL: …`. `--data DIR` is what every other CLI test runs.

use aisle_pgtest::PgCluster;
use aisle_server::pg::registry::PgRegistry;
use std::process::Output;

fn run(args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_aisle-server"))
        .args(args)
        .env_remove("AISLE_DATA_DIR")
        .env_remove("AISLE_DATABASE")
        .output()
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs a command against the PostgreSQL registry at `url` that must succeed; its stdout.
fn ok(url: &str, args: &[&str]) -> String {
    let output = run(&[&["--database", url][..], args].concat());
    assert!(
        output.status.success(),
        "`{}` succeeds: {}",
        args.join(" "),
        text(&output.stderr)
    );
    text(&output.stdout)
}

/// A cluster with an `aisle_registry` database, migrated, with the cluster itself
/// registered as the one tenant databases go to.
fn registry_cluster() -> (PgCluster, String) {
    let cluster = PgCluster::start().expect("a test cluster starts");
    cluster
        .create_database("aisle_registry")
        .expect("registry database");
    let url = cluster.url("aisle_registry");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let registry = PgRegistry::connect(&url, runtime.handle().clone()).expect("registry");
    registry
        .add_cluster("main", &cluster.base_url(), None, 1)
        .expect("tenant cluster");
    (cluster, url)
}

#[test]
fn admin_commands_on_database_work_on_the_postgresql_registry() {
    let (_cluster, url) = registry_cluster();
    let tenant = ok(&url, &["tenant", "add", "acme"]);
    ok(&url, &["warehouse", "add", "acme", "north-dc"]);
    let code = ok(&url, &["enroll-code", "acme", "north-dc"]);
    assert!(!code.trim().is_empty(), "an enrollment code is printed");
    let listed = ok(&url, &["tenant", "list"]);
    assert!(
        listed.contains(tenant.trim()) && listed.contains("acme"),
        "the tenant added through --database is listed through it: {listed}"
    );
    ok(
        &url,
        &[
            "api-key",
            "add",
            "acme",
            "--scope",
            "stock:read",
            "--name",
            "erp",
        ],
    );
    assert!(
        ok(&url, &["api-key", "list", "acme"]).contains("erp"),
        "the key is listed"
    );
    ok(&url, &["audit", "verify"]);

    // The same registry, opened in-process: the CLI wrote to PostgreSQL, not to files.
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let registry = PgRegistry::connect(&url, runtime.handle().clone()).expect("registry");
    let acme = registry
        .resolve_tenant("acme")
        .expect("acme is in the registry");
    assert_eq!(acme.to_string(), tenant.trim());
    assert_eq!(
        registry.list_warehouses(acme).expect("warehouses").len(),
        1,
        "north-dc is in the registry"
    );
}

#[test]
fn neither_or_both_backend_flags_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().to_str().expect("utf-8 path");
    for (args, says) in [
        (&["tenant", "list"][..], "give --data DIR"),
        (
            &[
                "--data",
                data,
                "tenant",
                "list",
                "--database",
                "postgres://aisle@127.0.0.1:1/aisle_registry",
            ][..],
            "not both",
        ),
    ] {
        let output = run(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}: a usage error");
        assert!(
            text(&output.stderr).contains(says),
            "{args:?}: {}",
            text(&output.stderr)
        );
    }
    assert!(
        std::fs::read_dir(dir.path()).expect("dir").next().is_none(),
        "a refused command creates no registry"
    );
}

#[test]
fn what_postgresql_cannot_do_yet_is_answered_without_connecting() {
    // Nothing listens on port 1: a command that tried to connect would fail differently.
    let url = "postgres://aisle@127.0.0.1:1/aisle_registry";
    for args in [
        &["import", "items", "acme", "items.csv"][..],
        &["export", "stock", "acme"],
    ] {
        let output = run(&[&["--database", url][..], args].concat());
        assert!(!output.status.success(), "{args:?} is refused");
        assert!(
            text(&output.stderr).contains("not yet for PostgreSQL: "),
            "{args:?}: {}",
            text(&output.stderr)
        );
        assert!(
            !text(&output.stdout).contains("listening"),
            "{args:?}: nothing is served"
        );
    }
}

#[test]
fn serve_on_database_enrolls_a_device_through_the_postgresql_registry() {
    use std::io::{BufRead, BufReader};
    let (_cluster, url) = registry_cluster();
    ok(&url, &["tenant", "add", "acme"]);
    ok(&url, &["warehouse", "add", "acme", "north-dc"]);
    let code = ok(&url, &["enroll-code", "acme", "north-dc"]);
    let mut server = std::process::Command::new(env!("CARGO_BIN_EXE_aisle-server"))
        .args(["serve", "--listen", "127.0.0.1:0", "--database", &url])
        .env_remove("AISLE_DATA_DIR")
        .env_remove("AISLE_DATABASE")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the server starts");
    let mut line = String::new();
    BufReader::new(server.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("the server says where it listens");
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("a listening line: {line:?}"))
        .to_owned();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (ready, enrolled) = runtime.block_on(async {
        let client = reqwest::Client::new();
        let ready = client
            .get(format!("http://{addr}/readyz"))
            .send()
            .await
            .expect("readyz answers")
            .status();
        let enrolled = client
            .post(format!("http://{addr}/v1/enroll"))
            .json(&serde_json::json!({ "code": code.trim(), "device_name": "pc-1" }))
            .send()
            .await
            .expect("enroll answers");
        (ready, enrolled.status())
    });
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(
        ready,
        reqwest::StatusCode::OK,
        "the PostgreSQL registry answers"
    );
    assert_eq!(
        enrolled,
        reqwest::StatusCode::OK,
        "a code made by the CLI on PostgreSQL enrolls a device on the PostgreSQL server"
    );
    let listed = ok(&url, &["device", "list", "acme"]);
    assert!(
        listed.contains("pc-1"),
        "the device is in the registry: {listed}"
    );
}
