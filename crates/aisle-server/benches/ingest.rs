//! Benchmark: how fast the server ingests and serves events over HTTP on loopback, and how
//! much memory it holds after touching thousands of tenants, each figure printed beside a
//! plain SQLite baseline measured in the same run.
//!
//! Run it with `cargo bench -p aisle-server --bench ingest`. It starts the real
//! `aisle-server` binary (release build) as a child process over a fresh data directory,
//! drives it with reqwest from this process, and reads the child's resident memory from
//! `/proc/<pid>/status`. It prints figures and says which targets they meet; it never fails
//! on timing. Client and server share the machine's cores, which the figures include.
//!
//! Phases:
//! 1. one tenant, one device, sequential pushes of `AISLE_BENCH_BATCH` events;
//! 2. `AISLE_BENCH_TENANTS` tenants with `AISLE_BENCH_DEVICES` devices between them, all
//!    pushing at once; aggregate events/s and p50/p99 push latency;
//! 3. pulling phase 1's tenant back in pages of 5,000;
//! 4. in a fresh server process, touching `AISLE_BENCH_RSS_TENANTS` tenants (one push of 10
//!    events each) with the pool capped at `AISLE_BENCH_POOL_CAP`, then the server's VmRSS
//!    and VmHWM (the RSS after phases 1-3 is printed too);
//! 5. noisy neighbour: in a fresh server with its default limits, one tenant's one-event
//!    pushes, one at a time, idle and then while another tenant floods the server from
//!    another address (127.0.0.2) with `AISLE_BENCH_FLOOD_CONNS` connections of pushes it
//!    refuses (the rate limits and the flooder's push quota of 1 event/s); the p99 of each
//!    and their ratio (target ≤ 2x);
//! 6. the tenant storage backends side by side (SQLite, PostgreSQL) on one workload, each in
//!    a child process: see [`backends`].
//!
//! Phases 1-4 measure throughput, so their server runs with the rate limits and the push
//! quota off.
//!
//! The baseline inserts the same events, as the same JSON, into one plain table per tenant
//! (`seq`, `id` unique, `payload`), in transactions of the same size, with the server's
//! pragmas (WAL, `synchronous=FULL`); for pulls it reads them back in pages of the same size.
//!
//! Settings, all optional environment variables:
//! - `AISLE_BENCH_EVENTS`: events pushed in phase 1 (default 200,000);
//! - `AISLE_BENCH_BATCH`: events per push (default 500);
//! - `AISLE_BENCH_TENANTS` (default 50), `AISLE_BENCH_DEVICES` (default 100),
//!   `AISLE_BENCH_AGG_EVENTS`: events pushed in phase 2 in all (default 500,000);
//! - `AISLE_BENCH_RSS_TENANTS` (default 2,000), `AISLE_BENCH_POOL_CAP` (default 256);
//! - `AISLE_BENCH_STRAY_PICKS`: picks per mille sent to a random, maybe empty slot (default
//!   10; see [`Floor`]);
//! - `AISLE_BENCH_PHASES`: `all` (default: phases 1-6), `neighbour` (phase 5 only) or
//!   `backends` (phase 6 only: SQLite and PostgreSQL side by side, see [`backends`];
//!   `AISLE_BENCH_BACKENDS` picks them, default `sqlite,postgres`, and
//!   `AISLE_BENCH_LOCK_PUSHERS`, `AISLE_BENCH_LOCK_EVENTS` size its lock phase);
//! - `AISLE_BENCH_NEIGHBOUR_PUSHES` (default 300, paced at 50/s), `AISLE_BENCH_FLOOD_CONNS` (default 32);
//! - `AISLE_BENCH_DIR`: where the data directory goes (default: cargo's target tmp dir, on
//!   the real disk; fsync on a tmpfs would measure nothing); `AISLE_BENCH_KEEP=1` keeps it.

use aisle_core::event::EventBody;
use aisle_core::testkit::{self, Events};
use aisle_core::Event;
use aisle_server::{Registry, SqliteRegistry};
use rusqlite::{Connection, TransactionBehavior};
use std::collections::HashMap;
use std::error::Error;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[path = "ingest/backends.rs"]
mod backends;

type BenchResult<T> = Result<T, Box<dyn Error + Send + Sync>>;

const TARGET_ONE_TENANT: f64 = 20_000.0;
const TARGET_AGGREGATE: f64 = 50_000.0;
const TARGET_RSS_MB: f64 = 300.0;
const PULL_PAGE: usize = 5_000;
/// Pushes in flight while touching tenants for the memory phase.
const TOUCH_CONCURRENCY: usize = 16;

