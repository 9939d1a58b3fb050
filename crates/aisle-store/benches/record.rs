//! Benchmark: how long `Store::record` takes for one scan-sized event, and how many events
//! per second `Store::record_batch` sustains, on a store that already holds a million events,
//! next to a plain one-table SQLite insert opened with the same durability pragmas.
//!
//! Run it with `cargo bench -p aisle-store --bench record`. It prints figures and says which
//! targets they meet, but it never fails on timing: the machine decides the numbers, and a
//! benchmark that fails because a neighbour was compiling teaches nothing.
//!
//! Settings, all optional environment variables:
//! - `AISLE_BENCH_EVENTS`: events preloaded before measuring (default 1,000,000);
//! - `AISLE_BENCH_SINGLES`: single records timed one by one (default 2,000);
//! - `AISLE_BENCH_BULK`: events recorded in batches of 1,000 for the bulk rate (default 50,000);
//! - `AISLE_BENCH_DIR`: where the two database files go (default: cargo's target tmp dir,
//!   which is on the real disk; fsync on a tmpfs would measure nothing);
//! - `AISLE_BENCH_KEEP=1`: keep the database files afterwards, e.g. to profile against them.
//!
//! The bulk phase also times a third file that holds only what any `record_batch` must
//! write whatever its design: the store's event table with its indexes and one minimal
//! outbox row per event, with no projection (`LogFile::log_and_outbox`). The bulk rate is
//! reported as a ratio to that floor, with no target: the former target (bulk at least 0.5x
//! a plain one-table insert) compared unlike work and is retired. A PC joining a warehouse
//! with a long history is a matter for snapshots, not for batch speed. The single-scan p99
//! targets stay.
//!
//! Encryption: the store runs as on a device, encrypted with SQLCipher under a random key.
//! Its cost is measured in the same run against the very same store opened unencrypted
//! (`Store::open_unencrypted`, which only this crate's benches can call), which preloads
//! the same events and takes its turn in every latency chunk; the single-scan p99 of the
//! encrypted store may be at most 1.3x the unencrypted one's (issue 12).
//!
//! Fairness on a shared, noisy machine: the store and the baseline are never measured in
//! separate phases. Every phase is cut into chunks and the two take turns chunk by chunk,
//! alternating which of them goes first, so a burst of noise lands on both.

use aisle_core::event::{CountDecision, ReviewDecision};
use aisle_core::ids::{EventId, PickListId};
use aisle_core::testkit::{self, Events};
use aisle_core::Event;
use aisle_store::{Profile, Store, StoreKey};
use rusqlite::{Connection, TransactionBehavior};
use std::error::Error;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

type BenchResult<T> = Result<T, Box<dyn Error>>;

/// Events per transaction while preloading.
const PRELOAD_CHUNK: usize = 10_000;
/// Events per `record_batch` call in the bulk phase.
const BULK_BATCH: usize = 1_000;
/// Single records per turn when the store and the baseline take turns.
const LATENCY_CHUNK: usize = 100;
/// Single records on each side before timing starts (not reported).
const WARM_UP_SINGLES: usize = 100;

const TARGET_P99_MS: f64 = 1.0;
const TARGET_P99_RATIO: f64 = 3.0;
/// The most the encrypted store's single-record p99 may be over the unencrypted store's.
const TARGET_ENCRYPTION_P99_RATIO: f64 = 1.3;

