//! The admin CLI's online `backup` and `restore`, run as the real binary against a real
//! server process over the same data directory.

use crate::support::{get_json, post_json, pull_all_from, push_to, receipts, Device, World};
use aisle_core::ids::{DeviceId, TenantId, WarehouseId};
use aisle_server::{Registry, SqliteRegistry};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_aisle-server");

/// Runs an admin command and returns its stdout, failing the test with its stderr.
fn admin(data: &Path, args: &[&str]) -> String {
    let output = Command::new(BIN)
        .arg("--data")
        .arg(data)
        .args(args)
        .output()
        .expect("the binary runs");
    assert!(
        output.status.success(),
        "aisle-server {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8")
}

/// A `serve` process; killed when dropped.
struct ServerProcess {
    child: Child,
    base: String,
}

impl ServerProcess {
    fn start(data: &Path) -> Self {
        let mut child = Command::new(BIN)
            .arg("--data")
            .arg(data)
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--max-open-tenants",
                "4",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the server starts");
        let addr = crate::support::listening_addr(&mut child);
        Self {
            child,
            base: format!("http://{addr}"),
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Adds a tenant with a warehouse `main` and returns an enrollment code for it.
fn tenant_with_code(data: &Path, name: &str) -> String {
    admin(data, &["tenant", "add", name]);
    admin(data, &["warehouse", "add", name, "main"]);
    admin(data, &["enroll-code", name, "main"])
        .trim()
        .to_owned()
}

async fn enrolled(http: &reqwest::Client, server: &ServerProcess, code: &str) -> Device {
    let (status, body) = post_json(
        http,
        &format!("{}/v1/enroll", server.base),
        None,
        &serde_json::json!({ "code": code, "device_name": "pc" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let id = |field: &str| body[field].as_str().expect(field).parse().expect(field);
    Device {
        tenant: TenantId::from_uuid(id("tenant")),
        warehouse: WarehouseId::from_uuid(id("warehouse")),
        device: DeviceId::from_uuid(id("device")),
        token: body["token"].as_str().expect("token").to_owned(),
    }
}

async fn push(http: &reqwest::Client, server: &ServerProcess, device: &Device, first: u64, n: u64) {
    let (status, body) = push_to(
        http,
        &server.base,
        device,
        device.tenant,
        &receipts(device, first, n),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

/// The tenant's total on hand, as the server at `base` serves it.
async fn on_hand(http: &reqwest::Client, base: &str, device: &Device) -> i64 {
    let (status, body) = get_json(
        http,
        &format!("{base}/v1/t/{}/stock", device.tenant),
        &device.token,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|row| row["on_hand"].as_i64().expect("on_hand"))
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_brings_back_exactly_the_backed_up_tenant_while_the_server_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let http = reqwest::Client::new();
    // The registry exists before the server starts, so the two processes never race to
    // create it.
    let acme_code = tenant_with_code(&data, "acme");
    let globex_code = tenant_with_code(&data, "globex");
    let server = ServerProcess::start(&data);
    let a = enrolled(&http, &server, &acme_code).await;
    let b = enrolled(&http, &server, &globex_code).await;

    push(&http, &server, &a, 1, 5).await;
    push(&http, &server, &b, 1, 3).await;
    let backup = dir.path().join("acme.backup");
    let said = admin(
        &data,
        &["backup", "acme", "--out", backup.to_str().expect("utf-8")],
    );
    assert!(
        said.contains("5 events"),
        "the backup reports what it copied: {said}"
    );
    let backed_up = pull_all_from(&http, &server.base, &a).await;

    push(&http, &server, &a, 100, 4).await;
    push(&http, &server, &b, 100, 2).await;
    let b_before = pull_all_from(&http, &server.base, &b).await;
    assert_eq!(pull_all_from(&http, &server.base, &a).await.len(), 9);
    assert_eq!(
        on_hand(&http, &server.base, &a).await,
        9,
        "the server is warm on acme"
    );

    let said = admin(
        &data,
        &[
            "restore",
            &a.tenant.to_string(),
            "--from",
            backup.to_str().expect("utf-8"),
        ],
    );
    assert!(said.contains("5 events"), "{said}");

    let restored = pull_all_from(&http, &server.base, &a).await;
    assert_eq!(
        restored, backed_up,
        "the running server serves exactly the backed-up events of acme"
    );
    assert_eq!(
        on_hand(&http, &server.base, &a).await,
        5,
        "and the backed-up projection, not a cached one"
    );
    assert_eq!(
        pull_all_from(&http, &server.base, &b).await,
        b_before,
        "globex is untouched"
    );
    push(&http, &server, &a, 200, 1).await;
    assert_eq!(
        on_hand(&http, &server.base, &a).await,
        6,
        "the restored tenant keeps taking pushes"
    );
}

#[test]
fn restore_refuses_another_tenants_backup_and_help_shows_examples() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    admin(&data, &["tenant", "add", "acme"]);
    admin(&data, &["tenant", "add", "globex"]);
    // A backup of acme needs acme's database; make one as a first server open would.
    let acme: TenantId = admin(&data, &["tenant", "list"])
        .lines()
        .find(|line| line.contains("acme"))
        .and_then(|line| line.split('\t').next())
        .expect("acme is listed")
        .parse()
        .expect("an id");
    let path = aisle_server::tenant_db_path(&data, acme);
    let mut conn = rusqlite::Connection::open(&path).expect("create");
    aisle_server::migrate::migrate_tenant(&mut conn).expect("migrate");
    let event = receipts(
        &Device {
            tenant: acme,
            warehouse: WarehouseId::from_uuid(uuid::Uuid::nil()),
            device: DeviceId::from_uuid(uuid::Uuid::nil()),
            token: String::new(),
        },
        1,
        1,
    )
    .remove(0);
    conn.execute(
        "INSERT INTO events (id, warehouse, device, hlc, kind, received_ms, payload) VALUES (?1, ?2, ?3, 1, 'received', 1, ?4)",
        (
            event.id.as_bytes(),
            event.warehouse.as_bytes(),
            event.device.as_bytes(),
            serde_json::to_string(&event).expect("json"),
        ),
    )
    .expect("insert");
    drop(conn);
    let backup = dir.path().join("acme.backup");
    admin(
        &data,
        &["backup", "acme", "--out", backup.to_str().expect("utf-8")],
    );

    let output = Command::new(BIN)
        .arg("--data")
        .arg(&data)
        .args([
            "restore",
            "globex",
            "--from",
            backup.to_str().expect("utf-8"),
        ])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success() && stderr.contains("another tenant"),
        "acme's backup is not restored into globex: {stderr}"
    );

    for command in ["backup", "restore"] {
        let help = admin(&data, &[command, "--help"]);
        assert!(
            help.contains("Example:")
                && help.contains(&format!(
                    "aisle-server --data /var/lib/aisle {command} acme"
                )),
            "{command} --help shows a real example: {help}"
        );
    }
}

/// Runs an admin command that must fail and returns its stderr.
fn admin_refused(data: &Path, args: &[&str]) -> String {
    let output = Command::new(BIN)
        .arg("--data")
        .arg(data)
        .args(args)
        .output()
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        !output.status.success(),
        "aisle-server {args:?} should have been refused; it said: {}{stderr}",
        String::from_utf8_lossy(&output.stdout)
    );
    stderr
}

/// A running server with tenants acme (5 units received on one stock key) and globex, and
/// a backup of acme taken by the CLI. The backup is a file stamped for acme, as every
/// backup of a file the server opened is.
async fn acme_backed_up() -> (World, Device, PathBuf) {
    let world = World::start(4).await;
    let (acme, main) = world.tenant("acme");
    world.tenant("globex");
    let a = world.enroll(acme, main, "pc").await;
    let (status, body) = world.push(&a, &receipts(&a, 1, 5)).await;
    assert_eq!(status, 200, "{body}");
    let backup = world.dir.path().join("acme.backup");
    admin(
        world.dir.path(),
        &["backup", "acme", "--out", backup.to_str().expect("utf-8")],
    );
    (world, a, backup)
}

/// Edits a backup file the way a damaged or tampered one would be.
fn tamper(backup: &Path, sql: &str) {
    let conn = rusqlite::Connection::open(backup).expect("open the backup");
    conn.execute_batch(sql).expect("tamper");
}

async fn push_more(world: &World, device: &Device, first: u64, n: u64) {
    let (status, body) = world.push(device, &receipts(device, first, n)).await;
    assert_eq!(status, 200, "{body}");
}

/// Regression: a backup whose index disagreed with its table passed `quick_check`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_refuses_a_backup_that_fails_the_full_integrity_check() {
    let (world, a, backup) = acme_backed_up().await;
    // The index's definition no longer matches the entries stored in it.
    tamper(
        &backup,
        "PRAGMA writable_schema = ON;
         UPDATE sqlite_schema SET sql = 'CREATE INDEX events_order ON events (device, hlc, id)'
             WHERE name = 'events_order';",
    );
    let quick: String = rusqlite::Connection::open(&backup)
        .expect("open")
        .query_row("PRAGMA quick_check", [], |row| row.get(0))
        .expect("quick_check");
    assert_eq!(quick, "ok", "the damage is one only the full check sees");
    push_more(&world, &a, 100, 2).await;

    let backup_arg = backup.to_str().expect("utf-8");
    let stderr = admin_refused(world.dir.path(), &["restore", "acme", "--from", backup_arg]);
    assert!(
        stderr.contains("integrity check failed") && stderr.contains("events_order"),
        "the refusal says the integrity check failed, and where: {stderr}"
    );
    assert_eq!(
        on_hand(&world.http, &world.url(""), &a).await,
        7,
        "nothing was restored"
    );
}

/// Regression: a backup with `key_states` dropped restored, and every push after it
/// answered 500.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_refuses_a_backup_missing_a_table_this_schema_needs() {
    let (world, a, backup) = acme_backed_up().await;
    tamper(&backup, "DROP TABLE key_states;");
    push_more(&world, &a, 100, 3).await;

    let backup_arg = backup.to_str().expect("utf-8");
    let stderr = admin_refused(world.dir.path(), &["restore", "acme", "--from", backup_arg]);
    assert!(
        stderr.contains("lacks what this build's schema has: table key_states"),
        "the refusal names the missing table: {stderr}"
    );
    let stderr = admin_refused(
        world.dir.path(),
        &["restore", "acme", "--from", backup_arg, "--repair"],
    );
    assert!(
        stderr.contains("table key_states"),
        "--repair rebuilds a projection, it does not invent a schema: {stderr}"
    );
    push_more(&world, &a, 200, 1).await;
    assert_eq!(
        on_hand(&world.http, &world.url(""), &a).await,
        9,
        "the live tenant was not touched and keeps taking pushes"
    );
}

/// Regression: a backup with edited stock totals was restored without a rebuild or a
/// comparison.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_refuses_tampered_stock_and_repair_restores_the_rebuilt_stock() {
    let (world, a, backup) = acme_backed_up().await;
    tamper(&backup, "UPDATE key_states SET on_hand = on_hand + 100;");
    let backup_bytes = std::fs::read(&backup).expect("read the backup");
    push_more(&world, &a, 100, 3).await;

    let backup_arg = backup.to_str().expect("utf-8");
    let stderr = admin_refused(world.dir.path(), &["restore", "acme", "--from", backup_arg]);
    assert!(
        stderr
            .contains("differs from a rebuild of its event log in 1 stock key (stock at warehouse")
            && stderr.contains("on hand 105 in the file, on hand 5 rebuilt")
            && stderr.contains("--repair"),
        "the refusal counts and names the differing key and says how to repair: {stderr}"
    );
    assert_eq!(
        on_hand(&world.http, &world.url(""), &a).await,
        8,
        "a refused restore touches nothing live"
    );

    let said = admin(
        world.dir.path(),
        &["restore", "acme", "--from", backup_arg, "--repair"],
    );
    assert!(
        said.contains("restored acme: 5 events") && said.contains("repaired 1 projection entries"),
        "the restore says what it repaired: {said}"
    );
    assert_eq!(
        on_hand(&world.http, &world.url(""), &a).await,
        5,
        "the rebuilt stock is live, not the edited 105"
    );
    assert_eq!(
        std::fs::read(&backup).expect("read the backup"),
        backup_bytes,
        "the checks and the repair worked on a copy; the backup file is as it was"
    );
    let leftovers: Vec<_> = std::fs::read_dir(world.dir.path().join("tenants"))
        .expect("tenants dir")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.contains(".restore-"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "the scratch copy is gone: {leftovers:?}"
    );
    push_more(&world, &a, 200, 1).await;
    assert_eq!(on_hand(&world.http, &world.url(""), &a).await, 6);
}

/// Regression: the backup of a tenant with no events, restored into another tenant, put the
/// first tenant's items and PIN hashes into the second; the tenant check only looked at
/// events.
#[test]
fn restore_refuses_a_backup_stamped_for_another_tenant_even_without_events() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    admin(&data, &["tenant", "add", "acme"]);
    admin(&data, &["tenant", "add", "globex"]);
    let users = dir.path().join("users.csv");
    std::fs::write(
        &users,
        "badge,name,role,pin,warehouses\nB-1,Ana,picker,482193,\n",
    )
    .expect("csv");
    admin(
        &data,
        &["import", "users", "acme", users.to_str().expect("utf-8")],
    );
    let backup = dir.path().join("acme.backup");
    let backup_arg = backup.to_str().expect("utf-8");
    admin(&data, &["backup", "acme", "--out", backup_arg]);
    let acme = SqliteRegistry::open(&aisle_server::registry_path(&data))
        .expect("registry")
        .resolve_tenant("acme")
        .expect("acme");

    for extra in [&[][..], &["--force-tenant"][..], &["--repair"][..]] {
        let mut args = vec!["restore", "globex", "--from", backup_arg];
        args.extend_from_slice(extra);
        let stderr = admin_refused(&data, &args);
        assert!(
            stderr.contains(&format!("it is stamped for tenant {acme}"))
                && stderr.contains("another tenant's backup"),
            "acme's backup is refused for globex with {extra:?}: {stderr}"
        );
    }
    let globex = aisle_server::tenant_db_path(
        &data,
        SqliteRegistry::open(&aisle_server::registry_path(&data))
            .expect("registry")
            .resolve_tenant("globex")
            .expect("globex"),
    );
    assert!(
        !globex.exists(),
        "globex got no file, let alone acme's users"
    );
}

/// A tenant file copied from another tenant (by hand, around `restore`) is refused when the
/// server opens it, instead of serving the other tenant's data.
#[test]
fn a_tenant_file_stamped_for_another_tenant_is_refused_when_opened() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    admin(&data, &["tenant", "add", "acme"]);
    admin(&data, &["tenant", "add", "globex"]);
    // Opening acme through the server's pools stamps its new file.
    admin(&data, &["export", "stock", "acme"]);
    let registry = SqliteRegistry::open(&aisle_server::registry_path(&data)).expect("registry");
    let acme = registry.resolve_tenant("acme").expect("acme");
    let globex = registry.resolve_tenant("globex").expect("globex");
    let backup = dir.path().join("acme.backup");
    admin(
        &data,
        &["backup", "acme", "--out", backup.to_str().expect("utf-8")],
    );
    std::fs::copy(&backup, aisle_server::tenant_db_path(&data, globex)).expect("copy");

