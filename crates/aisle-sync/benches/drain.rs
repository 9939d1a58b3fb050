//! Benchmark: how fast the sync engine drains a device's outbox to the real server, and how
//! fast a second device pulls those events back and applies them, each printed beside the
//! raw rate of moving the same bytes over loopback HTTP to a trivial endpoint, measured in
//! the same run.
//!
//! Run it with `cargo bench -p aisle-sync --bench drain`. It prints figures and says which
//! targets they meet, but it never fails on timing: the machine decides the numbers.
//!
//! What runs: the real server (`aisle_server::RunningServer`) in this process on
//! 127.0.0.1, devices enrolled straight through its registry with their tokens held in
//! memory (a benchmark has no business in the OS keyring), real device stores on the real
//! disk, and the real [`Engine`] doing `sync_once`. Recording the events is not timed.
//!
//! - Drain: a fresh device records `N` events (`record_batch`), then one engine round is
//!   timed until the engine's own status says nothing is pending. The same round then
//!   pulls the device's own events back as duplicates; that is reported, not counted.
//!   Baseline: the same push bodies (`{"events":[...]}`, serialized as the engine does,
//!   from the outbox) POSTed one after another to an axum endpoint that reads the body and
//!   answers a fixed small JSON.
//! - Apply: a second device of the first drain's tenant runs one round that pulls and
//!   applies the `N` events (pages of `pull_limit`, cursor moved in the same transaction).
//!   Separately: the same pages fetched as bytes, decoded, and `Store::apply_remote` alone
//!   on the decoded pages into a third, fresh store, so the split between network and store
//!   is known. Baseline: GETs of the same response bytes from the trivial endpoint.
//! - Split of the drain: a replica of the engine's push loop on a third tenant, with each
//!   section timed (store reads, encoding, HTTP and server, decoding the answer, settling).
//!
//! Every baseline runs once before and once after the measurement it belongs to, and the
//! mean of the two is reported, so noise from a shared machine lands on both sides.
//!
//! Settings, all optional environment variables:
//! - `AISLE_BENCH_EVENTS`: events per device (default 100,000);
//! - `AISLE_BENCH_BATCHES`: push batch sizes to drain with, comma-separated (default
//!   `500,1000`); the first is the headline, the apply source and the split's batch;
//! - `AISLE_BENCH_PULL_LIMIT`: events per pull page (default: the engine's, 5,000);
//! - `AISLE_BENCH_SPLIT=0`: skip the section-timed replica of the push loop;
//! - `AISLE_BENCH_DIR`: where the server and device files go (default: cargo's target tmp
//!   dir, which is on the real disk; fsync on a tmpfs would measure nothing);
//! - `AISLE_BENCH_KEEP=1`: keep the files afterwards.

use aisle_core::event::{EventBody, EventVersion};
use aisle_core::ids::{EventId, TenantId, UserId, WarehouseId};
use aisle_core::{testkit, Event, Hlc};
use aisle_protocol::{PullResponse, PushRequest, PushResponse, PushStatus};
use aisle_server::{Registry, RunningServer, ServerConfig, SqliteRegistry};
use aisle_store::{Recorded, Store};
use aisle_sync::engine::{RoundReport, MASTER_CURSOR, PULL_CURSOR};
use aisle_sync::{
    system_now_ms, DeviceClock, DeviceProfile, Engine, SharedClock, SyncConfig, Token,
};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::error::Error;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

type BenchResult<T> = Result<T, Box<dyn Error>>;

const TARGET_DRAIN_PER_S: f64 = 10_000.0;
const TARGET_APPLY_PER_S: f64 = 50_000.0;
/// Events per `record_batch` transaction while preparing a device (not timed).
const RECORD_CHUNK: usize = 10_000;
/// What the trivial endpoint answers to every push.
const SINK_ANSWER: &str = r#"{"ok":true}"#;