fn main() -> BenchResult<()> {
    let n_preload = env_count("AISLE_BENCH_EVENTS", 1_000_000)?;
    let n_singles = env_count("AISLE_BENCH_SINGLES", 2_000)?;
    let n_bulk = env_count("AISLE_BENCH_BULK", 50_000)?;
    let keep_files = std::env::var("AISLE_BENCH_KEEP").is_ok_and(|value| value == "1");

    let parent = bench_parent_dir();
    std::fs::create_dir_all(&parent)?;
    let dir = tempfile::Builder::new()
        .prefix("aisle-bench-record-")
        .tempdir_in(&parent)?;
    let store_path = dir.path().join("store.sqlite3");
    let unencrypted_path = dir.path().join("store-unencrypted.sqlite3");
    let plain_path = dir.path().join("plain.sqlite3");
    let log_only_path = dir.path().join("log-and-outbox.sqlite3");
    println!("aisle-store record benchmark");
    println!(
        "  preload {n_preload} events, {n_singles} single records, {n_bulk} bulk events in batches of {BULK_BATCH}"
    );
    println!("  files in {}", dir.path().display());

    let profile = Profile {
        tenant: testkit::tenant(),
        warehouse: testkit::warehouse(),
    };
    let mut store = Store::open(&store_path, profile, &StoreKey::generate()?)?;
    let mut unencrypted = Store::open_unencrypted(&unencrypted_path, profile)?;
    let mut plain = LogFile::plain(&plain_path)?;
    let mut log_only = LogFile::log_and_outbox(&log_only_path)?;
    let mut floor = Floor::new(0x00a1_5e5e_ed00_0001);

    // 1. Preload both files with the same events, taking turns chunk by chunk.
    let mut preload_store = Duration::ZERO;
    let mut preload_plain = Duration::ZERO;
    let mut preload_unencrypted = Duration::ZERO;
    let mut n_loaded = 0;
    let mut chunk_idx = 0;
    let mut last_progress = 0;
    while n_loaded < n_preload {
        let chunk: Vec<Event> = (0..PRELOAD_CHUNK.min(n_preload - n_loaded))
            .map(|_| floor.next_event())
            .collect();
        // The unencrypted store goes first on every other pair of turns, last on the others.
        let unencrypted_first = chunk_idx % 4 < 2;
        if unencrypted_first {
            preload_unencrypted += timed(|| unencrypted.record_batch(&chunk).map(drop))?;
        }
        let (store_time, plain_time) = take_turns(
            chunk_idx,
            || timed(|| store.record_batch(&chunk).map(drop)),
            || timed(|| plain.insert(&chunk)),
        )?;
        if !unencrypted_first {
            preload_unencrypted += timed(|| unencrypted.record_batch(&chunk).map(drop))?;
        }
        preload_store += store_time;
        preload_plain += plain_time;
        plain.checkpoint()?;
        // Untimed: the third file only has to hold the same log before the bulk phase.
        log_only.insert(&chunk)?;
        log_only.checkpoint()?;
        n_loaded += chunk.len();
        chunk_idx += 1;
        if n_loaded * 10 / n_preload > last_progress {
            last_progress = n_loaded * 10 / n_preload;
            eprintln!(
                "  preloaded {n_loaded} events (store {:.0}/s, plain {:.0}/s so far)",
                per_second(n_loaded, preload_store),
                per_second(n_loaded, preload_plain)
            );
        }
    }
    let store_rows: u64 = store.event_count()?;
    println!(
        "  preloaded: store holds {store_rows} events ({}), plain table {} ({})",
        file_size_text(&store_path),
        plain.count()?,
        file_size_text(&plain_path)
    );

    // 2. Latency of one scan-sized event per transaction.
    for _ in 0..WARM_UP_SINGLES {
        let event = floor.next_scan();
        store.record(&event)?;
        unencrypted.record(&event)?;
        plain.insert(std::slice::from_ref(&event))?;
        log_only.insert(std::slice::from_ref(&event))?;
    }
    plain.checkpoint()?;
    let singles: Vec<Event> = (0..n_singles).map(|_| floor.next_scan()).collect();
    let mut store_singles = Vec::with_capacity(n_singles);
    let mut plain_singles = Vec::with_capacity(n_singles);
    let mut unencrypted_singles = Vec::with_capacity(n_singles);
    for (chunk_idx, chunk) in singles.chunks(LATENCY_CHUNK).enumerate() {
        let mut unencrypted_turn = || -> BenchResult<()> {
            for event in chunk {
                unencrypted_singles.push(time_single(&unencrypted_path, || {
                    unencrypted.record(event).map(drop)
                })?);
            }
            Ok(())
        };
        let unencrypted_first = chunk_idx % 4 < 2;
        if unencrypted_first {
            unencrypted_turn()?;
        }
        take_turns(
            chunk_idx,
            || -> BenchResult<()> {
                for event in chunk {
                    store_singles.push(time_single(&store_path, || store.record(event).map(drop))?);
                }
                Ok(())
            },
            || -> BenchResult<()> {
                for event in chunk {
                    plain_singles.push(time_single(&plain_path, || {
                        plain.insert(std::slice::from_ref(event))
                    })?);
                }
                Ok(())
            },
        )?;
        if !unencrypted_first {
            unencrypted_turn()?;
        }
        plain.checkpoint()?;
    }
    log_only.insert(&singles)?;
    log_only.checkpoint()?;

    // 3. Bulk rate: the floor mix, a thousand events per transaction.
    let bulk: Vec<Event> = (0..n_bulk).map(|_| floor.next_event()).collect();
    let mut bulk_store = Duration::ZERO;
    let mut bulk_plain = Duration::ZERO;
    let mut bulk_log_only = Duration::ZERO;
    for (batch_idx, batch) in bulk.chunks(BULK_BATCH).enumerate() {
        // The third side goes first on every other pair of turns, last on the others.
        let log_only_first = batch_idx % 4 < 2;
        if log_only_first {
            bulk_log_only += timed(|| log_only.insert(batch))?;
        }
        let (store_time, plain_time) = take_turns(
            batch_idx,
            || timed(|| store.record_batch(batch).map(drop)),
            || timed(|| plain.insert(batch)),
        )?;
        if !log_only_first {
            bulk_log_only += timed(|| log_only.insert(batch))?;
        }
        bulk_store += store_time;
        bulk_plain += plain_time;
        if batch_idx % 10 == 9 {
            plain.checkpoint()?;
            log_only.checkpoint()?;
        }
    }

    let report = Report {
        preload_store: per_second(n_preload, preload_store),
        preload_plain: per_second(n_preload, preload_plain),
        store_singles: Latencies::new(&store_singles),
        plain_singles: Latencies::new(&plain_singles),
        preload_unencrypted: per_second(n_preload, preload_unencrypted),
        unencrypted_singles: Latencies::new(&unencrypted_singles),
        bulk_store: per_second(n_bulk, bulk_store),
        bulk_plain: per_second(n_bulk, bulk_plain),
        bulk_log_only: per_second(n_bulk, bulk_log_only),
    };
    report.print(&floor);
    println!(
        "  files after the run: store {}, unencrypted store {}, plain {}",
        file_size_text(&store_path),
        file_size_text(&unencrypted_path),
        file_size_text(&plain_path)
    );

    drop(store);
    drop(unencrypted);
    drop(plain);
    if keep_files {
        let kept = dir.keep();
        println!("  kept the database files in {}", kept.display());
    }
    Ok(())
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

/// Runs the store's turn and the baseline's turn, the store first on even turns and the
/// baseline first on odd ones.
fn take_turns<S, P>(
    turn_idx: usize,
    store_turn: impl FnOnce() -> BenchResult<S>,
    plain_turn: impl FnOnce() -> BenchResult<P>,
) -> BenchResult<(S, P)> {
    if turn_idx % 2 == 0 {
        let store_out = store_turn()?;
        Ok((store_out, plain_turn()?))
    } else {
        let plain_out = plain_turn()?;
        Ok((store_turn()?, plain_out))
    }
}

fn timed<E: Into<Box<dyn Error>>>(work: impl FnOnce() -> Result<(), E>) -> BenchResult<Duration> {
    let start = Instant::now();
    work().map_err(Into::into)?;
    Ok(start.elapsed())
}

/// One timed single-event transaction, and whether its commit also checkpointed the WAL
/// into the database file (seen as a change of the file's modification time, which only a
/// checkpoint causes in WAL mode).
#[derive(Copy, Clone, Debug)]
struct Single {
    elapsed: Duration,
    checkpointed: bool,
}

fn time_single<E: Into<Box<dyn Error>>>(
    db_path: &Path,
    work: impl FnOnce() -> Result<(), E>,
) -> BenchResult<Single> {
    let before = modified(db_path)?;
    let elapsed = timed(work)?;
    let after = modified(db_path)?;
    Ok(Single {
        elapsed,
        checkpointed: before != after,
    })
}

fn modified(path: &Path) -> BenchResult<SystemTime> {
    Ok(std::fs::metadata(path)?.modified()?)
}

fn per_second(n_events: usize, elapsed: Duration) -> f64 {
    n_events as f64 / elapsed.as_secs_f64()
}

fn file_size_text(path: &Path) -> String {
    let size = |path: &Path| std::fs::metadata(path).map_or(0, |meta| meta.len());
    let mut wal_path = path.as_os_str().to_owned();
    wal_path.push("-wal");
    format!(
        "{:.0} MB + {:.0} MB WAL",
        size(path) as f64 / 1e6,
        size(Path::new(&wal_path)) as f64 / 1e6
    )
}

/// A connection with the settings of `aisle_store::configure`: WAL, `synchronous=FULL`,
/// foreign keys, a busy timeout. The store also sets a 32 MB page cache, a 64 MB WAL size
/// limit and a 64-statement cache, and moves WAL checkpoints to a background thread; these
/// files get the same cache settings and no automatic checkpoint either. Their checkpoints
/// run between turns, untimed ([`LogFile::checkpoint`]), which favours them.
fn open_like_the_store(path: &Path) -> BenchResult<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(format!("journal_mode is {mode}, not wal").into());
    }
    conn.set_prepared_statement_cache_capacity(64);
    conn.execute_batch(
        "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;
         PRAGMA cache_size = -32768; PRAGMA journal_size_limit = 67108864;
         PRAGMA wal_autocheckpoint = 0;",
    )?;
    Ok(conn)
}

