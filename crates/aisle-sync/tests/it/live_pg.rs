//! Live sync end to end on PostgreSQL (issue 15): two real engines, each on its own server
//! instance, the instances sharing one throwaway cluster. What A records reaches B's store
//! through B's live pull, woken across instances by LISTEN/NOTIFY, long before B's round
//! (an hour away) could bring it, and each event is applied once.

use aisle_core::event::EventVersion;
use aisle_core::ids::{EventId, UserId};
use aisle_core::testkit::{key, received};
use aisle_core::{Event, Hlc};
use aisle_server::pg::registry::PgRegistry;
use aisle_server::{RunningServer, ServerConfig};
use aisle_store::Store;
use aisle_sync::{system_now_ms, DeviceClock, DeviceProfile, Engine, SyncConfig, Token};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

/// Enrols a device on `server_url` straight through the registry: its profile and token.
fn enroll(registry: &PgRegistry, server_url: String, name: &str) -> (DeviceProfile, Token) {
    let tenant = registry.list_tenants().expect("tenants")[0].id;
    let warehouse = registry.list_warehouses(tenant).expect("warehouses")[0].0;
    let now_ms = aisle_server::now_ms();
    let code = registry
        .create_enrollment_code(tenant, warehouse, 3_600_000, now_ms)
        .expect("code");
    let enrolled = registry
        .enroll(&code, name, now_ms)
        .expect("registry")
        .expect("enrolled");
    let profile = DeviceProfile {
        name: name.to_owned(),
        server_url,
        allow_insecure_http: false,
        tenant: enrolled.tenant,
        warehouse: enrolled.warehouse,
        device: enrolled.device,
    };
    (profile, Token::new(enrolled.token))
}

fn receipt(profile: &DeviceProfile, serial: u64, clock: &aisle_sync::SharedClock) -> Event {
    let stamp = clock.lock().expect("clock").stamp(system_now_ms());
    let mut random = [0u8; 10];
    random[..8].copy_from_slice(&serial.to_be_bytes());
    random[8..].copy_from_slice(&profile.device.as_bytes()[14..]);
    Event {
        v: EventVersion::CURRENT,
        id: EventId::new_v7(stamp.hlc.wall_ms, random),
        tenant: profile.tenant,
        warehouse: profile.warehouse,
        device: profile.device,
        user: UserId::new_v7(1, profile.device.as_bytes()[6..].try_into().expect("10")),
        hlc: stamp.hlc,
        clock_correction_ms: stamp.clock_correction_ms,
        replaces: None,
        body: received(&key(1, 1, None), 1),
    }
}

#[test]
fn what_a_records_on_one_instance_reaches_b_on_another_through_its_live_pull() {
    let cluster = aisle_pgtest::PgCluster::start().expect("a test cluster starts");
    cluster
        .create_database("aisle_registry")
        .expect("registry database");
    let pools = tokio::runtime::Runtime::new().expect("runtime");
    let registry = PgRegistry::connect(&cluster.url("aisle_registry"), pools.handle().clone())
        .expect("registry");
    registry
        .add_cluster("main", &cluster.base_url(), None, 1)
        .expect("cluster");
    let tenant = registry.add_tenant("acme", 1).expect("tenant");
    registry
        .add_warehouse(tenant, "main", 1)
        .expect("warehouse");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let start = || {
        runtime
            .block_on(RunningServer::start(ServerConfig::postgres(
                cluster.url("aisle_registry"),
                8,
            )))
            .expect("an instance starts")
    };
    let (one, two) = (start(), start());
    let (a_profile, a_token) = enroll(&registry, format!("http://{}", one.addr), "dock-1");
    let (b_profile, b_token) = enroll(&registry, format!("http://{}", two.addr), "dock-2");
    let devices = tempfile::tempdir().expect("tempdir");
    let store_key = aisle_store::StoreKey::from_bytes([7; 32]);
    let open = |profile: &DeviceProfile| {
        Store::open(
            &devices.path().join(format!("{}.sqlite3", profile.name)),
            profile.store_profile(),
            &store_key,
        )
        .expect("store")
    };
    let clock = || DeviceClock::new(Hlc::default(), 60_000).shared();
    let (a_clock, b_clock) = (clock(), clock());
    let _entered = runtime.enter();
    let mut a = Engine::new(
        open(&a_profile),
        &a_profile,
        a_token,
        SyncConfig::default(),
        Arc::clone(&a_clock),
    )
    .expect("engine A");
    // B's round is an hour away: only its live pull can bring A's events in this test.
    let b_config = SyncConfig {
        interval: Duration::from_secs(3_600),
        live_interval: Duration::from_secs(3_600),
        ..SyncConfig::default()
    };
    let b =
        Engine::new(open(&b_profile), &b_profile, b_token, b_config, b_clock).expect("engine B");
    let b_store = b.store();
    let b_handle = b.spawn();
    let b_status = b_handle.status();
    runtime.block_on(async {
        // B has done its first round and waits on instance two.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while two.live.waiting() != 1 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "B's live pull waits on instance two"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let a_store = a.store();
        let recorded: BTreeSet<EventId> = (1..=3)
            .map(|serial| {
                let event = receipt(&a_profile, serial, &a_clock);
                a_store
                    .lock()
                    .expect("store")
                    .record(&event)
                    .expect("recorded");
                event.id
            })
            .collect();
        a.sync_once().await.expect("A pushes through instance one");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while b_status.borrow().pulled_new < 3 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "B's store should hold A's events, through its live pull on the other instance"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let in_b: Vec<EventId> = b_store
            .lock()
            .expect("store")
            .load_events()
            .expect("events")
            .into_iter()
            .map(|event| event.id)
            .collect();
        assert_eq!(in_b.len(), 3, "each event once: {in_b:?}");
        assert_eq!(
            in_b.into_iter().collect::<BTreeSet<_>>(),
            recorded,
            "exactly A's events"
        );
        assert_eq!(b_status.borrow().pulled_new, 3, "counted once each");
        b_handle.stop().await.expect("B stops");
    });
}
