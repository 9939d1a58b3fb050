//! Phase 6: the same workload on the SQLite and the PostgreSQL tenant storage, side by side.
//!
//! Each backend runs in a child process of this benchmark (this binary again, with
//! `AISLE_BENCH_BACKEND_CHILD` set), so its RSS is its own. The child serves protocol v1
//! in-process through the crate's real router (`http::router` and `serve::run`, the same
//! layers `aisle-server serve` builds) with the rate limits and the push quota off. Each
//! backend has its own registry, as `serve --data` and `serve --database` do: SQLite's in
//! the data directory with `SqliteStorage`; on PostgreSQL a `PgRegistry` in a database of
//! the one throwaway `aisle-pgtest` cluster, which creates each tenant's database there and
//! places it, with `PgStorage` (so every request's token is looked up in PostgreSQL). In
//! process, not the binary, so the pools' metrics can be read and the interleaved child can
//! run two servers; the client (reqwest) shares the process and the two cores, and its
//! memory is in the RSS figure.
//!
//! PostgreSQL runs with its defaults (fsync on, full_page_writes on, synchronous_commit on,
//! shared_buffers 128MB, max_connections 100): `aisle-pgtest`'s test-speed settings
//! (fsync and full_page_writes off, shared_buffers 32MB) are put back, and only
//! [`PG_TUNING`] is tuned.
//!
//! In each child, in order: (a) touching `AISLE_BENCH_RSS_TENANTS` tenants (one push of 10
//! events each) with `AISLE_BENCH_POOL_CAP` pools open at most, then the RSS and, on
//! PostgreSQL, the cluster's client connections; (b) one tenant, one device, sequential
//! pushes; (c) `AISLE_BENCH_TENANTS` tenants × `AISLE_BENCH_DEVICES` devices at once, each
//! pushing back to back (closed loop: its p99 is mostly queueing; `AISLE_BENCH_CLOSED_LOOP=0`
//! leaves it out); (c') a paced, open-loop load on a fleet of its own, `AISLE_BENCH_TENANTS`
//! new tenants of `AISLE_BENCH_PACED_DEVICES` (default 100) devices each, at
//! `AISLE_BENCH_PACED_RATE` events/s (default 30,000, the load, the same for every
//! backend) or `AISLE_BENCH_PACED_PERCENT` of (c)'s rate, for about
//! `AISLE_BENCH_PACED_SECS` (default 30) or one interval, each device pushing one batch per
//! interval, after a lead-in of `AISLE_BENCH_PACED_LEAD_SECS` (default 30; 0 for none) at the
//! same load whose pushes are not counted (their p99 is printed beside the measured ones),
//! the devices staggered over the interval with the tenants
//! in turn (`AISLE_BENCH_PACED_ORDER=blocks`: tenant by tenant, one tenant at a time taking
//! the whole load): the p99 of a push under that load
//! (`AISLE_BENCH_PACED_TRACE=FILE` writes each of its pushes' send time and latency there,
//! after the run's start in Unix ms, to line the tail up with the database's own samples,
//! and the machine's CPU each second), with the machine's CPU in the window (busy, iowait,
//! steal: the host's taking it for others, idle; from `/proc/stat`), and on PostgreSQL how
//! its pushes ran (the key cache's hits and misses, the pushes carried by groups: the
//! pools' metrics, wired to the served `/metrics` as `serve` wires them); (d) one
//! tenant's pushes from 1 device and then from `AISLE_BENCH_LOCK_PUSHERS` devices at once
//! (default 8; `AISLE_BENCH_LOCK_EVENTS` events each time, default 50,000): what the
//! tenant's push serialisation (PUSH_LOCK and the in-process push queue on PostgreSQL,
//! SQLite's write lock) costs. `AISLE_BENCH_PG_TENANT_CONNECTIONS` sets the PostgreSQL
//! pools' connections a tenant (default `PgPoolConfig`'s), for experiments.
//! Before (b), (c) and (d) each device makes one untimed one-event push, so opening a tenant
//! (its migrations on PostgreSQL) is not in their figures; it is in (a)'s touch time.
//! `AISLE_BENCH_BACKENDS` picks the backends (default `sqlite,postgres`);
//! PostgreSQL gets two tunings, `autovacuum_naptime = 600` and `shared_buffers = 2GB`
//! ([`PG_TUNING`]);
//! `AISLE_BENCH_PG_SETTINGS=name=value,…` tries others instead, `none` none (printed). The
//! server's PostgreSQL pools keep their statements prepared on each connection, as `serve
//! --keep-prepared-statements` does (the cluster is reached directly);
//! `AISLE_BENCH_PG_KEEP_STATEMENTS=0` prepares them per transaction, serve's default.
//!
//! What the ERP outbox costs ingest (issue 16: at most 15%): after each backend, a second
//! child runs (a), (b) and (c) again on a fresh server whose pushes derive no ERP messages
//! (`without_erp_outbox`, which nothing but this benchmark calls), and the report prints
//! both rates and the cost. `AISLE_BENCH_OUTBOX_COST=0` leaves those children out. On
//! PostgreSQL a CHECKPOINT follows (a), and the creation of (c)'s and (c')'s tenants, untimed
//! and printed: creating the databases filled the WAL and left some 300 files each to fsync,
//! and the checkpoints that forces would otherwise fall in the timed phases (of one run and
//! not the other, and in (c')'s window past its lead-in). Those runs are minutes apart, and this shared machine's speed drifts by ±10% over
//! minutes, so (e) measures the cost interleaved as well, in a child of its own: two servers
//! on one cluster (each with half its connection budget), one whose pushes derive messages
//! and one whose pushes derive none, and
//! `AISLE_BENCH_OUTBOX_AB_ROUNDS` rounds (default 6; 0 leaves it out) that push the same
//! one-tenant (`AISLE_BENCH_OUTBOX_AB_EVENTS`, 100,000) and many-tenant
//! (`AISLE_BENCH_OUTBOX_AB_AGG_EVENTS`, 100,000) loads through one and then the other, the
//! order alternating; the report gives each round's cost and the median.

use super::{
    bench_parent_dir, env_count, env_count_or_zero, per_second, push, push_as_device, rss_mb,
    verdict, BenchResult, Device, Floor, Percentiles,
};
use aisle_core::Event;
use aisle_pgtest::{PgCluster, PgOptions};
use aisle_server::pg::placement::Placements;
use aisle_server::pg::pools::{PgPoolConfig, PgTenantPools};
use aisle_server::pg::registry::PgRegistry;
use aisle_server::pg::storage::PgStorage;
use aisle_server::{Registry, SqliteRegistry};
use serde::{Deserialize, Serialize};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

const CHILD_ENV: &str = "AISLE_BENCH_BACKEND_CHILD";
const TARGET_PG_ONE_TENANT: f64 = 20_000.0;
const TARGET_PG_AGGREGATE: f64 = 30_000.0;
const TARGET_PG_P99_MS: f64 = 1_000.0;
const TARGET_RSS_MB: f64 = 300.0;
/// What PostgreSQL's defaults are, put back over `aisle-pgtest`'s test-speed settings.
const PG_SETTINGS: &[(&str, &str)] = &[
    ("fsync", "on"),
    ("full_page_writes", "on"),
    ("synchronous_commit", "on"),
    ("shared_buffers", "128MB"),
];