/// The columns of the store's `events` table, which both comparison files use.
const EVENT_COLUMNS: &str =
    "seq INTEGER PRIMARY KEY, id BLOB NOT NULL UNIQUE, hlc INTEGER NOT NULL,
    device BLOB NOT NULL, kind TEXT NOT NULL, origin TEXT NOT NULL, payload TEXT NOT NULL";

/// A file the store is compared with. The baseline ([`LogFile::plain`]): the events as JSON
/// in one plain table, with the store's pragmas. The floor ([`LogFile::log_and_outbox`]):
/// the store's own event table (with its order index) and a minimal outbox row per event
/// (keyed by the event's row, no index), in one transaction, and no projection. Whatever
/// design the store's write path takes, it writes at least the floor; if the floor alone is
/// under the bulk target, the target cannot be met by a store that also updates its
/// projection in the same transaction.
#[derive(Debug)]
struct LogFile {
    conn: Connection,
    /// Whether each event also gets an outbox row.
    outbox: bool,
}

impl LogFile {
    fn plain(path: &Path) -> BenchResult<Self> {
        let conn = open_like_the_store(path)?;
        conn.execute_batch(&format!(
            "CREATE TABLE IF NOT EXISTS events ({EVENT_COLUMNS});"
        ))?;
        Ok(Self {
            conn,
            outbox: false,
        })
    }

