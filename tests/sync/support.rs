//! Shared setup for the end-to-end sync tests: a real server on port 0, devices enrolled
//! through the real `POST /v1/enroll` with their tokens in the real OS keyring, real SQLite
//! files, and a fault-injecting TCP proxy to put between a device and the server.

use aisle_core::event::{EventBody, EventVersion};
use aisle_core::ids::{EventId, TenantId, UserId, WarehouseId};
use aisle_core::stock::memory::Snapshot;
use aisle_core::stock::{CountTask, Discrepancy, StockKey};
use aisle_core::{Event, Hlc, Lot};
use aisle_server::{Registry, RunningServer, ServerConfig, SqliteRegistry};
use aisle_store::Store;
use aisle_sync::enroll::EnrollForm;
use aisle_sync::{
    DeviceClock, DeviceProfile, Engine, KeyringTokenStore, SharedClock, SyncConfig, TokenStore,
};
use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The keyring service the tests use, so they never touch a real Aisle entry.
pub const KEYRING_SERVICE: &str = "aisle-tests";

/// A server with one tenant and warehouse, and a directory for device files.
pub struct World {
    /// The server's data directory, which lives as long as the world.
    server_dir: tempfile::TempDir,
    pub devices_dir: tempfile::TempDir,
    pub server: RunningServer,
    pub registry: SqliteRegistry,
    pub tenant: TenantId,
    pub warehouse: WarehouseId,
}

impl World {
    pub async fn start() -> World {
        let server_dir = tempfile::tempdir().expect("tempdir");
        let server = RunningServer::start(ServerConfig::new(server_dir.path().to_owned(), 8))
            .await
            .expect("server starts");
        let registry = SqliteRegistry::open(&aisle_server::registry_path(server_dir.path()))
            .expect("registry opens");
        let tenant = registry.add_tenant("acme", 1).expect("tenant");
        let warehouse = registry
            .add_warehouse(tenant, "main", 1)
            .expect("warehouse");
        World {
            server_dir,
            devices_dir: tempfile::tempdir().expect("tempdir"),
            server,
            registry,
            tenant,
            warehouse,
        }
    }

    pub fn url(&self) -> String {
        self.server.url("")
    }

    /// The server's data directory, for the admin CLI's operations (backup, restore).
    pub fn data_dir(&self) -> &std::path::Path {
        self.server_dir.path()
    }

    /// Enrolls a device (through `server_url`, the server's own when `None`) and opens its
    /// store and engine.
    pub async fn device(&self, name: &str, server_url: Option<&str>, config: SyncConfig) -> Device {
        let code = self
            .registry
            .create_enrollment_code(
                self.tenant,
                self.warehouse,
                3_600_000,
                aisle_server::now_ms(),
            )
            .expect("enrollment code");
        let profile_name = unique_profile(name);
        let tokens = KeyringTokenStore::new(KEYRING_SERVICE);
        let url = server_url.map_or_else(|| self.url(), str::to_owned);
        let profile = aisle_sync::enroll(
            &EnrollForm {
                server_url: &url,
                code: &code,
                device_name: name,
                profile_name: &profile_name,
                allow_insecure_http: false,
            },
            &tokens,
            &config,
        )
        .await
        .expect("enrollment succeeds");
        let db_path = profile
            .store_profile()
            .database_path(self.devices_dir.path());
        let db_path = db_path.with_file_name(format!(
            "{name}-{}",
            db_path.file_name().unwrap().to_string_lossy()
        ));
        // The store key goes to the real keyring next to the token, as the desktop keeps it.
        let key = aisle_sync::store_key::load_or_create(&tokens, &profile.name, &db_path)
            .expect("store key");
        let recorder = Store::open(&db_path, profile.store_profile(), &key).expect("store opens");
        profile.save_to(&recorder).expect("profile saved");
        let clock = DeviceClock::new(Hlc::default(), config.clock_warn_threshold_ms).shared();
        let engine = Engine::with_token_store(
            Store::open(&db_path, profile.store_profile(), &key).expect("second connection"),
            &profile,
            &tokens,
            config,
            clock.clone(),
        )
        .expect("engine");
        Device {
            profile,
            db_path,
            recorder,
            clock,
            engine: Some(engine),
            serial: 0,
        }
    }

