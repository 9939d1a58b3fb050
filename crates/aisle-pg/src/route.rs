//! Where a report read goes: a cluster's streaming replica while it is close enough behind
//! the primary, the primary otherwise.
//!
//! A [`ReadRouter`] holds the primary's pool and, when the cluster has one, the replica's. Before
//! a read it looks at the replica's replay lag (checked at most once per `check_every`, so not
//! every read pays for it) and sends the read to the replica while the lag is under `max_lag`
//! (5 s by default). A replica that is down, promoted, unreachable within `check_timeout`, or that
//! fails a read (a broken connection, a query cancelled by a recovery conflict) sends reads to
//! the primary, without an error, until the next check. A read that fails on the replica for
//! any reason is run again on the primary, whose answer (error or not) is the answer: a
//! replica that has not replayed a new database's schema yet fails where the primary would
//! not, and a report read costs little to run twice. Device pushes and pulls never come here:
//! they read their own writes on the primary.
//!
//! The lag, measured on the replica:
//! - nothing pending (the WAL received equals the WAL replayed, while the WAL receiver is
//!   streaming): 0. This is the idle primary's case, where the last replayed transaction is
//!   old only because nothing was written since;
//! - otherwise: now minus the commit time of the last replayed transaction. That never
//!   underestimates how stale the replica's data is (it overestimates after a quiet spell, which
//!   only sends a few reads to the primary). The commit time is the primary's clock and "now"
//!   the replica's, so the two hosts' clocks must agree (NTP) to well under the bound.
//!
//! Seeing the receiver's `status` needs superuser or `pg_read_all_stats` (e.g. `pg_monitor`) on
//! the replica; without it the second rule applies, so an idle cluster's reports go to the primary.
//!
//! [`ReadCounters`] counts reads by target and keeps the last measured lag, for `/metrics`.

use crate::{PgConn, PgError, PgTx};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::runtime::Handle;

/// Where one read went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReadTarget {
    Primary,
    Replica,
}

impl ReadTarget {
    /// `primary` or `replica`, a label for metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            ReadTarget::Primary => "primary",
            ReadTarget::Replica => "replica",
        }
    }
}

/// The router's settings.
#[derive(Clone, Copy, Debug)]
pub struct RouteConfig {
    /// Reads go to the replica while its lag is below this.
    pub max_lag: Duration,
    /// A lag measurement is reused for this long.
    pub check_every: Duration,
    /// A replica that does not answer the lag check within this is treated as down.
    pub check_timeout: Duration,
}

impl Default for RouteConfig {
    fn default() -> Self {
        RouteConfig {
            max_lag: Duration::from_secs(5),
            check_every: Duration::from_secs(1),
            check_timeout: Duration::from_secs(1),
        }
    }
}

/// Reads by target and the last measured replica lag; share one between routers (one per
/// tenant database, say) to count them all. Lock-free, cheap to read for `/metrics`.
#[derive(Debug)]
pub struct ReadCounters {
    primary_reads: AtomicU64,
    primary_fallbacks: AtomicU64,
    replica_reads: AtomicU64,
    replica_failures: AtomicU64,
    /// Milliseconds; -1 when the last check could not measure it (no replica answer).
    last_lag_millis: AtomicI64,
}

impl Default for ReadCounters {
    fn default() -> Self {
        ReadCounters {
            primary_reads: AtomicU64::new(0),
            primary_fallbacks: AtomicU64::new(0),
            replica_reads: AtomicU64::new(0),
            replica_failures: AtomicU64::new(0),
            last_lag_millis: AtomicI64::new(-1),
        }
    }
}

/// A copy of [`ReadCounters`] at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadStats {
    /// Reads served by the primary (including fallbacks).
    pub primary_reads: u64,
    /// Of `primary_reads`, those of a router with a replica: the replica lagged past the
    /// bound, could not be measured, was down, or failed the read.
    pub primary_fallbacks: u64,
    /// Reads served by the replica.
    pub replica_reads: u64,
    /// Lag checks and reads the replica failed (down, unreachable, cancelled): each one sent
    /// its read to the primary.
    pub replica_failures: u64,
    /// The replica's lag at the last check; `None` if it did not answer.
    pub last_lag: Option<Duration>,
}

