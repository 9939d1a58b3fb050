//! What the status and "sync now" say when the server cannot be reached: the engine against
//! the real server on loopback, behind a gate the test can shut like a cable pulled out.

use aisle_core::event::EventVersion;
use aisle_core::ids::{EventId, UserId};
use aisle_core::testkit::{key, received};
use aisle_core::{Event, Hlc};
use aisle_server::{Registry, RunningServer, ServerConfig, SqliteRegistry};
use aisle_store::Store;
use aisle_sync::enroll::EnrollForm;
use aisle_sync::{
    system_now_ms, DeviceClock, DeviceProfile, Engine, MemoryTokenStore, SyncConfig, TokenStore,
};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A TCP forwarder in front of the server. Shutting it closes every connection it carries
/// and its port, so the next request is refused, as when the network is gone.
struct Gate {
    addr: SocketAddr,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
    listener: JoinHandle<()>,
}

impl Gate {
    async fn open(upstream: SocketAddr) -> Gate {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let tasks: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let connections = Arc::clone(&tasks);
        let listener = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let forward = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                connections.lock().expect("tasks").push(forward);
            }
        });
        Gate {
            addr,
            tasks,
            listener,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    async fn shut(&self) {
        self.listener.abort();
        for task in self.tasks.lock().expect("tasks").drain(..) {
            task.abort();
        }
        // Until the listener task has dropped its socket, a connect could still succeed.
        while TcpStream::connect(self.addr).await.is_ok() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// A server, one device enrolled through a gate, its store and engine.
struct Setup {
    _server_dir: tempfile::TempDir,
    _device_dir: tempfile::TempDir,
    _server: RunningServer,
    gate: Gate,
    profile: DeviceProfile,
    db_path: PathBuf,
    store_key: aisle_store::StoreKey,
    recorder: Store,
    engine: Engine,
    n_recorded: u64,
}

fn config() -> SyncConfig {
    SyncConfig {
        backoff_base: Duration::from_millis(20),
        backoff_cap: Duration::from_millis(300),
        request_timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(5),
        pull_master: false,
        watch_network: false,
        interval: Duration::from_secs(3_600),
        ..SyncConfig::default()
    }
}

impl Setup {
    async fn start() -> Setup {
        let server_dir = tempfile::tempdir().expect("tempdir");
        let server = RunningServer::start(ServerConfig::new(server_dir.path().to_owned(), 4))
            .await
            .expect("server");
        let registry = SqliteRegistry::open(&aisle_server::registry_path(server_dir.path()))
            .expect("registry");
        let tenant = registry.add_tenant("acme", 1).expect("tenant");
        let warehouse = registry
            .add_warehouse(tenant, "main", 1)
            .expect("warehouse");
        let code = registry
            .create_enrollment_code(tenant, warehouse, 3_600_000, aisle_server::now_ms())
            .expect("code");
        let gate = Gate::open(server.addr).await;
        let tokens = MemoryTokenStore::default();
        let profile = aisle_sync::enroll(
            &EnrollForm {
                server_url: &gate.url(),
                code: &code,
                device_name: "dock",
                profile_name: "dock",
                allow_insecure_http: false,
            },
            &tokens,
            &config(),
        )
        .await
        .expect("enrolled");
        let device_dir = tempfile::tempdir().expect("tempdir");
        let db_path = device_dir.path().join("device.sqlite3");
        let key = aisle_sync::store_key::load_or_create(&tokens, "dock", &db_path).expect("key");
        let recorder = Store::open(&db_path, profile.store_profile(), &key).expect("store");
        let token = tokens.load("dock").expect("memory").expect("token");
        let clock = DeviceClock::new(Hlc::default(), 5_000).shared();
        let engine = Engine::new(
            Store::open(&db_path, profile.store_profile(), &key).expect("second connection"),
            &profile,
            token,
            config(),
            clock,
        )
        .expect("engine");
        Setup {
            _server_dir: server_dir,
            _device_dir: device_dir,
            _server: server,
            gate,
            profile,
            db_path,
            store_key: key,
            recorder,
            engine,
            n_recorded: 0,
        }
    }

    /// Records a receipt on the floor's connection, as the app does.
    fn record_receipt(&mut self) {
        self.n_recorded += 1;
        let now_ms = system_now_ms();
        let mut random = [0u8; 10];
        random[..8].copy_from_slice(&self.n_recorded.to_be_bytes());
        let stock_key = aisle_core::stock::StockKey {
            warehouse: self.profile.warehouse,
            ..key(1, 1, None)
        };
        let event = Event {
            v: EventVersion::CURRENT,
            id: EventId::new_v7(now_ms as u64, random),
            tenant: self.profile.tenant,
            warehouse: self.profile.warehouse,
            device: self.profile.device,
            user: UserId::new_v7(1, [7; 10]),
            hlc: Hlc {
                wall_ms: now_ms as u64,
                counter: 0,
            },
            clock_correction_ms: 0,
            replaces: None,
            body: received(&stock_key, 1),
        };
        self.recorder.record(&event).expect("recorded");
    }
}

/// Regression: "Online" stayed up after the server had gone, until the engine had written
/// the failed attempt to the store, which waits behind the floor's writes (up to the busy
/// timeout, 5 s). The status must say offline as soon as the request fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_request_says_offline_before_the_store_has_booked_it() {
    let mut setup = Setup::start().await;
    setup.record_receipt();
    setup
        .engine
        .sync_once()
        .await
        .expect("the first round succeeds");
    let status = setup.engine.status();
    assert!(status.borrow().online, "online after a successful round");

    setup.record_receipt();
    setup.gate.shut().await;
    // The floor holds the store's write lock, as a burst of scans does.
    let floor = rusqlite::Connection::open(&setup.db_path).expect("a third connection");
    floor
        .pragma_update(
            None,
            "key",
            format!("x'{}'", setup.store_key.to_hex().as_str()),
        )
        .expect("keyed like the store");
    floor
        .execute_batch("BEGIN IMMEDIATE")
        .expect("the write lock");

    let mut engine = setup.engine;
    let round = tokio::spawn(async move {
        let outcome = engine.sync_once().await;
        (engine, outcome)
    });
    let mut watching = status.clone();
    let went_offline = tokio::time::timeout(
        Duration::from_secs(3),
        watching.wait_for(|status| !status.online),
    )
    .await;
    assert!(
        went_offline.is_ok(),
        "the status says offline within the failed request's time, not after the store's busy wait"
    );
    floor.execute_batch("ROLLBACK").expect("released");
    let (_engine, outcome) = round.await.expect("the round ends");
    let error = outcome.expect_err("the server is gone");
    assert!(
        error.is_offline(),
        "a refused connection is offline: {error}"
    );
    let status = status.borrow().clone();
    assert_eq!(
        status.last_error.as_ref().map(|error| error.code.as_str()),
        Some("offline"),
        "{status:?}"
    );
}

/// Regression: "Sync now" answered at once, before its round ran, so the UI could not say
/// that the round failed. The handle's waiter gets the outcome of the round it asked for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_now_and_wait_reports_how_its_round_went() {
    let mut setup = Setup::start().await;
    setup.record_receipt();
    let handle = setup.engine.spawn();

    handle
        .sync_now_and_wait()
        .wait(Duration::from_secs(30))
        .await
        .expect("the round succeeds while the server is there");
    assert_eq!(
        handle.status().borrow().pending,
        0,
        "the receipt was sent by the time the round was reported"
    );

    setup.gate.shut().await;
    let error = handle
        .sync_now_and_wait()
        .wait(Duration::from_secs(30))
        .await
        .expect_err("the server is gone");
    assert_eq!(error.code, "offline", "the round's own error: {error:?}");
    assert!(
        error.message.contains("cannot reach the server"),
        "{}",
        error.message
    );

    let engine = handle.stop().await.expect("stops");
    drop(engine);
}