fn main() -> BenchResult<()> {
    if backends::is_child() {
        return backends::child_main();
    }
    let phases = std::env::var("AISLE_BENCH_PHASES").unwrap_or_else(|_| "all".to_owned());
    if phases == "neighbour" {
        return noisy_neighbour();
    }
    if phases == "backends" {
        println!("aisle-server ingest benchmark, tenant storage backends side by side");
        backends::side_by_side()?;
        return Ok(());
    }
    let n_single = env_count("AISLE_BENCH_EVENTS", 200_000)?;
    let batch = env_count("AISLE_BENCH_BATCH", 500)?;
    let n_tenants = env_count("AISLE_BENCH_TENANTS", 50)?;
    let n_devices = env_count("AISLE_BENCH_DEVICES", 100)?.max(n_tenants);
    let n_aggregate = env_count("AISLE_BENCH_AGG_EVENTS", 500_000)?;
    let n_rss_tenants = env_count("AISLE_BENCH_RSS_TENANTS", 2_000)?;
    let pool_cap = env_count("AISLE_BENCH_POOL_CAP", 256)?;
    let keep = std::env::var("AISLE_BENCH_KEEP").is_ok_and(|value| value == "1");

    let parent = bench_parent_dir();
    std::fs::create_dir_all(&parent)?;
    let dir = tempfile::Builder::new()
        .prefix("aisle-bench-ingest-")
        .tempdir_in(&parent)?;
    let data = dir.path().join("data");
    let plain_dir = dir.path().join("plain");
    std::fs::create_dir_all(data.join("tenants"))?;
    std::fs::create_dir_all(&plain_dir)?;
    println!("aisle-server ingest benchmark");
    println!(
        "  one tenant: {n_single} events in pushes of {batch}; aggregate: {n_aggregate} events, \
         {n_tenants} tenants, {n_devices} devices; memory: {n_rss_tenants} tenants, pool cap {pool_cap}"
    );
    println!(
        "  floor: 40% receipts, 45% picks, 15% moves; {} per mille of picks from a random slot",
        stray_picks_per_mille()
    );
    println!("  files in {}", dir.path().display());

    // Tenants and devices, enrolled straight through the registry before the server starts.
    let registry = SqliteRegistry::open(&aisle_server::registry_path(&data))?;
    let solo = enroll(&registry, "solo", 1)?.remove(0);
    let mut fleet = Vec::new();
    for tenant_idx in 0..n_tenants {
        let n_here = n_devices / n_tenants + usize::from(tenant_idx < n_devices % n_tenants);
        fleet.extend(enroll(&registry, &format!("fleet-{tenant_idx}"), n_here)?);
    }
    let started = Instant::now();
    let mut crowd = Vec::new();
    for tenant_idx in 0..n_rss_tenants {
        crowd.extend(enroll(&registry, &format!("crowd-{tenant_idx}"), 1)?);
    }
    println!(
        "  enrolled {} devices in {:.1}s",
        1 + fleet.len() + crowd.len(),
        started.elapsed().as_secs_f64()
    );
    drop(registry);

    let server = ServerProcess::start(&data, pool_cap)?;
    println!(
        "  server pid {}, at {}, RSS at start {:.1} MB",
        server.child.id(),
        server.base,
        rss_mb(server.child.id()).0
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(n_devices + TOUCH_CONCURRENCY)
        .build()?;
    let mut report = Vec::new();

    // 1. One tenant.
    let mut floor = Floor::new(&solo, 1);
    let bodies: Vec<(Vec<Event>, Vec<u8>)> = (0..n_single.div_ceil(batch))
        .map(|_| floor.batch(batch))
        .collect::<BenchResult<_>>()?;
    let solo_events: usize = bodies.iter().map(|(events, _)| events.len()).sum();
    let base = server.base.clone();
    let solo_push = runtime.block_on(async {
        let mut latencies = Vec::new();
        let start = Instant::now();
        for (_, body) in &bodies {
            latencies.push(push(&http, &base, &solo, body.clone()).await?);
        }
        BenchResult::Ok((start.elapsed(), latencies))
    })?;
    let plain_solo = {
        let mut plain = PlainLog::open(&plain_dir.join("solo.sqlite3"))?;
        let start = Instant::now();
        for (events, _) in &bodies {
            plain.insert(events)?;
        }
        start.elapsed()
    };
    let solo_rate = per_second(solo_events, solo_push.0);
    let plain_solo_rate = per_second(solo_events, plain_solo);
    let solo_latency = Percentiles::of(solo_push.1);
    report.push(format!(
        "one tenant, events/s        {:>10.0} | plain insert {:>10.0} | {:.2}x | target ≥ {:.0}: {}",
        solo_rate,
        plain_solo_rate,
        solo_rate / plain_solo_rate,
        TARGET_ONE_TENANT,
        verdict(solo_rate >= TARGET_ONE_TENANT)
    ));
    report.push(format!(
        "one tenant, push of {batch} ms   p50 {:.2} p99 {:.2} max {:.2}",
        solo_latency.p50, solo_latency.p99, solo_latency.max
    ));
    println!("{}", report[report.len() - 2]);

    // 2. Many tenants at once.
    let per_device = n_aggregate.div_ceil(n_devices);
    let batches_per_device = per_device.div_ceil(batch);
    let mut work = Vec::new();
    for (device_idx, device) in fleet.iter().enumerate() {
        let mut floor = Floor::new(device, 1_000 + device_idx as u64);
        let bodies: Vec<(Vec<Event>, Vec<u8>)> = (0..batches_per_device)
            .map(|_| floor.batch(batch))
            .collect::<BenchResult<_>>()?;
        work.push((device.clone(), bodies));
    }
    let aggregate_events: usize = work
        .iter()
        .flat_map(|(_, bodies)| bodies.iter().map(|(events, _)| events.len()))
        .sum();
    let aggregate = runtime.block_on(async {
        let start = Instant::now();
        let mut tasks = Vec::new();
        for (device, bodies) in &work {
            let http = http.clone();
            let base = base.clone();
            let device = device.clone();
            let bodies: Vec<Vec<u8>> = bodies.iter().map(|(_, body)| body.clone()).collect();
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(bodies.len());
                for body in bodies {
                    latencies.push(push(&http, &base, &device, body).await?);
                }
                BenchResult::Ok(latencies)
            }));
        }
        let mut latencies = Vec::new();
        for task in tasks {
            latencies.extend(task.await??);
        }
        BenchResult::Ok((start.elapsed(), latencies))
    })?;
    let plain_aggregate = {
        let mut plains = std::collections::HashMap::new();
        let start = Instant::now();
        for (device, bodies) in &work {
            let plain = match plains.entry(device.tenant) {
                std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
                std::collections::hash_map::Entry::Vacant(entry) => entry.insert(PlainLog::open(
                    &plain_dir.join(format!("{}.sqlite3", device.tenant)),
                )?),
            };
            for (events, _) in bodies {
                plain.insert(events)?;
            }
        }
        start.elapsed()
    };
    let aggregate_rate = per_second(aggregate_events, aggregate.0);
    let plain_aggregate_rate = per_second(aggregate_events, plain_aggregate);
    let aggregate_latency = Percentiles::of(aggregate.1);
    report.push(format!(
        "{n_tenants} tenants, events/s      {:>10.0} | plain insert {:>10.0} | {:.2}x | target ≥ {:.0}: {}",
        aggregate_rate,
        plain_aggregate_rate,
        aggregate_rate / plain_aggregate_rate,
        TARGET_AGGREGATE,
        verdict(aggregate_rate >= TARGET_AGGREGATE)
    ));
    report.push(format!(
        "{n_devices} devices, push of {batch} ms  p50 {:.2} p99 {:.2} max {:.2}",
        aggregate_latency.p50, aggregate_latency.p99, aggregate_latency.max
    ));
    println!("{}", report[report.len() - 2]);

    // 3. Pull phase 1's tenant back.
    // The log also holds the server's `resolved` events (the rules' automatic decisions,
    // e.g. negative stock on this random floor); they are pulled like any event.
    let (n_floor, n_resolutions, pull_elapsed) = runtime.block_on(pull_all(&http, &base, &solo))?;
    if n_floor != solo_events {
        return Err(format!("pulled {n_floor} floor events, pushed {solo_events}").into());
    }
    println!("  the pull also held {n_resolutions} resolutions the server recorded");
    let pulled = n_floor + n_resolutions;
    let plain_pull = {
        let plain = PlainLog::open(&plain_dir.join("solo.sqlite3"))?;
        let start = Instant::now();
        let n_read = plain.read_all(PULL_PAGE)?;
        if n_read != solo_events {
            return Err(format!("plain read {n_read} of {solo_events}").into());
        }
        start.elapsed()
    };
    let pull_rate = per_second(pulled, pull_elapsed);
    let plain_pull_rate = per_second(pulled, plain_pull);
    report.push(format!(
        "pull, events/s              {:>10.0} | plain select {:>10.0} | {:.2}x",
        pull_rate,
        plain_pull_rate,
        pull_rate / plain_pull_rate
    ));
    println!("{}", report[report.len() - 1]);

    // 4. Memory after touching many tenants, in a fresh server process: the phases above
    // leave their own high-water mark (busy tenants' page caches), reported separately.
    let (heavy_rss, heavy_hwm) = rss_mb(server.child.id());
    report.push(format!(
        "RSS after phases 1-3, MB    {heavy_rss:>10.1} | peak {heavy_hwm:.1} (51 busy tenants; not the target's measure)"
    ));
    println!("{}", report[report.len() - 1]);
    drop(server);
    let server = ServerProcess::start(&data, pool_cap)?;
    let base = server.base.clone();
    let touch_start = Instant::now();
    let touches: Vec<(Device, Vec<u8>)> = crowd
        .iter()
        .enumerate()
        .map(|(idx, device)| {
            let (_, body) = Floor::new(device, 100_000 + idx as u64).batch(10)?;
            Ok((device.clone(), body))
        })
        .collect::<BenchResult<_>>()?;
    runtime.block_on(async {
        let queue = Arc::new(tokio::sync::Mutex::new(touches.into_iter()));
        let mut tasks = Vec::new();
        for _ in 0..TOUCH_CONCURRENCY {
            let queue = Arc::clone(&queue);
            let http = http.clone();
            let base = base.clone();
            tasks.push(tokio::spawn(async move {
                loop {
                    let next = queue.lock().await.next();
                    let Some((device, body)) = next else {
                        return BenchResult::Ok(());
                    };
                    push(&http, &base, &device, body).await?;
                }
            }));
        }
        for task in tasks {
            task.await??;
        }
        BenchResult::Ok(())
    })?;
    let (rss, hwm) = rss_mb(server.child.id());
    report.push(format!(
        "RSS after {n_rss_tenants} tenants, MB     {:>10.1} | peak {:.1} | target ≤ {:.0}: {} ({:.1}s to touch them)",
        rss,
        hwm,
        TARGET_RSS_MB,
        verdict(hwm <= TARGET_RSS_MB),
        touch_start.elapsed().as_secs_f64()
    ));
    println!("{}", report[report.len() - 1]);

    drop(server);
    report.push(noisy_neighbour_line()?);
    report.extend(backends::side_by_side()?);

    println!("\nsummary");
    for line in &report {
        println!("  {line}");
    }
    if keep {
        println!("kept {}", dir.keep().display());
    }
    Ok(())
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "MISSED"
    }
}

