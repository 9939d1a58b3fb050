//! The real `aisle-server`, in this process, on a fixed loopback port that survives a stop
//! and a restart (the data directory is kept), and the tenant the run works in: seeded the
//! way a tenant's IT would, through the registry and the ERP API.

use aisle_core::ids::{DeviceId, TenantId, WarehouseId};
use aisle_server::auth::Scope;
use aisle_server::{registry_path, Registry, ServerConfig, SqliteRegistry};
use aisle_store::master::PinHash;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a graceful stop may take before the server task is aborted.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// The users of the run: badge, name, role, PIN.
pub const PICKER: (&str, &str, &str, &str) = ("1001", "Pia Picker", "picker", "1234");
pub const MANAGER: (&str, &str, &str, &str) = ("9001", "Max Manager", "manager", "999999");

/// An item of the run: its SKU and the EAN on its box.
#[derive(Debug, Clone, Copy)]
pub struct TestItem {
    pub sku: &'static str,
    pub ean: &'static str,
}

pub const BOLT: TestItem = TestItem {
    sku: "BOLT-M6",
    ean: "4006381333931",
};
pub const NUT: TestItem = TestItem {
    sku: "NUT-M6",
    ean: "5901234123457",
};

/// The pick list of the run: one line, 3 bolts from A-01-01.
pub const PICK_LIST: &str = "SO-7001";
/// A second pick list, claimed on a second PC while the first one looks on.
pub const PICK_LIST_ELSEWHERE: &str = "SO-7002";
pub const PICK_LOCATION: &str = "A-01-01";
pub const PICK_QTY: i64 = 3;

/// A running (or stopped) server over one data directory.
#[derive(Debug)]
pub struct TestServer {
    data_dir: PathBuf,
    address: SocketAddr,
    running: Option<Running>,
}

