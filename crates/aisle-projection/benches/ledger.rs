//! How fast the projection applies a log, per backend, on the same events: SQLite (a file
//! in WAL mode, as the server keeps a tenant) and, with `--features pg`, PostgreSQL (a
//! throwaway aisle-pgtest cluster with its default settings).
//!
//! `cargo bench -p aisle-projection --features pg --bench ledger [-- N_EVENTS [BATCH]]`
//!
//! The events are logged first, untimed; what is timed is the projection's part of a push:
//! `apply` of each event through the backend's ledger, `finish`, and the commit, one
//! transaction per batch (500 events, a device push's size). Printed: events/s per backend,
//! PostgreSQL with and without `PgLedger::prefetch`, where the time goes (prefetch, apply,
//! finish, commit) and the apply time per kind of event. `AISLE_BENCH_ROUND_TRIP=1` also
//! prints one statement's round trip; `AISLE_BENCH_LOG_STATEMENTS=1` logs every statement on
//! the cluster and prints the most frequent ones.

use aisle_core::event::CountDecision;
use aisle_core::stock::apply;
use aisle_core::testkit::*;
use aisle_core::Event;
use std::time::{Duration, Instant};

/// A warehouse's day: receipts and picks over 2,000 keys, moves, some picks on pick lines
/// and a count now and then.
fn log(n_events: usize) -> Vec<Event> {
    let mut events = Events::default();
    (0..n_events)
        .map(|index| {
            let n = index as u64;
            // Keys and kinds drawn independently (a multiplicative hash), so every key sees
            // every kind of event.
            let spread = n.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32;
            let bin = key(
                (spread % 200) as u16 + 1,
                (spread / 200 % 10) as u16 + 1,
                None,
            );
            let body = match n % 20 {
                0..=7 => received(&bin, 5),
                8..=15 => picked(&bin, 2),
                16 | 17 => moved(&bin, ((spread + 1) % 200) as u16 + 1, 1),
                18 => picked_on_line(&bin, 1, pick_list((n % 50) as u16), 1, 3),
                _ => counted(&bin, 7, 3, CountDecision::SelfApproved),
            };
            events.make((n % 8) as u16 + 1, 1_000 + n, 0, body)
        })
        .collect()
}

fn report(backend: &str, n_events: usize, elapsed: Duration) {
    println!(
        "{backend:<10} {n_events} events in {:>7.2} s: {:>8.0} events/s",
        elapsed.as_secs_f64(),
        n_events as f64 / elapsed.as_secs_f64()
    );
}

fn sqlite(events: &[Event], batch: usize) -> Duration {
    use aisle_projection::sqlite::migrations::{migrations, ProjectionStep, Step};
    use aisle_projection::sqlite::SqlLedger;
    let path = std::env::temp_dir().join(format!("aisle-ledger-bench-{}.db", std::process::id()));
    let mut conn = rusqlite::Connection::open(&path).expect("open");
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
        .expect("pragmas");
    let list = [
        Step::OwnThenProjection(
            "CREATE TABLE events (seq INTEGER PRIMARY KEY, id BLOB NOT NULL UNIQUE,
             hlc INTEGER NOT NULL, device BLOB NOT NULL, payload TEXT NOT NULL) STRICT;",
            ProjectionStep::Init,
        ),
        Step::Projection(ProjectionStep::CompactStockDeltas),
        Step::Projection(ProjectionStep::KeyStates),
        Step::Projection(ProjectionStep::RulesVersion),
    ];
    rusqlite_migration::Migrations::new(migrations(&list))
        .to_latest(&mut conn)
        .expect("migrate");
    let tx = conn.transaction().expect("begin");
    for (index, event) in events.iter().enumerate() {
        tx.execute(
            "INSERT INTO events (seq, id, hlc, device, payload) VALUES (?1, ?2, ?3, ?4, ?5)",
            (
                index as i64 + 1,
                event.id.as_bytes(),
                event.hlc.to_packed(),
                event.device.as_bytes(),
                serde_json::to_string(event).expect("json"),
            ),
        )
        .expect("log");
    }
    tx.commit().expect("commit");
    let started = Instant::now();
    for (n_batch, chunk) in events.chunks(batch).enumerate() {
        let tx = conn.transaction().expect("begin");
        let mut ledger = SqlLedger::new(&tx);
        for (index, event) in chunk.iter().enumerate() {
            ledger.applying(event.id, (n_batch * batch + index) as i64 + 1);
            apply(&mut ledger, event).expect("apply");
        }
        ledger.finish().expect("finish");
        tx.commit().expect("commit");
    }
    let elapsed = started.elapsed();
    drop(conn);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    elapsed
}