fn main() -> BenchResult<()> {
    let settings = Settings::from_env()?;
    let parent = bench_parent_dir();
    std::fs::create_dir_all(&parent)?;
    let dir = tempfile::Builder::new()
        .prefix("aisle-bench-drain-")
        .tempdir_in(&parent)?;
    let n_events = settings.n_events;
    println!("aisle-sync drain and apply benchmark");
    println!(
        "  {n_events} events per device; push batches {:?}; pull pages of {}",
        settings.batch_sizes, settings.pull_limit
    );
    println!("  files in {}", dir.path().display());
    let load_before = load_average();
    println!("  load average at start: {load_before}");

    let harness = Harness::start(dir.path())?;
    let mut rows = Vec::new();
    let mut details = Vec::new();

    // 1. Drain, once per batch size, each on its own tenant so the server starts empty.
    let mut apply_source = None;
    let mut headline_drain = None;
    for (run_idx, &batch_size) in settings.batch_sizes.iter().enumerate() {
        let tenant = harness.tenant(&format!("drain-{batch_size}"))?;
        let device = harness.device(&tenant, &format!("drain-{batch_size}"))?;
        let bodies = prepare_outbox(&device, n_events, 1 + run_idx as u64, batch_size)?;
        let baseline_before = harness.post_to_sink(&device, &bodies)?;
        let drain = harness.drain(&device, engine_config(batch_size, settings.pull_limit))?;
        let baseline_after = harness.post_to_sink(&device, &bodies)?;
        if drain.report.n_sent != n_events as u64 || drain.report.n_quarantined != 0 {
            return Err(format!("the drain settled {:?}", drain.report).into());
        }
        let aisle = per_second(n_events, drain.to_empty);
        let baseline = mean_rate(n_events, baseline_before, baseline_after);
        println!(
            "  drain, batch {batch_size}: {} events/s ({:.2} s); raw POSTs {} events/s ({:.3} s before, {:.3} s after); then pulling its own {n_events} events back took {:.2} s",
            rate_text(aisle),
            drain.to_empty.as_secs_f64(),
            rate_text(baseline),
            baseline_before.as_secs_f64(),
            baseline_after.as_secs_f64(),
            drain.round.saturating_sub(drain.to_empty).as_secs_f64(),
        );
        rows.push(Row::new(
            format!("drain, batch {batch_size}, events/s"),
            aisle,
            Some(baseline),
            Some((TARGET_DRAIN_PER_S, "10,000")),
        ));
        details.push(format!(
            "drain, batch {batch_size}: {} requests, {:.1} ms each; the whole round incl. pulling the echo: {:.2} s",
            bodies.len(),
            drain.to_empty.as_secs_f64() * 1e3 / bodies.len() as f64,
            drain.round.as_secs_f64()
        ));
        if run_idx == 0 {
            apply_source = Some(tenant);
            headline_drain = Some((
                batch_size,
                drain.to_empty,
                mean(baseline_before, baseline_after),
            ));
        }
    }

    // 2. Where the drain's time goes: the push loop replicated, section by section.
    if let (true, Some((batch_size, engine_time, sink_time))) = (settings.split, headline_drain) {
        let tenant = harness.tenant("split")?;
        let device = harness.device(&tenant, "split")?;
        prepare_outbox(&device, n_events, 100, batch_size)?;
        let sections = harness.replica_push_loop(&device, batch_size)?;
        for line in sections.describe(n_events, engine_time, sink_time) {
            println!("  {line}");
            details.push(line);
        }
    }

    // 3. Apply: a second device of the first drain's tenant pulls everything.
    let tenant = apply_source.ok_or("no drain ran")?;
    let puller = harness.device(&tenant, "apply")?;
    let pages = harness.fetch_pages(&puller, settings.pull_limit)?;
    // The server adds its own `resolved` events (the rules' automatic decisions, e.g. the
    // negative stock this floor runs into) to the log; they are pulled and applied too.
    let n_fetched: usize = pages.decoded.iter().map(|page| page.events.len()).sum();
    let n_floor = pages
        .decoded
        .iter()
        .flat_map(|page| &page.events)
        .filter(|event| event.kind() != "resolved")
        .count();
    if n_floor != n_events {
        return Err(format!(
            "fetched {n_floor} floor events (and {} resolutions), expected {n_events}",
            n_fetched - n_floor
        )
        .into());
    }
    println!(
        "  apply: the pull holds the {n_events} events and {} resolutions the server recorded",
        n_fetched - n_floor
    );
    harness.serve_pages(&pages.raw);
    let baseline_before = harness.get_from_sink(&puller, pages.raw.len())?;
    let (apply_time, report) = harness.apply(
        &puller,
        engine_config(settings.batch_sizes[0], settings.pull_limit),
    )?;
    let baseline_after = harness.get_from_sink(&puller, pages.raw.len())?;
    if report.n_pulled_new != n_fetched as u64 {
        return Err(format!("the apply round reported {report:?}").into());
    }
    let store_only_path = harness.devices_dir.join("apply-remote-only.sqlite3");
    let store_side = store_side_of_apply(&store_only_path, &puller, &pages.decoded)?;
    let store_only = store_side.apply_remote;
    let aisle = per_second(n_fetched, apply_time);
    let baseline = mean_rate(n_fetched, baseline_before, baseline_after);
    println!(
        "  apply: {} events/s ({:.2} s, {} requests); raw GETs {} events/s ({:.3} s before, {:.3} s after)",
        rate_text(aisle),
        apply_time.as_secs_f64(),
        pages.raw.len(),
        rate_text(baseline),
        baseline_before.as_secs_f64(),
        baseline_after.as_secs_f64()
    );
    rows.push(Row::new(
        "apply via engine (pull + apply), events/s".into(),
        aisle,
        Some(baseline),
        Some((TARGET_APPLY_PER_S, "50,000")),
    ));
    rows.push(Row::new(
        "  Store::apply_remote alone, events/s".into(),
        per_second(n_fetched, store_only),
        None,
        Some((TARGET_APPLY_PER_S, "50,000")),
    ));
    let split_total = pages.fetch + pages.decode + store_only;
    for (what, spent) in [
        ("GET from the server (bytes)", pages.fetch),
        ("decoding the pages", pages.decode),
        ("Store::apply_remote alone", store_only),
    ] {
        details.push(format!(
            "apply split: {what}: {:.2} s ({:.0}% of the three; {} events/s alone)",
            spent.as_secs_f64(),
            100.0 * spent.as_secs_f64() / split_total.as_secs_f64(),
            rate_text(per_second(n_fetched, spent))
        ));
    }
    details.push(format!(
        "apply split: the engine's round took {:.2} s against {:.2} s for the three parts run apart; raw GETs of the same bytes {:.3} s",
        apply_time.as_secs_f64(),
        split_total.as_secs_f64(),
        mean(baseline_before, baseline_after).as_secs_f64()
    ));
    details.push(format!(
        "apply split: what else the engine does, run apart: set_meta(last hlc) once after the pull {:.3} s; the tail page's checksum {:.3} s ({})",
        store_side.set_meta.as_secs_f64(),
        store_side.checksum.as_secs_f64(),
        match store_side.checksum_matched {
            Some(true) => "matched the server's",
            Some(false) => "DIFFERED from the server's: the engine would rebuild the projection",
            None => "the server sent none",
        }
    ));

    let load_after = load_average();
    println!(
        "\nsummary ({n_events} events; load average {load_before} at start, {load_after} at end)"
    );
    println!(
        "  {:<44} | {:>10} | {:>12} | {:>8} | target",
        "metric", "aisle", "raw loopback", "ratio"
    );
    for row in &rows {
        println!("  {}", row.line());
    }
    for line in &details {
        println!("  {line}");
    }

    drop(harness);
    if settings.keep {
        println!("kept {}", dir.keep().display());
    }
    Ok(())
}