#[derive(Debug)]
struct Running {
    shutdown: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl TestServer {
    /// Starts a server over `data_dir` on a free port of 127.0.0.1.
    pub async fn start(data_dir: &Path) -> TestServer {
        // The registry is made (migrated) here, before the server opens it too: two first
        // opens at once would both try to create its tables.
        drop(SqliteRegistry::open(&registry_path(data_dir)).expect("create the server's registry"));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a free loopback port for the server");
        let address = listener.local_addr().expect("the server's address");
        let mut server = TestServer {
            data_dir: data_dir.to_path_buf(),
            address,
            running: None,
        };
        server.serve(listener);
        server
    }

    /// Where the server keeps what it serves (its registry, tenants, release files).
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The base URL devices enroll with, ending in `/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.address)
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let config = ServerConfig::new(self.data_dir.clone(), 4);
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            aisle_server::serve(config, listener, async move {
                let _ = stopped.await;
            })
            .await
            .expect("the server runs until it is stopped");
        });
        self.running = Some(Running { shutdown, task });
    }

    /// Stops the server: no more connections on its port until [`TestServer::restart`].
    pub async fn stop(&mut self) {
        let running = self.running.take().expect("stop a running server");
        let _ = running.shutdown.send(());
        let abort = running.task.abort_handle();
        // A graceful stop waits for open requests; one that hangs must not hang the test.
        if tokio::time::timeout(STOP_TIMEOUT, running.task)
            .await
            .is_err()
        {
            abort.abort();
        }
    }

    /// Starts the server again on the same port over the same data.
    pub async fn restart(&mut self) {
        assert!(self.running.is_none(), "restart a stopped server");
        // The port was ours a moment ago; binding it again may briefly fail while the old
        // socket closes, so try for a bounded while.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        let listener = loop {
            match tokio::net::TcpListener::bind(self.address).await {
                Ok(listener) => break listener,
                Err(error) if tokio::time::Instant::now() < deadline => {
                    eprintln!("e2e: rebinding {} failed ({error}); retrying", self.address);
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(error) => panic!(
                    "cannot bind the server's port {} again: {error}",
                    self.address
                ),
            }
        };
        self.serve(listener);
    }

    fn registry(&self) -> SqliteRegistry {
        SqliteRegistry::open(&registry_path(&self.data_dir)).expect("open the server's registry")
    }

    /// Makes the tenant of the run: warehouse "main", an ERP API key, master data over the
    /// ERP API (items, locations, users with PIN hashes, one pick list), and an enrollment
    /// code for the PC.
    pub async fn seed(&self) -> Seeded {
        let registry = self.registry();
        let now = now_ms();
        let tenant = registry.add_tenant("e2e", now).expect("add the tenant");
        let warehouse = registry
            .add_warehouse(tenant, "main", now)
            .expect("add the warehouse");
        let key = registry
            .add_api_key(
                tenant,
                "e2e erp",
                &[Scope::MasterWrite, Scope::StockRead],
                now,
            )
            .expect("add the ERP API key");
        let enrollment_code = registry
            .create_enrollment_code(tenant, warehouse, 60 * 60 * 1000, now)
            .expect("make an enrollment code");
        let seeded = Seeded {
            base_url: self.url(),
            tenant,
            warehouse,
            api_key: key.key,
            enrollment_code,
        };
        let mut users = Vec::new();
        for (badge, name, role, pin) in [PICKER, MANAGER] {
            let hash = PinHash::new(pin).expect("hash a PIN");
            users.push(
                json!({ "badge": badge, "name": name, "role": role, "pin_hash": hash.as_phc(),
                    "warehouses": ["main"] }),
            );
        }
        let items: Vec<Value> = [
            (BOLT, "Hex bolt M6x30"),
            (NUT, "Hex nut M6"),
        ]
        .into_iter()
        .map(|(item, name)| {
            json!({ "sku": item.sku, "name": name, "barcodes": [{ "code": item.ean, "pack_qty": 1 }] })
        })
        .collect();
        let locations: Vec<Value> = [
            ("DOCK-1", "Inbound dock", 0),
            ("A-01-01", "Aisle A, bay 1, level 1", 10),
            ("A-01-02", "Aisle A, bay 1, level 2", 20),
        ]
        .into_iter()
        .map(|(code, name, walk_order)| {
            json!({ "warehouse": "main", "code": code, "name": name, "walk_order": walk_order })
        })
        .collect();
        let pick_lists = json!([
            { "warehouse": "main", "reference": PICK_LIST, "lines": [
                { "line": 1, "sku": BOLT.sku, "location": PICK_LOCATION, "qty": PICK_QTY } ] },
            { "warehouse": "main", "reference": PICK_LIST_ELSEWHERE, "lines": [
                { "line": 1, "sku": NUT.sku, "location": "A-01-02", "qty": 1 } ] },
        ]);
        for (collection, body) in [
            ("items", json!({ "items": items })),
            ("locations", json!({ "locations": locations })),
            ("users", json!({ "users": users })),
            ("pick_lists", json!({ "pick_lists": pick_lists })),
        ] {
            seeded.put_erp(collection, body).await;
        }
        seeded
    }
}

/// What the seeding made.
#[derive(Debug)]
pub struct Seeded {
    pub base_url: String,
    pub tenant: TenantId,
    pub warehouse: WarehouseId,
    pub api_key: String,
    /// A one-time code for the PC to enroll with.
    pub enrollment_code: String,
}

/// A second PC of the run's warehouse, enrolled over HTTP as the app enrolls.
#[derive(Debug)]
pub struct SecondPc {
    pub device: DeviceId,
    pub token: String,
}

impl TestServer {
    /// Enrolls another PC named `name` in the run's warehouse through `POST /v1/enroll`.
    pub async fn enroll_second_pc(&self, seeded: &Seeded, name: &str) -> SecondPc {
        let code = self
            .registry()
            .create_enrollment_code(seeded.tenant, seeded.warehouse, 60 * 60 * 1000, now_ms())
            .expect("make a second enrollment code");
        let answer = reqwest::Client::new()
            .post(format!("{}v1/enroll", seeded.base_url))
            .json(&json!({ "code": code, "device_name": name }))
            .send()
            .await
            .expect("reach the enrollment endpoint");
        let status = answer.status();
        let body: Value = answer.json().await.expect("the enrollment answer is JSON");
        assert!(status.is_success(), "enrolling {name}: {status} {body}");
        SecondPc {
            device: body["device"]
                .as_str()
                .and_then(|id| id.parse().ok())
                .expect("the enrollment answer names the device"),
            token: body["token"].as_str().expect("a token").to_owned(),
        }
    }
}

impl Seeded {
    fn erp_url(&self, collection: &str) -> String {
        format!("{}v1/t/{}/erp/{collection}", self.base_url, self.tenant)
    }

    /// Upserts `body` into the ERP collection `collection`, as the ERP does.
    pub async fn put_erp(&self, collection: &str, body: Value) {
        let answer = reqwest::Client::new()
            .put(self.erp_url(collection))
            .bearer_auth(&self.api_key)
            .json(&body)
            .send()
            .await
            .expect("reach the ERP API");
        let status = answer.status();
        let text = answer.text().await.unwrap_or_default();
        assert!(status.is_success(), "PUT erp/{collection}: {status} {text}");
    }

    /// Cancels the pick list `reference`, as the ERP does.
    pub async fn cancel_pick_list(&self, reference: &str) {
        let answer = reqwest::Client::new()
            .post(self.erp_url(&format!("pick_lists/{reference}/cancel")))
            .bearer_auth(&self.api_key)
            .send()
            .await
            .expect("reach the ERP API");
        let status = answer.status();
        let text = answer.text().await.unwrap_or_default();
        assert!(status.is_success(), "cancel {reference}: {status} {text}");
    }

    /// The server's on-hand of every (location code, SKU), read over the ERP stock API.
    pub async fn stock(&self) -> Vec<(String, String, i64)> {
        let answer = reqwest::Client::new()
            .get(format!("{}?warehouse=main", self.erp_url("stock")))
            .bearer_auth(&self.api_key)
            .send()
            .await
            .expect("reach the ERP stock API");
        let status = answer.status();
        let body: Value = answer.json().await.expect("the stock answer is JSON");
        assert!(status.is_success(), "GET erp/stock: {status} {body}");
        let mut rows: Vec<(String, String, i64)> = body["rows"]
            .as_array()
            .expect("the stock answer has rows")
            .iter()
            .map(|row| {
                (
                    row["location_code"].as_str().unwrap_or("?").to_string(),
                    row["sku"].as_str().unwrap_or("?").to_string(),
                    row["on_hand"].as_i64().expect("on_hand is a number"),
                )
            })
            .collect();
        rows.sort();
        rows
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as i64)
}