    fn log_and_outbox(path: &Path) -> BenchResult<Self> {
        let conn = open_like_the_store(path)?;
        conn.execute_batch(&format!(
            "CREATE TABLE IF NOT EXISTS events ({EVENT_COLUMNS}) STRICT;
             CREATE INDEX IF NOT EXISTS events_order ON events (hlc, device, id);
             CREATE TABLE IF NOT EXISTS outbox (
                 event_seq       INTEGER PRIMARY KEY,
                 state           TEXT NOT NULL DEFAULT 'pending',
                 attempts        INTEGER NOT NULL DEFAULT 0,
                 next_attempt_ms INTEGER NOT NULL DEFAULT 0,
                 last_error      TEXT
             ) STRICT;"
        ))?;
        Ok(Self { conn, outbox: true })
    }

    /// Copies the WAL back into the database file; called between turns, never timed.
    fn checkpoint(&self) -> BenchResult<()> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
                row.get::<_, i64>(0)
            })?;
        Ok(())
    }

    /// Inserts the events in one transaction, begun the way the store begins its own.
    /// Serialising the payload is part of the timed work, as it is inside `record`.
    fn insert(&mut self, events: &[Event]) -> BenchResult<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut event_insert = tx.prepare_cached(
                "INSERT INTO events (id, hlc, device, kind, origin, payload)
                 VALUES (?1, ?2, ?3, ?4, 'local', ?5)",
            )?;
            let mut outbox_insert = match self.outbox {
                true => Some(tx.prepare_cached("INSERT INTO outbox (event_seq) VALUES (?1)")?),
                false => None,
            };
            for event in events {
                let payload = serde_json::to_string(event)?;
                event_insert.execute((
                    event.id.as_bytes(),
                    event.hlc.to_packed(),
                    event.device.as_bytes(),
                    event.kind(),
                    payload,
                ))?;
                if let Some(outbox_insert) = outbox_insert.as_mut() {
                    outbox_insert.execute([tx.last_insert_rowid()])?;
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn count(&self) -> BenchResult<u64> {
        Ok(self
            .conn
            .query_row("SELECT COUNT(*) FROM events", [], |row| row.get(0))?)
    }
}

/// Percentiles of one side's single-record latencies.
#[derive(Debug)]
struct Latencies {
    p50: Duration,
    p99: Duration,
    p999: Duration,
    max: Duration,
    n: usize,
    n_checkpointed: usize,
    /// The p99 of the commits that did not checkpoint the WAL.
    p99_without_checkpoints: Duration,
    median_checkpointed: Option<Duration>,
}

impl Latencies {
    fn new(singles: &[Single]) -> Self {
        let sorted = |keep: &dyn Fn(&Single) -> bool| -> Vec<Duration> {
            let mut elapsed: Vec<Duration> = singles
                .iter()
                .filter(|single| keep(single))
                .map(|single| single.elapsed)
                .collect();
            elapsed.sort_unstable();
            elapsed
        };
        let all = sorted(&|_| true);
        let plain_commits = sorted(&|single| !single.checkpointed);
        let checkpoint_commits = sorted(&|single| single.checkpointed);
        Self {
            p50: percentile(&all, 50.0).unwrap_or_default(),
            p99: percentile(&all, 99.0).unwrap_or_default(),
            p999: percentile(&all, 99.9).unwrap_or_default(),
            max: all.last().copied().unwrap_or_default(),
            n: all.len(),
            n_checkpointed: checkpoint_commits.len(),
            p99_without_checkpoints: percentile(&plain_commits, 99.0).unwrap_or_default(),
            median_checkpointed: percentile(&checkpoint_commits, 50.0),
        }
    }
}

/// The nearest-rank percentile of sorted samples.
fn percentile(sorted: &[Duration], percent: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((percent / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

#[derive(Debug)]
struct Report {
    preload_store: f64,
    preload_plain: f64,
    store_singles: Latencies,
    plain_singles: Latencies,
    bulk_store: f64,
    bulk_plain: f64,
    /// The event row and a minimal outbox row only: the least `record_batch` must write.
    bulk_log_only: f64,
    /// The same store unencrypted, measured in the same turns (the cost of encryption).
    preload_unencrypted: f64,
    unencrypted_singles: Latencies,
}

impl Report {
    fn print(&self, floor: &Floor) {
        let ms = |duration: Duration| duration.as_secs_f64() * 1e3;
        let (store, plain) = (&self.store_singles, &self.plain_singles);
        let p99_ratio = ms(store.p99) / ms(plain.p99);
        let bulk_ratio = self.bulk_store / self.bulk_plain;
        let verdict = |met: bool| if met { "met" } else { "MISSED" };

        println!();
        println!(
            "method: store and plain insert take turns in chunks (preload: {PRELOAD_CHUNK} events, \
             latency: {LATENCY_CHUNK} records, bulk: one batch of {BULK_BATCH}), alternating which goes first; \
             {WARM_UP_SINGLES} untimed single records each before timing"
        );
        println!(
            "events generated: {} (received {}, picked {} of which {} on pick lines, moved {}, counted {}, reviewed {}, adjusted {}, short-picked {}, claimed {})",
            floor.mix.total(),
            floor.mix.received,
            floor.mix.picked,
            floor.mix.picked_on_line,
            floor.mix.moved,
            floor.mix.counted,
            floor.mix.reviewed,
            floor.mix.adjusted,
            floor.mix.short_picked,
            floor.mix.claimed,
        );
        println!();
        println!(
            "| {:<36} | {:>12} | {:>12} | {:>7} | {:<34} |",
            "metric", "aisle-store", "plain insert", "ratio", "target"
        );
        println!(
            "|{:-<38}|{:->14}|{:->14}|{:->9}|{:-<36}|",
            "", "", "", "", ""
        );
        let row = |metric: &str, store: String, plain: String, ratio: f64, target: String| {
            println!("| {metric:<36} | {store:>12} | {plain:>12} | {ratio:>6.2}x | {target:<34} |");
        };
        row(
            "preload, events/s (10k per tx)",
            format!("{:.0}", self.preload_store),
            format!("{:.0}", self.preload_plain),
            self.preload_store / self.preload_plain,
            "-".into(),
        );
        row(
            "single record p50, ms",
            format!("{:.3}", ms(store.p50)),
            format!("{:.3}", ms(plain.p50)),
            ms(store.p50) / ms(plain.p50),
            "-".into(),
        );
        row(
            "single record p99, ms",
            format!("{:.3}", ms(store.p99)),
            format!("{:.3}", ms(plain.p99)),
            p99_ratio,
            format!(
                "<= {TARGET_P99_MS} ms: {}; <= {TARGET_P99_RATIO}x: {}",
                verdict(ms(store.p99) <= TARGET_P99_MS),
                verdict(p99_ratio <= TARGET_P99_RATIO)
            ),
        );
        row(
            "single record p99.9, ms",
            format!("{:.3}", ms(store.p999)),
            format!("{:.3}", ms(plain.p999)),
            ms(store.p999) / ms(plain.p999),
            "-".into(),
        );
        row(
            "single record max, ms",
            format!("{:.3}", ms(store.max)),
            format!("{:.3}", ms(plain.max)),
            ms(store.max) / ms(plain.max),
            "-".into(),
        );
        row(
            "bulk, events/s (1k per tx)",
            format!("{:.0}", self.bulk_store),
            format!("{:.0}", self.bulk_plain),
            bulk_ratio,
            format!(
                "{:.2}x the event + outbox floor",
                self.bulk_store / self.bulk_log_only
            ),
        );
        row(
            "bulk, event + outbox rows only",
            format!("{:.0}", self.bulk_log_only),
            format!("{:.0}", self.bulk_plain),
            self.bulk_log_only / self.bulk_plain,
            "(no projection: a floor)".into(),
        );
        self.print_encryption_cost();
        println!();
        for (name, latencies) in [
            ("aisle-store", store),
            ("aisle-store unencrypted", &self.unencrypted_singles),
            ("plain insert", plain),
        ] {
            println!(
                "{name}: {} single commits, {} of them also checkpointed the WAL (median {}); p99 of the others {:.3} ms",
                latencies.n,
                latencies.n_checkpointed,
                latencies
                    .median_checkpointed
                    .map_or("-".into(), |median| format!("{:.3} ms", ms(median))),
                ms(latencies.p99_without_checkpoints),
            );
        }
    }
}

impl Report {
    /// The encrypted store (as a device runs it) next to the same store unencrypted.
    fn print_encryption_cost(&self) {
        let ms = |duration: Duration| duration.as_secs_f64() * 1e3;
        let (encrypted, unencrypted) = (&self.store_singles, &self.unencrypted_singles);
        let p99_ratio = ms(encrypted.p99) / ms(unencrypted.p99);
        println!();
        println!("encryption (SQLCipher, raw key): the store above vs the same store unencrypted, same turns");
        println!(
            "| {:<36} | {:>12} | {:>12} | {:>7} | {:<34} |",
            "metric", "encrypted", "unencrypted", "ratio", "target"
        );
        println!(
            "|{:-<38}|{:->14}|{:->14}|{:->9}|{:-<36}|",
            "", "", "", "", ""
        );
        let row = |metric: &str, with: String, without: String, ratio: f64, target: String| {
            println!(
                "| {metric:<36} | {with:>12} | {without:>12} | {ratio:>6.2}x | {target:<34} |"
            );
        };
        row(
            "preload, events/s (10k per tx)",
            format!("{:.0}", self.preload_store),
            format!("{:.0}", self.preload_unencrypted),
            self.preload_store / self.preload_unencrypted,
            "-".into(),
        );
        for (metric, with, without) in [
            ("single record p50, ms", encrypted.p50, unencrypted.p50),
            ("single record p99.9, ms", encrypted.p999, unencrypted.p999),
        ] {
            row(
                metric,
                format!("{:.3}", ms(with)),
                format!("{:.3}", ms(without)),
                ms(with) / ms(without),
                "-".into(),
            );
        }
        row(
            "single record p99, ms",
            format!("{:.3}", ms(encrypted.p99)),
            format!("{:.3}", ms(unencrypted.p99)),
            p99_ratio,
            format!(
                "<= {TARGET_ENCRYPTION_P99_RATIO}x: {}",
                if p99_ratio <= TARGET_ENCRYPTION_P99_RATIO {
                    "met"
                } else {
                    "MISSED"
                }
            ),
        );
    }
}

/// A small deterministic generator (splitmix64): the benchmark must not depend on a
/// random-number crate, and two runs must record the very same events.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// A number in `low..=high`.
    fn between(&mut self, low: i64, high: i64) -> i64 {
        low + self.below((high - low + 1) as u64) as i64
    }

    fn per_mille(&mut self, chance: u64) -> bool {
        self.below(1000) < chance
    }
}

const N_LOCATIONS: u16 = 5_000;
const N_ITEMS: u16 = 2_000;
/// Locations an item is slotted in (pick faces and reserve).
const SLOTS_PER_ITEM: usize = 4;
/// Every fifth item is lot-tracked.
const LOT_TRACKED_EVERY: u16 = 5;
/// A lot-tracked item's incoming lot changes after this many receipts.
const RECEIPTS_PER_LOT: u32 = 30;
/// Lines on a pick list before the picker claims the next list.
const LINES_PER_LIST: u32 = 12;
/// This device; the store records every event as local.
const DEVICE: u16 = 1;

/// Stock of one item at one location in one lot (0 = no lot), as the floor believes it.
#[derive(Debug, Clone)]
struct Holding {
    location: u16,
    lot_no: u32,
    qty: i64,
}

#[derive(Debug)]
struct ItemFloor {
    slots: [u16; SLOTS_PER_ITEM],
    lot_tracked: bool,
    lot_no: u32,
    receipts_in_lot: u32,
    holdings: Vec<Holding>,
}

/// How many events of each kind were generated, for the report.
#[derive(Debug, Default)]
struct Mix {
    received: u64,
    picked: u64,
    picked_on_line: u64,
    moved: u64,
    counted: u64,
    reviewed: u64,
    adjusted: u64,
    short_picked: u64,
    claimed: u64,
}

impl Mix {
    fn total(&self) -> u64 {
        self.received
            + self.picked
            + self.moved
            + self.counted
            + self.reviewed
            + self.adjusted
            + self.short_picked
            + self.claimed
    }
}

/// A simulated warehouse floor producing the events one device would record: receipts into
/// an item's slots (lots for some items), picks mostly first-lot-first from stock that is
/// there, some on pick lists, replenishment moves between an item's slots, occasional
/// counts (a few needing a manager's review), adjustments and short picks. Popular items
/// are picked far more often than the long tail.
#[derive(Debug)]
struct Floor {
    rng: Rng,
    maker: Events,
    wall_ms: u64,
    items: Vec<ItemFloor>,
    pick_list_no: u64,
    line_no: u32,
    pending_reviews: Vec<EventId>,
    mix: Mix,
}

impl Floor {
    fn new(seed: u64) -> Self {
        let mut rng = Rng(seed);
        let items = (1..=N_ITEMS)
            .map(|item_n| {
                let mut slots = [0; SLOTS_PER_ITEM];
                for slot in &mut slots {
                    *slot = 1 + rng.below(u64::from(N_LOCATIONS)) as u16;
                }
                ItemFloor {
                    slots,
                    lot_tracked: item_n % LOT_TRACKED_EVERY == 0,
                    lot_no: 1,
                    receipts_in_lot: 0,
                    holdings: Vec::new(),
                }
            })
            .collect();
        Self {
            rng,
            maker: Events::default(),
            wall_ms: 1_767_225_600_000,
            items,
            pick_list_no: 0,
            line_no: LINES_PER_LIST,
            pending_reviews: Vec::new(),
            mix: Mix::default(),
        }
    }

    /// The next event of the whole floor mix.
    fn next_event(&mut self) -> Event {
        let roll = self.rng.below(1000);
        let item_idx = self.popular_item();
        match roll {
            0..250 => self.receive(item_idx),
            250..800 => self.pick(item_idx),
            800..950 => self.move_stock(item_idx),
            950..975 => self.count(item_idx),
            975..985 => self.adjust(item_idx),
            985..990 => self.short_pick(item_idx),
            _ => match self.pending_reviews.pop() {
                Some(counted) => self.review(counted),
                None => self.pick(item_idx),
            },
        }
    }

    /// The next scan-sized event for the latency phase: a pick (seven in ten, most of them
    /// on pick lists, with the occasional claim of the next list) or a receipt.
    fn next_scan(&mut self) -> Event {
        let item_idx = self.popular_item();
        if self.rng.per_mille(700) {
            self.pick(item_idx)
        } else {
            self.receive(item_idx)
        }
    }

    /// Skewed towards low item numbers: u² of a uniform u.
    fn popular_item(&mut self) -> usize {
        let uniform = self.rng.below(1 << 20) as f64 / (1 << 20) as f64;
        (uniform * uniform * f64::from(N_ITEMS)) as usize
    }

    fn make(&mut self, body: aisle_core::EventBody) -> Event {
        self.wall_ms += 1 + self.rng.below(400);
        self.maker.make(DEVICE, self.wall_ms, 0, body)
    }

    fn key(item_idx: usize, location: u16, lot_no: u32) -> aisle_core::stock::StockKey {
        let lot = (lot_no != 0).then(|| format!("L{:04}-{lot_no:04}", item_idx + 1));
        testkit::key(location, item_idx as u16 + 1, lot.as_deref())
    }

    fn holding_mut(&mut self, item_idx: usize, location: u16, lot_no: u32) -> &mut Holding {
        let holdings = &mut self.items[item_idx].holdings;
        let position = holdings
            .iter()
            .position(|holding| holding.location == location && holding.lot_no == lot_no)
            .unwrap_or_else(|| {
                holdings.push(Holding {
                    location,
                    lot_no,
                    qty: 0,
                });
                holdings.len() - 1
            });
        &mut holdings[position]
    }

    /// The holding a picker takes from: the oldest lot that has stock.
    fn stocked_holding(&mut self, item_idx: usize) -> Option<Holding> {
        let item = &mut self.items[item_idx];
        if item.holdings.len() > 3 * SLOTS_PER_ITEM {
            item.holdings.retain(|holding| holding.qty != 0);
        }
        item.holdings
            .iter()
            .filter(|holding| holding.qty > 0)
            .min_by_key(|holding| holding.lot_no)
            .cloned()
    }

    fn receive(&mut self, item_idx: usize) -> Event {
        let slot = self.items[item_idx].slots[self.rng.below(SLOTS_PER_ITEM as u64) as usize];
        let item = &mut self.items[item_idx];
        let lot_no = if item.lot_tracked {
            item.receipts_in_lot += 1;
            if item.receipts_in_lot > RECEIPTS_PER_LOT {
                item.lot_no += 1;
                item.receipts_in_lot = 1;
            }
            item.lot_no
        } else {
            0
        };
        let qty = self.rng.between(6, 120);
        self.holding_mut(item_idx, slot, lot_no).qty += qty;
        self.mix.received += 1;
        let key = Self::key(item_idx, slot, lot_no);
        self.make(testkit::received(&key, qty))
    }

    fn pick(&mut self, item_idx: usize) -> Event {
        // An item with nothing on hand is mostly received first; sometimes the floor
        // picks it anyway (stock the system does not know about), which goes negative.
        let holding = match self.stocked_holding(item_idx) {
            Some(holding) => holding,
            None if self.rng.per_mille(900) => return self.receive(item_idx),
            None => Holding {
                location: self.items[item_idx].slots[0],
                lot_no: self.items[item_idx].lot_no * u32::from(self.items[item_idx].lot_tracked),
                qty: 1,
            },
        };
        let on_pick_list = self.rng.per_mille(600);
        if on_pick_list && self.line_no >= LINES_PER_LIST {
            // The picker claims the next list before picking its first line.
            self.pick_list_no += 1;
            self.line_no = 0;
            self.mix.claimed += 1;
            return self.make(testkit::claimed(pick_list_id(self.pick_list_no)));
        }
        let qty = self.rng.between(1, holding.qty.clamp(1, 6));
        self.holding_mut(item_idx, holding.location, holding.lot_no)
            .qty -= qty;
        let key = Self::key(item_idx, holding.location, holding.lot_no);
        self.mix.picked += 1;
        if !on_pick_list {
            return self.make(testkit::picked(&key, qty));
        }
        self.line_no += 1;
        self.mix.picked_on_line += 1;
        // Now and then a line is picked over its quantity.
        let line_qty = if self.rng.per_mille(10) {
            (qty - 1).max(1)
        } else {
            qty + self.rng.between(0, 2)
        };
        let list = pick_list_id(self.pick_list_no);
        self.make(testkit::picked_on_line(
            &key,
            qty,
            list,
            self.line_no,
            line_qty,
        ))
    }

    fn move_stock(&mut self, item_idx: usize) -> Event {
        let Some(from) = self.stocked_holding(item_idx) else {
            return self.receive(item_idx);
        };
        let slots = self.items[item_idx].slots;
        let Some(&to) = slots.iter().find(|slot| **slot != from.location) else {
            return self.pick(item_idx);
        };
        let qty = self.rng.between(1, from.qty);
        self.holding_mut(item_idx, from.location, from.lot_no).qty -= qty;
        self.holding_mut(item_idx, to, from.lot_no).qty += qty;
        self.mix.moved += 1;
        let key = Self::key(item_idx, from.location, from.lot_no);
        self.make(testkit::moved(&key, to, qty))
    }

    fn count(&mut self, item_idx: usize) -> Event {
        let holding = match self.stocked_holding(item_idx) {
            Some(holding) => holding,
            None => return self.receive(item_idx),
        };
        let system_qty = holding.qty;
        // Most counts agree or are off by one; a few are well off and need a manager.
        let counted_qty = match self.rng.below(100) {
            0..80 => system_qty,
            80..95 => (system_qty + self.rng.between(-1, 1)).max(0),
            _ => (system_qty + self.rng.between(-20, 20)).max(0),
        };
        let decision = if (counted_qty - system_qty).abs() <= 1 {
            self.holding_mut(item_idx, holding.location, holding.lot_no)
                .qty = counted_qty;
            CountDecision::SelfApproved
        } else {
            CountDecision::NeedsReview
        };
        self.mix.counted += 1;
        let key = Self::key(item_idx, holding.location, holding.lot_no);
        let event = self.make(testkit::counted(&key, counted_qty, system_qty, decision));
        if decision == CountDecision::NeedsReview {
            self.pending_reviews.push(event.id);
        }
        event
    }

    fn review(&mut self, counted: EventId) -> Event {
        let decision = if self.rng.per_mille(700) {
            ReviewDecision::Approved
        } else {
            ReviewDecision::Rejected
        };
        self.mix.reviewed += 1;
        self.make(testkit::reviewed(counted, decision))
    }

    fn adjust(&mut self, item_idx: usize) -> Event {
        let Some(holding) = self.stocked_holding(item_idx) else {
            return self.receive(item_idx);
        };
        self.holding_mut(item_idx, holding.location, holding.lot_no)
            .qty -= 1;
        self.mix.adjusted += 1;
        let key = Self::key(item_idx, holding.location, holding.lot_no);
        self.make(testkit::adjusted(&key, -1))
    }

    fn short_pick(&mut self, item_idx: usize) -> Event {
        let slot = self.items[item_idx].slots[0];
        let lot_no = self.items[item_idx].lot_no * u32::from(self.items[item_idx].lot_tracked);
        self.mix.short_picked += 1;
        let key = Self::key(item_idx, slot, lot_no);
        let list = pick_list_id(self.pick_list_no.max(1));
        self.make(testkit::short_picked(&key, list, 1))
    }
}

fn pick_list_id(list_no: u64) -> PickListId {
    let mut random = [0x71; 10];
    random[..8].copy_from_slice(&list_no.to_be_bytes());
    PickListId::new_v7(1, random)
}