#[derive(Debug)]
struct Settings {
    n_events: usize,
    batch_sizes: Vec<u32>,
    pull_limit: u32,
    split: bool,
    keep: bool,
}

impl Settings {
    fn from_env() -> BenchResult<Self> {
        let batch_sizes = match std::env::var("AISLE_BENCH_BATCHES") {
            Err(_) => vec![500, 1_000],
            Ok(text) => text
                .split(',')
                .map(|part| {
                    let size: u32 = part.trim().replace('_', "").parse()?;
                    if !(1..=1_000).contains(&size) {
                        return Err(format!("batch size {size} is not in 1..=1000").into());
                    }
                    Ok(size)
                })
                .collect::<BenchResult<Vec<u32>>>()?,
        };
        if batch_sizes.is_empty() {
            return Err("AISLE_BENCH_BATCHES names no batch size".into());
        }
        let pull_limit = env_count(
            "AISLE_BENCH_PULL_LIMIT",
            SyncConfig::default().pull_limit as usize,
        )?;
        if pull_limit > 5_000 {
            return Err("AISLE_BENCH_PULL_LIMIT: the server gives at most 5,000 per page".into());
        }
        Ok(Self {
            n_events: env_count("AISLE_BENCH_EVENTS", 100_000)?,
            batch_sizes,
            pull_limit: pull_limit as u32,
            split: std::env::var("AISLE_BENCH_SPLIT").map_or(true, |value| value != "0"),
            keep: std::env::var("AISLE_BENCH_KEEP").is_ok_and(|value| value == "1"),
        })
    }
}

/// A positive count from the environment, or the default when unset.
fn env_count(name: &str, default: usize) -> BenchResult<usize> {
    match std::env::var(name) {
        Err(_) => Ok(default),
        Ok(text) => {
            let count: usize = text
                .replace('_', "")
                .parse()
                .map_err(|error| format!("{name}={text:?}: {error}"))?;
            if count == 0 {
                return Err(format!("{name} must be positive").into());
            }
            Ok(count)
        }
    }
}

/// Cargo's per-target tmp dir lives under the target dir, on the real disk; the system temp
/// dir may be a tmpfs, where fsync costs nothing and the figures would be fiction.
fn bench_parent_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("AISLE_BENCH_DIR") {
        return PathBuf::from(dir);
    }
    option_env!("CARGO_TARGET_TMPDIR").map_or_else(std::env::temp_dir, PathBuf::from)
}

