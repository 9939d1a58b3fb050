//! Report reads against a real streaming replica (pg_basebackup -R): to the replica while it
//! keeps up, to the primary when it lags, is stopped, or breaks mid-way, and never an error.

use crate::pool;
use aisle_pg::route::{ReadCounters, ReadRouter, ReadTarget, RouteConfig};
use aisle_pg::PgError;
use aisle_pgtest::{PgCluster, PgOptions};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;

/// A primary with one table of picks, its caught-up replica, and a runtime.
struct Replicated {
    primary: PgCluster,
    replica: PgCluster,
    runtime: Runtime,
}

impl Replicated {
    fn new() -> Replicated {
        // No autovacuum: its transactions would refresh the replica's last replay time and
        // hide what the idle-primary test looks at.
        let primary = PgCluster::start_with(PgOptions {
            settings: vec![("autovacuum".to_owned(), "off".to_owned())],
            ..PgOptions::default()
        })
        .unwrap();
        primary.create_database("reports").unwrap();
        primary
            .psql(
                "reports",
                "CREATE TABLE picks (n int); INSERT INTO picks VALUES (1), (2)",
            )
            .unwrap();
        let replica = primary.start_replica().unwrap();
        replica.wait_for_replay(&primary).unwrap();
        Replicated {
            primary,
            replica,
            runtime: Runtime::new().unwrap(),
        }
    }

    fn router(&self, config: RouteConfig) -> ReadRouter {
        ReadRouter::new(
            pool(&self.primary.url("reports"), 4),
            Some(pool(&self.replica.url("reports"), 4)),
            config,
            Arc::new(ReadCounters::default()),
        )
    }

    /// One report read: where it ran, whether that server was a standby, and the pick count.
    fn read(&self, router: &ReadRouter) -> (ReadTarget, bool, i64) {
        let (target, (in_recovery, picks)) = router
            .read_blocking(self.runtime.handle(), |tx| {
                let row = tx.query_one(
                    "SELECT pg_is_in_recovery(), (SELECT count(*) FROM picks)",
                    &[],
                )?;
                Ok::<_, PgError>((row.get::<_, bool>(0), row.get::<_, i64>(1)))
            })
            .expect("a report read never errors while the primary is up");
        (target, in_recovery, picks)
    }
}

/// Checks the lag on every read.
const EVERY_READ: RouteConfig = RouteConfig {
    max_lag: Duration::from_millis(300),
    check_every: Duration::ZERO,
    check_timeout: Duration::from_secs(5),
};