impl ReadCounters {
    pub fn stats(&self) -> ReadStats {
        let lag = self.last_lag_millis.load(Ordering::Relaxed);
        ReadStats {
            primary_reads: self.primary_reads.load(Ordering::Relaxed),
            primary_fallbacks: self.primary_fallbacks.load(Ordering::Relaxed),
            replica_reads: self.replica_reads.load(Ordering::Relaxed),
            replica_failures: self.replica_failures.load(Ordering::Relaxed),
            last_lag: u64::try_from(lag).ok().map(Duration::from_millis),
        }
    }

    /// Counts one read served by `target`; `has_replica` says whether its router had a
    /// replica to send it to instead (then a primary read is a fallback).
    fn count(&self, target: ReadTarget, has_replica: bool) {
        let counter = match target {
            ReadTarget::Primary => &self.primary_reads,
            ReadTarget::Replica => &self.replica_reads,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if target == ReadTarget::Primary && has_replica {
            self.primary_fallbacks.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// What the last lag check decided, and when.
#[derive(Clone, Copy, Debug)]
struct Decision {
    at: Instant,
    target: ReadTarget,
}

/// Chooses the pool for report reads; see the module doc.
#[derive(Debug)]
pub struct ReadRouter {
    primary: deadpool_postgres::Pool,
    replica: Option<deadpool_postgres::Pool>,
    config: RouteConfig,
    counters: Arc<ReadCounters>,
    /// Held across a check, so concurrent reads wait for one check instead of each making one.
    decision: tokio::sync::Mutex<Option<Decision>>,
}

impl ReadRouter {
    pub fn new(
        primary: deadpool_postgres::Pool,
        replica: Option<deadpool_postgres::Pool>,
        config: RouteConfig,
        counters: Arc<ReadCounters>,
    ) -> ReadRouter {
        ReadRouter {
            primary,
            replica,
            config,
            counters,
            decision: tokio::sync::Mutex::new(None),
        }
    }

    pub fn counters(&self) -> &Arc<ReadCounters> {
        &self.counters
    }

    /// Whether this router has a replica to send reads to.
    pub fn has_replica(&self) -> bool {
        self.replica.is_some()
    }

    /// The primary's pool, for the reads and writes that must see the latest data.
    pub fn primary(&self) -> &deadpool_postgres::Pool {
        &self.primary
    }

    /// Where a report read should go now (measuring the lag if the last check is too old).
    /// Counts nothing: [`ReadRouter::client`] and [`ReadRouter::read_blocking`] count.
    pub async fn target(&self) -> ReadTarget {
        let Some(replica) = &self.replica else {
            return ReadTarget::Primary;
        };
        let mut decision = self.decision.lock().await;
        if let Some(cached) = *decision {
            if cached.at.elapsed() < self.config.check_every {
                return cached.target;
            }
        }
        let lag = match tokio::time::timeout(self.config.check_timeout, replica_lag(replica)).await
        {
            Ok(Ok(lag)) => lag,
            Ok(Err(error)) => {
                tracing::warn!(%error, "replica lag check failed; report reads go to the primary");
                None
            }
            Err(_) => {
                tracing::warn!("replica lag check timed out; report reads go to the primary");
                None
            }
        };
        if lag.is_none() {
            self.counters
                .replica_failures
                .fetch_add(1, Ordering::Relaxed);
        }
        let lag_millis = lag.map_or(-1, |lag| i64::try_from(lag.as_millis()).unwrap_or(i64::MAX));
        self.counters
            .last_lag_millis
            .store(lag_millis, Ordering::Relaxed);
        let target = match lag {
            Some(lag) if lag < self.config.max_lag => ReadTarget::Replica,
            _ => ReadTarget::Primary,
        };
        *decision = Some(Decision {
            at: Instant::now(),
            target,
        });
        target
    }

    /// A connection for one report read, counted: from the replica when [`target`] says so and
    /// it gives one, else from the primary. For async callers; if a read on the replica
    /// connection then fails, call [`ReadRouter::replica_failed`] and read from the primary.
    ///
    /// [`target`]: ReadRouter::target
    pub async fn client(&self) -> Result<(ReadTarget, deadpool_postgres::Object), PgError> {
        if let (ReadTarget::Replica, Some(replica)) = (self.target().await, &self.replica) {
            match replica.get().await {
                Ok(client) => {
                    self.counters.count(ReadTarget::Replica, true);
                    return Ok((ReadTarget::Replica, client));
                }
                Err(error) => {
                    tracing::warn!(%error, "no replica connection; report read goes to the primary");
                    self.replica_failed().await;
                }
            }
        }
        let client = self.primary.get().await?;
        self.counters
            .count(ReadTarget::Primary, self.replica.is_some());
        Ok((ReadTarget::Primary, client))
    }

    /// Records that the replica failed a read: reads go to the primary until the next check.
    pub async fn replica_failed(&self) {
        self.counters
            .replica_failures
            .fetch_add(1, Ordering::Relaxed);
        *self.decision.lock().await = Some(Decision {
            at: Instant::now(),
            target: ReadTarget::Primary,
        });
    }

    /// Runs the report read `read` in a transaction on the chosen target, from a blocking
    /// thread (never an async task), and says where it ran. If the replica fails it (a broken
    /// connection, a recovery conflict, a table it has not replayed yet), it runs again on the
    /// primary, whose answer is the caller's.
    pub fn read_blocking<T>(
        &self,
        runtime: &Handle,
        mut read: impl FnMut(&PgTx<'_>) -> Result<T, PgError>,
    ) -> Result<(ReadTarget, T), PgError> {
        let run_on = |pool: &deadpool_postgres::Pool,
                      read: &mut dyn FnMut(&PgTx<'_>) -> Result<T, PgError>| {
            let mut conn = crate::connect(pool, runtime)?;
            run_read(&mut conn, read)
        };
        if let (ReadTarget::Replica, Some(replica)) =
            (runtime.block_on(self.target()), &self.replica)
        {
            match run_on(replica, &mut read) {
                Ok(value) => {
                    self.counters.count(ReadTarget::Replica, true);
                    return Ok((ReadTarget::Replica, value));
                }
                Err(error) => {
                    tracing::warn!(%error, "report read failed on the replica; reading from the primary");
                    runtime.block_on(self.replica_failed());
                }
            }
        }
        let value = run_on(&self.primary, &mut read)?;
        self.counters
            .count(ReadTarget::Primary, self.replica.is_some());
        Ok((ReadTarget::Primary, value))
    }
}

fn run_read<T>(
    conn: &mut PgConn,
    read: &mut dyn FnMut(&PgTx<'_>) -> Result<T, PgError>,
) -> Result<T, PgError> {
    let tx = conn.transaction()?;
    let value = read(&tx)?;
    tx.commit()?;
    Ok(value)
}

/// The replica's replay lag (module doc), or `None` when the "replica" is not in recovery
/// (promoted, or a misconfigured URL): its data may have left the primary's behind.
async fn replica_lag(replica: &deadpool_postgres::Pool) -> Result<Option<Duration>, PgError> {
    let client = replica.get().await?;
    // One statement, simple protocol: nothing prepared, safe behind PgBouncer.
    let rows = client
        .simple_query(
            "SELECT pg_is_in_recovery(),
                    COALESCE(pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()
                             AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver
                                         WHERE status = 'streaming'), false),
                    EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp()) * 1000",
        )
        .await?;
    let row = rows
        .iter()
        .find_map(|message| match message {
            tokio_postgres::SimpleQueryMessage::Row(row) => Some(row),
            _ => None,
        })
        .expect("a SELECT without FROM answers one row");
    if row.get(0) != Some("t") {
        return Ok(None);
    }
    if row.get(1) == Some("t") {
        return Ok(Some(Duration::ZERO));
    }
    // No replayed transaction yet (a replica that never replayed one and has WAL pending) is
    // as far behind as can be.
    let behind_millis = row
        .get(2)
        .and_then(|millis| millis.parse::<f64>().ok())
        .unwrap_or(f64::MAX);
    Ok(Some(Duration::from_secs_f64(
        (behind_millis.max(0.0) / 1000.0).min(u32::MAX as f64),
    )))
}