/// The engine's defaults, with the batch and page sizes under test, no master data (this
/// measures events), and a request timeout that a loaded machine cannot trip.
fn engine_config(batch_size: u32, pull_limit: u32) -> SyncConfig {
    SyncConfig {
        batch_size,
        pull_limit,
        pull_master: false,
        request_timeout: Duration::from_secs(300),
        ..SyncConfig::default()
    }
}

/// The 1-, 5- and 15-minute load averages.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "unknown".into())
}

fn per_second(n_events: usize, elapsed: Duration) -> f64 {
    n_events as f64 / elapsed.as_secs_f64()
}

fn mean(first: Duration, second: Duration) -> Duration {
    (first + second) / 2
}

/// The rate over the mean of two timings of the same work.
fn mean_rate(n_events: usize, first: Duration, second: Duration) -> f64 {
    per_second(n_events, mean(first, second))
}

/// A rate with thousands separators.
fn rate_text(rate: f64) -> String {
    let digits = format!("{:.0}", rate.max(0.0));
    let mut text = String::new();
    for (digit_idx, digit) in digits.chars().enumerate() {
        if digit_idx > 0 && (digits.len() - digit_idx) % 3 == 0 {
            text.push(',');
        }
        text.push(digit);
    }
    text
}

/// A ratio with enough digits to tell small ones apart.
fn ratio_text(ratio: f64) -> String {
    if ratio < 0.1 {
        format!("{ratio:.4}x")
    } else {
        format!("{ratio:.2}x")
    }
}

/// One line of the summary table.
#[derive(Debug)]
struct Row {
    metric: String,
    aisle: f64,
    baseline: Option<f64>,
    target: Option<(f64, &'static str)>,
}

impl Row {
    fn new(
        metric: String,
        aisle: f64,
        baseline: Option<f64>,
        target: Option<(f64, &'static str)>,
    ) -> Self {
        Self {
            metric,
            aisle,
            baseline,
            target,
        }
    }

    fn line(&self) -> String {
        let (baseline, ratio) = match self.baseline {
            Some(baseline) => (rate_text(baseline), ratio_text(self.aisle / baseline)),
            None => ("-".into(), "-".into()),
        };
        let target = match self.target {
            Some((minimum, text)) if self.aisle >= minimum => format!("≥ {text}: met"),
            Some((_, text)) => format!("≥ {text}: MISSED"),
            None => "-".into(),
        };
        format!(
            "{:<44} | {:>10} | {:>12} | {:>8} | {target}",
            self.metric,
            rate_text(self.aisle),
            baseline,
            ratio
        )
    }
}

/// The server, its registry, the trivial endpoint and a runtime for all of them. Fields
/// drop in order, so the runtime, which the others run on, goes last.
#[derive(Debug)]
struct Harness {
    server: RunningServer,
    registry: SqliteRegistry,
    sink: Sink,
    /// A client built like the engine's, for the baselines and the replicas.
    http: reqwest::Client,
    devices_dir: PathBuf,
    runtime: tokio::runtime::Runtime,
}

/// A tenant with one warehouse.
#[derive(Copy, Clone, Debug)]
struct Tenant {
    tenant: TenantId,
    warehouse: WarehouseId,
}

/// An enrolled device: its profile, its token (in memory), its clock and its store file.
#[derive(Debug)]
struct Device {
    profile: DeviceProfile,
    token: Token,
    clock: SharedClock,
    db_path: PathBuf,
}

/// What an engine round that drained the outbox took.
#[derive(Debug)]
struct Drain {
    /// Until the engine's status said nothing is pending.
    to_empty: Duration,
    /// The whole round, which then pulls the device's own events back.
    round: Duration,
    report: RoundReport,
}

/// Pulled pages fetched apart from the engine.
#[derive(Debug)]
struct Pages {
    /// Every response body, the final empty page included when there is one.
    raw: Vec<Bytes>,
    /// The non-empty pages, decoded.
    decoded: Vec<PulledPage>,
    fetch: Duration,
    decode: Duration,
}

impl Harness {
    fn start(dir: &Path) -> BenchResult<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        let server_dir = dir.join("server");
        let devices_dir = dir.join("devices");
        std::fs::create_dir_all(&devices_dir)?;
        let server = runtime.block_on(RunningServer::start(ServerConfig::new(
            server_dir.clone(),
            8,
        )))?;
        let registry = SqliteRegistry::open(&aisle_server::registry_path(&server_dir))?;
        let sink = runtime.block_on(Sink::start())?;
        let config = SyncConfig::default();
        // The same settings as the engine's own client (`aisle_sync::client::http_client`).
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(300))
            .connect_timeout(config.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("aisle-sync-bench")
            .build()?;
        Ok(Self {
            server,
            registry,
            sink,
            http,
            devices_dir,
            runtime,
        })
    }