    /// The server's view of the warehouse, through `GET /stock` with `device`'s token.
    pub async fn server_view(&self, device: &Device) -> View {
        let token = KeyringTokenStore::new(KEYRING_SERVICE)
            .load(&device.profile.name)
            .expect("keyring")
            .expect("token");
        let response = reqwest::Client::new()
            .get(self.server.url(&format!("/v1/t/{}/stock", self.tenant)))
            .bearer_auth(token.expose())
            .send()
            .await
            .expect("stock answered");
        assert_eq!(response.status(), 200, "the stock view is served");
        let body: serde_json::Value = response.json().await.expect("json");
        let mut on_hand = BTreeMap::new();
        for row in body["rows"].as_array().expect("rows") {
            let qty = row["on_hand"].as_i64().expect("on_hand");
            if qty != 0 {
                let key = StockKey {
                    warehouse: self.warehouse,
                    location: row["location"].as_str().unwrap().parse().unwrap(),
                    item: row["item"].as_str().unwrap().parse().unwrap(),
                    lot: row["lot"].as_str().map(Lot::new),
                };
                on_hand.insert(key, qty);
            }
        }
        let discrepancies: Vec<Discrepancy> =
            serde_json::from_value(body["discrepancies"].clone()).expect("discrepancies");
        View {
            on_hand,
            discrepancies: discrepancies
                .into_iter()
                .map(|d| (d.id.clone(), d))
                .collect(),
            tasks: None,
        }
    }

    /// Every event the server holds for the warehouse, through `GET /events` with
    /// `device`'s token, in seq order.
    pub async fn server_events(&self, device: &Device) -> Vec<Event> {
        let token = KeyringTokenStore::new(KEYRING_SERVICE)
            .load(&device.profile.name)
            .expect("keyring")
            .expect("token");
        let http = reqwest::Client::new();
        let (mut after, mut events) = (0u64, Vec::new());
        loop {
            let response = http
                .get(self.server.url(&format!(
                    "/v1/t/{}/events?after={after}&limit=5000",
                    self.tenant
                )))
                .bearer_auth(token.expose())
                .send()
                .await
                .expect("pull answered");
            assert_eq!(response.status(), 200, "the pull is served");
            let body: serde_json::Value = response.json().await.expect("json");
            let page = body["events"].as_array().expect("events");
            if page.is_empty() {
                return events;
            }
            for entry in page {
                events.push(serde_json::from_value(entry["event"].clone()).expect("an event"));
            }
            after = body["next"].as_u64().expect("next");
        }
    }
}

/// Stock and what needs a person, comparable across replicas (zero stock is no stock).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    pub on_hand: BTreeMap<StockKey, i64>,
    pub discrepancies: BTreeMap<String, Discrepancy>,
    /// Only devices expose their tasks.
    pub tasks: Option<BTreeMap<aisle_core::ids::TaskId, CountTask>>,
}

impl View {
    pub fn from_snapshot(snapshot: Snapshot) -> View {
        View {
            on_hand: snapshot
                .on_hand
                .into_iter()
                .filter(|(_, qty)| *qty != 0)
                .collect(),
            discrepancies: snapshot.discrepancies,
            tasks: Some(snapshot.tasks),
        }
    }

    /// The same view without tasks, to compare with the server's.
    pub fn without_tasks(&self) -> View {
        View {
            tasks: None,
            ..self.clone()
        }
    }
}

/// An enrolled device: its own store connection for recording, and its engine.
pub struct Device {
    pub profile: DeviceProfile,
    pub db_path: PathBuf,
    pub recorder: Store,
    pub clock: SharedClock,
    pub engine: Option<Engine>,
    serial: u64,
}

impl Device {
    pub fn engine(&mut self) -> &mut Engine {
        self.engine
            .as_mut()
            .expect("the engine is not running in the background")
    }

    /// Records a local event stamped by the device clock, as the app does.
    pub fn record(&mut self, body: EventBody) -> Event {
        self.serial += 1;
        let stamp = self
            .clock
            .lock()
            .expect("clock")
            .stamp(aisle_sync::system_now_ms());
        let mut random = [0u8; 10];
        random[..8].copy_from_slice(&self.serial.to_be_bytes());
        random[8..].copy_from_slice(&self.profile.device.as_bytes()[14..]);
        let event = Event {
            v: EventVersion::CURRENT,
            id: EventId::new_v7(stamp.hlc.wall_ms, random),
            tenant: self.profile.tenant,
            warehouse: self.profile.warehouse,
            device: self.profile.device,
            user: user_of(&self.profile),
            hlc: stamp.hlc,
            clock_correction_ms: stamp.clock_correction_ms,
            replaces: None,
            body,
        };
        self.recorder.record(&event).expect("recorded");
        event
    }

