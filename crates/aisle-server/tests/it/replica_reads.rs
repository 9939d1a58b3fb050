//! Report reads on a cluster with a real streaming replica (issue 14, "Read replicas for
//! reports"): a server started as `serve --database` runs it
//! (`RunningServer::start(ServerConfig::postgres(..))`), on a primary whose replica was made
//! with `pg_basebackup -R` and runs on a port of its own.
//!
//! - While the replica keeps up, the ERP stock endpoint (the tenant's stock export, whole or
//!   of one warehouse) is answered from it, and `/metrics` counts replica reads.
//! - With the replica stopped, the same requests answer 200 with the same rows, counted as
//!   primary fallbacks; device push and pull go on.
//! - With the replica's replay paused past `--replica-max-lag-ms`, reports go to the primary
//!   and show the newest write, while a device's push followed at once by its pull sees its
//!   event: push and pull read the primary, whatever the replica holds.

use crate::support::{get_json, post_json, pull_all_from, push_to, receipts, Device};
use aisle_core::ids::{DeviceId, TenantId, WarehouseId};
use aisle_pgtest::PgCluster;
use aisle_server::auth::Scope;
use aisle_server::pg::placement::Placements;
use aisle_server::pg::registry::PgRegistry;
use aisle_server::{RunningServer, ServerConfig};
use serde_json::Value;
use std::time::{Duration, Instant};

/// A primary holding the registry, its streaming replica, the cluster `main` registered with
/// both, a tenant with one warehouse, and a server on them.
struct Replicated {
    primary: PgCluster,
    replica: PgCluster,
    /// The admin path's registry (what `aisle-server --database …` commands use).
    registry: PgRegistry,
    tenant: TenantId,
    warehouse: WarehouseId,
    /// The tenant's database name, on the primary and on the replica.
    database: String,
    /// Drives the server; the registry's pool runs on `_pools`.
    runtime: tokio::runtime::Runtime,
    _pools: tokio::runtime::Runtime,
    server: Option<RunningServer>,
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

impl Replicated {
    fn start(replica_max_lag: Duration) -> Replicated {
        let primary = PgCluster::start().expect("the primary starts");
        primary
            .create_database("aisle_registry")
            .expect("registry database");
        let replica = primary.start_replica().expect("the replica starts");
        let pools = runtime();
        let registry = PgRegistry::connect(&primary.url("aisle_registry"), pools.handle().clone())
            .expect("the registry opens");
        registry
            .add_cluster(
                "main",
                &primary.base_url(),
                Some(&replica.base_url()),
                aisle_server::now_ms(),
            )
            .expect("the cluster is registered with its replica");
        let tenant = PgRegistry::add_tenant(&registry, "acme", 1).expect("tenant");
        let warehouse = PgRegistry::add_warehouse(&registry, tenant, "main", 1).expect("warehouse");
        let database = registry
            .placement(tenant)
            .expect("placement")
            .expect("the tenant has a database")
            .database;
        let runtime = runtime();
        let mut config = ServerConfig::postgres(primary.url("aisle_registry"), 64);
        config.pg_pools.replica_max_lag = replica_max_lag;
        let server = runtime
            .block_on(RunningServer::start(config))
            .expect("the server starts on the PostgreSQL registry");
        Replicated {
            primary,
            replica,
            registry,
            tenant,
            warehouse,
            database,
            runtime,
            _pools: pools,
            server: Some(server),
        }
    }

    fn base(&self) -> String {
        format!("http://{}", self.server.as_ref().expect("serving").addr)
    }

    /// An enrolled device of the tenant's warehouse, and an ERP key that may read stock.
    fn device_and_key(&self, http: &reqwest::Client) -> (Device, String) {
        let code = PgRegistry::create_enrollment_code(
            &self.registry,
            self.tenant,
            self.warehouse,
            3_600_000,
            aisle_server::now_ms(),
        )
        .expect("code");
        let key = self
            .registry
            .add_api_key(
                self.tenant,
                "erp",
                &[Scope::StockRead],
                aisle_server::now_ms(),
            )
            .expect("api key")
            .key;
        let (status, body) = self.runtime.block_on(post_json(
            http,
            &format!("{}/v1/enroll", self.base()),
            None,
            &serde_json::json!({ "code": code, "device_name": "pc" }),
        ));
        assert_eq!(status, 200, "enrollment succeeds: {body}");
        let id = |field: &str| body[field].as_str().expect(field).parse().expect(field);
        let device = Device {
            tenant: TenantId::from_uuid(id("tenant")),
            warehouse: WarehouseId::from_uuid(id("warehouse")),
            device: DeviceId::from_uuid(id("device")),
            token: body["token"].as_str().expect("token").to_owned(),
        };
        (device, key)
    }

