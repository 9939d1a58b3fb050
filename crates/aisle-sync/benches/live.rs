//! Benchmark: live sync (issue 15). How long from one PC's commit until another PC's store
//! holds the event, with 50 devices connected, and what an idle device and an idle server
//! pay for being live.
//!
//! Run it with `cargo bench -p aisle-sync --bench live`. It prints figures and the targets
//! they meet, and never fails on timing.
//!
//! What runs: real servers (`aisle_server::RunningServer`) on 127.0.0.1, real device stores
//! on disk, real engines running in the background as the desktop runs them (live sync on,
//! the default configuration), with their tokens in memory (a benchmark has no business in
//! the OS keyring).
//!
//! - Latency, once on SQLite (one instance) and once on PostgreSQL (a throwaway cluster
//!   started here, two instances sharing it; devices alternate between the instances, so
//!   half the watchers learn of a push through LISTEN/NOTIFY): device A records an event in
//!   its store and tells its engine, as the app does after a scan (the engine's 250 ms
//!   debounce is part of the path, as on the floor); each of the other devices' status
//!   watchers notes when its store has applied it (`SyncStatus::pulled_new`). p50, p95 and
//!   the largest of all (round, watcher) pairs, from A's commit.
//! - Server memory per waiting pull: a server in a child process (this executable again),
//!   its RSS before and with 1,000 and 5,000 pulls waiting on it.
//! - A device's requests when nothing happens, counted by the server (`/metrics`) over a
//!   window with the latency run's devices idle, per device and hour; plus the safety-net
//!   round every `live_interval`, whose requests are counted once.
//!
//! Settings (environment variables, all optional): `AISLE_BENCH_DEVICES` (50),
//! `AISLE_BENCH_ROUNDS` (20), `AISLE_BENCH_IDLE_SECS` (60), `AISLE_BENCH_WAITS`
//! (`1000,5000`), `AISLE_BENCH_PG=0` to skip PostgreSQL, `AISLE_BENCH_LIVE_ONLY=memory` for
//! the server's memory alone.