#[cfg(feature = "pg")]
fn postgres(events: &[Event], batch: usize, prefetch: bool) -> Duration {
    use aisle_pg::deadpool_postgres::{self, ManagerConfig, RecyclingMethod};
    use aisle_pg::tokio_postgres::NoTls;
    use aisle_pg::Migration;
    use aisle_projection::pg::{PgLedger, MIGRATIONS};
    let log_statements = std::env::var_os("AISLE_BENCH_LOG_STATEMENTS").is_some();
    let cluster = aisle_pgtest::PgCluster::start_with(aisle_pgtest::PgOptions {
        settings: if log_statements {
            vec![("log_statement".to_owned(), "'all'".to_owned())]
        } else {
            Vec::new()
        },
        ..Default::default()
    })
    .expect("a cluster starts");
    cluster.create_database("bench").expect("database");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let config = deadpool_postgres::Config {
        url: Some(cluster.url("bench")),
        manager: Some(ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        }),
        ..Default::default()
    };
    let pool = {
        let _entered = runtime.enter();
        config
            .create_pool(Some(deadpool_postgres::Runtime::Tokio1), NoTls)
            .expect("pool")
    };
    let mut conn = aisle_pg::connect(&pool, runtime.handle()).expect("connect");
    let tx = conn.transaction().expect("begin");
    let own = [Migration {
        version: 1,
        name: "events",
        sql: "CREATE TABLE events (seq BIGINT PRIMARY KEY, id uuid UNIQUE NOT NULL,
              warehouse uuid, device uuid, hlc BIGINT, kind TEXT, received_ms BIGINT, payload TEXT);",
    }];
    let projection = MIGRATIONS.map(|m| Migration {
        version: m.version + 1,
        ..m
    });
    aisle_pg::migrate(&tx, &[own.as_slice(), &projection].concat()).expect("migrate");
    let ids: Vec<uuid::Uuid> = events.iter().map(|e| *e.id.as_uuid()).collect();
    let devices: Vec<uuid::Uuid> = events.iter().map(|e| *e.device.as_uuid()).collect();
    let hlcs: Vec<i64> = events.iter().map(|e| e.hlc.to_packed()).collect();
    let payloads: Vec<String> = events
        .iter()
        .map(|e| serde_json::to_string(e).expect("json"))
        .collect();
    tx.execute(
        "INSERT INTO events (seq, id, device, hlc, payload)
         SELECT n, id, device, hlc, payload FROM unnest($1::uuid[], $2::uuid[], $3::BIGINT[], $4::TEXT[])
             WITH ORDINALITY AS e (id, device, hlc, payload, n)",
        &[&ids, &devices, &hlcs, &payloads],
    )
    .expect("log");
    tx.commit().expect("commit");
    if std::env::var_os("AISLE_BENCH_ROUND_TRIP").is_some() {
        let tx = conn.transaction().expect("begin");
        let started = Instant::now();
        for _ in 0..2_000 {
            tx.query_one("SELECT 1", &[]).expect("select");
        }
        println!("round trip: {:?}", started.elapsed() / 2_000);
        tx.commit().expect("commit");
    }
    let started = Instant::now();
    // Where the time goes: prefetch, apply, finish, commit.
    let mut phases = [Duration::ZERO; 4];
    let mut by_kind = std::collections::BTreeMap::<&str, (usize, Duration)>::new();
    for (n_batch, chunk) in events.chunks(batch).enumerate() {
        let tx = conn.transaction().expect("begin");
        let mut ledger = PgLedger::new(&tx);
        let mut lap = Instant::now();
        let mut phase = |index: usize, lap: &mut Instant| {
            phases[index] += lap.elapsed();
            *lap = Instant::now();
        };
        if prefetch {
            ledger.prefetch(chunk).expect("prefetch");
        }
        phase(0, &mut lap);
        for (index, event) in chunk.iter().enumerate() {
            let one = Instant::now();
            ledger.applying(event.id, (n_batch * batch + index) as i64 + 1);
            apply(&mut ledger, event).expect("apply");
            let kind = match &event.body {
                aisle_core::event::EventBody::Picked {
                    pick_line: Some(_), ..
                } => "picked_on_line",
                _ => event.kind(),
            };
            let entry = by_kind.entry(kind).or_insert((0, Duration::ZERO));
            entry.0 += 1;
            entry.1 += one.elapsed();
        }
        phase(1, &mut lap);
        ledger.finish().expect("finish");
        phase(2, &mut lap);
        tx.commit().expect("commit");
        phase(3, &mut lap);
    }
    let elapsed = started.elapsed();
    println!(
        "  prefetch {:.2} s, apply {:.2} s, finish {:.2} s, commit {:.2} s",
        phases[0].as_secs_f64(),
        phases[1].as_secs_f64(),
        phases[2].as_secs_f64(),
        phases[3].as_secs_f64()
    );
    for (kind, (n, total)) in &by_kind {
        println!(
            "  {kind:<16} {n:>6} events, {:>8.1} µs each, {:.2} s",
            total.as_secs_f64() * 1e6 / *n as f64,
            total.as_secs_f64()
        );
    }
    if log_statements {
        let mut by_statement = std::collections::BTreeMap::<String, usize>::new();
        for line in cluster.log().lines() {
            if let Some((_, statement)) = line.split_once("statement: ") {
                let head: String = statement.chars().take(60).collect();
                *by_statement.entry(head).or_default() += 1;
            } else if let Some((_, statement)) = line.split_once("execute ") {
                let head: String = statement.chars().take(70).collect();
                *by_statement.entry(head).or_default() += 1;
            }
        }
        let mut counts: Vec<_> = by_statement.into_iter().collect();
        counts.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
        for (statement, n) in counts.iter().take(15) {
            println!("{n:>8} {statement}");
        }
    }
    elapsed
}

fn main() {
    let mut args = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with('-'))
        .map(|arg| {
            arg.parse::<usize>()
                .expect("N_EVENTS and BATCH are numbers")
        });
    let n_events = args.next().unwrap_or(20_000);
    let batch = args.next().unwrap_or(500);
    let events = log(n_events);
    println!("the projection's part of a push: {n_events} events, {batch} per transaction");
    report("sqlite", n_events, sqlite(&events, batch));
    #[cfg(feature = "pg")]
    {
        report("postgresql", n_events, postgres(&events, batch, false));
        report("pg+prefetch", n_events, postgres(&events, batch, true));
    }
    #[cfg(not(feature = "pg"))]
    println!("postgresql: run with --features pg");
}
