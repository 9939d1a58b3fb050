//! Benchmark: ERP webhook delivery to a receiver on loopback (issue 16, "Speed").
//!
//! Run it with `cargo bench -p aisle-server --bench webhooks`. One server in this process
//! (`RunningServer`, SQLite, the webhook worker at its defaults but with plain `http` to
//! loopback allowed), one tenant, one endpoint, and an axum receiver in the same process
//! that answers 204 and notes when each delivery arrived. The client, the server, its
//! worker and the receiver share the machine's cores. It prints figures and the targets;
//! it never fails on timing.
//!
//! 1. Backlog: with the endpoint disabled, `AISLE_BENCH_WEBHOOK_BACKLOG` receipts (default
//!    20,000, so as many `goods.received` messages) are pushed; then the endpoint is enabled
//!    and the time until the receiver has them all gives messages/s (target ≥ 2,000).
//! 2. Latency: caught up, one push of `AISLE_BENCH_WEBHOOK_BATCH` receipts (default 50)
//!    every 100 ms for `AISLE_BENCH_WEBHOOK_SECS` seconds (default 10); for each message,
//!    the time from its push's answer (the commit) to its arrival at the receiver: p50, p99
//!    and max (target p99 ≤ 1 s). Deliveries come in the feed's order, which is the order of
//!    the pushed receipts, so the k-th arrival is the k-th receipt.

use aisle_core::testkit;
use aisle_core::Event;
use aisle_server::registry::Registry as _;
use aisle_server::webhooks::sign::Secret;
use aisle_server::{RunningServer, ServerConfig, SqliteRegistry};
use std::error::Error;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type BenchResult<T> = Result<T, Box<dyn Error + Send + Sync>>;

const TARGET_RATE: f64 = 2_000.0;
const TARGET_P99_MS: f64 = 1_000.0;

fn env_count(name: &str, default: usize) -> BenchResult<usize> {
    match std::env::var(name) {
        Ok(text) => Ok(text.parse()?),
        Err(_) => Ok(default),
    }
}

/// When each delivery arrived, in arrival order.
type Arrivals = Arc<Mutex<Vec<Instant>>>;

async fn hook(
    axum::extract::State(arrivals): axum::extract::State<Arrivals>,
) -> axum::http::StatusCode {
    arrivals.lock().expect("arrivals").push(Instant::now());
    axum::http::StatusCode::NO_CONTENT
}

struct Tenant {
    tenant: aisle_core::ids::TenantId,
    warehouse: aisle_core::ids::WarehouseId,
    device: aisle_core::ids::DeviceId,
    token: String,
}

/// `n` receipts of the tenant's device, serials from `first`.
fn receipts(tenant: &Tenant, first: u64, n: usize) -> Vec<Event> {
    let mut events = testkit::Events::default();
    let key = aisle_core::stock::StockKey {
        warehouse: tenant.warehouse,
        ..testkit::key(1, 1, None)
    };
    let now_ms = aisle_server::now_ms() as u64;
    (0..n as u64)
        .map(|offset| {
            let serial = first + offset;
            let mut event = events.make_numbered(1, now_ms, serial, testkit::received(&key, 1));
            event.tenant = tenant.tenant;
            event.warehouse = tenant.warehouse;
            event.device = tenant.device;
            event
        })
        .collect()
}

async fn push(
    http: &reqwest::Client,
    base: &str,
    tenant: &Tenant,
    events: &[Event],
) -> BenchResult<()> {
    let response = http
        .post(format!("{base}/v1/t/{}/events", tenant.tenant))
        .bearer_auth(&tenant.token)
        .json(&serde_json::json!({ "events": events }))
        .send()
        .await?;
    if !response.status().is_success() {
        return Err(format!("push: {}", response.status()).into());
    }
    Ok(())
}

