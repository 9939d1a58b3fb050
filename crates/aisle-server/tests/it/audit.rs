//! The security audit log is bounded and tamper-evident: a flood of refused requests
//! coalesces into a handful of bounded rows, `audit verify` finds a tampered row,
//! `audit prune --before` and the server's row cap remove only a prefix and record it.
//!
//! Regression: "the security audit log is an amplifier": one valid token looping on
//! `GET /v1/t/<30 KB>/events` grew `registry.sqlite3` by 253 MB in 5 s, one row per request.

use crate::support::World;
use aisle_core::ids::DeviceId;
use aisle_server::registry::{AuditRow, AUDIT_TEXT_MAX_CHARS};
use aisle_server::{Registry, RunningServer, ServerConfig, SqliteRegistry};
use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_aisle-server");

fn cli(data: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--data")
        .arg(data)
        .args(args)
        .output()
        .expect("the binary runs")
}

fn stdout_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The bytes of the registry and its write-ahead log.
fn registry_bytes(data: &Path) -> u64 {
    ["registry.sqlite3", "registry.sqlite3-wal"]
        .iter()
        .filter_map(|name| std::fs::metadata(data.join(name)).ok())
        .map(|metadata| metadata.len())
        .sum()
}

fn refusal(device: DeviceId, reason: &str, detail: &str) -> AuditRow {
    AuditRow {
        tenant: None,
        warehouse: None,
        device: Some(device),
        reason: reason.to_owned(),
        detail: detail.to_owned(),
    }
}