    let stderr = admin_refused(&data, &["export", "stock", "globex"]);
    assert!(
        stderr.contains(&format!("stamped for tenant {acme}, not {globex}")),
        "the open names both tenants: {stderr}"
    );
    admin(&data, &["export", "stock", "acme"]);
}

/// A backup from before tenant files were stamped restores only on the operator's word,
/// which the security audit log keeps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_of_an_unstamped_backup_needs_force_tenant_and_is_audited() {
    let (world, a, backup) = acme_backed_up().await;
    // What a backup taken by a build of tenant schema 5 looks like.
    tamper(
        &backup,
        "DROP TABLE expected_lines; DROP TABLE expected_receipts;
         DROP INDEX events_received_by_receipt; DROP INDEX events_put_back_by_list;
         DROP TABLE pick_line_shorts; DROP TABLE erp_outbox; DROP TABLE pin_policy;
         DROP TABLE user_warehouses;
         DROP TABLE tenant_meta; PRAGMA user_version = 5;",
    );
    push_more(&world, &a, 100, 3).await;
    let audited = |world: &World| {
        world
            .registry
            .audit_log()
            .expect("audit log")
            .into_iter()
            .filter(|row| row.reason == "restore_forced_tenant")
            .collect::<Vec<_>>()
    };

    let backup_arg = backup.to_str().expect("utf-8");
    let stderr = admin_refused(world.dir.path(), &["restore", "acme", "--from", backup_arg]);
    assert!(
        stderr.contains("it has no tenant stamp") && stderr.contains("--force-tenant"),
        "the refusal says why and what to do: {stderr}"
    );
    assert!(audited(&world).is_empty(), "nothing was forced yet");
    assert_eq!(on_hand(&world.http, &world.url(""), &a).await, 8);

    let said = admin(
        world.dir.path(),
        &["restore", "acme", "--from", backup_arg, "--force-tenant"],
    );
    assert!(
        said.contains("restored acme: 5 events") && said.contains("no tenant stamp"),
        "{said}"
    );
    let rows = audited(&world);
    assert_eq!(
        rows.len(),
        1,
        "the forced restore is audited once: {rows:?}"
    );
    assert_eq!(rows[0].tenant, Some(a.tenant));
    assert!(
        rows[0].detail.contains("operator (admin CLI") && rows[0].detail.contains(backup_arg),
        "the audit row says who and which file: {}",
        rows[0].detail
    );
    let live = rusqlite::Connection::open(aisle_server::tenant_db_path(world.dir.path(), a.tenant))
        .expect("open the live file");
    let stamp: String = live
        .query_row(
            "SELECT value FROM tenant_meta WHERE name = 'tenant'",
            [],
            |row| row.get(0),
        )
        .expect("the restored file is stamped");
    assert_eq!(stamp, a.tenant.to_string());
    assert_eq!(on_hand(&world.http, &world.url(""), &a).await, 5);
    push_more(&world, &a, 200, 1).await;
    assert_eq!(
        on_hand(&world.http, &world.url(""), &a).await,
        6,
        "the restored tenant keeps taking pushes"
    );
}