    fn tenant(&self, name: &str) -> BenchResult<Tenant> {
        let now_ms = aisle_server::now_ms();
        let tenant = self.registry.add_tenant(name, now_ms)?;
        let warehouse = self.registry.add_warehouse(tenant, "main", now_ms)?;
        Ok(Tenant { tenant, warehouse })
    }

    /// Enrolls a device straight through the registry, as the end-to-end tests' server
    /// does for `POST /v1/enroll`, and keeps its token in memory.
    fn device(&self, tenant: &Tenant, name: &str) -> BenchResult<Device> {
        let now_ms = aisle_server::now_ms();
        let code = self.registry.create_enrollment_code(
            tenant.tenant,
            tenant.warehouse,
            3_600_000,
            now_ms,
        )?;
        let enrolled = self
            .registry
            .enroll(&code, name, now_ms)?
            .map_err(|refusal| format!("enrollment refused: {refusal:?}"))?;
        let profile = DeviceProfile {
            name: name.to_owned(),
            server_url: self.server.url(""),
            allow_insecure_http: false,
            tenant: enrolled.tenant,
            warehouse: enrolled.warehouse,
            device: enrolled.device,
        };
        let clock = DeviceClock::new(
            Hlc::default(),
            SyncConfig::default().clock_warn_threshold_ms,
        )
        .shared();
        Ok(Device {
            db_path: self.devices_dir.join(format!("{name}.sqlite3")),
            profile,
            token: Token::new(enrolled.token),
            clock,
        })
    }

    /// One engine round over a store full of pending events, timed until the engine's
    /// status reports nothing pending, and to its end.
    fn drain(&self, device: &Device, config: SyncConfig) -> BenchResult<Drain> {
        let store = Store::open(
            &device.db_path,
            device.profile.store_profile(),
            &bench_key(),
        )?;
        let mut engine = Engine::new(
            store,
            &device.profile,
            device.token.clone(),
            config,
            Arc::clone(&device.clock),
        )?;
        let mut status = engine.status();
        let drain = self.runtime.block_on(async {
            let start = Instant::now();
            // The status goes to `pending = N` with the round's first snapshot, down by
            // each settled push, and to 0 when the last one is settled, before the pull.
            let watcher = tokio::spawn(async move {
                while status.changed().await.is_ok() {
                    if status.borrow_and_update().pending == 0 {
                        return Some(Instant::now());
                    }
                }
                None
            });
            let report = engine.sync_once().await?;
            let round = start.elapsed();
            let emptied_at = watcher
                .await?
                .ok_or("the status never showed an empty outbox")?;
            BenchResult::Ok(Drain {
                to_empty: emptied_at - start,
                round,
                report,
            })
        })?;
        let pending = engine
            .store()
            .lock()
            .map_err(|_| "store lock poisoned")?
            .pending_outbox_count()?;
        if pending != 0 {
            return Err(format!("{pending} events still pending after the drain").into());
        }
        Ok(drain)
    }

    /// One engine round on a fresh device: pulls and applies every page, timed whole.
    fn apply(&self, device: &Device, config: SyncConfig) -> BenchResult<(Duration, RoundReport)> {
        let store = Store::open(
            &device.db_path,
            device.profile.store_profile(),
            &bench_key(),
        )?;
        let mut engine = Engine::new(
            store,
            &device.profile,
            device.token.clone(),
            config,
            Arc::clone(&device.clock),
        )?;
        self.runtime.block_on(async {
            let start = Instant::now();
            let report = engine.sync_once().await?;
            Ok((start.elapsed(), report))
        })
    }

    /// POSTs each body in turn to the trivial endpoint, reading every answer.
    fn post_to_sink(&self, device: &Device, bodies: &[Bytes]) -> BenchResult<Duration> {
        let url = format!("{}/v1/t/{}/events", self.sink.base, device.profile.tenant);
        self.runtime.block_on(async {
            let start = Instant::now();
            for body in bodies {
                let response = self
                    .http
                    .post(&url)
                    .bearer_auth(device.token.expose())
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(body.clone())
                    .send()
                    .await?
                    .error_for_status()?;
                let answer = response.bytes().await?;
                if answer.len() != SINK_ANSWER.len() {
                    return Err("the trivial endpoint answered something else".into());
                }
            }
            Ok(start.elapsed())
        })
    }

    fn serve_pages(&self, pages: &[Bytes]) {
        *self.sink.pages.write().expect("pages lock") = pages.to_vec();
    }

    /// GETs the served pages in turn from the trivial endpoint, reading every body.
    fn get_from_sink(&self, device: &Device, n_pages: usize) -> BenchResult<Duration> {
        self.runtime.block_on(async {
            let start = Instant::now();
            for page_idx in 0..n_pages {
                let body = self
                    .http
                    .get(format!("{}/pages/{page_idx}", self.sink.base))
                    .bearer_auth(device.token.expose())
                    .send()
                    .await?
                    .error_for_status()?
                    .bytes()
                    .await?;
                if body.is_empty() {
                    return Err("the trivial endpoint served an empty page".into());
                }
            }
            Ok(start.elapsed())
        })
    }