    /// Pushes `events` and expects each one applied.
    fn push(&self, http: &reqwest::Client, device: &Device, events: &[aisle_core::Event]) {
        let (status, body) =
            self.runtime
                .block_on(push_to(http, &self.base(), device, device.tenant, events));
        assert_eq!(status, 200, "the push is answered: {body}");
        let statuses: Vec<&str> = body["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|result| result["status"].as_str().expect("status"))
            .collect();
        assert!(
            statuses.iter().all(|status| *status == "applied"),
            "every event is applied: {body}"
        );
    }

    /// `GET /v1/t/{tenant}/erp/stock` (with `?warehouse=` when given): status and rows.
    fn erp_stock(
        &self,
        http: &reqwest::Client,
        key: &str,
        warehouse: Option<&str>,
    ) -> (u16, Value) {
        let query = warehouse.map_or_else(String::new, |name| format!("?warehouse={name}"));
        let (status, body) = self.runtime.block_on(get_json(
            http,
            &format!("{}/v1/t/{}/erp/stock{query}", self.base(), self.tenant),
            key,
        ));
        (status, body["rows"].clone())
    }

    /// The server's `/metrics` text.
    fn metrics(&self, http: &reqwest::Client) -> String {
        self.runtime.block_on(async {
            let response = http
                .get(format!("{}/metrics", self.base()))
                .send()
                .await
                .expect("metrics answered");
            assert_eq!(response.status().as_u16(), 200);
            response.text().await.expect("metrics text")
        })
    }

    /// Report reads of cluster `main` so far, by target.
    fn report_reads(&self, http: &reqwest::Client) -> ReportReads {
        let text = self.metrics(http);
        let reads = |target: &str| {
            sample(
                &text,
                "aisle_report_reads_total{",
                &[("cluster", "main"), ("target", target)],
            )
            .unwrap_or_else(|| panic!("/metrics has report reads to {target}:\n{text}"))
                as u64
        };
        ReportReads {
            replica: reads("replica"),
            primary: reads("primary"),
            fallback: reads("primary_fallback"),
            lag_seconds: sample(&text, "aisle_replica_lag_seconds{", &[("cluster", "main")]),
        }
    }

    /// Waits until the replica has received (not necessarily replayed) all the primary's WAL.
    fn wait_for_receive(&self) {
        let target = self
            .primary
            .psql("postgres", "SELECT pg_current_wal_lsn()")
            .expect("primary lsn");
        let sql = format!("SELECT pg_last_wal_receive_lsn() >= '{target}'::pg_lsn");
        let started = Instant::now();
        while self.replica.psql("postgres", &sql).expect("replica lsn") != "t" {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the replica receives the primary's WAL"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The number of events in the tenant's database on `cluster`.
    fn events_on(&self, cluster: &PgCluster) -> i64 {
        cluster
            .psql(&self.database, "SELECT count(*) FROM events")
            .expect("count events")
            .parse()
            .expect("a number")
    }
}

impl Drop for Replicated {
    fn drop(&mut self) {
        // The server's pools live on its runtime: stop it there, before the clusters go.
        let server = self.server.take();
        self.runtime.block_on(async move { drop(server) });
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct ReportReads {
    replica: u64,
    primary: u64,
    fallback: u64,
    lag_seconds: Option<f64>,
}

/// The value of the first sample of `prefix` (metric name and `{`) carrying every label in
/// `labels`.
fn sample(text: &str, prefix: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|line| line.starts_with(prefix))
        .find(|line| {
            labels
                .iter()
                .all(|(name, value)| line.contains(&format!("{name}=\"{value}\"")))
        })
        .and_then(|line| line.rsplit(' ').next())
        .map(|value| value.parse().expect("a sample value"))
}

/// The on-hand quantities of `rows` (an ERP stock answer), in order.
fn on_hands(rows: &Value) -> Vec<i64> {
    rows.as_array()
        .expect("rows")
        .iter()
        .map(|row| row["on_hand"].as_i64().expect("on_hand"))
        .collect()
}

#[test]
fn reports_are_read_from_a_caught_up_replica_and_from_the_primary_once_it_stops() {
    let mut replicated = Replicated::start(aisle_server::pg::pools::DEFAULT_REPLICA_MAX_LAG);
    let http = reqwest::Client::new();
    let (device, key) = replicated.device_and_key(&http);
    replicated.push(&http, &device, &receipts(&device, 1, 5));
    replicated
        .replica
        .wait_for_replay(&replicated.primary)
        .expect("the replica replays the pushes");
    assert_eq!(
        replicated.events_on(&replicated.replica),
        5,
        "the replica holds the tenant's log"
    );

    let (status, whole) = replicated.erp_stock(&http, &key, None);
    assert_eq!(status, 200, "{whole}");
    assert_eq!(
        on_hands(&whole),
        vec![5],
        "five receipts of one unit: {whole}"
    );
    let (status, of_main) = replicated.erp_stock(&http, &key, Some("main"));
    assert_eq!(status, 200, "{of_main}");
    assert_eq!(of_main, whole, "the tenant has one warehouse");
    let reads = replicated.report_reads(&http);
    assert_eq!(
        (reads.replica, reads.primary, reads.fallback),
        (2, 0, 0),
        "both reports were read from the caught-up replica: {reads:?}"
    );
    assert!(
        reads.lag_seconds.is_some_and(|lag| lag < 5.0),
        "the replica's lag was measured, under the bound: {reads:?}"
    );

    replicated.replica.stop().expect("the replica stops");
    let (status, from_primary) = replicated.erp_stock(&http, &key, None);
    assert_eq!(status, 200, "a stopped replica is no error: {from_primary}");
    assert_eq!(
        from_primary, whole,
        "the primary answers the rows the replica did"
    );
    let (status, of_main) = replicated.erp_stock(&http, &key, Some("main"));
    assert_eq!(status, 200, "{of_main}");
    assert_eq!(of_main, whole);
    let reads = replicated.report_reads(&http);
    assert_eq!(
        (reads.replica, reads.primary, reads.fallback),
        (2, 0, 2),
        "with the replica down both reports fell back to the primary: {reads:?}"
    );
    let text = replicated.metrics(&http);
    assert!(
        sample(
            &text,
            "aisle_replica_failures_total{",
            &[("cluster", "main")]
        )
        .is_some_and(|failures| failures >= 1.0),
        "the replica's failure is counted:\n{text}"
    );

    // Devices never needed the replica: pushing and pulling go on.
    replicated.push(&http, &device, &receipts(&device, 6, 1));
    let pulled = replicated
        .runtime
        .block_on(pull_all_from(&http, &replicated.base(), &device));
    assert_eq!(pulled.len(), 6, "the device pulls all six events");
    let (status, rows) = replicated.erp_stock(&http, &key, None);
    assert_eq!((status, on_hands(&rows)), (200, vec![6]), "{rows}");
}

#[test]
fn a_lagging_replica_sends_reports_to_the_primary_while_devices_read_their_own_writes() {
    let max_lag = Duration::from_millis(500);
    let replicated = Replicated::start(max_lag);
    let http = reqwest::Client::new();
    let (device, key) = replicated.device_and_key(&http);
    replicated.push(&http, &device, &receipts(&device, 1, 3));
    replicated
        .replica
        .wait_for_replay(&replicated.primary)
        .expect("the replica replays the pushes");
    // The lag is measured over time (a write the replica has received but not replayed yet
    // counts from the last one it did replay), so ask until the caught-up replica answers.
    let started = Instant::now();
    loop {
        let (status, rows) = replicated.erp_stock(&http, &key, None);
        assert_eq!((status, on_hands(&rows)), (200, vec![3]), "{rows}");
        if replicated.report_reads(&http).replica > 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "a caught-up replica takes a report: {:?}",
            replicated.report_reads(&http)
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    replicated
        .replica
        .psql("postgres", "SELECT pg_wal_replay_pause()")
        .expect("replay pauses");
    replicated.push(&http, &device, &receipts(&device, 4, 2));
    // Push and pull read the primary: the device sees its events at once, though the
    // replica has not replayed them.
    let pulled = replicated
        .runtime
        .block_on(pull_all_from(&http, &replicated.base(), &device));
    assert_eq!(
        pulled.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5],
        "the pull right after the push sees its events"
    );
    let (status, body) = replicated.runtime.block_on(get_json(
        &http,
        &format!("{}/v1/t/{}/stock", replicated.base(), device.tenant),
        &device.token,
    ));
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["rows"][0]["on_hand"], 5,
        "the device's stock view reads the primary too: {body}"
    );
    replicated.wait_for_receive();
    assert_eq!(
        replicated.events_on(&replicated.replica),
        3,
        "the paused replica has not replayed the new events"
    );

    // Past the bound (and the router's one-second reuse of a measurement), reports go to
    // the primary and show the new write.
    std::thread::sleep(max_lag + Duration::from_millis(1_200));
    let before = replicated.report_reads(&http);
    let (status, rows) = replicated.erp_stock(&http, &key, None);
    assert_eq!(status, 200, "a lagging replica is no error: {rows}");
    assert_eq!(
        on_hands(&rows),
        vec![5],
        "the report shows the write the replica has not replayed: {rows}"
    );
    let after = replicated.report_reads(&http);
    assert_eq!(
        (after.replica, after.fallback),
        (before.replica, before.fallback + 1),
        "the report fell back to the primary: {before:?} then {after:?}"
    );
    assert!(
        after
            .lag_seconds
            .is_some_and(|lag| lag >= max_lag.as_secs_f64()),
        "/metrics shows the lag over the bound: {after:?}"
    );

    // Replaying again, the replica catches up and takes reports again.
    replicated
        .replica
        .psql("postgres", "SELECT pg_wal_replay_resume()")
        .expect("replay resumes");
    replicated
        .replica
        .wait_for_replay(&replicated.primary)
        .expect("the replica catches up");
    let started = Instant::now();
    loop {
        let (status, rows) = replicated.erp_stock(&http, &key, None);
        assert_eq!((status, on_hands(&rows)), (200, vec![5]), "{rows}");
        if replicated.report_reads(&http).replica > after.replica {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the caught-up replica takes reports again: {:?}",
            replicated.report_reads(&http)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