/// The projection check must not refuse an honest backup: a tenant whose events opened
/// tasks and discrepancies, contested a pick list, waited on reviews and arrived out of
/// order (so the server decided and recorded resolutions) restores without `--repair`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_honest_backup_of_a_busy_tenant_restores_without_a_difference() {
    use aisle_core::event::{CountDecision, ReviewDecision};
    use aisle_core::testkit::{
        adjusted, claimed, count_requested, counted, key, moved, pick_list, picked, picked_on_line,
        received, reviewed, short_picked,
    };
    let world = World::start(4).await;
    let (acme, main) = world.tenant("acme");
    let a = world.enroll(acme, main, "dock").await;
    let b = world.enroll(acme, main, "aisle").await;
    let (shelf, bin, lot) = (key(1, 1, None), key(2, 2, None), key(3, 3, Some("L7")));
    let list = pick_list(1);
    let now = aisle_server::now_ms() as u64 - 120_000;
    let at = |device: &Device, serial: u64, offset: u64, body| {
        crate::support::event(device, serial, now + offset * 1_000, body)
    };
    let needs_review = at(&a, 5, 5, counted(&shelf, 3, 10, CountDecision::NeedsReview));
    let first = vec![
        at(&a, 1, 1, received(&shelf, 10)),
        at(&a, 2, 2, received(&lot, 4)),
        at(&a, 3, 3, picked(&bin, 2)),
        at(&a, 4, 4, claimed(list)),
        needs_review.clone(),
        at(&a, 6, 6, moved(&shelf, 9, 1)),
        at(&a, 7, 7, adjusted(&lot, -1)),
        at(&a, 8, 8, count_requested(&lot, "looks wrong")),
        at(&a, 9, 9, picked_on_line(&shelf, 2, list, 1, 5)),
    ];
    // b's events are older than some of a's and arrive after them.
    let second = vec![
        at(&b, 1, 2, claimed(list)),
        at(&b, 2, 3, short_picked(&shelf, list, 1)),
        at(&b, 3, 4, counted(&bin, 0, -2, CountDecision::SelfApproved)),
        at(
            &b,
            4,
            10,
            reviewed(needs_review.id, ReviewDecision::Rejected),
        ),
        at(&b, 5, 11, picked(&lot, 9)),
    ];
    for (device, events) in [(&a, &first), (&b, &second)] {
        let (status, body) = world.push(device, events).await;
        assert_eq!(status, 200, "{body}");
    }
    let open: (i64, i64, i64) =
        rusqlite::Connection::open(aisle_server::tenant_db_path(world.dir.path(), acme))
            .expect("open")
            .query_row(
                "SELECT (SELECT count(*) FROM tasks WHERE is_open = 1),
                (SELECT count(*) FROM discrepancies WHERE is_open = 1),
                (SELECT count(*) FROM events WHERE kind = 'resolved')",
                [],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .expect("counts");
    assert!(
        open.0 > 0 && open.1 > 0 && open.2 > 0,
        "the world has open tasks, discrepancies and resolutions to compare: {open:?}"
    );

    let backup = world.dir.path().join("acme.backup");
    let backup_arg = backup.to_str().expect("utf-8");
    admin(world.dir.path(), &["backup", "acme", "--out", backup_arg]);
    let said = admin(world.dir.path(), &["restore", "acme", "--from", backup_arg]);
    assert!(
        said.contains("restored acme") && !said.contains("repaired"),
        "an honest backup restores as it is: {said}"
    );
}
