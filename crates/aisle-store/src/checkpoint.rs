//! WAL checkpoints off the scan path.
//!
//! SQLite's automatic checkpoint runs inside whichever commit pushes the WAL past 1,000
//! pages, so about one scan in a hundred paid for copying the whole WAL back into the
//! database file and fsyncing it (~6 ms on the benchmark machine, against ~0.3 ms for an
//! ordinary scan). The recording connection therefore turns the automatic checkpoint off,
//! and a [`Checkpointer`] thread with its own connection runs `wal_checkpoint(PASSIVE)`
//! when the floor is idle for a moment, or when enough has been written since the last one
//! that the WAL must not grow further. A passive checkpoint never blocks the writer.
//!
//! Checkpointing is housekeeping, never durability: a commit is durable in the WAL the
//! moment it returns (`synchronous=FULL`). If this thread cannot open its connection or a
//! checkpoint fails, nothing recorded is at risk; SQLite still checkpoints when the last
//! connection closes.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often the thread looks at the write counters.
const POLL: Duration = Duration::from_millis(100);
/// A pause in writing this long counts as idle: a picker walking to the next location.
const IDLE: Duration = Duration::from_millis(500);
/// Commits since the last checkpoint that force one even while busy (a single scan
/// writes about a dozen WAL pages, so this bounds the WAL near 25 MB).
const FORCE_AFTER_COMMITS: u64 = 500;
/// Events since the last checkpoint that force one even while busy (bulk imports).
const FORCE_AFTER_EVENTS: u64 = 20_000;

/// What the recording connection has written, shared with the checkpoint thread.
#[derive(Debug, Default)]
pub(crate) struct WriteCounters {
    commits: AtomicU64,
    events: AtomicU64,
}

impl WriteCounters {
    /// Called after each successful commit of `n_events` events.
    pub(crate) fn committed(&self, n_events: u64) {
        self.events.fetch_add(n_events, Ordering::Relaxed);
        self.commits.fetch_add(1, Ordering::Release);
    }
}

/// The background checkpoint thread of one store; dropping it stops the thread.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts the thread on its own connection to `path`. Returns `None` when the
    /// connection cannot be opened; the store then keeps SQLite's automatic checkpoint.
    pub(crate) fn start(
        path: &Path,
        key: Option<&crate::StoreKey>,
        counters: Arc<WriteCounters>,
    ) -> Option<Self> {
        let conn = rusqlite::Connection::open(path).ok()?;
        if let Some(key) = key {
            crate::key::apply(&conn, key).ok()?;
        }
        // Short: a checkpoint that cannot get in soon is retried later, and a RESTART
        // checkpoint holds new writers back while it waits.
        conn.busy_timeout(Duration::from_millis(200)).ok()?;
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("aisle-store-checkpoint".into())
            .spawn(move || run(&conn, &counters, &stopped))
            .ok()?;
        Some(Self {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(conn: &rusqlite::Connection, counters: &WriteCounters, stopped: &mpsc::Receiver<()>) {
    let mut checkpointed_commits = counters.commits.load(Ordering::Acquire);
    let mut checkpointed_events = counters.events.load(Ordering::Relaxed);
    let mut seen_commits = checkpointed_commits;
    let mut last_change = Instant::now();
    loop {
        match stopped.recv_timeout(POLL) {
            Err(RecvTimeoutError::Timeout) => {}
            // The store is closing (the sender is dropped); SQLite checkpoints on close.
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
        let commits = counters.commits.load(Ordering::Acquire);
        let events = counters.events.load(Ordering::Relaxed);
        if commits != seen_commits {
            seen_commits = commits;
            last_change = Instant::now();
        }
        if commits == checkpointed_commits {
            continue;
        }
        let idle = last_change.elapsed() >= IDLE;
        let forced = commits - checkpointed_commits >= FORCE_AFTER_COMMITS
            || events - checkpointed_events >= FORCE_AFTER_EVENTS;
        if !(idle || forced) {
            continue;
        }
        // When idle, PASSIVE copies what no reader still needs and never waits for the
        // writer; the next commit then starts the WAL over. Under a writer that never
        // pauses (a bulk import), a passive checkpoint never catches up and the WAL would
        // grow without end, so a forced one is RESTART: it waits, at most the connection's
        // short busy timeout, for a gap between transactions, and makes the next commit
        // start the WAL from the beginning. A checkpoint that reports busy or fails is
        // retried at the next poll, since the counters stay ahead.
        let sql = if idle {
            "PRAGMA wal_checkpoint(PASSIVE)"
        } else {
            "PRAGMA wal_checkpoint(RESTART)"
        };
        let checkpoint = conn.query_row(sql, [], |row| row.get::<_, i64>(0));
        if checkpoint == Ok(0) {
            checkpointed_commits = commits;
            checkpointed_events = events;
        }
    }
}
