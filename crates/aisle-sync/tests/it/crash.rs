//! The device process is killed with SIGKILL in the middle of a sync and started again:
//! nothing is lost and nothing is doubled.

use aisle_core::Hlc;
use aisle_server::{Registry, RunningServer, ServerConfig, SqliteRegistry};
use aisle_store::outbox::OutboxState;
use aisle_store::Store;
use aisle_sync::{KeyringTokenStore, TokenStore};
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const SERVICE: &str = "aisle-tests";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_sync_loses_nothing_and_doubles_nothing() {
    let server_dir = tempfile::tempdir().expect("tempdir");
    let server = RunningServer::start(ServerConfig::new(server_dir.path().to_owned(), 4))
        .await
        .expect("server");
    let registry =
        SqliteRegistry::open(&aisle_server::registry_path(server_dir.path())).expect("registry");
    let tenant = registry.add_tenant("acme", 1).expect("tenant");
    let warehouse = registry
        .add_warehouse(tenant, "main", 1)
        .expect("warehouse");
    let code = registry
        .create_enrollment_code(tenant, warehouse, 3_600_000, aisle_server::now_ms())
        .expect("code");
    let tokens = KeyringTokenStore::new(SERVICE);
    let profile_name = format!("crash-{}-{}", std::process::id(), aisle_server::now_ms());
    let device_dir = tempfile::tempdir().expect("tempdir");
    let db = device_dir.path().join("device.sqlite3");
    let binary = env!("CARGO_BIN_EXE_aisle-sync");
    // Enrolled headless by the binary, as IT enrols a PC: token and store key in the
    // keyring, the store created with its profile.
    let enroll = |code: &str| {
        Command::new(binary)
            .args(["enroll", "--server", &server.url(""), "--code", code])
            .args(["--profile", &profile_name, "--device-name", "crash"])
            .args(["--db", db.to_str().expect("utf-8 path")])
            .env("AISLE_KEYRING_SERVICE", SERVICE)
            .output()
            .expect("the binary runs")
    };
    let enrolled = enroll(&code);
    assert!(
        enrolled.status.success(),
        "enrolled: {}",
        String::from_utf8_lossy(&enrolled.stderr)
    );
    let key = aisle_sync::store_key::load(&tokens, &profile_name)
        .expect("keyring")
        .expect("the store key is in the keyring");
    let profile = {
        let store = Store::open_existing(&db, &key).expect("the enrolled store opens");
        aisle_sync::DeviceProfile::load_from(&store)
            .expect("profile")
            .expect("the profile is saved in the store")
    };
    assert_eq!((profile.tenant, profile.warehouse), (tenant, warehouse));
    // The same code again is refused, by name, with a failing exit.
    let again = Command::new(binary)
        .args(["enroll", "--server", &server.url(""), "--code", &code])
        .args(["--profile", "crash-again", "--db"])
        .arg(device_dir.path().join("again.sqlite3"))
        .env("AISLE_KEYRING_SERVICE", SERVICE)
        .output()
        .expect("the binary runs");
    let refusal = String::from_utf8_lossy(&again.stderr);
    assert!(!again.status.success(), "a used code fails: {refusal}");
    assert!(
        refusal.contains("already been used") || refusal.contains("code_used"),
        "the message says the code was used: {refusal}"
    );
    assert!(
        !device_dir.path().join("again.sqlite3").exists(),
        "a refused enrolment creates no store"
    );

    let stream = |count: u64| {
        Command::new(binary)
            .args([
                "stream",
                db.to_str().expect("utf-8 path"),
                &profile_name,
                &count.to_string(),
            ])
            .env("AISLE_KEYRING_SERVICE", SERVICE)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the binary starts")
    };
    let mut acked = BTreeSet::new();
    let mut child = stream(2_000);
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    while acked.len() < 400 {
        let line = lines.next().expect("the stream goes on").expect("a line");
        if let Some(serial) = line.strip_prefix("ack ") {
            acked.insert(serial.parse::<u64>().expect("serial"));
        }
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    for line in lines.map_while(Result::ok) {
        if let Some(serial) = line.strip_prefix("ack ") {
            acked.insert(serial.parse::<u64>().expect("serial"));
        }
    }
    let store = Store::open(&db, profile.store_profile(), &key).expect("reopens after the kill");
    let after_kill = store.outbox_rows().expect("outbox");
    assert!(
        after_kill.len() as u64 >= acked.len() as u64,
        "every acked event survived the kill"
    );
    assert!(
        after_kill
            .iter()
            .any(|row| row.state == OutboxState::Pending),
        "the kill landed before everything was sent (else this test proves little)"
    );

    let mut restarted = stream(100);
    let output = BufReader::new(restarted.stdout.take().expect("stdout"));
    let finished = output
        .lines()
        .map_while(Result::ok)
        .any(|line| line == "done");
    assert!(
        restarted.wait().expect("exit").success() && finished,
        "the restart drains everything"
    );

    let local = store.load_events().expect("events");
    let rows = store.outbox_rows().expect("outbox");
    assert!(
        rows.iter().all(|row| row.state == OutboxState::Sent),
        "all sent after the restart"
    );
    assert_eq!(
        rows.len(),
        local.len(),
        "every local event has its outbox row"
    );
    let token = tokens.load(&profile_name).expect("keyring").expect("token");
    let mut on_server = Vec::new();
    let mut after = 0;
    loop {
        let body: serde_json::Value = reqwest::Client::new()
            .get(server.url(&format!("/v1/t/{tenant}/events?after={after}&limit=5000")))
            .bearer_auth(token.expose())
            .send()
            .await
            .expect("pull")
            .json()
            .await
            .expect("json");
        let page = body["events"].as_array().expect("events").clone();
        if page.is_empty() {
            break;
        }
        on_server.extend(
            page.into_iter()
                .map(|entry| entry["event"]["id"].as_str().expect("id").to_owned()),
        );
        after = body["next"].as_u64().expect("next");
    }
    let server_ids: BTreeSet<_> = on_server.iter().cloned().collect();
    assert_eq!(
        on_server.len(),
        server_ids.len(),
        "nothing is doubled on the server"
    );
    let local_ids: BTreeSet<_> = local.iter().map(|event| event.id.to_string()).collect();
    assert_eq!(
        server_ids, local_ids,
        "nothing is lost: the server has exactly the device's events"
    );
    assert!(
        local.len() >= acked.len() + 100,
        "every acked event and the restart's are there"
    );
    let mut hlcs: Vec<Hlc> = local.iter().map(|event| event.hlc).collect();
    hlcs.dedup();
    assert_eq!(
        hlcs.len(),
        local.len(),
        "the restarted clock never reused a timestamp"
    );
    tokens.delete(&profile_name).expect("cleanup");
    aisle_sync::store_key::delete(&tokens, &profile_name).expect("cleanup");
}