    /// Pulls every page from the real server as the engine asks for them, timing the
    /// exchange (bytes only) and the decoding apart.
    fn fetch_pages(&self, device: &Device, limit: u32) -> BenchResult<Pages> {
        self.runtime.block_on(async {
            let mut pages = Pages {
                raw: Vec::new(),
                decoded: Vec::new(),
                fetch: Duration::ZERO,
                decode: Duration::ZERO,
            };
            let mut after = 0u64;
            loop {
                let url = self.server.url(&format!(
                    "/v1/t/{}/events?after={after}&limit={limit}",
                    device.profile.tenant
                ));
                let start = Instant::now();
                let body = self
                    .http
                    .get(url)
                    .bearer_auth(device.token.expose())
                    .send()
                    .await?
                    .error_for_status()?
                    .bytes()
                    .await?;
                pages.fetch += start.elapsed();
                let start = Instant::now();
                let page: PullResponse = serde_json::from_slice(&body)?;
                let events: Vec<Event> =
                    page.events.into_iter().map(|pulled| pulled.event).collect();
                pages.decode += start.elapsed();
                // As in the engine: the checksum is comparable on the tail page only.
                let checksum = page
                    .checksum
                    .filter(|_| page.checksum_seq == Some(page.next));
                pages.raw.push(body);
                let n_page = events.len();
                if n_page == 0 {
                    break;
                }
                after = page.next;
                pages.decoded.push(PulledPage {
                    events,
                    next: page.next,
                    checksum,
                });
                // The engine stops at a short page, as here.
                if n_page < limit as usize {
                    break;
                }
            }
            Ok(pages)
        })
    }

