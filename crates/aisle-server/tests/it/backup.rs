//! The admin CLI's online `backup` and `restore`, run as the real binary against a real
//! server process over the same data directory.

use crate::support::{get_json, post_json, pull_all_from, push_to, receipts, Device};
use aisle_core::ids::{DeviceId, TenantId, WarehouseId};
use std::io::{BufRead, BufReader};
use std::path::Path;
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
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the server prints its address");
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
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

async fn on_hand(http: &reqwest::Client, server: &ServerProcess, device: &Device) -> i64 {
    let (status, body) = get_json(
        http,
        &format!("{}/v1/t/{}/stock", server.base, device.tenant),
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
        on_hand(&http, &server, &a).await,
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
        on_hand(&http, &server, &a).await,
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
        on_hand(&http, &server, &a).await,
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
