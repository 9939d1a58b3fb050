//! aisle-pg against a real PostgreSQL (aisle-pgtest), each body twice: straight to the cluster,
//! and through a PgBouncer in transaction mode, where consecutive transactions of one client
//! may run on different server connections.

mod route;
mod statements;

use aisle_pg::{migrate, Migration, MigrationReport, PgError};
use aisle_pgtest::{PgBouncer, PgBouncerOptions, PgCluster};
use rstest::rstest;
use std::sync::{Arc, Barrier};
use tokio::runtime::Runtime;

/// How a test reaches the database.
#[derive(Clone, Copy, Debug)]
enum Via {
    Direct,
    PgBouncer,
}

/// A cluster, maybe a PgBouncer in front of it, and a runtime for the blocking facade.
struct Fixture {
    cluster: PgCluster,
    bouncer: Option<PgBouncer>,
    runtime: Runtime,
}

impl Fixture {
    fn new(via: Via) -> Fixture {
        let cluster = PgCluster::start().expect("a test cluster starts");
        let bouncer = match via {
            Via::Direct => None,
            // A pool of 2 server connections for any number of clients: transactions of one
            // client land on whichever is free.
            Via::PgBouncer => Some(
                PgBouncer::start_with(
                    &cluster,
                    PgBouncerOptions {
                        pool_size: 2,
                        ..PgBouncerOptions::default()
                    },
                )
                .expect("pgbouncer starts (the `pgbouncer` package, scripts/setup.sh)"),
            ),
        };
        Fixture {
            cluster,
            bouncer,
            runtime: Runtime::new().unwrap(),
        }
    }

    /// A new database and a pool on it, through the bouncer when there is one.
    fn database(&self, name: &str) -> deadpool_postgres::Pool {
        self.cluster.create_database(name).unwrap();
        let url = match &self.bouncer {
            Some(bouncer) => bouncer.url(name),
            None => self.cluster.url(name),
        };
        pool(&url, 8)
    }
}

pub(crate) fn pool(url: &str, max_size: usize) -> deadpool_postgres::Pool {
    let config: tokio_postgres::Config = url.parse().unwrap();
    let manager = deadpool_postgres::Manager::from_config(
        config,
        tokio_postgres::NoTls,
        deadpool_postgres::ManagerConfig {
            recycling_method: deadpool_postgres::RecyclingMethod::Fast,
        },
    );
    deadpool_postgres::Pool::builder(manager)
        .max_size(max_size)
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .build()
        .unwrap()
}

#[rstest]
#[case::direct(Via::Direct)]
#[case::through_pgbouncer(Via::PgBouncer)]
fn a_transaction_runs_statements_and_commits_or_rolls_back(#[case] via: Via) {
    let fixture = Fixture::new(via);
    let pool = fixture.database("tx");
    let handle = fixture.runtime.handle();
    let mut conn = aisle_pg::connect(&pool, handle).unwrap();

    let tx = conn.transaction().unwrap();
    tx.batch_execute("CREATE TABLE bins (code TEXT PRIMARY KEY, qty BIGINT NOT NULL)")
        .unwrap();
    for (code, qty) in [("A-01", 5_i64), ("A-02", 7)] {
        assert_eq!(
            tx.execute("INSERT INTO bins VALUES ($1, $2)", &[&code, &qty])
                .unwrap(),
            1
        );
    }
    let prepared = |tx: &aisle_pg::PgTx<'_>| -> i64 {
        // Not counting itself, which is prepared at its first or second run (the first
        // is unnamed when this process knows the text's types already).
        tx.query_one(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement NOT LIKE '%pg_prepared_statements%'",
            &[],
        )
            .unwrap()
            .get(0)
    };
    let before = prepared(&tx);
    for _ in 0..3 {
        tx.query_opt("SELECT qty FROM bins WHERE code = $1", &[&"none"])
            .unwrap();
    }
    assert_eq!(
        prepared(&tx),
        before + 1,
        "one statement run three times in a transaction is prepared once"
    );
    tx.commit().unwrap();

    let tx = conn.transaction().unwrap();
    let rows = tx
        .query("SELECT code, qty FROM bins ORDER BY code", &[])
        .unwrap();
    let bins: Vec<(String, i64)> = rows.iter().map(|row| (row.get(0), row.get(1))).collect();
    assert_eq!(bins, [("A-01".to_owned(), 5), ("A-02".to_owned(), 7)]);
    assert!(tx
        .query_opt("SELECT qty FROM bins WHERE code = $1", &[&"B-01"])
        .unwrap()
        .is_none());
    tx.execute("UPDATE bins SET qty = 0", &[]).unwrap();
    tx.rollback().unwrap();

    let tx = conn.transaction().unwrap();
    let total: i64 = tx
        .query_one("SELECT sum(qty)::BIGINT FROM bins", &[])
        .unwrap()
        .get(0);
    assert_eq!(total, 12, "the rolled-back update left no trace");
    let error = tx
        .execute("INSERT INTO bins VALUES ($1, $2)", &[&"A-01", &1_i64])
        .unwrap_err();
    assert_eq!(
        error.code(),
        Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION)
    );
    assert!(!error.is_retryable(), "a duplicate key is final");
}