    /// The engine's push loop with each section timed: the snapshot's store reads, encoding
    /// the request, the exchange with the real server, decoding the answer, settling it.
    fn replica_push_loop(&self, device: &Device, batch_size: u32) -> BenchResult<Sections> {
        let mut store = Store::open(
            &device.db_path,
            device.profile.store_profile(),
            &bench_key(),
        )?;
        let url = self
            .server
            .url(&format!("/v1/t/{}/events", device.profile.tenant));
        let mut sections = Sections::default();
        loop {
            let start = Instant::now();
            let due: Vec<Event> = store
                .outbox_batch(system_now_ms(), batch_size)?
                .into_iter()
                .map(|entry| entry.event)
                .collect();
            sections.outbox_batch += start.elapsed();
            let start = Instant::now();
            store.pending_outbox_count()?;
            sections.pending_count += start.elapsed();
            let start = Instant::now();
            store.next_outbox_attempt_ms()?;
            store.cursor(PULL_CURSOR)?;
            store.cursor(MASTER_CURSOR)?;
            sections.next_due_and_cursors += start.elapsed();
            if due.is_empty() {
                break;
            }
            let start = Instant::now();
            let body = serde_json::to_vec(&PushRequest { events: &due })?;
            sections.encode += start.elapsed();
            let start = Instant::now();
            let answer = self.runtime.block_on(async {
                let response = self
                    .http
                    .post(&url)
                    .bearer_auth(device.token.expose())
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(body)
                    .send()
                    .await?
                    .error_for_status()?;
                BenchResult::Ok(response.bytes().await?)
            })?;
            sections.exchange += start.elapsed();
            let start = Instant::now();
            let answer: PushResponse = serde_json::from_slice(&answer)?;
            sections.decode += start.elapsed();
            if answer.results.len() != due.len()
                || answer
                    .results
                    .iter()
                    .any(|result| result.status != PushStatus::Applied)
            {
                return Err("the server did not apply every event of the replica".into());
            }
            let sent: Vec<EventId> = due.iter().map(|event| event.id).collect();
            let start = Instant::now();
            store.settle_push(&sent, &[])?;
            sections.settle += start.elapsed();
            sections.n_requests += 1;
        }
        Ok(sections)
    }
}

/// Time spent per section of the replicated push loop.
#[derive(Debug, Default)]
struct Sections {
    outbox_batch: Duration,
    pending_count: Duration,
    next_due_and_cursors: Duration,
    encode: Duration,
    exchange: Duration,
    decode: Duration,
    settle: Duration,
    n_requests: usize,
}

impl Sections {
    fn describe(&self, n_events: usize, engine_time: Duration, sink_time: Duration) -> Vec<String> {
        let total = self.outbox_batch
            + self.pending_count
            + self.next_due_and_cursors
            + self.encode
            + self.exchange
            + self.decode
            + self.settle;
        let share = |part: Duration| 100.0 * part.as_secs_f64() / total.as_secs_f64();
        let per_request = |part: Duration| part.as_secs_f64() * 1e3 / self.n_requests as f64;
        let mut lines = vec![format!(
            "drain split (replica of the push loop, {} requests): {:.2} s in all, {} events/s; the engine took {:.2} s",
            self.n_requests,
            total.as_secs_f64(),
            rate_text(per_second(n_events, total)),
            engine_time.as_secs_f64()
        )];
        for (what, part) in [
            ("store: outbox_batch (read and decode)", self.outbox_batch),
            ("store: pending_outbox_count", self.pending_count),
            (
                "store: next_outbox_attempt_ms + cursors",
                self.next_due_and_cursors,
            ),
            ("encode the push body", self.encode),
            ("HTTP + server ingest", self.exchange),
            ("decode the answer", self.decode),
            ("store: settle_push", self.settle),
        ] {
            lines.push(format!(
                "drain split: {what}: {:.2} s ({:.0}%, {:.1} ms per request)",
                part.as_secs_f64(),
                share(part),
                per_request(part)
            ));
        }
        lines.push(format!(
            "drain split: of the HTTP + server time, the trivial endpoint needs {:.3} s for the same bytes, so the server's own work is about {:.2} s",
            sink_time.as_secs_f64(),
            (self.exchange.saturating_sub(sink_time)).as_secs_f64()
        ));
        lines
    }
}

/// Records `n_events` floor events on a fresh device store (not timed) and returns the
/// push bodies the engine will send, built from the outbox the way the engine builds them.
fn prepare_outbox(
    device: &Device,
    n_events: usize,
    seed: u64,
    batch_size: u32,
) -> BenchResult<Vec<Bytes>> {
    let mut store = Store::open(
        &device.db_path,
        device.profile.store_profile(),
        &bench_key(),
    )?;
    let mut floor = Floor::new(seed);
    let start = Instant::now();
    let mut n_recorded = 0;
    while n_recorded < n_events {
        let chunk: Vec<Event> = (0..RECORD_CHUNK.min(n_events - n_recorded))
            .map(|_| floor.event(device))
            .collect();
        let recorded = store.record_batch(&chunk)?;
        if recorded
            .iter()
            .any(|outcome| !matches!(outcome, Recorded::New { .. }))
        {
            return Err("a generated event was already in the store".into());
        }
        n_recorded += chunk.len();
    }
    let pending = store.outbox_batch(i64::MAX, u32::try_from(n_events)?)?;
    if pending.len() != n_events {
        return Err(format!("{} pending, expected {n_events}", pending.len()).into());
    }
    let events: Vec<Event> = pending.into_iter().map(|entry| entry.event).collect();
    let bodies = events
        .chunks(batch_size as usize)
        .map(|batch| {
            Ok(Bytes::from(serde_json::to_vec(&PushRequest {
                events: batch,
            })?))
        })
        .collect::<BenchResult<Vec<Bytes>>>()?;
    let n_bytes: usize = bodies.iter().map(Bytes::len).sum();
    println!(
        "  {}: recorded {n_events} events in {:.1} s (not timed); {} push bodies, {:.0} bytes per event",
        device.profile.name,
        start.elapsed().as_secs_f64(),
        bodies.len(),
        n_bytes as f64 / n_events as f64
    );
    Ok(bodies)
}

/// A decoded pull page.
#[derive(Debug)]
struct PulledPage {
    events: Vec<Event>,
    next: u64,
    /// The server's stock checksum, when it is comparable (the tail page).
    checksum: Option<String>,
}

/// What the engine does to the store per pulled page, each part timed apart.
#[derive(Debug)]
struct StoreSide {
    /// `Store::apply_remote` with the cursor, one transaction per page.
    apply_remote: Duration,
    /// The engine then saves the clock's last hlc once, in a transaction of its own.
    set_meta: Duration,
    /// And compares the tail page's checksum with the server's.
    checksum: Duration,
    checksum_matched: Option<bool>,
}

/// The engine's store work for a pull, page by page into a fresh store, without the
/// network: `apply_remote` with the cursor, the tail checksum, and the clock's meta entry
/// once at the end.
fn store_side_of_apply(
    path: &Path,
    device: &Device,
    pages: &[PulledPage],
) -> BenchResult<StoreSide> {
    let mut store = Store::open(path, device.profile.store_profile(), &bench_key())?;
    let mut side = StoreSide {
        apply_remote: Duration::ZERO,
        set_meta: Duration::ZERO,
        checksum: Duration::ZERO,
        checksum_matched: None,
    };
    for page in pages {
        let next = page.next.to_string();
        let start = Instant::now();
        store.apply_remote(&page.events, Some((PULL_CURSOR, &next)))?;
        side.apply_remote += start.elapsed();
        if let Some(expected) = &page.checksum {
            let start = Instant::now();
            let ours = store.page_checksum(&page.events)?;
            side.checksum += start.elapsed();
            side.checksum_matched = Some(&ours == expected);
        }
    }
    let last_hlc = pages
        .iter()
        .filter_map(|page| page.events.last())
        .next_back()
        .map_or(0, |event| event.hlc.to_packed());
    let start = Instant::now();
    store.set_meta(DeviceClock::META_LAST_HLC, &last_hlc.to_string())?;
    side.set_meta += start.elapsed();
    let n_expected: usize = pages.iter().map(|page| page.events.len()).sum();
    if store.event_count()? != n_expected as u64 {
        return Err("apply_remote did not keep every event".into());
    }
    Ok(side)
}

/// The trivial endpoint: takes any push body and answers a fixed small JSON, and serves
/// pre-serialized pull pages by index.
#[derive(Debug)]
struct Sink {
    base: String,
    pages: Arc<RwLock<Vec<Bytes>>>,
}

impl Sink {
    async fn start() -> BenchResult<Self> {
        let pages: Arc<RwLock<Vec<Bytes>>> = Arc::default();
        let router = axum::Router::new()
            .route("/v1/t/{tenant}/events", post(sink_push))
            .route("/pages/{page_idx}", get(sink_page))
            .layer(DefaultBodyLimit::max(64 << 20))
            .with_state(Arc::clone(&pages));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        tokio::spawn(async move { axum::serve(listener, router).await });
        Ok(Self { base, pages })
    }
}

async fn sink_push(body: Bytes) -> Response {
    // Reading the whole body is the work; its length only proves it was read.
    if body.is_empty() {
        return StatusCode::BAD_REQUEST.into_response();
    }
    ([(header::CONTENT_TYPE, "application/json")], SINK_ANSWER).into_response()
}

async fn sink_page(
    State(pages): State<Arc<RwLock<Vec<Bytes>>>>,
    UrlPath(page_idx): UrlPath<usize>,
) -> Response {
    let page = pages.read().expect("pages lock").get(page_idx).cloned();
    match page {
        Some(body) => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// A deterministic warehouse floor, as in the server's ingest benchmark: 40% receipts
/// (20 units), 45% picks (1 unit), 15% moves between two slots of an item, over 2,000
/// items slotted in 4 of 5,000 locations each (about 8,000 stock keys).
#[derive(Debug)]
struct Floor {
    rng: u64,
    serial: u64,
}

const N_ITEMS: u64 = 2_000;
const SLOTS_PER_ITEM: u64 = 4;
const N_LOCATIONS: u64 = 5_000;

impl Floor {
    fn new(seed: u64) -> Self {
        Self {
            rng: seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1,
            serial: 0,
        }
    }

    fn next_u64(&mut self) -> u64 {
        // xorshift64*
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn body(&mut self) -> EventBody {
        let item = self.next_u64() % N_ITEMS;
        let slot = self.next_u64() % SLOTS_PER_ITEM;
        let location = |slot: u64| ((item * SLOTS_PER_ITEM + slot) % N_LOCATIONS) as u16 + 1;
        // The key's warehouse does not matter: the bodies name location, item and lot.
        let key = testkit::key(location(slot), item as u16 + 1, None);
        match self.next_u64() % 20 {
            0..=7 => testkit::received(&key, 20),
            8..=16 => testkit::picked(&key, 1),
            _ => testkit::moved(&key, location((slot + 1) % SLOTS_PER_ITEM), 1),
        }
    }

    /// A local event stamped by the device clock, made as the end-to-end tests' devices
    /// make theirs (`tests/sync/support.rs`).
    fn event(&mut self, device: &Device) -> Event {
        self.serial += 1;
        let stamp = device
            .clock
            .lock()
            .expect("clock lock")
            .stamp(system_now_ms());
        let profile = &device.profile;
        let mut random = [0u8; 10];
        random[..8].copy_from_slice(&self.serial.to_be_bytes());
        random[8..].copy_from_slice(&profile.device.as_bytes()[14..]);
        Event {
            v: EventVersion::CURRENT,
            id: EventId::new_v7(stamp.hlc.wall_ms, random),
            tenant: profile.tenant,
            warehouse: profile.warehouse,
            device: profile.device,
            user: UserId::new_v7(
                1,
                profile.device.as_bytes()[6..]
                    .try_into()
                    .expect("ten bytes of the device id"),
            ),
            hlc: stamp.hlc,
            clock_correction_ms: stamp.clock_correction_ms,
            replaces: None,
            body: self.body(),
        }
    }
}

/// The store key of every bench device (the files are encrypted as on a real PC).
fn bench_key() -> aisle_store::StoreKey {
    aisle_store::StoreKey::from_bytes([0xd1; 32])
}