/// A registry with `n` rows, one a minute from 2020-01-01, each from its own device.
fn registry_with_rows(dir: &Path, n: i64) -> SqliteRegistry {
    let registry = SqliteRegistry::open(&aisle_server::registry_path(dir)).expect("registry");
    let start_ms = 1_577_836_800_000; // 2020-01-01T00:00:00Z
    for index in 0..n {
        let device = DeviceId::new_v7(1, [index as u8; 10]);
        registry
            .audit(
                &refusal(device, "tenant_mismatch", &format!("refusal {index}")),
                start_ms + index * 60_000,
            )
            .expect("audit");
    }
    registry
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_refused_requests_with_a_30_kb_path_coalesces_into_bounded_rows() {
    // Rate limits off: this floods on purpose to see every refusal reach the audit log.
    let world = World::start_with(4, |config| {
        config.limits.per_address_per_sec = 0;
        config.limits.per_tenant_per_sec = 0;
    })
    .await;
    let (tenant, warehouse) = world.tenant("acme");
    let device = world.enroll(tenant, warehouse, "pc-1").await;
    let bytes_before = registry_bytes(world.dir.path());
    let main_file_before = std::fs::metadata(aisle_server::registry_path(world.dir.path()))
        .map_or(0, |metadata| metadata.len());
    let url = world.url(&format!("/v1/t/{}/events", "x".repeat(30_000)));
    let n_requests = 2_000;
    for _ in 0..n_requests {
        let status = world
            .http
            .get(&url)
            .bearer_auth(&device.token)
            .send()
            .await
            .expect("answered")
            .status();
        assert_eq!(status, 403, "a path naming another tenant is refused");
    }
    let entries = world.registry.audit_entries(None).expect("entries");
    let flood: Vec<_> = entries
        .iter()
        .filter(|entry| entry.device == Some(device.device))
        .collect();
    assert!(
        (1..=3).contains(&flood.len()),
        "one row per (source, reason, minute), whatever the request rate: {} rows",
        flood.len()
    );
    assert_eq!(
        flood.iter().map(|entry| entry.count).sum::<i64>(),
        n_requests,
        "every refusal is counted"
    );
    for entry in &flood {
        assert!(
            entry.detail.chars().count() <= AUDIT_TEXT_MAX_CHARS,
            "the stored detail is bounded: {} characters",
            entry.detail.chars().count()
        );
        assert!(entry.last_seen_ms >= entry.first_seen_ms);
    }
    let grown = registry_bytes(world.dir.path()).saturating_sub(bytes_before);
    eprintln!(
        "{n_requests} refused 30 KB requests grew the registry (with its WAL) by {grown} bytes, \
         the file itself by {} bytes",
        std::fs::metadata(aisle_server::registry_path(world.dir.path())).map_or(0, |m| m.len())
            as i64
            - main_file_before as i64
    );
    assert!(
        grown < 16 << 20,
        "the registry grows by kilobytes, not by the 60 MB the requests carried: {grown} bytes"
    );

    // A revoked token looping on the same request coalesces the same way.
    assert!(world
        .registry
        .revoke_device(device.device, aisle_server::now_ms())
        .expect("revoke"));
    for _ in 0..200 {
        let status = world
            .http
            .get(&url)
            .bearer_auth(&device.token)
            .send()
            .await
            .expect("answered")
            .status();
        assert_eq!(status, 401, "a revoked token is refused");
    }
    let revoked: Vec<_> = world
        .registry
        .audit_entries(None)
        .expect("entries")
        .into_iter()
        .filter(|entry| entry.reason == "revoked_token")
        .collect();
    assert!((1..=2).contains(&revoked.len()), "{} rows", revoked.len());
    assert_eq!(revoked.iter().map(|entry| entry.count).sum::<i64>(), 200);
    assert!(revoked
        .iter()
        .all(|entry| entry.detail.chars().count() <= AUDIT_TEXT_MAX_CHARS));
}

#[test]
fn verify_passes_on_an_untouched_log_and_names_an_updated_row() {
    let dir = tempfile::tempdir().expect("tempdir");
    drop(registry_with_rows(dir.path(), 5));
    let output = cli(dir.path(), &["audit", "verify"]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(
        stdout_of(&output).starts_with("ok: 5 rows"),
        "{}",
        stdout_of(&output)
    );

    let conn = rusqlite::Connection::open(aisle_server::registry_path(dir.path())).expect("open");
    let changed = conn
        .execute(
            "UPDATE security_audit SET detail = 'nothing happened' WHERE id = 3",
            [],
        )
        .expect("a direct UPDATE is possible: no trigger stands in the way");
    assert_eq!(changed, 1);
    let output = cli(dir.path(), &["audit", "verify"]);
    assert!(!output.status.success(), "a changed row breaks the chain");
    assert!(
        stderr_of(&output).contains("row 3:"),
        "verify names the changed row: {}",
        stderr_of(&output)
    );
}

#[test]
fn verify_names_the_row_after_a_deleted_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    drop(registry_with_rows(dir.path(), 5));
    let conn = rusqlite::Connection::open(aisle_server::registry_path(dir.path())).expect("open");
    conn.execute("DELETE FROM security_audit WHERE id = 3", [])
        .expect("a direct DELETE");
    let output = cli(dir.path(), &["audit", "verify"]);
    assert!(!output.status.success(), "a removed row breaks the chain");
    assert!(
        stderr_of(&output).contains("row 4:"),
        "verify names the row after the gap: {}",
        stderr_of(&output)
    );

    conn.execute("DELETE FROM security_audit WHERE id >= 4", [])
        .expect("a direct DELETE of the newest rows");
    let output = cli(dir.path(), &["audit", "verify"]);
    assert!(
        !output.status.success(),
        "a cut tail does not match the chain's head either: {}",
        stdout_of(&output)
    );
}

#[test]
fn prune_before_a_date_removes_the_old_rows_records_it_and_verifies() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Six rows from 2020, then two from 2021.
    let registry = registry_with_rows(dir.path(), 6);
    let device = DeviceId::new_v7(2, [99; 10]);
    for (index, at_ms) in [(0, 1_609_459_200_000), (1, 1_609_459_260_000)] {
        registry
            .audit(
                &refusal(device, "revoked_token", &format!("2021 refusal {index}")),
                at_ms,
            )
            .expect("audit");
    }
    drop(registry);

    let output = cli(dir.path(), &["audit", "prune", "--before", "2021-01-01"]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(
        stdout_of(&output).starts_with("removed 6 rows"),
        "{}",
        stdout_of(&output)
    );

    let registry =
        SqliteRegistry::open(&aisle_server::registry_path(dir.path())).expect("registry");
    let entries = registry.audit_entries(None).expect("entries");
    let reasons: Vec<&str> = entries.iter().map(|entry| entry.reason.as_str()).collect();
    assert_eq!(
        reasons,
        ["revoked_token", "revoked_token", "audit_pruned"],
        "the 2020 rows are gone, the 2021 rows stay, and the prune is recorded"
    );
    let record = &entries[2];
    assert!(
        record.detail.contains("removed 6 rows") && record.detail.contains("2021-01-01"),
        "the record says what was removed and why: {}",
        record.detail
    );
    let output = cli(dir.path(), &["audit", "verify"]);
    assert!(
        output.status.success(),
        "the chain verifies from its new anchor: {}",
        stderr_of(&output)
    );
    let listed = stdout_of(&cli(dir.path(), &["audit", "list", "--limit", "2"]));
    assert_eq!(listed.lines().count(), 2, "{listed}");
    assert!(listed.contains("audit_pruned"), "{listed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_keeps_the_log_within_its_row_cap() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = ServerConfig::new(dir.path().to_owned(), 4);
    config.audit_max_rows = 5;
    let server = RunningServer::start(config).await.expect("server");
    let registry =
        SqliteRegistry::open(&aisle_server::registry_path(dir.path())).expect("registry");
    let world = World {
        dir,
        server,
        registry,
        http: reqwest::Client::new(),
    };
    let (tenant, warehouse) = world.tenant("acme");
    let (other_tenant, _) = world.tenant("globex");
    // Twelve devices each refused once: twelve sources, so nothing coalesces.
    for index in 0..12 {
        let device = world
            .enroll(tenant, warehouse, &format!("pc-{index}"))
            .await;
        let (status, body) = crate::support::get_json(
            &world.http,
            &world.url(&format!("/v1/t/{other_tenant}/events")),
            &device.token,
        )
        .await;
        assert_eq!(status, 403, "{body}");
        let n_rows = world.registry.audit_entries(None).expect("entries").len();
        assert!(n_rows <= 5, "the log holds at most its cap: {n_rows} rows");
    }
    let entries = world.registry.audit_entries(None).expect("entries");
    assert!(
        entries.iter().any(|entry| entry.reason == "audit_capped"),
        "the server's prune is recorded in the log: {entries:?}"
    );
    assert!(
        entries
            .iter()
            .any(|entry| entry.reason == "tenant_mismatch"),
        "the newest refusals are kept: {entries:?}"
    );
    world
        .registry
        .verify_audit()
        .expect("db")
        .expect("the chain verifies after the server pruned it");
}