#[rstest]
#[case::direct(Via::Direct)]
#[case::through_pgbouncer(Via::PgBouncer)]
fn an_advisory_lock_holds_until_commit_and_no_longer(#[case] via: Via) {
    let fixture = Fixture::new(via);
    let pool = fixture.database("locks");
    let handle = fixture.runtime.handle();
    let mut holder = aisle_pg::connect(&pool, handle).unwrap();
    let mut other = aisle_pg::connect(&pool, handle).unwrap();
    let try_lock = "SELECT pg_try_advisory_xact_lock(42)";

    let held = holder.transaction().unwrap();
    held.advisory_lock(42).unwrap();
    let probe = other.transaction().unwrap();
    assert!(
        !probe.query_one(try_lock, &[]).unwrap().get::<_, bool>(0),
        "another transaction cannot take the lock while it is held"
    );
    probe.rollback().unwrap();
    held.commit().unwrap();

    let probe = other.transaction().unwrap();
    assert!(
        probe.query_one(try_lock, &[]).unwrap().get::<_, bool>(0),
        "commit released the transaction-level lock, on whatever server connection"
    );
    probe.commit().unwrap();
}

/// Migration 1 sleeps, so a second migrator starting at once finds it mid-way.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "log",
        sql: "CREATE TABLE applied_log (version INTEGER NOT NULL);
              SELECT pg_sleep(0.3);
              INSERT INTO applied_log VALUES (1);",
    },
    Migration {
        version: 2,
        name: "items",
        sql: "CREATE TABLE items (id uuid PRIMARY KEY);
              INSERT INTO applied_log VALUES (2);",
    },
];

fn migrated_versions(pool: &deadpool_postgres::Pool, fixture: &Fixture) -> Vec<i32> {
    let mut conn = aisle_pg::connect(pool, fixture.runtime.handle()).unwrap();
    let tx = conn.transaction().unwrap();
    let exists: bool = tx
        .query_one("SELECT to_regclass('aisle_migrations') IS NOT NULL", &[])
        .unwrap()
        .get(0);
    if !exists {
        return Vec::new();
    }
    tx.query("SELECT version FROM aisle_migrations ORDER BY version", &[])
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
}

fn run_migrate(
    pool: &deadpool_postgres::Pool,
    handle: &tokio::runtime::Handle,
    migrations: &[Migration],
) -> Result<MigrationReport, PgError> {
    let mut conn = aisle_pg::connect(pool, handle)?;
    let tx = conn.transaction()?;
    match migrate(&tx, migrations) {
        Ok(report) => {
            tx.commit()?;
            Ok(report)
        }
        Err(error) => {
            tx.rollback()?;
            Err(error)
        }
    }
}