async fn until_arrived(arrivals: &Arrivals, n: usize, within: Duration) -> BenchResult<()> {
    let deadline = Instant::now() + within;
    while arrivals.lock().expect("arrivals").len() < n {
        if Instant::now() > deadline {
            let got = arrivals.lock().expect("arrivals").len();
            return Err(format!("only {got} of {n} deliveries within {within:?}").into());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(())
}

fn main() -> BenchResult<()> {
    let backlog = env_count("AISLE_BENCH_WEBHOOK_BACKLOG", 20_000)?;
    let batch = env_count("AISLE_BENCH_WEBHOOK_BATCH", 50)?;
    let seconds = env_count("AISLE_BENCH_WEBHOOK_SECS", 10)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let dir = tempfile::tempdir()?;
        let mut config = ServerConfig::new(dir.path(), 64);
        config.webhooks.policy.allow_http_loopback = true;
        config.limits.per_address_per_sec = 0;
        config.limits.per_tenant_per_sec = 0;
        config.limits.tenant_push_per_sec = 4_000_000_000;
        let server = RunningServer::start(config).await?;
        let base = format!("http://{}", server.addr);
        let registry = SqliteRegistry::open(&aisle_server::registry_path(dir.path()))?;

        let arrivals: Arrivals = Arc::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let receiver = format!("http://{}/hook", listener.local_addr()?);
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(hook))
            .with_state(Arc::clone(&arrivals));
        tokio::spawn(async move { axum::serve(listener, app).await });

        let now_ms = aisle_server::now_ms();
        let tenant = registry.add_tenant("acme", now_ms)?;
        let warehouse = registry.add_warehouse(tenant, "main", now_ms)?;
        let code = registry.create_enrollment_code(tenant, warehouse, 3_600_000, now_ms)?;
        let enrolled = registry
            .enroll(&code, "pc", now_ms)?
            .map_err(|refusal| format!("enrollment refused: {refusal:?}"))?;
        let acme = Tenant {
            tenant,
            warehouse,
            device: enrolled.device,
            token: enrolled.token,
        };
        let secret = Secret::from_key(aisle_server::random_bytes::<32>());
        let endpoint = registry.add_webhook(tenant, &receiver, &[], &secret, now_ms)?;
        let http = reqwest::Client::new();

        println!("aisle-server webhook delivery benchmark (SQLite, one endpoint on loopback)");
        // 1. Backlog.
        registry.set_webhook_enabled(endpoint, false, Some("benchmark backlog"), now_ms)?;
        let mut serial = 1u64;
        for chunk in receipts(&acme, serial, backlog).chunks(500) {
            push(&http, &base, &acme, chunk).await?;
        }
        serial += backlog as u64;
        let started = Instant::now();
        registry.set_webhook_enabled(endpoint, true, None, aisle_server::now_ms())?;
        until_arrived(&arrivals, backlog, Duration::from_secs(600)).await?;
        let elapsed = started.elapsed().as_secs_f64();
        let rate = backlog as f64 / elapsed;
        println!(
            "backlog: {backlog} messages delivered in {elapsed:.1} s: {rate:.0} messages/s (target ≥ {TARGET_RATE:.0}: {})",
            if rate >= TARGET_RATE { "met" } else { "MISSED" }
        );

        // 2. Latency under a paced load.
        let pushes = seconds * 10;
        let mut committed = Vec::with_capacity(pushes * batch);
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        for _ in 0..pushes {
            tick.tick().await;
            push(&http, &base, &acme, &receipts(&acme, serial, batch)).await?;
            serial += batch as u64;
            let at = Instant::now();
            committed.extend(std::iter::repeat_n(at, batch));
        }
        until_arrived(&arrivals, backlog + committed.len(), Duration::from_secs(600)).await?;
        let arrived = arrivals.lock().expect("arrivals")[backlog..].to_vec();
        let mut latencies: Vec<f64> = arrived
            .iter()
            .zip(&committed)
            .map(|(arrived, committed)| {
                arrived.saturating_duration_since(*committed).as_secs_f64() * 1_000.0
            })
            .collect();
        latencies.sort_by(f64::total_cmp);
        let at = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q).round() as usize];
        let p99 = at(0.99);
        println!(
            "paced: {} messages/s offered for {seconds} s; commit → receiver: p50 {:.0} ms, p99 {p99:.0} ms, max {:.0} ms (target p99 ≤ {TARGET_P99_MS:.0}: {})",
            batch * 10,
            at(0.5),
            at(1.0),
            if p99 <= TARGET_P99_MS { "met" } else { "MISSED" }
        );
        drop(server);
        Ok(())
    })
}