/// What this benchmark tunes over PostgreSQL's defaults, as docs/scaling.md ("Tuning a
/// cluster of many tenant databases") recommends:
/// - `autovacuum_naptime`: the autovacuum launcher starts a worker in each database once per
///   naptime, so with the default 1 min and 600 databases it starts one every 100 ms, which
///   took about a fifth of this machine's push throughput;
/// - `shared_buffers`: the default 128MB is initdb's conservative floor. The closed loop's 50
///   tenant databases write over half a gigabyte of tables and indexes, so at 128MB PostgreSQL
///   kept evicting dirty pages into the kernel's page cache and reading them back (copying
///   pages in and out of the kernel was 11% of the machine's samples); 2GB (a twelfth of
///   this machine's 24 GiB, under PostgreSQL's own advice of a quarter of RAM, as the server
///   and the client share the machine) holds them (docs/BENCHMARKS.md, "shared_buffers").
const PG_TUNING: &str = "autovacuum_naptime=600,shared_buffers=2GB";

/// One backend's figures, as a child prints them.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Figures {
    touched: usize,
    touch_s: f64,
    rss_mb: f64,
    hwm_mb: f64,
    /// Client connections to the cluster after the touch (PostgreSQL), and the budget.
    connections: Option<(usize, usize)>,
    one_rate: f64,
    one_p99: f64,
    agg_rate: f64,
    agg_p50: f64,
    agg_p99: f64,
    lock_one_rate: f64,
    lock_one_p99: f64,
    lock_many_rate: f64,
    lock_many_p99: f64,
    /// The paced load of (c'): what was offered, what was served, the push latencies, and
    /// the share of pushes that started more than one interval behind their schedule.
    paced_offered: f64,
    paced_rate: f64,
    paced_p50: f64,
    paced_p99: f64,
    paced_late_pct: f64,
    /// The paced load's lead-in (pushes due before the measured window, not in the figures
    /// above): its length in seconds and its pushes' p99, printed beside them.
    #[serde(default)]
    paced_lead_secs: f64,
    /// `None` without a lead-in (JSON has no NaN to carry "no samples" to the parent).
    #[serde(default)]
    paced_lead_p99: Option<f64>,
    /// The lead-in's attempts refused and retried, per 100 of its pushes.
    #[serde(default)]
    paced_lead_refused_pct: f64,
    /// Measured pushes' attempts refused (`503`/`429` with `Retry-After`) and retried, per
    /// 100 pushes.
    #[serde(default)]
    paced_refused_pct: f64,
    /// The machine's CPU time in the measured window, by kind (`/proc/stat`), and the
    /// steal of its worst 5 s: a paced p99 read on a machine whose host took its CPU away
    /// (steal) or that waited on its disk (iowait) says so beside it. `None` off Linux.
    #[serde(default)]
    paced_cpu: Option<CpuShares>,
    #[serde(default)]
    paced_worst_steal_pct: Option<f64>,
    /// (e) The interleaved outbox comparison: per round, events/s with the outbox and
    /// without it, one tenant and many.
    #[serde(default)]
    ab_one: Vec<(f64, f64)>,
    #[serde(default)]
    ab_many: Vec<(f64, f64)>,
}

/// True when this process is a backend's child; it then runs that backend and exits.
pub(crate) fn is_child() -> bool {
    std::env::var_os(CHILD_ENV).is_some()
}

pub(crate) fn child_main() -> BenchResult<()> {
    let backend = std::env::var(CHILD_ENV)?;
    let figures = run_backend(&backend)?;
    println!("FIGURES {}", serde_json::to_string(&figures)?);
    Ok(())
}