#[rstest]
#[case::direct(Via::Direct)]
#[case::through_pgbouncer(Via::PgBouncer)]
fn two_instances_migrating_one_database_at_once_apply_each_migration_once(#[case] via: Via) {
    let fixture = Fixture::new(via);
    let pool = fixture.database("race");
    let start = Arc::new(Barrier::new(2));
    let reports: Vec<MigrationReport> = std::thread::scope(|scope| {
        let runners: Vec<_> = (0..2)
            .map(|_| {
                let (pool, start) = (pool.clone(), start.clone());
                let handle = fixture.runtime.handle().clone();
                scope.spawn(move || {
                    start.wait();
                    run_migrate(&pool, &handle, MIGRATIONS)
                })
            })
            .collect();
        runners
            .into_iter()
            .map(|runner| runner.join().unwrap().expect("both migrators succeed"))
            .collect()
    });
    let mut reports = reports;
    reports.sort_by_key(|report| report.from);
    assert_eq!(
        reports,
        [
            MigrationReport { from: 0, to: 2 },
            MigrationReport { from: 2, to: 2 }
        ],
        "one applied both migrations, the other waited and found nothing to do"
    );
    assert_eq!(migrated_versions(&pool, &fixture), [1, 2]);
    let mut conn = aisle_pg::connect(&pool, fixture.runtime.handle()).unwrap();
    let tx = conn.transaction().unwrap();
    let log: Vec<i32> = tx
        .query("SELECT version FROM applied_log ORDER BY version", &[])
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(log, [1, 2], "each migration's SQL ran exactly once");
}

#[rstest]
#[case::direct(Via::Direct)]
#[case::through_pgbouncer(Via::PgBouncer)]
fn a_failed_migration_leaves_the_database_as_it_was(#[case] via: Via) {
    let fixture = Fixture::new(via);
    let pool = fixture.database("broken");
    let handle = fixture.runtime.handle();
    let broken = [
        MIGRATIONS[0],
        Migration {
            version: 2,
            name: "half",
            sql: "CREATE TABLE half_made (n int); SELECT * FROM no_such_table;",
        },
    ];

    let error = run_migrate(&pool, handle, &broken).unwrap_err();
    assert!(
        matches!(&error, PgError::Migration { version: 2, name, .. } if name == "half"),
        "the error names the failing migration: {error}"
    );
    assert_eq!(
        migrated_versions(&pool, &fixture),
        Vec::<i32>::new(),
        "nothing was recorded, not even migration 1 of the same run"
    );

    assert_eq!(
        run_migrate(&pool, handle, &MIGRATIONS[..1]).unwrap(),
        MigrationReport { from: 0, to: 1 }
    );
    run_migrate(&pool, handle, &broken).unwrap_err();
    assert_eq!(migrated_versions(&pool, &fixture), [1]);
    let mut conn = aisle_pg::connect(&pool, handle).unwrap();
    let tx = conn.transaction().unwrap();
    let half_made: bool = tx
        .query_one("SELECT to_regclass('half_made') IS NOT NULL", &[])
        .unwrap()
        .get(0);
    assert!(
        !half_made,
        "the failed migration's first statement was undone"
    );
}

#[rstest]
#[case::direct(Via::Direct)]
#[case::through_pgbouncer(Via::PgBouncer)]
fn a_database_newer_than_the_build_is_refused_untouched(#[case] via: Via) {
    let fixture = Fixture::new(via);
    let pool = fixture.database("newer");
    let handle = fixture.runtime.handle();
    run_migrate(&pool, handle, MIGRATIONS).unwrap();

    let error = run_migrate(&pool, handle, &MIGRATIONS[..1]).unwrap_err();
    assert!(
        matches!(error, PgError::NewerSchema { found: 2, known: 1 }),
        "an older build refuses the database: {error}"
    );
    assert_eq!(migrated_versions(&pool, &fixture), [1, 2]);
    assert_eq!(
        run_migrate(&pool, handle, MIGRATIONS).unwrap(),
        MigrationReport { from: 2, to: 2 },
        "the build that knows both finds nothing to do"
    );
}