    pub fn view(&self) -> View {
        View::from_snapshot(self.recorder.snapshot().expect("snapshot"))
    }

    /// Stops the engine and starts another over a new connection with `config`, as the app
    /// does when it starts again (after an update, say).
    pub fn restart_engine(&mut self, config: SyncConfig) {
        drop(self.engine.take());
        let tokens = KeyringTokenStore::new(KEYRING_SERVICE);
        let key = aisle_sync::store_key::load_or_create(&tokens, &self.profile.name, &self.db_path)
            .expect("store key");
        let store =
            Store::open(&self.db_path, self.profile.store_profile(), &key).expect("store opens");
        self.engine = Some(
            Engine::with_token_store(store, &self.profile, &tokens, config, self.clock.clone())
                .expect("engine"),
        );
    }

    pub fn on_hand(&self, key: &StockKey) -> i64 {
        self.recorder.on_hand(key).expect("on hand")
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        let _ = KeyringTokenStore::new(KEYRING_SERVICE).delete(&self.profile.name);
        let _ = aisle_sync::store_key::delete(
            &KeyringTokenStore::new(KEYRING_SERVICE),
            &self.profile.name,
        );
    }
}

/// The user working on a device (one per device in these tests).
pub fn user_of(profile: &DeviceProfile) -> UserId {
    UserId::new_v7(
        1,
        profile.device.as_bytes()[6..].try_into().expect("10 bytes"),
    )
}

/// A stock key in the world's warehouse.
pub fn key(world: &World, location_n: u16, item_n: u16) -> StockKey {
    StockKey {
        warehouse: world.warehouse,
        ..aisle_core::testkit::key(location_n, item_n, None)
    }
}

/// A profile name no other test (or earlier run) uses.
pub fn unique_profile(name: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut random = [0u8; 4];
    getrandom::fill(&mut random).expect("random");
    format!(
        "{name}-{}-{}-{:08x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        u32::from_be_bytes(random)
    )
}

/// A configuration with short delays, so tests run fast while keeping the real logic.
pub fn fast_config() -> SyncConfig {
    SyncConfig {
        batch_size: 50,
        pull_limit: 100,
        debounce: Duration::from_millis(10),
        interval: Duration::from_millis(200),
        backoff_base: Duration::from_millis(20),
        backoff_cap: Duration::from_millis(300),
        request_timeout: Duration::from_secs(2),
        connect_timeout: Duration::from_secs(2),
        pull_master: false,
        // Live sync has its own tests (`live`); the others keep to the round they test.
        live: false,
        ..SyncConfig::default()
    }
}