use aisle_core::event::EventVersion;
use aisle_core::ids::{EventId, TenantId, UserId, WarehouseId};
use aisle_core::{testkit, Event, Hlc};
use aisle_server::{Registry, RunningServer, ServerConfig, SqliteRegistry};
use aisle_store::Store;
use aisle_sync::{
    system_now_ms, DeviceClock, DeviceProfile, Engine, SyncConfig, SyncHandle, Token,
};
use std::io::{BufRead, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type BenchResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const CHILD_ROLE: &str = "AISLE_BENCH_LIVE_ROLE";

fn main() -> BenchResult<()> {
    if std::env::var(CHILD_ROLE).as_deref() == Ok("server") {
        return idle_server_child();
    }
    // The server's memory with pulls waiting, alone (it needs no quiet machine).
    if std::env::var("AISLE_BENCH_LIVE_ONLY").as_deref() == Ok("memory") {
        println!("live sync: server memory with waiting pulls");
        return idle_server_memory();
    }
    let n_devices = env_count("AISLE_BENCH_DEVICES", 50)?.max(2);
    let n_rounds = env_count("AISLE_BENCH_ROUNDS", 20)?.max(1);
    let idle_secs = env_count("AISLE_BENCH_IDLE_SECS", 60)? as u64;
    println!(
        "live sync: {n_devices} devices, {n_rounds} rounds; load average {}",
        load_average()
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let dir = tempfile::tempdir_in(std::env::temp_dir())?;

    // SQLite, one instance.
    {
        let data = dir.path().join("sqlite");
        std::fs::create_dir_all(&data)?;
        let server = runtime.block_on(RunningServer::start(ServerConfig::new(&data, 64)))?;
        let registry = SqliteRegistry::open(&aisle_server::registry_path(&data))?;
        let urls = vec![server_url(&server)];
        let fleet = Fleet::enroll(
            &registry,
            &urls,
            n_devices,
            &dir.path().join("sqlite-pcs"),
            &runtime,
        )?;
        let samples = runtime.block_on(fleet.latency(&[&server], n_rounds))?;
        report("SQLite, one instance", &samples.all);
        idle_requests(&runtime, &fleet, &urls, idle_secs)?;
        runtime.block_on(fleet.stop());
    }

    if std::env::var("AISLE_BENCH_PG").as_deref() != Ok("0") {
        let cluster = aisle_pgtest::PgCluster::start()?;
        cluster.create_database("aisle_registry")?;
        let pools = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()?;
        let registry = aisle_server::pg::registry::PgRegistry::connect(
            &cluster.url("aisle_registry"),
            pools.handle().clone(),
        )?;
        registry.add_cluster("main", &cluster.base_url(), None, 1)?;
        let start = || {
            runtime.block_on(RunningServer::start(ServerConfig::postgres(
                cluster.url("aisle_registry"),
                64,
            )))
        };
        let (a, b) = (start()?, start()?);
        let urls = vec![server_url(&a), server_url(&b)];
        let fleet = Fleet::enroll(
            &registry,
            &urls,
            n_devices,
            &dir.path().join("pg-pcs"),
            &runtime,
        )?;
        let samples = runtime.block_on(fleet.latency(&[&a, &b], n_rounds))?;
        report("PostgreSQL, two instances, all watchers", &samples.all);
        report(
            "PostgreSQL, watchers on the other instance (LISTEN/NOTIFY)",
            &samples.other_instance,
        );
        runtime.block_on(fleet.stop());
    }

    idle_server_memory()?;
    Ok(())
}

fn server_url(server: &RunningServer) -> String {
    format!("http://{}", server.addr)
}

/// Devices enrolled on one tenant's warehouse, their engines running; device 0 is the one
/// that records.
struct Fleet {
    writer: Writer,
    watchers: Vec<(usize, SyncHandle)>,
}

struct Writer {
    profile: DeviceProfile,
    store: Arc<Mutex<Store>>,
    clock: aisle_sync::SharedClock,
    handle: SyncHandle,
    serial: std::sync::atomic::AtomicU64,
}

struct Samples {
    all: Vec<Duration>,
    other_instance: Vec<Duration>,
}

impl Fleet {
    /// Enrols `n` devices, device `i` on server `urls[i % len]`, and starts their engines.
    /// The registry's calls block on their own runtime, so they run before `runtime` is
    /// entered to spawn the engines.
    fn enroll(
        registry: &dyn Registry,
        urls: &[String],
        n: usize,
        dir: &Path,
        runtime: &tokio::runtime::Runtime,
    ) -> BenchResult<Fleet> {
        std::fs::create_dir_all(dir)?;
        let now_ms = aisle_server::now_ms();
        let tenant = registry.add_tenant("bench", now_ms)?;
        let warehouse = registry.add_warehouse(tenant, "main", now_ms)?;
        let enrolled = (0..n)
            .map(|index| {
                enroll_one(
                    registry,
                    tenant,
                    warehouse,
                    &urls[index % urls.len()],
                    index,
                )
            })
            .collect::<BenchResult<Vec<_>>>()?;
        let _entered = runtime.enter();
        let mut writer = None;
        let mut watchers = Vec::new();
        for (index, (profile, token)) in enrolled.into_iter().enumerate() {
            let key = aisle_store::StoreKey::from_bytes([0x1e; 32]);
            let path = dir.join(format!("pc-{index}.sqlite3"));
            let store = Store::open(&path, profile.store_profile(), &key)?;
            let clock = DeviceClock::new(
                Hlc::default(),
                SyncConfig::default().clock_warn_threshold_ms,
            )
            .shared();
            let engine = Engine::new(
                store,
                &profile,
                token,
                SyncConfig::default(),
                Arc::clone(&clock),
            )?;
            let store = engine.store();
            let handle = engine.spawn();
            if index == 0 {
                writer = Some(Writer {
                    profile,
                    store,
                    clock,
                    handle,
                    serial: std::sync::atomic::AtomicU64::new(0),
                });
            } else {
                watchers.push((index % urls.len(), handle));
            }
        }
        Ok(Fleet {
            writer: writer.expect("two devices or more"),
            watchers,
        })
    }

    /// `rounds` times: A records one event; every watcher's time until its store holds it.
    async fn latency(&self, servers: &[&RunningServer], rounds: usize) -> BenchResult<Samples> {
        let n_waiting = self.watchers.len() + 1;
        let mut samples = Samples {
            all: Vec::new(),
            other_instance: Vec::new(),
        };
        for round in 0..rounds {
            until(&format!("{n_waiting} live pulls waiting"), || {
                servers
                    .iter()
                    .map(|server| server.live.waiting())
                    .sum::<usize>()
                    == n_waiting
            })
            .await?;
            let watches: Vec<_> = self
                .watchers
                .iter()
                .map(|(instance, handle)| {
                    let mut status = handle.status();
                    let before = status.borrow_and_update().pulled_new;
                    let instance = *instance;
                    tokio::spawn(async move {
                        while status.changed().await.is_ok() {
                            if status.borrow_and_update().pulled_new > before {
                                return Some((instance, Instant::now()));
                            }
                        }
                        None
                    })
                })
                .collect();
            let committed = self.record()?;
            self.writer.handle.local_event();
            for watch in watches {
                let (instance, at) = tokio::time::timeout(Duration::from_secs(60), watch)
                    .await
                    .map_err(|_| format!("round {round}: a watcher never got the event"))??
                    .ok_or("a watcher's engine stopped")?;
                let took = at.saturating_duration_since(committed);
                samples.all.push(took);
                if instance != 0 {
                    samples.other_instance.push(took);
                }
            }
        }
        Ok(samples)
    }

    /// Records one receipt in A's store: the instant it committed.
    fn record(&self) -> BenchResult<Instant> {
        let writer = &self.writer;
        let stamp = writer.clock.lock().expect("clock").stamp(system_now_ms());
        let serial = 1 + writer
            .serial
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let profile = &writer.profile;
        let mut random = [0u8; 10];
        random[..8].copy_from_slice(&serial.to_be_bytes());
        random[8..].copy_from_slice(&profile.device.as_bytes()[14..]);
        let event = Event {
            v: EventVersion::CURRENT,
            id: EventId::new_v7(stamp.hlc.wall_ms, random),
            tenant: profile.tenant,
            warehouse: profile.warehouse,
            device: profile.device,
            user: UserId::new_v7(1, profile.device.as_bytes()[6..].try_into()?),
            hlc: stamp.hlc,
            clock_correction_ms: stamp.clock_correction_ms,
            replaces: None,
            body: testkit::received(&testkit::key(1, 1, None), 1),
        };
        writer.store.lock().expect("store").record(&event)?;
        Ok(Instant::now())
    }

    async fn stop(self) {
        let _ = self.writer.handle.stop().await;
        for (_, handle) in self.watchers {
            let _ = handle.stop().await;
        }
    }
}

fn enroll_one(
    registry: &dyn Registry,
    tenant: TenantId,
    warehouse: WarehouseId,
    url: &str,
    index: usize,
) -> BenchResult<(DeviceProfile, Token)> {
    let now_ms = aisle_server::now_ms();
    let code = registry.create_enrollment_code(tenant, warehouse, 3_600_000, now_ms)?;
    let name = format!("pc-{index}");
    let enrolled = registry
        .enroll(&code, &name, now_ms)?
        .map_err(|refusal| format!("enrollment refused: {refusal:?}"))?;
    let profile = DeviceProfile {
        name,
        server_url: url.to_owned(),
        allow_insecure_http: false,
        tenant: enrolled.tenant,
        warehouse: enrolled.warehouse,
        device: enrolled.device,
    };
    Ok((profile, Token::new(enrolled.token)))
}

async fn until(what: &str, mut condition: impl FnMut() -> bool) -> BenchResult<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !condition() {
        if Instant::now() > deadline {
            return Err(format!("timed out waiting for {what}").into());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(())
}

fn report(what: &str, samples: &[Duration]) {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let at = |quantile: f64| {
        let index = ((sorted.len() as f64 - 1.0) * quantile).round() as usize;
        sorted[index]
    };
    let p95 = at(0.95);
    println!(
        "  {what}: commit on A to B's store, {} samples: p50 {:.0} ms, p95 {:.0} ms, max {:.0} ms; target p95 <= 1 s: {}",
        sorted.len(),
        at(0.5).as_secs_f64() * 1e3,
        p95.as_secs_f64() * 1e3,
        sorted[sorted.len() - 1].as_secs_f64() * 1e3,
        if p95 <= Duration::from_secs(1) { "met" } else { "NOT met" },
    );
}

/// Every device idle for `secs`: the server's answered requests per device and hour, and
/// the requests of one safety-net round.
fn idle_requests(
    runtime: &tokio::runtime::Runtime,
    fleet: &Fleet,
    urls: &[String],
    secs: u64,
) -> BenchResult<()> {
    let http = reqwest::Client::new();
    let count = || -> BenchResult<u64> {
        let mut total = 0;
        for url in urls {
            let text = runtime.block_on(async {
                http.get(format!("{url}/metrics"))
                    .send()
                    .await?
                    .text()
                    .await
            })?;
            total += requests_in(&text);
        }
        Ok(total)
    };
    let before = count()?;
    std::thread::sleep(Duration::from_secs(secs));
    let during = count()? - before;
    let n_devices = (fleet.watchers.len() + 1) as f64;
    let live_per_hour = during as f64 / n_devices * 3_600.0 / secs as f64;
    // One round of one device, on demand: what the safety net costs each `live_interval`.
    let before = count()?;
    runtime
        .block_on(
            fleet
                .writer
                .handle
                .sync_now_and_wait()
                .wait(Duration::from_secs(60)),
        )
        .map_err(|error| format!("the round failed: {error:?}"))?;
    let per_round = count()? - before;
    let rounds_per_hour = 3_600.0 / SyncConfig::default().live_interval.as_secs_f64();
    println!(
        "  idle device: {live_per_hour:.0} requests/hour measured over {secs} s with {n_devices} devices, + {per_round} per safety-net round x {rounds_per_hour:.0}/hour = {:.0} requests/hour (the 30-second round alone: 120 rounds, {} requests/hour)",
        live_per_hour + per_round as f64 * rounds_per_hour,
        120 * per_round,
    );
    Ok(())
}

/// The sum of `aisle_http_requests_total` in a `/metrics` text, less the scrapes.
fn requests_in(metrics: &str) -> u64 {
    metrics
        .lines()
        .filter(|line| line.starts_with("aisle_http_requests_total{") && !line.contains("/metrics"))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// A server in a child process, its RSS with pulls waiting on it.
fn idle_server_memory() -> BenchResult<()> {
    let waits: Vec<usize> = std::env::var("AISLE_BENCH_WAITS")
        .unwrap_or_else(|_| "1000,5000".to_owned())
        .split(',')
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let mut child = std::process::Command::new(std::env::current_exe()?)
        .env(CHILD_ROLE, "server")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()?;
    let mut to_child = child.stdin.take().ok_or("child stdin")?;
    let mut from_child = std::io::BufReader::new(child.stdout.take().ok_or("child stdout")?);
    let mut line = String::new();
    from_child.read_line(&mut line)?;
    let mut words = line.split_whitespace();
    let (url, tenant, token) = (
        words.next().ok_or("url")?.to_owned(),
        words.next().ok_or("tenant")?.to_owned(),
        words.next().ok_or("token")?.to_owned(),
    );
    let pid = child.id();
    let mut ask_waiting = move || -> BenchResult<usize> {
        writeln!(to_child, "waiting")?;
        let mut answer = String::new();
        from_child.read_line(&mut answer)?;
        Ok(answer.trim().parse()?)
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()?;
    let pull = |wait: u32| {
        http.get(format!("{url}/v1/t/{tenant}/events?after=0&wait={wait}"))
            .bearer_auth(&token)
            .send()
    };
    // Warm: the tenant's database open, the first requests' buffers allocated.
    runtime.block_on(async {
        for _ in 0..20 {
            pull(0).await?.error_for_status()?;
        }
        Ok::<_, reqwest::Error>(())
    })?;
    let base = rss_kib(pid)?;
    println!(
        "  server RSS with no pull waiting: {:.1} MiB",
        base as f64 / 1024.0
    );
    let mut held = Vec::new();
    for n in waits {
        while held.len() < n {
            let request = pull(25);
            held.push(runtime.spawn(request));
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        while ask_waiting()? < n && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let waiting = ask_waiting()?;
        let rss = rss_kib(pid)?;
        println!(
            "  server RSS with {waiting} pulls waiting: {:.1} MiB, {:.1} MiB per 1,000 waiting pulls",
            rss as f64 / 1024.0,
            (rss.saturating_sub(base)) as f64 / 1024.0 / waiting.max(1) as f64 * 1_000.0
        );
    }
    for request in held {
        request.abort();
    }
    drop(child.stdin.take());
    child.kill()?;
    child.wait()?;
    Ok(())
}

/// The child's side: a SQLite server with room for many waiting pulls, one enrolled device,
/// `URL TENANT TOKEN` on stdout, then one answer per `waiting` line on stdin.
fn idle_server_child() -> BenchResult<()> {
    let dir = tempfile::tempdir()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut config = ServerConfig::new(dir.path(), 8);
    config.limits = aisle_server::limits::Limits {
        max_connections: 12_000,
        max_connections_per_address: 12_000,
        max_live_waits: 8_000,
        per_address_per_sec: 1_000_000,
        per_tenant_per_sec: 1_000_000,
        ..aisle_server::limits::Limits::default()
    };
    let server = runtime.block_on(RunningServer::start(config))?;
    let registry = SqliteRegistry::open(&aisle_server::registry_path(dir.path()))?;
    let now_ms = aisle_server::now_ms();
    let tenant = registry.add_tenant("idle", now_ms)?;
    let warehouse = registry.add_warehouse(tenant, "main", now_ms)?;
    let (profile, token) = enroll_one(&registry, tenant, warehouse, "", 0)?;
    println!(
        "{} {} {}",
        server_url(&server),
        profile.tenant,
        token.expose()
    );
    std::io::stdout().flush()?;
    for line in std::io::stdin().lock().lines() {
        if line? == "waiting" {
            println!("{}", server.live.waiting());
            std::io::stdout().flush()?;
        }
    }
    Ok(())
}

/// The resident set of process `pid`, in KiB.
fn rss_kib(pid: u32) -> BenchResult<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|line| line.starts_with("VmRSS:"))
        .ok_or("no VmRSS")?;
    Ok(line.split_whitespace().nth(1).ok_or("VmRSS")?.parse()?)
}

fn env_count(name: &str, default: usize) -> BenchResult<usize> {
    match std::env::var(name) {
        Ok(text) => Ok(text
            .parse()
            .map_err(|_| format!("{name}={text} is not a count"))?),
        Err(_) => Ok(default),
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "unknown".to_owned())
}