/// Runs each chosen backend in a child process and returns the side-by-side lines.
pub(crate) fn side_by_side() -> BenchResult<Vec<String>> {
    let chosen = std::env::var("AISLE_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    let mut results: Vec<(String, Figures)> = Vec::new();
    let outbox_cost = std::env::var("AISLE_BENCH_OUTBOX_COST").map_or(true, |v| v != "0");
    let mut runs = Vec::new();
    for backend in chosen.split(',').map(str::trim).filter(|b| !b.is_empty()) {
        if backend != "sqlite" && backend != "postgres" {
            return Err(
                format!("AISLE_BENCH_BACKENDS: {backend:?} is not sqlite or postgres").into(),
            );
        }
        runs.push(backend.to_owned());
        if outbox_cost {
            runs.push(format!("{backend}{NO_OUTBOX}"));
        }
        if env_count_or_zero("AISLE_BENCH_OUTBOX_AB_ROUNDS", 6)? > 0 {
            runs.push(format!("{backend}{OUTBOX_AB}"));
        }
    }
    for backend in &runs {
        println!("  backend {backend}: running in a child process");
        let output = Command::new(std::env::current_exe()?)
            .env(CHILD_ENV, backend)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .output()?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        for line in stdout.lines().filter(|l| !l.starts_with("FIGURES ")) {
            println!("    {line}");
        }
        if !output.status.success() {
            return Err(format!("the {backend} child failed: {}", output.status).into());
        }
        let json = stdout
            .lines()
            .find_map(|l| l.strip_prefix("FIGURES "))
            .ok_or("the child printed no figures")?;
        results.push((backend.to_owned(), serde_json::from_str(json)?));
    }
    let mut lines = report(&results);
    lines.extend(outbox_report(&results));
    Ok(lines)
}

/// The suffix of a backend's run whose pushes derive no ERP messages.
const NO_OUTBOX: &str = "-no-outbox";
/// The suffix of a backend's run that measures only (e), the interleaved outbox cost, with
/// two servers that share the cluster's connection budget half and half.
const OUTBOX_AB: &str = "-outbox-ab";
/// Issue 16: the outbox costs ingest at most this share.
const TARGET_OUTBOX_COST: f64 = 0.15;

/// Each backend's rates with and without the ERP outbox, and what it costs.
fn outbox_report(results: &[(String, Figures)]) -> Vec<String> {
    let get = |name: &str| results.iter().find(|(b, _)| b == name).map(|(_, f)| f);
    let mut lines = Vec::new();
    for backend in ["sqlite", "postgres"] {
        let (Some(with), Some(without)) = (get(backend), get(&format!("{backend}{NO_OUTBOX}")))
        else {
            continue;
        };
        for (label, with, without) in [
            ("one tenant", with.one_rate, without.one_rate),
            ("many tenants", with.agg_rate, without.agg_rate),
        ] {
            let cost = 1.0 - with / without;
            lines.push(format!(
                "ERP outbox, {backend}, {label}: {with:.0} events/s with it, {without:.0} without: costs {:.1}% (target ≤ {:.0}%: {})",
                100.0 * cost,
                100.0 * TARGET_OUTBOX_COST,
                verdict(cost <= TARGET_OUTBOX_COST)
            ));
        }
    }
    for (backend, figures) in results {
        let backend = backend.strip_suffix(OUTBOX_AB).unwrap_or(backend);
        for (label, rounds) in [
            ("one tenant", &figures.ab_one),
            ("many tenants", &figures.ab_many),
        ] {
            if rounds.is_empty() {
                continue;
            }
            let mut costs: Vec<f64> = rounds
                .iter()
                .map(|(with, without)| 1.0 - with / without)
                .collect();
            costs.sort_by(f64::total_cmp);
            let median = if costs.len() % 2 == 1 {
                costs[costs.len() / 2]
            } else {
                (costs[costs.len() / 2 - 1] + costs[costs.len() / 2]) / 2.0
            };
            let each: Vec<String> = costs.iter().map(|c| format!("{:.1}", 100.0 * c)).collect();
            lines.push(format!(
                "ERP outbox, {backend}, {label}, interleaved over {} rounds: costs {}% (sorted): median {:.1}% (target ≤ {:.0}%: {})",
                costs.len(),
                each.join(", "),
                100.0 * median,
                100.0 * TARGET_OUTBOX_COST,
                verdict(median <= TARGET_OUTBOX_COST)
            ));
        }
    }
    for line in &lines {
        println!("{line}");
    }
    lines
}

fn report(results: &[(String, Figures)]) -> Vec<String> {
    let get = |name: &str| results.iter().find(|(b, _)| b == name).map(|(_, f)| f);
    let (sqlite, pg) = (get("sqlite"), get("postgres"));
    let n_tenants = env_count("AISLE_BENCH_TENANTS", 50).unwrap_or(50);
    let n_devices = env_count("AISLE_BENCH_DEVICES", 100).unwrap_or(100);
    let pushers = env_count("AISLE_BENCH_LOCK_PUSHERS", 8).unwrap_or(8);
    let cell = |f: Option<&Figures>, pick: &dyn Fn(&Figures) -> f64| {
        // A figure that was not measured (NaN: no samples, such as no lead-in) prints as `-`.
        f.map(pick)
            .filter(|value| !value.is_nan())
            .map_or("         -".to_owned(), |value| format!("{value:>10.0}"))
    };
    let ratio = |pick: &dyn Fn(&Figures) -> f64| match (sqlite, pg) {
        // No ratio to a figure of 0 (a machine without steal, a run without refusals).
        (Some(s), Some(p)) if !pick(s).is_nan() && !pick(p).is_nan() && pick(s) != 0.0 => {
            format!("{:.2}x", pick(p) / pick(s))
        }
        _ => "-".to_owned(),
    };
    let target = |pick: &dyn Fn(&Figures) -> f64, goal: f64, at_least: bool| {
        pg.map_or(String::new(), |p| {
            let value = pick(p);
            let met = if at_least {
                value >= goal
            } else {
                value <= goal
            };
            format!(
                "pg target {} {goal:.0}: {}",
                if at_least { "≥" } else { "≤" },
                verdict(met)
            )
        })
    };
    let mut lines = vec![format!(
        "backends (in-process router, Storage per backend)     sqlite | postgres | pg/sqlite"
    )];
    let mut row = |label: &str, pick: &dyn Fn(&Figures) -> f64, goal: Option<(f64, bool)>| {
        lines.push(format!(
            "{label:<40} {} | {} | {:>6} | {}",
            cell(sqlite, pick),
            cell(pg, pick),
            ratio(pick),
            goal.map_or(String::new(), |(g, at_least)| target(pick, g, at_least))
        ));
    };
    row(
        "one tenant, events/s",
        &|f| f.one_rate,
        Some((TARGET_PG_ONE_TENANT, true)),
    );
    row("one tenant, push p99 ms", &|f| f.one_p99, None);
    row(
        &format!("{n_tenants} tenants, {n_devices} devices, events/s"),
        &|f| f.agg_rate,
        Some((TARGET_PG_AGGREGATE, true)),
    );
    row("  push p50 ms", &|f| f.agg_p50, None);
    // Closed loop: every device pushes back to back, so by Little's law a push waits for
    // the other devices' (devices × 500 / rate); the target is the paced row's.
    row(
        "  push p99 ms (closed loop: queueing)",
        &|f| f.agg_p99,
        None,
    );
    let paced_devices = env_count("AISLE_BENCH_PACED_DEVICES", 100).unwrap_or(100);
    row(
        &format!("  paced, {n_tenants} × {paced_devices} devices: offered/s"),
        &|f| f.paced_offered,
        Some((TARGET_PG_AGGREGATE, true)),
    );
    row("  paced: served events/s", &|f| f.paced_rate, None);
    row("  paced: push p50 ms", &|f| f.paced_p50, None);
    row(
        "  paced: push p99 ms",
        &|f| f.paced_p99,
        Some((TARGET_PG_P99_MS, false)),
    );
    row("  paced: % of pushes late", &|f| f.paced_late_pct, None);
    row(
        "  paced: refused and retried, per 100",
        &|f| f.paced_refused_pct,
        None,
    );
    let cpu = |pick: fn(&CpuShares) -> f64| {
        move |f: &Figures| f.paced_cpu.as_ref().map_or(f64::NAN, pick)
    };
    row("  paced: machine CPU busy %", &cpu(|c| c.busy), None);
    row("  paced: machine CPU iowait %", &cpu(|c| c.iowait), None);
    row("  paced: machine CPU steal %", &cpu(|c| c.steal), None);
    row(
        "  paced: machine CPU steal %, worst 5 s",
        &|f| f.paced_worst_steal_pct.unwrap_or(f64::NAN),
        None,
    );
    row(
        "  paced: lead-in s (not counted)",
        &|f| f.paced_lead_secs,
        None,
    );
    row(
        "  paced: lead-in push p99 ms",
        &|f| f.paced_lead_p99.unwrap_or(f64::NAN),
        None,
    );
    row(
        "  paced: lead-in refused, per 100",
        &|f| f.paced_lead_refused_pct,
        None,
    );
    row("lock: 1 pusher, events/s", &|f| f.lock_one_rate, None);
    row("lock: 1 pusher, push p99 ms", &|f| f.lock_one_p99, None);
    row(
        &format!("lock: {pushers} pushers, events/s"),
        &|f| f.lock_many_rate,
        None,
    );
    row(
        &format!("lock: {pushers} pushers, push p99 ms"),
        &|f| f.lock_many_p99,
        None,
    );
    let touched = results.first().map_or(0, |(_, f)| f.touched);
    row(
        &format!("{touched} tenants touched, VmHWM MB"),
        &|f| f.hwm_mb,
        Some((TARGET_RSS_MB, false)),
    );
    row("  VmRSS MB", &|f| f.rss_mb, None);
    row("  seconds to touch them", &|f| f.touch_s, None);
    if let Some((count, budget)) = pg.and_then(|p| p.connections) {
        lines.push(format!(
            "postgres client connections after the touch: {count} (budget {budget}, max_connections 100): {}",
            verdict(count <= budget)
        ));
    }
    for line in &lines {
        println!("{line}");
    }
    lines
}

/// The PostgreSQL registry's database, on the benchmark's one cluster.
const REGISTRY_DATABASE: &str = "aisle_registry";

struct Pg {
    cluster: PgCluster,
    /// The registry, which also places each tenant's database on the cluster.
    registry: Arc<PgRegistry>,
    budget: usize,
}

fn run_backend(backend: &str) -> BenchResult<Figures> {
    // A run without the outbox measures only (b) and (c), against the run with it.
    let (backend, outbox, ab_only) = match (
        backend.strip_suffix(NO_OUTBOX),
        backend.strip_suffix(OUTBOX_AB),
    ) {
        (Some(backend), _) => (backend, false, false),
        (None, Some(backend)) => (backend, true, true),
        (None, None) => (backend, true, false),
    };
    let batch = env_count("AISLE_BENCH_BATCH", 500)?;
    let n_single = env_count("AISLE_BENCH_EVENTS", 200_000)?;
    let n_tenants = env_count("AISLE_BENCH_TENANTS", 50)?;
    let n_devices = env_count("AISLE_BENCH_DEVICES", 100)?.max(n_tenants);
    let n_aggregate = env_count("AISLE_BENCH_AGG_EVENTS", 500_000)?;
    let n_rss_tenants = env_count("AISLE_BENCH_RSS_TENANTS", 2_000)?;
    let pool_cap = env_count("AISLE_BENCH_POOL_CAP", 256)?;
    let pushers = env_count("AISLE_BENCH_LOCK_PUSHERS", 8)?;
    let n_lock = env_count("AISLE_BENCH_LOCK_EVENTS", 50_000)?;
    // The server's one tuning (docs/scaling.md): statements kept on the tenant connections,
    // as `serve --keep-prepared-statements` keeps them; AISLE_BENCH_PG_KEEP_STATEMENTS=0
    // runs them per transaction, serve's default, to compare.
    let keep_statements = std::env::var("AISLE_BENCH_PG_KEEP_STATEMENTS").as_deref() != Ok("0");
    let tenant_connections = env_count(
        "AISLE_BENCH_PG_TENANT_CONNECTIONS",
        PgPoolConfig::default().max_tenant_connections,
    )?;

    let parent = bench_parent_dir();
    std::fs::create_dir_all(&parent)?;
    let dir = tempfile::Builder::new()
        .prefix("aisle-bench-backend-")
        .tempdir_in(&parent)?;
    let data = dir.path().join("data");
    std::fs::create_dir_all(data.join("tenants"))?;
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let pg = if backend == "postgres" {
        let mut settings: Vec<(String, String)> = PG_SETTINGS
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        // The tunings (docs/scaling.md, "Tuning"), or others to try: `name=value,…`, or
        // `none` for PostgreSQL's defaults alone; printed with the figures.
        let tuned: Vec<(String, String)> = std::env::var("AISLE_BENCH_PG_SETTINGS")
            .unwrap_or_else(|_| PG_TUNING.to_owned())
            .split(',')
            .filter_map(|pair| pair.split_once('='))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect();
        settings.extend(tuned.iter().cloned());
        let cluster = PgCluster::start_with(PgOptions {
            max_connections: None,
            settings,
        })?;
        println!(
            "postgres cluster on port {}, settings {PG_SETTINGS:?} (PostgreSQL's defaults), tuned {tuned:?}; {tenant_connections} connections a tenant at most, statements {}",
            cluster.port(),
            if keep_statements {
                "kept on the connections (serve --keep-prepared-statements)"
            } else {
                "prepared per transaction (serve's default)"
            }
        );
        // The registry in a database of its own on the same cluster, as `serve --database`
        // keeps it: every request's token is looked up there, and each tenant added through
        // it gets its database on the cluster and its placement.
        cluster.create_database(REGISTRY_DATABASE)?;
        let registry = Arc::new(PgRegistry::connect(
            &cluster.url(REGISTRY_DATABASE),
            server_rt.handle().clone(),
        )?);
        registry.add_cluster("main", &cluster.base_url(), None, aisle_server::now_ms())?;
        Some(Pg {
            cluster,
            registry,
            budget: PgPoolConfig::default().cluster_budget,
        })
    } else {
        None
    };
    let registry: Arc<dyn Registry> = match &pg {
        Some(pg) => Arc::clone(&pg.registry) as Arc<dyn Registry>,
        None => Arc::new(SqliteRegistry::open(&aisle_server::registry_path(&data))?),
    };
    // The served metrics, with the PostgreSQL pools' (key cache, push groups) among them,
    // as `serve` wires them: the paced phase prints what they counted in its window.
    let metrics = Arc::new(aisle_server::metrics::Metrics::new());
    let make_storage = |outbox: bool| -> Arc<dyn aisle_server::storage::Storage> {
        match &pg {
            None => {
                let storage = aisle_server::storage::SqliteStorage::new(
                    aisle_server::pool::TenantPools::new(
                        data.clone(),
                        Arc::clone(&registry),
                        pool_cap,
                    ),
                );
                Arc::new(if outbox {
                    storage
                } else {
                    storage.without_erp_outbox()
                })
            }
            Some(pg) => {
                let storage = PgStorage::new(
                    PgTenantPools::new(
                        Arc::clone(&pg.registry) as Arc<dyn Placements>,
                        PgPoolConfig {
                            max_open_tenants: pool_cap,
                            max_tenant_connections: tenant_connections,
                            keep_statements,
                            // Two servers share the cluster in the interleaved run.
                            cluster_budget: if ab_only { pg.budget / 2 } else { pg.budget },
                            ..PgPoolConfig::default()
                        },
                        server_rt.handle().clone(),
                    )
                    .with_metrics(metrics.pool()),
                );
                Arc::new(if outbox {
                    storage
                } else {
                    storage.without_erp_outbox()
                })
            }
        }
    };
    // A server over `storage`: its base URL, and the sender that stops it.
    let start_server = |storage: Arc<dyn aisle_server::storage::Storage>| -> BenchResult<(String, tokio::sync::oneshot::Sender<()>)> {
        // Every device of the bench shares the loopback address, so the per-address caps
        // (a flooding source's, issue 12) are off too: this phase measures the storage.
        let limits = aisle_server::limits::Limits {
            per_address_per_sec: 0,
            per_tenant_per_sec: 0,
            tenant_push_per_sec: 4_000_000_000,
            max_connections: 100_000,
            max_connections_per_address: 100_000,
            ..Default::default()
        };
        let guards = Arc::new(aisle_server::limits::Guards::new(
            limits,
            Arc::clone(&registry),
        ));
        let router = aisle_server::http::router(aisle_server::http::AppState {
            registry: Arc::clone(&registry),
            storage,
            metrics: Arc::clone(&metrics),
            guards: Arc::clone(&guards),
            live: Arc::new(aisle_server::live::Live::new(0, 1)),
            webhook_policy: Default::default(),
        });
        let listener = server_rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
        let base = format!("http://{}", listener.local_addr()?);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        server_rt.spawn(aisle_server::serve::run(
            listener,
            router,
            guards,
            async move {
                let _ = stopped.await;
            },
        ));
        Ok((base, stop))
    };
    let (base, stop) = start_server(make_storage(outbox))?;

    // On PostgreSQL the registry creates each tenant's database on the cluster.
    let enroll = |name: &str, n: usize| super::enroll(&*registry, name, n);

    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(n_devices + pushers + 16)
        .build()?;
    let mut figures = Figures::default();
    // A CHECKPOINT after a phase's tenants are created and opened, before it is timed: a
    // new database is some 300 files, and the first checkpoint after 50 of them fsyncs
    // every one (15,000-24,000 files, 50-90 s on this machine's disk). Meanwhile its WAL
    // cannot be recycled, so commits wait for fresh WAL segments to be zero-filled. That is
    // the cost of creating 50 tenants at once, not of the load after; it used to fall in the
    // paced window, past its lead-in (docs/BENCHMARKS.md, 2026-12-07). Printed, not hidden.
    let settle = |what: &str| -> BenchResult<()> {
        if let Some(pg) = &pg {
            let started = Instant::now();
            pg.cluster.psql("postgres", "CHECKPOINT")?;
            println!(
                "{backend}: a CHECKPOINT after creating {what} took {:.1}s (not timed)",
                started.elapsed().as_secs_f64()
            );
        }
        Ok(())
    };

    // (e) What the ERP outbox costs, interleaved: a second server on the same cluster (or
    // data directory) whose pushes derive no messages, and rounds that push the same load
    // through one and then the other (the order alternating), so the machine's drift over
    // minutes falls on both sides alike. Each round gives one cost; the report takes the
    // median.
    if ab_only {
        let ab_rounds = env_count("AISLE_BENCH_OUTBOX_AB_ROUNDS", 6)?.max(1);
        let (base_without, stop_without) = start_server(make_storage(false))?;
        let bases = [base.clone(), base_without];
        let one_events = env_count("AISLE_BENCH_OUTBOX_AB_EVENTS", 100_000)?;
        let many_events = env_count("AISLE_BENCH_OUTBOX_AB_AGG_EVENTS", 100_000)?;
        let mut solos = Vec::new();
        let mut fleets = Vec::new();
        for (side, name) in ["with", "without"].iter().enumerate() {
            let solo = enroll(&format!("ab-solo-{name}"), 1)?.remove(0);
            let mut floor = Floor::new(&solo, 20_000 + side as u64);
            warm(
                &client_rt,
                &http,
                &bases[side],
                vec![(solo.clone(), floor.batch(1)?.1)],
            )?;
            solos.push((solo, floor));
            let mut fleet = Vec::new();
            for idx in 0..n_tenants {
                let n_here = n_devices / n_tenants + usize::from(idx < n_devices % n_tenants);
                fleet.extend(enroll(&format!("ab-fleet-{name}-{idx}"), n_here)?);
            }
            let mut warm_up = Vec::new();
            let floors = fleet
                .iter()
                .enumerate()
                .map(|(idx, device)| {
                    let mut floor = Floor::new(device, 30_000 + (side * 1_000 + idx) as u64);
                    warm_up.push((device.clone(), floor.batch(1)?.1));
                    Ok((device.clone(), floor))
                })
                .collect::<BenchResult<Vec<_>>>()?;
            warm(&client_rt, &http, &bases[side], warm_up)?;
            fleets.push(floors);
        }
        settle("both sides' tenants")?;
        for round in 0..ab_rounds {
            let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
            let (mut one, mut many) = ([0.0; 2], [0.0; 2]);
            for side in order {
                let (solo, floor) = &mut solos[side];
                let bodies = bodies_of(floor, one_events.div_ceil(batch), batch)?;
                let (elapsed, latencies) = run_concurrently(
                    &client_rt,
                    &http,
                    &bases[side],
                    vec![(solo.clone(), bodies)],
                    1,
                )?;
                one[side] = per_second(latencies.len() * batch, elapsed);
                let per_device = many_events.div_ceil(n_devices).div_ceil(batch);
                let work = fleets[side]
                    .iter_mut()
                    .map(|(device, floor)| {
                        Ok((device.clone(), bodies_of(floor, per_device, batch)?))
                    })
                    .collect::<BenchResult<Vec<_>>>()?;
                let n_work = work.len();
                let (elapsed, latencies) =
                    run_concurrently(&client_rt, &http, &bases[side], work, n_work)?;
                many[side] = per_second(latencies.len() * batch, elapsed);
            }
            println!(
                "{backend}: outbox round {round}: one tenant {:.0} / {:.0}, many {:.0} / {:.0} events/s (with / without)",
                one[0], one[1], many[0], many[1]
            );
            figures.ab_one.push((one[0], one[1]));
            figures.ab_many.push((many[0], many[1]));
        }
        let _ = stop_without.send(());
        let _ = stop.send(());
        return Ok(figures);
    }

    // (a) Touch many tenants first, so the RSS is not the later phases' workload.
    let started = Instant::now();
    let mut crowd = Vec::new();
    for idx in 0..n_rss_tenants {
        crowd.extend(enroll(&format!("crowd-{idx}"), 1)?);
    }
    println!(
        "{backend}: {n_rss_tenants} tenants set up in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    let touches: Vec<(Device, Vec<u8>)> = crowd
        .iter()
        .enumerate()
        .map(|(idx, device)| {
            Ok((
                device.clone(),
                Floor::new(device, 100_000 + idx as u64).batch(10)?.1,
            ))
        })
        .collect::<BenchResult<_>>()?;
    let touch_start = Instant::now();
    let work: Vec<(Device, Vec<Vec<u8>>)> =
        touches.into_iter().map(|(d, b)| (d, vec![b])).collect();
    run_concurrently(&client_rt, &http, &base, work, 16)?;
    figures.touched = n_rss_tenants;
    figures.touch_s = touch_start.elapsed().as_secs_f64();
    (figures.rss_mb, figures.hwm_mb) = rss_mb(std::process::id());
    if let Some(pg) = &pg {
        let count: usize = pg
            .cluster
            .psql(
                "postgres",
                &format!(
                    "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND datname <> '{REGISTRY_DATABASE}'"
                ),
            )?
            .trim()
            .parse()?;
        // This psql session is one of them; the registry's pool is not a tenant's.
        figures.connections = Some((count.saturating_sub(1), pg.budget));
    }
    // Creating the tenant databases wrote each one's pages to the WAL (PostgreSQL 15's
    // WAL_LOG strategy): gigabytes for hundreds of them, whose checkpoints would otherwise
    // land in the timed phases below.
    settle("the touched tenants")?;
    println!(
        "{backend}: touched {n_rss_tenants} tenants in {:.1}s, RSS {:.1} MB (peak {:.1}), connections {:?}",
        figures.touch_s, figures.rss_mb, figures.hwm_mb, figures.connections
    );
    drop(crowd);

    // (b) One tenant, one device, one push at a time.
    let solo = enroll("solo", 1)?.remove(0);
    let mut floor = Floor::new(&solo, 1);
    warm(
        &client_rt,
        &http,
        &base,
        vec![(solo.clone(), floor.batch(1)?.1)],
    )?;
    settle("the one tenant")?;
    let bodies = bodies_of(&mut floor, n_single.div_ceil(batch), batch)?;
    let (elapsed, latencies) = run_concurrently(&client_rt, &http, &base, vec![(solo, bodies)], 1)?;
    figures.one_rate = per_second(latencies.len() * batch, elapsed);
    figures.one_p99 = Percentiles::of(latencies).p99;
    println!("{backend}: one tenant {:.0} events/s", figures.one_rate);

    // (c) Many tenants and devices at once.
    let mut fleet = Vec::new();
    for idx in 0..n_tenants {
        let n_here = n_devices / n_tenants + usize::from(idx < n_devices % n_tenants);
        fleet.extend(enroll(&format!("fleet-{idx}"), n_here)?);
    }
    let closed_loop = std::env::var("AISLE_BENCH_CLOSED_LOOP").map_or(true, |v| v != "0");
    let batches_per_device = if closed_loop {
        n_aggregate.div_ceil(n_devices).div_ceil(batch)
    } else {
        0
    };
    let mut warm_up = Vec::new();
    let work = fleet
        .iter()
        .enumerate()
        .map(|(idx, device)| {
            let mut floor = Floor::new(device, 1_000 + idx as u64);
            warm_up.push((device.clone(), floor.batch(1)?.1));
            Ok((
                device.clone(),
                bodies_of(&mut floor, batches_per_device, batch)?,
            ))
        })
        .collect::<BenchResult<Vec<_>>>()?;
    warm(&client_rt, &http, &base, warm_up)?;
    settle("the closed loop's tenants")?;
    // `AISLE_BENCH_CLOSED_LOOP=0` leaves the closed loop out (with thousands of devices it
    // is every device's push at once, minutes long); `AISLE_BENCH_PACED_PERCENT` then has no
    // rate to take a share of.
    if closed_loop {
        let n_work = work.len();
        let (elapsed, latencies) = run_concurrently(&client_rt, &http, &base, work, n_work)?;
        figures.agg_rate = per_second(latencies.len() * batch, elapsed);
        let agg = Percentiles::of(latencies);
        (figures.agg_p50, figures.agg_p99) = (agg.p50, agg.p99);
        println!("{backend}: aggregate {:.0} events/s", figures.agg_rate);
    } else {
        drop(work);
    }
    if !outbox {
        let _ = stop.send(());
        return Ok(figures);
    }

    // (c') A paced, open-loop load: each device pushes one batch every `interval`,
    // staggered, so the offered load is fixed and a push's latency is a push under load, not
    // the time it queued behind its device's previous ones. By default the 30,000
    // events/s on every backend, so the backends' paced rows are the same workload (it was 80%
    // of each backend's own closed-loop rate until 2026-12-07).
    let offered = match (
        std::env::var("AISLE_BENCH_PACED_RATE"),
        std::env::var("AISLE_BENCH_PACED_PERCENT"),
    ) {
        (Ok(rate), _) => rate.parse::<f64>()?,
        (Err(_), Ok(percent)) => figures.agg_rate * percent.parse::<f64>()? / 100.0,
        (Err(_), Err(_)) => TARGET_PG_AGGREGATE,
    };
    if !(offered > 0.0 && offered.is_finite()) {
        return Err(format!(
            "the paced load needs a rate above 0 events/s, got {offered} (AISLE_BENCH_PACED_PERCENT takes a share of the closed loop's rate; with AISLE_BENCH_CLOSED_LOOP=0 there is none)"
        )
        .into());
    }
    let paced_secs = env_count("AISLE_BENCH_PACED_SECS", 30)? as f64;
    // The measured window follows a lead-in at the same load, whose pushes are not in the
    // figures (their p99 is printed beside them): the paced figures are the fleet's steady
    // state at the offered rate, not the seconds in which the database still writes out
    // what the heavier phases before it left (the checkpoint they brought due, which
    // fell in this phase's first 18 s and made it miss; docs/BENCHMARKS.md). The paced
    // load's own checkpoints fall in the window as they come. 0 measures from the start.
    let lead = std::time::Duration::from_secs(
        env_count_or_zero("AISLE_BENCH_PACED_LEAD_SECS", 30)? as u64,
    );
    // Its own fleet: `AISLE_BENCH_TENANTS` new tenants of `AISLE_BENCH_PACED_DEVICES` (100)
    // devices each, the "50 tenants × 100 devices", each pushing one batch per
    // interval (a device's share of the offered load). Opening the tenants is not timed.
    let per_tenant = env_count("AISLE_BENCH_PACED_DEVICES", 100)?;
    let tenants = (0..n_tenants)
        .map(|idx| enroll(&format!("paced-{idx}"), per_tenant))
        .collect::<BenchResult<Vec<_>>>()?;
    // The stagger's order: the tenants in turn (tenant 0's first device, tenant 1's first,
    // …), so at every moment the load is spread over the fleet as the devices of 50
    // warehouses would spread it. `AISLE_BENCH_PACED_ORDER=blocks` staggers them tenant by
    // tenant instead (all of tenant 0's devices, then tenant 1's, …): each tenant then takes
    // the whole offered load for 1/50 of the interval, one tenant at a time: one tenant at
    // the fleet's rate, not the fleet (the order of the runs before 2026-12-07;
    // docs/BENCHMARKS.md).
    let (fleet, order): (Vec<Device>, _) = match std::env::var("AISLE_BENCH_PACED_ORDER").as_deref()
    {
        Ok("blocks") => (tenants.into_iter().flatten().collect(), "tenant by tenant"),
        Ok("tenants") | Err(_) => (in_turn(tenants), "with the tenants in turn"),
        Ok(other) => {
            return Err(format!(
                "AISLE_BENCH_PACED_ORDER={other}: expected `tenants` (default) or `blocks`"
            )
            .into())
        }
    };
    // One floor per device, seeded by its place in the fleet, for its warm-up push and then
    // its paced ones (a seed is a device's event ids: two devices of a tenant must not share
    // one).
    let mut floors: Vec<Floor> = fleet
        .iter()
        .enumerate()
        .map(|(idx, device)| Floor::new(device, 5_000 + idx as u64))
        .collect();
    let warm_up = floors
        .iter_mut()
        .map(|floor| Ok((floor.device.clone(), floor.batch(1)?.1)))
        .collect::<BenchResult<Vec<_>>>()?;
    warm(&client_rt, &http, &base, warm_up)?;
    let interval = std::time::Duration::from_secs_f64(fleet.len() as f64 * batch as f64 / offered);
    let per_device = ((paced_secs / interval.as_secs_f64()).ceil() as usize).max(1);
    let n_fleet = floors.len();
    let work = floors
        .iter_mut()
        .enumerate()
        .map(|(idx, floor)| {
            // The device's pushes due in the lead-in (whole nanoseconds, as `run_paced`
            // schedules them), then its `per_device` measured ones.
            let first = paced_offset(interval, idx, n_fleet);
            let in_lead = lead
                .saturating_sub(first)
                .as_nanos()
                .div_ceil(interval.as_nanos()) as usize;
            Ok((
                floor.device.clone(),
                bodies_of(floor, in_lead + per_device, batch)?,
            ))
        })
        .collect::<BenchResult<Vec<_>>>()?;
    settle("the paced fleet's tenants")?;
    let pool = metrics.pool();
    let counted = || {
        [
            pool.key_cache_hits.get(),
            pool.key_cache_misses.get(),
            pool.push_groups.get(),
            pool.grouped_pushes.get(),
        ]
    };
    let before = counted();
    let paced = run_paced(&client_rt, &http, &base, work, interval, (lead, per_device))?;
    if pg.is_some() {
        // How the pushes of the phase (lead-in and window) ran: the key states found kept
        // (pg::storage::key_cache) or read again, and those carried by a group.
        let after = counted();
        let [hits, misses, groups, grouped] = std::array::from_fn(|at| after[at] - before[at]);
        println!(
            "{backend}: paced phase: key cache {hits} hits, {misses} misses; {grouped} pushes in {groups} groups of several"
        );
    }
    if let Ok(path) = std::env::var("AISLE_BENCH_PACED_TRACE") {
        // Each push, lead-in and measured: when it was sent and its latency, in ms, and 1 if
        // it is measured (0 for the lead-in's, which are those due before its end; one sent
        // late may be sent after it), for a look at where the tail is; first the run's start
        // as Unix time in ms, to line it up with other samples, and the lead-in's length.
        let started = paced
            .started
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis();
        // The machine's CPU per second (busy, iowait, steal, idle %), after the time since
        // the start in ms, as comment lines.
        let cpu_lines = paced.cpu.windows(2).filter_map(|pair| {
            let shares = CpuShares::between(&pair[0].1, &pair[1].1)?;
            Some(format!(
                "# cpu {} {:.0} {:.0} {:.0} {:.0}\n",
                pair[1].0.as_millis(),
                shares.busy,
                shares.iowait,
                shares.steal,
                shares.idle
            ))
        });
        let lines: String =
            std::iter::once(format!("# start {started}\n# lead {}\n", lead.as_millis()))
                .chain(cpu_lines)
                .chain(paced.pushes.iter().map(|(measured, sent, latency)| {
                    format!(
                        "{} {} {}\n",
                        sent.as_millis(),
                        latency.as_millis(),
                        u8::from(*measured)
                    )
                }))
                .collect();
        std::fs::write(&path, lines)?;
    }
    figures.paced_offered = offered;
    let (measured, lead_ins) = (paced.latencies(true), paced.latencies(false));
    figures.paced_rate = per_second(measured.len() * batch, paced.elapsed);
    figures.paced_late_pct = 100.0 * paced.late as f64 / measured.len().max(1) as f64;
    figures.paced_refused_pct = 100.0 * paced.refused as f64 / measured.len().max(1) as f64;
    figures.paced_lead_secs = lead.as_secs_f64();
    figures.paced_lead_refused_pct =
        100.0 * paced.lead_refused as f64 / lead_ins.len().max(1) as f64;
    figures.paced_lead_p99 = (!lead_ins.is_empty()).then(|| Percentiles::of(lead_ins).p99);
    (figures.paced_cpu, figures.paced_worst_steal_pct) = window_cpu(&paced.cpu, lead);
    let paced_percentiles = Percentiles::of(measured);
    (figures.paced_p50, figures.paced_p99) = (paced_percentiles.p50, paced_percentiles.p99);
    let lead_in = match figures.paced_lead_p99 {
        None => "no lead-in".to_owned(),
        Some(p99) => format!(
            "after a lead-in of {:.0} s at that load (its p99 {p99:.0} ms, {} attempts refused and retried; not counted)",
            figures.paced_lead_secs, paced.lead_refused
        ),
    };
    let machine = match (figures.paced_cpu, figures.paced_worst_steal_pct) {
        (Some(cpu), worst) => format!(
            "; the machine's CPU in the window: busy {:.0}%, iowait {:.0}%, steal {:.0}% (worst 5 s {}), idle {:.0}%",
            cpu.busy,
            cpu.iowait,
            cpu.steal,
            worst.map_or("-".to_owned(), |steal| format!("{steal:.0}%")),
            cpu.idle
        ),
        (None, _) => String::new(),
    };
    println!(
        "{backend}: paced {offered:.0} events/s offered ({} devices staggered {}, a push each {:.2}s): served {:.0}, p99 {:.0} ms, {:.1}% late, {} attempts refused and retried, {} lost and pushed again, {lead_in}{machine}",
        fleet.len(),
        order,
        interval.as_secs_f64(),
        figures.paced_rate,
        figures.paced_p99,
        figures.paced_late_pct,
        paced.refused,
        paced.lost,
    );

    // (d) One tenant's pushes: one device, then `pushers` devices at once.
    for (many, name) in [(false, "lock-one"), (true, "lock-many")] {
        let n_here = if many { pushers } else { 1 };
        let devices = enroll(name, n_here)?;
        let per_device = n_lock.div_ceil(n_here).div_ceil(batch);
        let mut warm_up = Vec::new();
        let work = devices
            .iter()
            .enumerate()
            .map(|(idx, device)| {
                let mut floor = Floor::new(device, 5_000 + idx as u64);
                warm_up.push((device.clone(), floor.batch(1)?.1));
                Ok((device.clone(), bodies_of(&mut floor, per_device, batch)?))
            })
            .collect::<BenchResult<Vec<_>>>()?;
        warm(&client_rt, &http, &base, warm_up)?;
        let (elapsed, latencies) = run_concurrently(&client_rt, &http, &base, work, n_here)?;
        let rate = per_second(latencies.len() * batch, elapsed);
        let p99 = Percentiles::of(latencies).p99;
        if many {
            (figures.lock_many_rate, figures.lock_many_p99) = (rate, p99);
        } else {
            (figures.lock_one_rate, figures.lock_one_p99) = (rate, p99);
        }
    }

    let _ = stop.send(());
    Ok(figures)
}

/// One untimed one-event push per device, so a tenant's first open (migrations, pool) is
/// not in the timed figures.
fn warm(
    runtime: &tokio::runtime::Runtime,
    http: &reqwest::Client,
    base: &str,
    pushes: Vec<(Device, Vec<u8>)>,
) -> BenchResult<()> {
    let n = pushes.len();
    let work = pushes.into_iter().map(|(d, b)| (d, vec![b])).collect();
    run_concurrently(runtime, http, base, work, n.min(16))?;
    Ok(())
}

fn bodies_of(floor: &mut Floor, n: usize, batch: usize) -> BenchResult<Vec<Vec<u8>>> {
    (0..n)
        .map(|_| floor.batch(batch).map(|(_, body): (Vec<Event>, _)| body))
        .collect()
}

/// The groups' items taken in turn: the first of each group, then the second of each, …
/// (a group that runs out is skipped).
fn in_turn<T>(groups: Vec<Vec<T>>) -> Vec<T> {
    let mut iters: Vec<_> = groups.into_iter().map(Vec::into_iter).collect();
    let mut out = Vec::new();
    loop {
        let before = out.len();
        out.extend(iters.iter_mut().filter_map(Iterator::next));
        if out.len() == before {
            return out;
        }
    }
}

/// The machine's CPU time since boot by kind, in ticks: `/proc/stat`'s first line (user,
/// nice, system, idle, iowait, irq, softirq, steal); `None` where there is no such file.
fn cpu_ticks() -> Option<[u64; 8]> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let mut fields = stat
        .lines()
        .next()?
        .strip_prefix("cpu ")?
        .split_whitespace();
    let mut ticks = [0u64; 8];
    for tick in &mut ticks {
        *tick = fields.next()?.parse().ok()?;
    }
    Some(ticks)
}

/// Shares of the machine's CPU time between two [`cpu_ticks`] readings, in %: running
/// (user, system and interrupts), waiting on I/O, taken by the host for others (steal), idle.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
struct CpuShares {
    busy: f64,
    iowait: f64,
    steal: f64,
    idle: f64,
}

impl CpuShares {
    fn between(from: &[u64; 8], to: &[u64; 8]) -> Option<Self> {
        let d: Vec<f64> = to
            .iter()
            .zip(from)
            .map(|(to, from)| to.saturating_sub(*from) as f64)
            .collect();
        let total: f64 = d.iter().sum();
        (total > 0.0).then(|| Self {
            busy: 100.0 * (d[0] + d[1] + d[2] + d[5] + d[6]) / total,
            idle: 100.0 * d[3] / total,
            iowait: 100.0 * d[4] / total,
            steal: 100.0 * d[7] / total,
        })
    }
}

/// The CPU shares over the samples taken at or after `from` (the measured window), and the
/// highest steal over any span of at least 5 s between two of them (the sampler's seconds may
/// come late on a starved machine, so spans are chosen by time, not by count).
fn window_cpu(
    samples: &[(std::time::Duration, [u64; 8])],
    from: std::time::Duration,
) -> (Option<CpuShares>, Option<f64>) {
    let window: Vec<_> = samples.iter().filter(|(at, _)| *at >= from).collect();
    let (Some(first), Some(last)) = (window.first(), window.last()) else {
        return (None, None);
    };
    let five = std::time::Duration::from_secs(5);
    let worst_steal = window
        .iter()
        .enumerate()
        .filter_map(|(idx, (at, ticks))| {
            let (_, later) = window[idx..]
                .iter()
                .find(|(later, _)| *later >= *at + five)?;
            CpuShares::between(ticks, later)
        })
        .map(|shares| shares.steal)
        .reduce(f64::max);
    (CpuShares::between(&first.1, &last.1), worst_steal)
}

/// What a paced run measured.
struct Paced {
    /// When the schedule started (the lead-in's start).
    started: std::time::SystemTime,
    /// From the end of the lead-in to the last push's answer (a lead-in push still running
    /// then takes the server's time in the window without counting in it: under overload
    /// that understates the rate served, by at most one push a device).
    elapsed: std::time::Duration,
    /// Every push, lead-in or measured: whether measured (due at or after the lead-in's
    /// end), when it was sent (from the run's start), its latency (from when it was sent).
    pushes: Vec<(bool, std::time::Duration, std::time::Duration)>,
    /// Measured pushes sent more than one interval after their scheduled time: the load
    /// offered was not what the schedule said, and the latencies understate the queueing.
    late: usize,
    /// Attempts of measured pushes that the server refused with `Retry-After` (its body
    /// budget full) and that were retried after it, as a device would; the wait is in the
    /// push's latency.
    refused: usize,
    /// The same for the lead-in's pushes.
    lead_refused: usize,
    /// Attempts, lead-in or measured, that got no answer (none in a device's request timeout,
    /// or the connection closed first) and were pushed again, as a device would; the wait is
    /// in the push's latency.
    lost: usize,
    /// The machine's CPU ticks by kind about once a second, from the run's start.
    cpu: Vec<(std::time::Duration, [u64; 8])>,
}

impl Paced {
    /// The latencies of the measured pushes (`true`) or of the lead-in's.
    fn latencies(&self, measured: bool) -> Vec<std::time::Duration> {
        self.pushes
            .iter()
            .filter(|push| push.0 == measured)
            .map(|push| push.2)
            .collect()
    }
}

/// When device `idx` of `n` makes its first paced push: `idx / n` of an interval in, so the
/// pushes are spread evenly.
fn paced_offset(interval: std::time::Duration, idx: usize, n: usize) -> std::time::Duration {
    interval.mul_f64(idx as f64 / n as f64)
}

/// Every device at once, each pushing its bodies in order, one every `interval`, from its
/// [`paced_offset`]. A push that is still running when the next is due delays it (and counts
/// as late if by more than an interval). Each device's last `per_device` pushes are measured;
/// the ones before them are the lead-in, due before `lead`, and kept apart.
fn run_paced(
    runtime: &tokio::runtime::Runtime,
    http: &reqwest::Client,
    base: &str,
    work: Vec<(Device, Vec<Vec<u8>>)>,
    interval: std::time::Duration,
    (lead, per_device): (std::time::Duration, usize),
) -> BenchResult<Paced> {
    runtime.block_on(async {
        let n_devices = work.len();
        let started = std::time::SystemTime::now();
        let start = tokio::time::Instant::now();
        let (stop_sampling, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let sampler = tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut every_second = tokio::time::interval(std::time::Duration::from_secs(1));
            // A tick late behind the pushes' tasks is taken late, not followed by a burst of
            // catching-up ticks (the default) that would leave samples a moment apart.
            every_second.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = every_second.tick() => {}
                    _ = &mut stopped => break,
                }
                samples.extend(cpu_ticks().map(|ticks| (start.elapsed(), ticks)));
            }
            samples.extend(cpu_ticks().map(|ticks| (start.elapsed(), ticks)));
            samples
        });
        let mut tasks = Vec::new();
        for (idx, (device, bodies)) in work.into_iter().enumerate() {
            let http = http.clone();
            let base = base.to_owned();
            let offset = paced_offset(interval, idx, n_devices);
            let in_lead = bodies.len().saturating_sub(per_device);
            tasks.push(tokio::spawn(async move {
                // (measured, when sent, latency) per push.
                let mut pushes = Vec::new();
                let mut late = 0;
                // Attempts refused and retried: (measured pushes', lead-in pushes').
                let mut refused = (0, 0);
                // Attempts without an answer, pushed again (lead-in and measured).
                let mut lost = 0;
                for (push_idx, body) in bodies.into_iter().enumerate() {
                    let due = start + offset + interval * push_idx as u32;
                    tokio::time::sleep_until(due).await;
                    let now = tokio::time::Instant::now();
                    let measured = push_idx >= in_lead;
                    if measured && now.duration_since(due) > interval {
                        late += 1;
                    }
                    let (latency, retried) = push_as_device(&http, &base, &device, body).await?;
                    if measured {
                        refused.0 += retried.refused as usize;
                    } else {
                        refused.1 += retried.refused as usize;
                    }
                    lost += retried.lost as usize;
                    pushes.push((measured, now.duration_since(start), latency));
                }
                BenchResult::Ok((pushes, late, refused, lost))
            }));
        }
        let mut paced = Paced {
            started,
            elapsed: std::time::Duration::ZERO,
            pushes: Vec::new(),
            late: 0,
            refused: 0,
            lead_refused: 0,
            lost: 0,
            cpu: Vec::new(),
        };
        for task in tasks {
            let (pushes, late, refused, lost) = task.await??;
            paced.lost += lost;
            paced.refused += refused.0;
            paced.lead_refused += refused.1;
            paced.pushes.extend(pushes);
            paced.late += late;
        }
        paced.elapsed = start.elapsed().saturating_sub(lead);
        let _ = stop_sampling.send(());
        paced.cpu = sampler.await?;
        Ok(paced)
    })
}

/// Pushes each device's bodies in order, `concurrency` devices at a time; the elapsed time
/// and every push's latency.
fn run_concurrently(
    runtime: &tokio::runtime::Runtime,
    http: &reqwest::Client,
    base: &str,
    work: Vec<(Device, Vec<Vec<u8>>)>,
    concurrency: usize,
) -> BenchResult<(std::time::Duration, Vec<std::time::Duration>)> {
    runtime.block_on(async {
        let queue = Arc::new(tokio::sync::Mutex::new(work.into_iter()));
        let start = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..concurrency.max(1) {
            let queue = Arc::clone(&queue);
            let http = http.clone();
            let base = base.to_owned();
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let next = queue.lock().await.next();
                    let Some((device, bodies)) = next else {
                        return BenchResult::Ok(latencies);
                    };
                    for body in bodies {
                        latencies.push(push(&http, &base, &device, body).await?);
                    }
                }
            }));
        }
        let mut latencies = Vec::new();
        for task in tasks {
            latencies.extend(task.await??);
        }
        Ok((start.elapsed(), latencies))
    })
}