/// Waits (up to a generous liveness limit, not a timing assertion) for a condition.
pub async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !condition() {
        assert!(Instant::now() < deadline, "gave up waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What the proxy does to one push request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Forward it and the answer.
    Pass,
    /// Forward it, let the server commit, then close the connection instead of answering.
    DropResponse,
    /// Answer this status with an error body, without forwarding.
    Status {
        status: u16,
        retry_after_s: Option<u64>,
    },
    /// Close the connection without forwarding.
    Reset,
    /// Wait this long, then forward.
    Slow(Duration),
}

/// One request the proxy saw.
#[derive(Clone, Debug)]
pub struct Seen {
    pub at: Instant,
    pub method: String,
    pub path: String,
    pub fault: Fault,
}

/// A TCP proxy in front of the server that applies scripted faults to push requests
/// (`POST .../events`) and can cut every connection (offline).
#[derive(Clone)]
pub struct Proxy {
    pub addr: std::net::SocketAddr,
    faults: Arc<Mutex<VecDeque<Fault>>>,
    offline: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<Seen>>>,
    /// Told to cut the connections of live pulls (`?...wait=`) waiting for their answer.
    cut_live: Arc<tokio::sync::Notify>,
}

impl Proxy {
    pub async fn start(upstream: std::net::SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let proxy = Proxy {
            addr: listener.local_addr().expect("addr"),
            faults: Arc::default(),
            offline: Arc::default(),
            seen: Arc::default(),
            cut_live: Arc::default(),
        };
        let serving = proxy.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let proxy = serving.clone();
                tokio::spawn(async move { proxy.serve(client, upstream).await });
            }
        });
        proxy
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Push requests get these faults, in order, then pass.
    pub fn script(&self, faults: impl IntoIterator<Item = Fault>) {
        self.faults.lock().unwrap().extend(faults);
    }

    pub fn set_offline(&self, offline: bool) {
        self.offline.store(offline, Ordering::SeqCst);
    }

    /// Cuts every live pull (a pull with `wait=`) now waiting for the server's answer: both
    /// its connections close, as a proxy or a dropped link would close them mid-wait.
    pub fn cut_live_waits(&self) {
        self.cut_live.notify_waiters();
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    async fn serve(&self, client: TcpStream, upstream: std::net::SocketAddr) {
        let mut client = Conn::new(client);
        let mut server: Option<Conn> = None;
        loop {
            let Some(request) = client.read_message().await else {
                return;
            };
            if self.offline.load(Ordering::SeqCst) {
                return;
            }
            let is_push = request.method == "POST" && request.path.ends_with("/events");
            let fault = if is_push {
                self.faults
                    .lock()
                    .unwrap()
                    .pop_front()
                    .unwrap_or(Fault::Pass)
            } else {
                Fault::Pass
            };
            self.seen.lock().unwrap().push(Seen {
                at: Instant::now(),
                method: request.method.clone(),
                path: request.path.clone(),
                fault: fault.clone(),
            });
            match fault {
                Fault::Reset => return,
                Fault::Status {
                    status,
                    retry_after_s,
                } => {
                    let body = r#"{"code":"internal","message":"injected by the test proxy"}"#;
                    let retry =
                        retry_after_s.map_or(String::new(), |s| format!("retry-after: {s}\r\n"));
                    let head = format!("HTTP/1.1 {status} Injected\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{retry}\r\n", body.len());
                    if client
                        .stream
                        .write_all(format!("{head}{body}").as_bytes())
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
                Fault::Pass | Fault::DropResponse | Fault::Slow(_) => {
                    if let Fault::Slow(delay) = fault {
                        tokio::time::sleep(delay).await;
                    }
                    if server.is_none() {
                        let Ok(stream) = TcpStream::connect(upstream).await else {
                            return;
                        };
                        server = Some(Conn::new(stream));
                    }
                    let upstream_conn = server.as_mut().expect("connected");
                    if upstream_conn
                        .stream
                        .write_all(&request.bytes)
                        .await
                        .is_err()
                    {
                        return;
                    }
                    let is_live = request.method == "GET" && request.path.contains("wait=");
                    let cut = self.cut_live.notified();
                    let response = if is_live {
                        tokio::select! {
                            response = upstream_conn.read_message() => response,
                            () = cut => return,
                        }
                    } else {
                        upstream_conn.read_message().await
                    };
                    let Some(response) = response else {
                        return;
                    };
                    if fault == Fault::DropResponse {
                        return;
                    }
                    if client.stream.write_all(&response.bytes).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}

struct Message {
    method: String,
    path: String,
    bytes: Vec<u8>,
}

/// Just enough HTTP/1.1 framing: a head and a `content-length` body.
struct Conn {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl Conn {
    fn new(stream: TcpStream) -> Conn {
        Conn {
            stream,
            buffer: Vec::new(),
        }
    }

    async fn fill(&mut self) -> Option<()> {
        let mut chunk = [0u8; 16 * 1024];
        let n = self.stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        self.buffer.extend_from_slice(&chunk[..n]);
        Some(())
    }

    async fn read_message(&mut self) -> Option<Message> {
        let head_end = loop {
            if let Some(at) = self.buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            self.fill().await?;
        };
        let head = String::from_utf8_lossy(&self.buffer[..head_end]).to_string();
        let mut first = head.lines().next().unwrap_or("").split_whitespace();
        let (method, path) = (
            first.next().unwrap_or("").to_owned(),
            first.next().unwrap_or("").to_owned(),
        );
        let length: usize = head
            .lines()
            .filter_map(|line| line.split_once(':'))
            .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
            .and_then(|(_, value)| value.trim().parse().ok())
            .unwrap_or(0);
        while self.buffer.len() < head_end + length {
            self.fill().await?;
        }
        let bytes: Vec<u8> = self.buffer.drain(..head_end + length).collect();
        Some(Message {
            method,
            path,
            bytes,
        })
    }
}