/// Reads until one goes to `target` (the lag changes over time), at most 30 s.
fn read_until(
    replicated: &Replicated,
    router: &ReadRouter,
    target: ReadTarget,
) -> (ReadTarget, bool, i64) {
    let started = Instant::now();
    loop {
        let read = replicated.read(router);
        if read.0 == target || started.elapsed() > Duration::from_secs(30) {
            return read;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn reads_go_to_a_caught_up_replica_even_when_the_primary_has_been_idle() {
    let replicated = Replicated::new();
    let router = replicated.router(EVERY_READ);
    // The last write is now older than max_lag: by commit times alone the replica would look
    // 0.6 s behind, but nothing is pending, so its lag is 0.
    std::thread::sleep(EVERY_READ.max_lag * 2);
    let (target, in_recovery, picks) = read_until(&replicated, &router, ReadTarget::Replica);
    assert_eq!(
        target,
        ReadTarget::Replica,
        "an idle, caught-up replica takes reports (lag {:?})",
        router.counters().stats().last_lag
    );
    assert!(in_recovery, "the read really ran on the standby");
    assert_eq!(picks, 2);
    let stats = router.counters().stats();
    assert_eq!(stats.last_lag, Some(Duration::ZERO));
    assert_eq!(stats.replica_reads, 1);
    assert_eq!(stats.replica_failures, 0);
}

#[test]
fn a_paused_replica_lags_and_reads_go_to_the_primary_until_it_catches_up() {
    let replicated = Replicated::new();
    let router = replicated.router(EVERY_READ);
    assert_eq!(
        read_until(&replicated, &router, ReadTarget::Replica).0,
        ReadTarget::Replica
    );

    replicated
        .replica
        .psql("postgres", "SELECT pg_wal_replay_pause()")
        .unwrap();
    replicated
        .primary
        .psql("reports", "INSERT INTO picks VALUES (3)")
        .unwrap();
    let (target, in_recovery, picks) = read_until(&replicated, &router, ReadTarget::Primary);
    assert_eq!(
        target,
        ReadTarget::Primary,
        "a lagging replica gets no reports"
    );
    assert!(!in_recovery);
    assert_eq!(
        picks, 3,
        "the report sees the write the replica has not replayed"
    );
    let lag = router
        .counters()
        .stats()
        .last_lag
        .expect("the lag was measured");
    assert!(
        lag >= EVERY_READ.max_lag,
        "the measured lag {lag:?} is over the bound"
    );

    replicated
        .replica
        .psql("postgres", "SELECT pg_wal_replay_resume()")
        .unwrap();
    replicated
        .replica
        .wait_for_replay(&replicated.primary)
        .unwrap();
    let (target, _, picks) = read_until(&replicated, &router, ReadTarget::Replica);
    assert_eq!(
        target,
        ReadTarget::Replica,
        "caught up again, it takes reports again"
    );
    assert_eq!(picks, 3);
    let stats = router.counters().stats();
    assert!(
        stats.primary_reads >= 1 && stats.replica_reads >= 2,
        "{stats:?}"
    );
}

#[test]
fn a_stopped_replica_sends_reads_to_the_primary_without_an_error() {
    let mut replicated = Replicated::new();
    // The decision is cached for a minute: the replica goes away after the router chose it,
    // so the read itself fails on the replica and is run again on the primary.
    let router = replicated.router(RouteConfig {
        check_every: Duration::from_secs(60),
        ..RouteConfig::default()
    });
    assert_eq!(replicated.read(&router).0, ReadTarget::Replica);

    replicated.replica.stop().unwrap();
    let (target, in_recovery, picks) = replicated.read(&router);
    assert_eq!(target, ReadTarget::Primary);
    assert!(!in_recovery);
    assert_eq!(picks, 2);
    let stats = router.counters().stats();
    assert_eq!(stats.replica_failures, 1, "{stats:?}");

    // A fresh router finds it down at its first lag check.
    let fresh = replicated.router(RouteConfig::default());
    assert_eq!(replicated.read(&fresh).0, ReadTarget::Primary);
    let stats = fresh.counters().stats();
    assert_eq!(stats.last_lag, None, "a replica that is down has no lag");
    assert_eq!((stats.primary_reads, stats.replica_reads), (1, 0));
    assert_eq!(
        stats.primary_fallbacks, 1,
        "a read its replica did not take is a fallback"
    );

    // Async callers get a primary connection the same way.
    let (target, client) = replicated
        .runtime
        .block_on(fresh.client())
        .expect("no error with the replica down");
    assert_eq!(target, ReadTarget::Primary);
    let row = replicated
        .runtime
        .block_on(client.query_one("SELECT pg_is_in_recovery()", &[]))
        .unwrap();
    assert!(!row.get::<_, bool>(0));

    // Back up, it takes reports again at the next check.
    replicated.replica.start_again().unwrap();
    let (target, in_recovery, _) = read_until(&replicated, &fresh, ReadTarget::Replica);
    assert_eq!(target, ReadTarget::Replica);
    assert!(in_recovery);
}

#[test]
fn a_killed_replica_sends_reads_to_the_primary_and_without_a_replica_all_go_there() {
    let mut replicated = Replicated::new();
    replicated.replica.kill().unwrap();
    let router = replicated.router(RouteConfig::default());
    assert_eq!(replicated.read(&router).0, ReadTarget::Primary);

    let primary_only = ReadRouter::new(
        pool(&replicated.primary.url("reports"), 2),
        None,
        RouteConfig::default(),
        Arc::new(ReadCounters::default()),
    );
    assert_eq!(replicated.read(&primary_only).0, ReadTarget::Primary);
    let stats = primary_only.counters().stats();
    assert_eq!(stats.replica_failures, 0);
    assert_eq!(
        (stats.primary_reads, stats.primary_fallbacks),
        (1, 0),
        "without a replica, a primary read falls back from nothing"
    );
}

#[test]
fn a_read_the_replica_cannot_answer_yet_is_answered_by_the_primary() {
    let replicated = Replicated::new();
    // The decision is cached for a minute: the replica is chosen, then falls behind.
    let router = replicated.router(RouteConfig {
        check_every: Duration::from_secs(60),
        ..RouteConfig::default()
    });
    assert_eq!(replicated.read(&router).0, ReadTarget::Replica);
    replicated
        .replica
        .psql("postgres", "SELECT pg_wal_replay_pause()")
        .unwrap();
    replicated
        .primary
        .psql(
            "reports",
            "CREATE TABLE counts (n int); INSERT INTO counts VALUES (7)",
        )
        .unwrap();
    let read_counts = |tx: &aisle_pg::PgTx<'_>| {
        let row = tx.query_one("SELECT n FROM counts", &[])?;
        Ok::<_, PgError>(row.get::<_, i32>(0))
    };
    let (target, n) = router
        .read_blocking(replicated.runtime.handle(), read_counts)
        .expect("a table the replica has not replayed yet is no error");
    assert_eq!(
        (target, n),
        (ReadTarget::Primary, 7),
        "the primary answers the read the replica failed"
    );
    let stats = router.counters().stats();
    assert_eq!(
        (stats.replica_failures, stats.primary_fallbacks),
        (1, 1),
        "{stats:?}"
    );

    // A read that fails on the primary too is the caller's error.
    let error = router
        .read_blocking(replicated.runtime.handle(), |tx| {
            tx.query_one("SELECT n FROM nowhere", &[])
        })
        .expect_err("no such table on either server");
    assert_eq!(
        error.code(),
        Some(&aisle_pg::tokio_postgres::error::SqlState::UNDEFINED_TABLE),
        "the primary's error: {error:?}"
    );
}