#[rstest]
#[case::direct(Via::Direct)]
#[case::through_pgbouncer(Via::PgBouncer)]
fn a_pipeline_runs_its_statements_in_order_and_answers_the_first_error(#[case] via: Via) {
    let fixture = Fixture::new(via);
    let pool = fixture.database("pipeline");
    let mut conn = aisle_pg::connect(&pool, fixture.runtime.handle()).unwrap();
    let tx = conn.transaction().unwrap();
    tx.batch_execute("CREATE TABLE moves (n BIGINT PRIMARY KEY, qty BIGINT NOT NULL)")
        .unwrap();
    tx.commit().unwrap();

    // Each statement sees what the ones before it did, and each answers its own rows.
    for round in 0..2_i64 {
        let tx = conn.transaction().unwrap();
        let (first, second) = (round * 10 + 1, round * 10 + 2);
        let answers = tx
            .pipeline(&[
                ("SELECT pg_advisory_xact_lock($1)", &[&7_i64]),
                (
                    "INSERT INTO moves VALUES ($1, 5), ($2, 7)",
                    &[&first, &second],
                ),
                ("UPDATE moves SET qty = qty * 2 WHERE n = $1", &[&second]),
                (
                    "SELECT n, qty FROM moves WHERE n >= $1 ORDER BY n",
                    &[&first],
                ),
            ])
            .unwrap();
        tx.commit().unwrap();
        let affected: Vec<u64> = answers.iter().map(|answer| answer.affected).collect();
        assert_eq!(affected, [1, 2, 1, 2], "round {round}");
        let rows: Vec<(i64, i64)> = answers[3]
            .rows
            .iter()
            .map(|row| (row.get(0), row.get(1)))
            .collect();
        assert_eq!(rows, [(first, 5), (second, 14)], "round {round}");
    }

    // A failing statement: its own error, not the aborted transaction's of those after it,
    // and nothing of the transaction stays.
    let tx = conn.transaction().unwrap();
    let error = tx
        .pipeline(&[
            ("INSERT INTO moves VALUES ($1, 1)", &[&100_i64]),
            ("INSERT INTO moves VALUES ($1, 1)", &[&1_i64]),
            ("INSERT INTO moves VALUES ($1, 1)", &[&101_i64]),
        ])
        .unwrap_err();
    assert_eq!(
        error.code(),
        Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION),
        "{error}"
    );
    tx.rollback().unwrap();
    let tx = conn.transaction().unwrap();
    let count: i64 = tx
        .query_one("SELECT count(*) FROM moves", &[])
        .unwrap()
        .get(0);
    assert_eq!(count, 4);
    tx.commit().unwrap();

    // A statement refused before it is sent (a value of the wrong type) stops the ones after
    // it from being sent at all; the one before it still runs. Sequences are not rolled back,
    // so they count what ran.
    let tx = conn.transaction().unwrap();
    tx.batch_execute("CREATE SEQUENCE ran").unwrap();
    tx.commit().unwrap();
    let tx = conn.transaction().unwrap();
    let error = tx
        .pipeline(&[
            ("SELECT nextval('ran')", &[]),
            ("SELECT $1::BIGINT + 1", &[&"not a number"]),
            ("SELECT nextval('ran')", &[]),
        ])
        .unwrap_err();
    assert!(error.code().is_none(), "refused by the driver: {error}");
    tx.rollback().unwrap();
    let tx = conn.transaction().unwrap();
    let ran: i64 = tx
        .query_one("SELECT last_value FROM ran", &[])
        .unwrap()
        .get(0);
    assert_eq!(ran, 1, "only the statement before the refused one ran");
    // A wrong number of parameters is refused too, whichever way the text runs.
    for _ in 0..2 {
        let error = tx
            .query_one("SELECT $1::BIGINT", &[&1_i64, &2_i64])
            .unwrap_err();
        assert!(error.code().is_none(), "{error}");
    }
    tx.rollback().unwrap();
}