fn env_count(name: &str, default: usize) -> BenchResult<usize> {
    let count = env_count_or_zero(name, default)?;
    if count == 0 {
        return Err(format!("{name} must be positive").into());
    }
    Ok(count)
}

/// `name`'s count, where 0 means "leave that part out".
fn env_count_or_zero(name: &str, default: usize) -> BenchResult<usize> {
    match std::env::var(name) {
        Err(_) => Ok(default),
        Ok(text) => Ok(text
            .replace('_', "")
            .parse()
            .map_err(|error| format!("{name}={text:?}: {error}"))?),
    }
}

/// Cargo's per-target tmp dir lives under the target dir, on the real disk.
fn bench_parent_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("AISLE_BENCH_DIR") {
        return PathBuf::from(dir);
    }
    option_env!("CARGO_TARGET_TMPDIR").map_or_else(std::env::temp_dir, PathBuf::from)
}

fn per_second(n_events: usize, elapsed: Duration) -> f64 {
    n_events as f64 / elapsed.as_secs_f64()
}

/// VmRSS and VmHWM (peak) of a process, in MB.
fn rss_mb(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

#[derive(Clone, Debug)]
struct Device {
    tenant: aisle_core::ids::TenantId,
    warehouse: aisle_core::ids::WarehouseId,
    device: aisle_core::ids::DeviceId,
    token: String,
}

/// A tenant with one warehouse and `n_devices` enrolled devices.
fn enroll(registry: &dyn Registry, name: &str, n_devices: usize) -> BenchResult<Vec<Device>> {
    let now_ms = aisle_server::now_ms();
    let tenant = registry.add_tenant(name, now_ms)?;
    let warehouse = registry.add_warehouse(tenant, "main", now_ms)?;
    let mut devices = Vec::new();
    for device_idx in 0..n_devices {
        let code = registry.create_enrollment_code(tenant, warehouse, 3_600_000, now_ms)?;
        let enrolled = registry
            .enroll(&code, &format!("pc-{device_idx}"), now_ms)?
            .map_err(|refusal| format!("enrollment refused: {refusal:?}"))?;
        devices.push(Device {
            tenant,
            warehouse,
            device: enrolled.device,
            token: enrolled.token,
        });
    }
    Ok(devices)
}

/// The `aisle-server serve` child process; killed when dropped.
struct ServerProcess {
    child: Child,
    base: String,
}

/// `serve` flags that turn the rate limits and the default push quota off, for the
/// throughput phases.
const UNLIMITED: &[&str] = &[
    "--per-address-per-sec",
    "0",
    "--per-tenant-per-sec",
    "0",
    "--tenant-push-per-sec",
    "4000000000",
];

impl ServerProcess {
    fn start(data: &Path, pool_cap: usize) -> BenchResult<Self> {
        Self::start_with(data, pool_cap, UNLIMITED)
    }

    fn start_with(data: &Path, pool_cap: usize, flags: &[&str]) -> BenchResult<Self> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_aisle-server"))
            .arg("--data")
            .arg(data)
            .args(["serve", "--listen", "127.0.0.1:0", "--max-open-tenants"])
            .arg(pool_cap.to_string())
            .args(flags)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().ok_or("no stdout")?).read_line(&mut line)?;
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .ok_or_else(|| format!("unexpected first line {line:?}"))?
            .to_owned();
        Ok(Self {
            child,
            base: format!("http://{addr}"),
        })
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Pushes one prepared body; its latency, after checking every event was applied.
async fn push(
    http: &reqwest::Client,
    base: &str,
    device: &Device,
    body: Vec<u8>,
) -> BenchResult<Duration> {
    let start = Instant::now();
    match send_push(http, base, device, body, false).await? {
        Sent::Applied => Ok(start.elapsed()),
        Sent::NotApplied { status, answer, .. } => {
            Err(format!("push answered {status}: {answer}").into())
        }
        Sent::Lost(why) => Err(format!("push got no answer: {why}").into()),
    }
}

/// How long a device waits for a push's answer: aisle-sync's default `request_timeout`.
const DEVICE_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the bench waits before pushing again after an attempt that got no answer.
const LOST_RETRY_AFTER: Duration = Duration::from_secs(1);

/// A push that waits as a device does: a `503` or `429` with `Retry-After` (the server's
/// body budget full, a rate limit) is retried after exactly that many seconds (aisle-sync's
/// client waits at least that, with jittered backoff, and retries a `503` without one too),
/// and an attempt that got no answer (none within the device's request timeout, or its
/// connection closed first) is pushed again a second later, when the events it carried may
/// be in the log already: their `duplicate` is then an answer, as it is to a device. Its
/// latency runs from the first attempt to the applied answer; also how many attempts were
/// refused and how many lost.
async fn push_as_device(
    http: &reqwest::Client,
    base: &str,
    device: &Device,
    body: Vec<u8>,
) -> BenchResult<(Duration, Retried)> {
    const MAX_RETRIED: u32 = 100;
    let start = Instant::now();
    let mut retried = Retried::default();
    loop {
        let attempt = send_push(http, base, device, body.clone(), retried.lost > 0);
        let sent = match tokio::time::timeout(DEVICE_REQUEST_TIMEOUT, attempt).await {
            Ok(sent) => sent?,
            Err(_) => Sent::Lost(format!(
                "no answer in {} s",
                DEVICE_REQUEST_TIMEOUT.as_secs()
            )),
        };
        let tries = retried.refused + retried.lost;
        match sent {
            Sent::Applied => return Ok((start.elapsed(), retried)),
            Sent::NotApplied {
                retry_after: Some(wait),
                ..
            } if tries < MAX_RETRIED => {
                retried.refused += 1;
                tokio::time::sleep(wait).await;
            }
            Sent::Lost(_) if tries < MAX_RETRIED => {
                retried.lost += 1;
                tokio::time::sleep(LOST_RETRY_AFTER).await;
            }
            Sent::Lost(why) => return Err(format!("push lost after {tries} retries: {why}").into()),
            Sent::NotApplied { status, answer, .. } => {
                return Err(format!(
                    "push answered {status} after {} refusals and {} lost attempts: {answer}",
                    retried.refused, retried.lost
                )
                .into())
            }
        }
    }
}

/// The attempts of a push that [`push_as_device`] made again.
#[derive(Clone, Copy, Debug, Default)]
struct Retried {
    /// Refused with `Retry-After`.
    refused: u32,
    /// Without an answer.
    lost: u32,
}

/// What one push attempt got.
enum Sent {
    Applied,
    /// Any other answer; `retry_after` only on a `503` or `429` that carries one.
    NotApplied {
        status: reqwest::StatusCode,
        retry_after: Option<Duration>,
        answer: String,
    },
    /// No answer: the request failed on its connection (closed before the answer came, or
    /// never made), why.
    Lost(String),
}

/// One push attempt. `again`: an attempt before it got no answer, so its events may have
/// been applied then, and `duplicate` counts as applied.
async fn send_push(
    http: &reqwest::Client,
    base: &str,
    device: &Device,
    body: Vec<u8>,
    again: bool,
) -> BenchResult<Sent> {
    let lost = |error: reqwest::Error| -> BenchResult<Sent> {
        if error.is_request() || error.is_connect() || error.is_body() || error.is_timeout() {
            Ok(Sent::Lost(error.to_string()))
        } else {
            Err(error.into())
        }
    };
    let response = match http
        .post(format!("{base}/v1/t/{}/events", device.tenant))
        .bearer_auth(&device.token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
    {
        Ok(response) => response,
        Err(error) => return lost(error),
    };
    let status = response.status();
    let retry_after = match status {
        reqwest::StatusCode::SERVICE_UNAVAILABLE | reqwest::StatusCode::TOO_MANY_REQUESTS => {
            response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|value| value.to_str().ok()?.trim().parse::<u64>().ok())
                .map(Duration::from_secs)
        }
        _ => None,
    };
    let answer = match response.bytes().await {
        Ok(answer) => answer,
        Err(error) => return lost(error),
    };
    if !status.is_success() {
        return Ok(Sent::NotApplied {
            status,
            retry_after,
            answer: String::from_utf8_lossy(&answer).into_owned(),
        });
    }
    // The cheapest check that nothing was refused: no result says anything but applied
    // (or, pushed again after a lost attempt, duplicate).
    if memchr_find(&answer, b"\"rejected\"") || (!again && memchr_find(&answer, b"\"duplicate\"")) {
        return Err("a benchmark event was not applied".into());
    }
    Ok(Sent::Applied)
}

fn memchr_find(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

async fn pull_all(
    http: &reqwest::Client,
    base: &str,
    device: &Device,
) -> BenchResult<(usize, usize, Duration)> {
    #[derive(serde::Deserialize)]
    struct Page {
        events: Vec<Pulled>,
        next: u64,
    }
    #[derive(serde::Deserialize)]
    struct Pulled {
        event: Kind,
    }
    #[derive(serde::Deserialize)]
    struct Kind {
        body: Body,
    }
    #[derive(serde::Deserialize)]
    struct Body {
        #[serde(rename = "type")]
        kind: String,
    }
    let start = Instant::now();
    let mut after = 0;
    let (mut n_floor, mut n_resolutions) = (0, 0);
    loop {
        let page: Page = http
            .get(format!(
                "{base}/v1/t/{}/events?after={after}&limit={PULL_PAGE}",
                device.tenant
            ))
            .bearer_auth(&device.token)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        if page.events.is_empty() {
            return Ok((n_floor, n_resolutions, start.elapsed()));
        }
        for pulled in &page.events {
            if pulled.event.body.kind == "resolved" {
                n_resolutions += 1;
            } else {
                n_floor += 1;
            }
        }
        after = page.next;
    }
}

/// Push latencies in ms.
struct Percentiles {
    p50: f64,
    p99: f64,
    max: f64,
}

impl Percentiles {
    fn of(mut samples: Vec<Duration>) -> Self {
        samples.sort();
        let at = |percent: f64| {
            if samples.is_empty() {
                return f64::NAN;
            }
            let idx = ((samples.len() as f64 * percent / 100.0).ceil() as usize)
                .clamp(1, samples.len())
                - 1;
            samples[idx].as_secs_f64() * 1e3
        };
        Self {
            p50: at(50.0),
            p99: at(99.0),
            max: at(100.0),
        }
    }
}

/// The baseline: the events as JSON in one plain table, with the server's pragmas.
struct PlainLog {
    conn: Connection,
}

impl PlainLog {
    fn open(path: &Path) -> BenchResult<Self> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(10))?;
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(format!("journal_mode is {mode}, not wal").into());
        }
        conn.execute_batch(
            "PRAGMA synchronous = FULL;
             CREATE TABLE IF NOT EXISTS plain_events (
                 seq     INTEGER PRIMARY KEY,
                 id      BLOB NOT NULL UNIQUE,
                 payload TEXT NOT NULL
             );",
        )?;
        Ok(Self { conn })
    }

    /// One transaction; serialising the payload is part of the work, as on the server.
    fn insert(&mut self, events: &[Event]) -> BenchResult<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut statement =
                tx.prepare_cached("INSERT INTO plain_events (id, payload) VALUES (?1, ?2)")?;
            for event in events {
                statement.execute((event.id.as_bytes(), serde_json::to_string(event)?))?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Reads every payload in pages, decoding each as the server decodes pulled events.
    fn read_all(&self, page: usize) -> BenchResult<usize> {
        let mut statement = self.conn.prepare(
            "SELECT seq, payload FROM plain_events WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )?;
        let mut after = 0i64;
        let mut n_read = 0;
        loop {
            let mut n_page = 0;
            let mut rows = statement.query((after, page as i64))?;
            while let Some(row) = rows.next()? {
                after = row.get(0)?;
                let payload: String = row.get(1)?;
                let _: Event = serde_json::from_str(&payload)?;
                n_page += 1;
            }
            if n_page == 0 {
                return Ok(n_read);
            }
            n_read += n_page;
        }
    }
}

/// A deterministic warehouse floor for one device: 40% receipts, 45% picks and 15% moves
/// over about 8,000 stock keys. A device picks and moves stock it has received itself (a
/// picker is sent to a slot that holds the item); when it holds nothing yet, it receives.
/// A few picks (`AISLE_BENCH_STRAY_PICKS` per mille, default 10) go to a random slot
/// instead, as a mis-scan or stock the system never heard of would, and usually drive
/// stock negative: the server then records a discrepancy, a count task and a resolution.
///
/// Before 2026-11-24 (afternoon) picks and moves went to any key, stocked or not: with
/// 10,000 events over 8,000 keys per tenant in the aggregate phase, most keys' first event
/// was a pick from an empty slot, so a third of the pushed events drove stock negative and
/// the server recorded a discrepancy, a count task and a resolution event for each.
struct Floor {
    device: Device,
    events: Events,
    rng: u64,
    serial: u64,
    wall_ms: u64,
    /// This device's stock by (item, slot), and whether the key is in `stocked`.
    stock: HashMap<(u64, u64), (i64, bool)>,
    /// Keys this device has stock at (entries whose stock fell to 0 are removed lazily).
    stocked: Vec<(u64, u64)>,
    stray_picks_per_mille: u64,
}

/// `AISLE_BENCH_STRAY_PICKS`, read once.
fn stray_picks_per_mille() -> u64 {
    static VALUE: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *VALUE.get_or_init(|| match std::env::var("AISLE_BENCH_STRAY_PICKS") {
        Err(_) => 10,
        Ok(text) => match text.parse() {
            Ok(per_mille @ 0..=1000) => per_mille,
            _ => panic!("AISLE_BENCH_STRAY_PICKS={text:?}: give picks per mille, 0 to 1000"),
        },
    })
}

/// Items on the floor; each is slotted in [`SLOTS_PER_ITEM`] of the locations, as in the
/// device store's benchmark: about 8,000 stock keys in all.
const N_ITEMS: u64 = 2_000;
const SLOTS_PER_ITEM: u64 = 4;
const N_LOCATIONS: u64 = 5_000;

impl Floor {
    fn new(device: &Device, seed: u64) -> Self {
        Self {
            device: device.clone(),
            events: Events::default(),
            rng: seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1,
            // A device's event ids follow from its seed alone (serial and wall clock; the
            // device is set after the id is made): two devices of one tenant need different
            // seeds. UUIDv7's layout drops some of the serial's bits, so seeds 16,384 apart
            // give the same ids.
            serial: seed << 32,
            wall_ms: 1_700_000_000_000,
            stock: HashMap::new(),
            stocked: Vec::new(),
            stray_picks_per_mille: stray_picks_per_mille(),
        }
    }

    fn add_stock(&mut self, key: (u64, u64), qty: i64) {
        let entry = self.stock.entry(key).or_insert((0, false));
        entry.0 += qty;
        if entry.0 > 0 && !entry.1 {
            entry.1 = true;
            self.stocked.push(key);
        }
    }

    /// A key this device holds stock at, chosen uniformly, or `None` if it holds none.
    fn stocked_key(&mut self) -> Option<(u64, u64)> {
        while !self.stocked.is_empty() {
            let idx = (self.next_u64() % self.stocked.len() as u64) as usize;
            let key = self.stocked[idx];
            let entry = self.stock.get_mut(&key).expect("a stocked key has stock");
            if entry.0 > 0 {
                return Some(key);
            }
            entry.1 = false;
            self.stocked.swap_remove(idx);
        }
        None
    }

    fn next_u64(&mut self) -> u64 {
        // xorshift64*
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn event(&mut self) -> Event {
        enum Kind {
            Receive,
            Pick,
            Move,
        }
        let roll = self.next_u64() % 20;
        let random_key = (self.next_u64() % N_ITEMS, self.next_u64() % SLOTS_PER_ITEM);
        let wanted = match roll {
            0..=7 => Kind::Receive,
            8..=16 => Kind::Pick,
            _ => Kind::Move,
        };
        let (kind, (item, slot)) = match wanted {
            Kind::Receive => (Kind::Receive, random_key),
            Kind::Pick if self.next_u64() % 1000 < self.stray_picks_per_mille => {
                (Kind::Pick, random_key)
            }
            wanted => match self.stocked_key() {
                Some(key) => (wanted, key),
                None => (Kind::Receive, random_key),
            },
        };
        let location = |slot: u64| ((item * SLOTS_PER_ITEM + slot) % N_LOCATIONS) as u16 + 1;
        let key = testkit::key(location(slot), item as u16 + 1, None);
        let body: EventBody = match kind {
            Kind::Receive => {
                self.add_stock((item, slot), 20);
                testkit::received(&key, 20)
            }
            Kind::Pick => {
                self.add_stock((item, slot), -1);
                testkit::picked(&key, 1)
            }
            Kind::Move => {
                let to = (slot + 1) % SLOTS_PER_ITEM;
                self.add_stock((item, slot), -1);
                self.add_stock((item, to), 1);
                testkit::moved(&key, location(to), 1)
            }
        };
        self.serial += 1;
        self.wall_ms += 1;
        let mut event = self
            .events
            .make_numbered(1, self.wall_ms, self.serial, body);
        event.tenant = self.device.tenant;
        event.warehouse = self.device.warehouse;
        event.device = self.device.device;
        event
    }

    /// `n` events and the push body that carries them.
    fn batch(&mut self, n: usize) -> BenchResult<(Vec<Event>, Vec<u8>)> {
        let events: Vec<Event> = (0..n).map(|_| self.event()).collect();
        let body = serde_json::to_vec(&serde_json::json!({ "events": events }))?;
        Ok((events, body))
    }
}

/// Phase 5 alone.
fn noisy_neighbour() -> BenchResult<()> {
    println!("aisle-server ingest benchmark, noisy neighbour only");
    println!("  {}", noisy_neighbour_line()?);
    Ok(())
}

/// Phase 5: a quiet tenant's one-event push p99, idle and under another tenant's flood of
/// refused requests, in a fresh server with its default limits.
fn noisy_neighbour_line() -> BenchResult<String> {
    let n_pushes = env_count("AISLE_BENCH_NEIGHBOUR_PUSHES", 300)?;
    let n_flood = env_count("AISLE_BENCH_FLOOD_CONNS", 32)?;
    let parent = bench_parent_dir();
    std::fs::create_dir_all(&parent)?;
    let dir = tempfile::Builder::new()
        .prefix("aisle-bench-neighbour-")
        .tempdir_in(&parent)?;
    let data = dir.path().join("data");
    std::fs::create_dir_all(data.join("tenants"))?;
    let registry = SqliteRegistry::open(&aisle_server::registry_path(&data))?;
    let quiet = enroll(&registry, "quiet", 1)?.remove(0);
    let noisy = enroll(&registry, "noisy", 1)?.remove(0);
    let quota = aisle_server::registry::TenantQuota {
        push_per_sec: Some(1),
        max_bytes: None,
    };
    registry.set_tenant_quota(noisy.tenant, quota, aisle_server::now_ms())?;
    drop(registry);
    let server = ServerProcess::start_with(&data, 16, &[])?;
    let base = server.base.clone();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let http = reqwest::Client::new();
    let mut floor = Floor::new(&quiet, 77);
    let bodies: Vec<Vec<u8>> = (0..2 * n_pushes + 20)
        .map(|_| floor.batch(1).map(|(_, body)| body))
        .collect::<BenchResult<_>>()?;
    let (warm, rest) = bodies.split_at(20);
    let (idle_bodies, flood_bodies) = rest.split_at(n_pushes);
    let one_at_a_time = |bodies: &[Vec<u8>]| {
        let bodies = bodies.to_vec();
        let http = http.clone();
        let base = base.clone();
        let quiet = quiet.clone();
        runtime.block_on(async move {
            let mut latencies = Vec::with_capacity(bodies.len());
            // Paced like a busy floor (50 pushes/s), within the tenant's request rate.
            let mut pace = tokio::time::interval(Duration::from_millis(20));
            for body in bodies {
                pace.tick().await;
                latencies.push(push(&http, &base, &quiet, body).await?);
            }
            BenchResult::Ok(latencies)
        })
    };
    one_at_a_time(warm)?;
    let idle = Percentiles::of(one_at_a_time(idle_bodies)?);

    // The flood runs on its own threads, from another address, so the quiet tenant's
    // requests do not queue behind it in this process.
    let flood_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flood_http = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .pool_max_idle_per_host(n_flood)
        .build()?;
    let (_, noisy_body) = Floor::new(&noisy, 78).batch(1)?;
    let mut flooders = Vec::new();
    for _ in 0..n_flood {
        let http = flood_http.clone();
        let url = format!("{base}/v1/t/{}/events", noisy.tenant);
        let token = noisy.token.clone();
        let body = noisy_body.clone();
        let stop = Arc::clone(&stop);
        flooders.push(flood_runtime.spawn(async move {
            let mut statuses: HashMap<u16, u64> = HashMap::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let sent = http
                    .post(&url)
                    .bearer_auth(&token)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await;
                let status = match sent {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        let _ = response.bytes().await;
                        status
                    }
                    Err(_) => 0,
                };
                *statuses.entry(status).or_default() += 1;
            }
            statuses
        }));
    }
    std::thread::sleep(Duration::from_millis(500));
    let flood_start = Instant::now();
    let flooded = one_at_a_time(flood_bodies);
    let flood_elapsed = flood_start.elapsed();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut statuses: HashMap<u16, u64> = HashMap::new();
    for flooder in flooders {
        for (status, n) in flood_runtime.block_on(flooder)? {
            *statuses.entry(status).or_default() += n;
        }
    }
    let flooded = Percentiles::of(flooded?);
    let n_flood_requests: u64 = statuses.values().sum();
    let mut by_status: Vec<_> = statuses.into_iter().collect();
    by_status.sort_unstable();
    let ratio = flooded.p99 / idle.p99;
    Ok(format!(
        "noisy neighbour, one-event push p99 ms: idle {:.2} | under flood {:.2} | {:.2}x | target ≤ 2x: {} \
         (p50 {:.2} vs {:.2}; flood {:.0} req/s from {n_flood} connections, by status {by_status:?})",
        idle.p99,
        flooded.p99,
        ratio,
        verdict(ratio <= 2.0),
        idle.p50,
        flooded.p50,
        n_flood_requests as f64 / flood_elapsed.as_secs_f64(),
    ))
}
