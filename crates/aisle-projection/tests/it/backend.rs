//! The backend fixture every test body takes: a fresh database of one dialect with an event
//! log and the projection's schema, driven through that dialect's ledger, checksum and
//! replay. [`both!`] runs a body once per backend, so SQLite and PostgreSQL are held to the
//! same test text, not to copies of it.

use aisle_core::stock::memory::Snapshot;
use aisle_core::stock::{Discrepancy, StockKey};
use aisle_core::Event;
use std::collections::BTreeSet;

/// What a test body does with a projection, whatever its database.
pub trait Backend {
    /// Logs each event whose id is new (a known id is skipped, as the stores do) and applies
    /// it through the ledger, in the given order, all in one transaction.
    fn ingest(&mut self, events: &[&Event]);
    /// The whole projection in the core's terms: every key's on-hand, the open
    /// discrepancies and tasks.
    fn snapshot(&mut self) -> Snapshot;
    /// Every row of `stock_keys` with its on-hand, as (key, on_hand), sorted.
    fn stock_rows(&mut self) -> Vec<(StockKey, i64)>;
    /// The keys a page of events touches and the page's checksum, in one transaction.
    fn page_checksum(&mut self, events: &[Event]) -> (BTreeSet<StockKey>, String);
    /// The rules version that wrote the projection, and whether it is behind this build's.
    fn rules_version(&mut self) -> (i64, bool);
    /// Records this build's rules version.
    fn record_current(&mut self);
    /// Replays the log, opening through the ledger the discrepancy `also` derives from each
    /// event; answers the number of events replayed.
    fn replay(&mut self, also: &dyn Fn(&Event) -> Option<Discrepancy>) -> u64;
    /// Runs SQL that reads the same on both dialects (to damage a projection, say).
    fn execute(&mut self, sql: &str);
}

/// Runs a test body, `fn(&mut dyn Backend)`, as one test per backend: `NAME::sqlite` and,
/// with the `pg` feature, `NAME::postgres` on a cluster of its own.
macro_rules! both {
    ($($body:ident),* $(,)?) => {$(
        mod $body {
            #[test]
            fn sqlite() {
                super::$body(&mut crate::backend::sqlite::SqliteBackend::new());
            }

            #[cfg(feature = "pg")]
            #[test]
            fn postgres() {
                super::$body(&mut crate::backend::postgres::PgBackend::new());
            }
        }
    )*};
}
pub(crate) use both;

/// The smallest event log the projection needs, as each store has it.
fn event_values(event: &Event) -> (String, i64) {
    (
        serde_json::to_string(event).expect("an event serialises"),
        event.hlc.to_packed(),
    )
}

pub mod sqlite {
    //! The SQLite backend: an in-memory database with the projection's migration list.

    use super::*;
    use aisle_core::stock::{apply, Ledger as _};
    use aisle_projection::sqlite::migrations::{migrations, ProjectionStep, Step};
    use aisle_projection::sqlite::{checksum, columns::key_at, rules, SqlLedger};
    use rusqlite::{Connection, OptionalExtension};

    const EVENTS: &str = "CREATE TABLE events (seq INTEGER PRIMARY KEY, id BLOB NOT NULL UNIQUE,
        hlc INTEGER NOT NULL, device BLOB NOT NULL, payload TEXT NOT NULL) STRICT;";

    pub struct SqliteBackend {
        conn: Connection,
    }

    impl SqliteBackend {
        pub fn new() -> Self {
            let list = [
                Step::OwnThenProjection(EVENTS, ProjectionStep::Init),
                Step::Projection(ProjectionStep::CompactStockDeltas),
                Step::Projection(ProjectionStep::KeyStates),
                Step::Projection(ProjectionStep::RulesVersion),
            ];
            let mut conn = Connection::open_in_memory().expect("in-memory database");
            rusqlite_migration::Migrations::new(migrations(&list))
                .to_latest(&mut conn)
                .expect("migrate");
            Self { conn }
        }
    }

    impl Backend for SqliteBackend {
        fn ingest(&mut self, events: &[&Event]) {
            let tx = self.conn.transaction().expect("begin");
            let mut ledger = SqlLedger::new(&tx);
            for event in events {
                let known: Option<i64> = tx
                    .query_row(
                        "SELECT seq FROM events WHERE id = ?1",
                        [event.id.as_bytes()],
                        |row| row.get(0),
                    )
                    .optional()
                    .expect("look up");
                if known.is_some() {
                    continue;
                }
                let (payload, hlc) = event_values(event);
                let seq: i64 = tx
                    .query_row(
                        "INSERT INTO events (seq, id, hlc, device, payload)
                         VALUES ((SELECT COALESCE(MAX(seq), 0) + 1 FROM events), ?1, ?2, ?3, ?4) RETURNING seq",
                        (event.id.as_bytes(), hlc, event.device.as_bytes(), payload),
                        |row| row.get(0),
                    )
                    .expect("log");
                ledger.applying(event.id, seq);
                apply(&mut ledger, event).expect("apply");
            }
            ledger.finish().expect("finish");
            tx.commit().expect("commit");
        }

        fn snapshot(&mut self) -> Snapshot {
            let on_hand = self.stock_rows().into_iter().collect();
            let mut statement = self
                .conn
                .prepare("SELECT detail FROM discrepancies WHERE is_open = 1")
                .expect("prepare");
            let discrepancies = statement
                .query_map([], |row| row.get::<_, String>(0))
                .expect("query")
                .map(|detail| {
                    let d: Discrepancy = serde_json::from_str(&detail.expect("row")).expect("json");
                    (d.id.clone(), d)
                })
                .collect();
            let mut statement = self
                .conn
                .prepare("SELECT detail FROM tasks WHERE is_open = 1")
                .expect("prepare");
            let tasks = statement
                .query_map([], |row| row.get::<_, String>(0))
                .expect("query")
                .map(|detail| {
                    let mut task: aisle_core::stock::CountTask =
                        serde_json::from_str(&detail.expect("row")).expect("json");
                    task.open = true;
                    (task.id, task)
                })
                .collect();
            Snapshot {
                on_hand,
                discrepancies,
                tasks,
            }
        }

        fn stock_rows(&mut self) -> Vec<(StockKey, i64)> {
            let mut statement = self
                .conn
                .prepare(
                    "SELECT k.warehouse, k.location, k.item, k.lot, coalesce(s.on_hand, 0)
                     FROM stock_keys k LEFT JOIN key_states s USING (key_id)",
                )
                .expect("prepare");
            let mut rows: Vec<(StockKey, i64)> = statement
                .query_map([], |row| Ok((key_at(row, 0)?, row.get(4)?)))
                .expect("query")
                .collect::<Result<_, _>>()
                .expect("rows");
            rows.sort();
            rows
        }

        fn page_checksum(&mut self, events: &[Event]) -> (BTreeSet<StockKey>, String) {
            let tx = self.conn.transaction().expect("begin");
            let keys = checksum::page_keys(&tx, events).expect("keys");
            let sum = checksum::page_checksum(&tx, events).expect("checksum");
            (keys, sum)
        }

        fn rules_version(&mut self) -> (i64, bool) {
            (
                rules::written_version(&self.conn).expect("version"),
                rules::is_behind(&self.conn).expect("behind"),
            )
        }

        fn record_current(&mut self) {
            rules::record_current(&self.conn).expect("record");
        }

        fn replay(&mut self, also: &dyn Fn(&Event) -> Option<Discrepancy>) -> u64 {
            let tx = self.conn.transaction().expect("begin");
            let n_events =
                rules::replay(&tx, rules::ALL_EVENTS, |ledger, event| match also(event) {
                    Some(discrepancy) => ledger.open_discrepancy(&discrepancy),
                    None => Ok(()),
                })
                .expect("replay");
            tx.commit().expect("commit");
            n_events
        }

        fn execute(&mut self, sql: &str) {
            self.conn.execute_batch(sql).expect("execute");
        }
    }
}

#[cfg(feature = "pg")]
pub mod postgres {
    //! The PostgreSQL backend: a database of its own on a throwaway cluster (shared by the
    //! tests that run at the same time, stopped when the last of them ends), with the events
    //! table the tenant schema has and the projection's migrations.

    use super::*;
    use aisle_core::stock::{apply, CountTask, Ledger as _};
    use aisle_pg::deadpool_postgres::{self, ManagerConfig, RecyclingMethod};
    use aisle_pg::tokio_postgres::NoTls;
    use aisle_pg::{Migration, PgConn, PgTx};
    use aisle_pgtest::PgCluster;
    use aisle_projection::pg::{checksum, rules, PgLedger, MIGRATIONS};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex, OnceLock, Weak};

    /// The events table as the tenant schema's first migration has it (the columns the
    /// projection reads: seq, id, hlc, device, payload).
    const EVENTS: &str = "CREATE TABLE events (seq BIGINT PRIMARY KEY, id uuid UNIQUE NOT NULL,
        warehouse uuid, device uuid, hlc BIGINT, kind TEXT, received_ms BIGINT, payload TEXT);";

    fn runtime() -> &'static tokio::runtime::Runtime {
        static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
        RUNTIME.get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("runtime")
        })
    }

    /// The cluster the running tests share; a new one when none is running.
    fn cluster() -> Arc<PgCluster> {
        static SHARED: Mutex<Weak<PgCluster>> = Mutex::new(Weak::new());
        let mut shared = SHARED
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(cluster) = shared.upgrade() {
            return cluster;
        }
        let cluster = Arc::new(PgCluster::start().expect("a test cluster starts"));
        *shared = Arc::downgrade(&cluster);
        cluster
    }

    pub struct PgBackend {
        pool: deadpool_postgres::Pool,
        // Dropped after the pool, so its connections close before the cluster stops.
        _cluster: Arc<PgCluster>,
    }

    impl PgBackend {
        pub fn new() -> Self {
            static N_DATABASES: AtomicUsize = AtomicUsize::new(0);
            let cluster = cluster();
            let name = format!("projection_{}", N_DATABASES.fetch_add(1, Ordering::Relaxed));
            cluster.create_database(&name).expect("create database");
            let config = deadpool_postgres::Config {
                url: Some(cluster.url(&name)),
                manager: Some(ManagerConfig {
                    recycling_method: RecyclingMethod::Fast,
                }),
                ..Default::default()
            };
            let pool = {
                let _entered = runtime().enter();
                config
                    .create_pool(Some(deadpool_postgres::Runtime::Tokio1), NoTls)
                    .expect("pool")
            };
            let backend = Self {
                pool,
                _cluster: cluster,
            };
            let events = [Migration {
                version: 1,
                name: "events",
                sql: EVENTS,
            }];
            let projection = MIGRATIONS.map(|m| Migration {
                version: m.version + 1,
                ..m
            });
            backend.in_tx(|tx| {
                aisle_pg::migrate(tx, &[events.as_slice(), &projection].concat()).expect("migrate");
            });
            backend
        }

        fn connect(&self) -> PgConn {
            aisle_pg::connect(&self.pool, runtime().handle()).expect("connect")
        }

        /// Runs `work` in a transaction and commits it.
        fn in_tx<T>(&self, work: impl FnOnce(&PgTx<'_>) -> T) -> T {
            let mut conn = self.connect();
            let tx = conn.transaction().expect("begin");
            let answer = work(&tx);
            tx.commit().expect("commit");
            answer
        }
    }

    impl PgBackend {
        /// Applies `events` in one transaction, as `ingest` does, after reading ahead (and
        /// creating the absent keys of) `read_ahead`, which may name events never applied:
        /// what the server's push does with a batch whose events are refused or repeats.
        pub fn ingest_with_read_ahead(&mut self, read_ahead: &[&Event], events: &[&Event]) {
            self.in_tx(|tx| {
                let mut ledger = PgLedger::new(tx);
                ledger
                    .prefetch(read_ahead.iter().copied())
                    .expect("prefetch");
                ledger.create_absent_keys().expect("create absent keys");
                apply_logged(tx, &mut ledger, events);
                ledger.finish().expect("finish");
            });
        }
    }

    /// Logs each of `events` not logged yet and applies it.
    fn apply_logged(tx: &PgTx<'_>, ledger: &mut PgLedger<'_>, events: &[&Event]) {
        for event in events {
            let (payload, hlc) = event_values(event);
            let Some(row) = tx
                .query_opt(
                    "INSERT INTO events (seq, id, warehouse, device, hlc, kind, received_ms, payload)
                     VALUES ((SELECT COALESCE(MAX(seq), 0) + 1 FROM events), $1, $2, $3, $4, $5, 0, $6)
                     ON CONFLICT (id) DO NOTHING RETURNING seq",
                    &[event.id.as_uuid(), event.warehouse.as_uuid(), event.device.as_uuid(), &hlc, &event.kind(), &payload],
                )
                .expect("log")
            else {
                continue;
            };
            ledger.applying(event.id, row.get(0));
            apply(ledger, event).expect("apply");
        }
    }

    impl Backend for PgBackend {
        fn ingest(&mut self, events: &[&Event]) {
            self.in_tx(|tx| {
                let mut ledger = PgLedger::new(tx);
                // Every other event's keys are read ahead (and their absent keys created
                // ahead), so both the prefetched and the one-key-at-a-time paths run in
                // every body.
                ledger
                    .prefetch(events.iter().step_by(2).copied())
                    .expect("prefetch");
                ledger.create_absent_keys().expect("create absent keys");
                apply_logged(tx, &mut ledger, events);
                ledger.finish().expect("finish");
            });
        }

        fn snapshot(&mut self) -> Snapshot {
            let on_hand = self.stock_rows().into_iter().collect();
            self.in_tx(|tx| {
                let discrepancies = tx
                    .query("SELECT detail FROM discrepancies WHERE is_open", &[])
                    .expect("query")
                    .iter()
                    .map(|row| {
                        let d: Discrepancy = serde_json::from_str(row.get(0)).expect("json");
                        (d.id.clone(), d)
                    })
                    .collect();
                let tasks = tx
                    .query("SELECT detail FROM tasks WHERE is_open", &[])
                    .expect("query")
                    .iter()
                    .map(|row| {
                        let mut task: CountTask = serde_json::from_str(row.get(0)).expect("json");
                        task.open = true;
                        (task.id, task)
                    })
                    .collect();
                Snapshot {
                    on_hand,
                    discrepancies,
                    tasks,
                }
            })
        }

        fn stock_rows(&mut self) -> Vec<(StockKey, i64)> {
            let mut rows: Vec<(StockKey, i64)> = self.in_tx(|tx| {
                tx.query(
                    "SELECT k.warehouse, k.location, k.item, k.lot, COALESCE(s.on_hand, 0)
                     FROM stock_keys k LEFT JOIN key_states s ON s.key_id = k.key_id",
                    &[],
                )
                .expect("query")
                .iter()
                .map(|row| {
                    let key = StockKey {
                        warehouse: aisle_core::ids::WarehouseId::from_uuid(row.get(0)),
                        location: aisle_core::ids::LocationId::from_uuid(row.get(1)),
                        item: aisle_core::ids::ItemId::from_uuid(row.get(2)),
                        lot: aisle_projection::columns::lot_from_sql(row.get(3)),
                    };
                    (key, row.get(4))
                })
                .collect()
            });
            rows.sort();
            rows
        }

        fn page_checksum(&mut self, events: &[Event]) -> (BTreeSet<StockKey>, String) {
            self.in_tx(|tx| {
                (
                    checksum::page_keys(tx, events).expect("keys"),
                    checksum::page_checksum(tx, events).expect("checksum"),
                )
            })
        }

        fn rules_version(&mut self) -> (i64, bool) {
            self.in_tx(|tx| {
                (
                    rules::written_version(tx).expect("version"),
                    rules::is_behind(tx).expect("behind"),
                )
            })
        }

        fn record_current(&mut self) {
            self.in_tx(|tx| rules::record_current(tx).expect("record"));
        }

        fn replay(&mut self, also: &dyn Fn(&Event) -> Option<Discrepancy>) -> u64 {
            self.in_tx(|tx| {
                // Three events a page, so the replay crosses page ends.
                rules::replay_in_pages(tx, 3, |ledger, event| match also(event) {
                    Some(discrepancy) => ledger.open_discrepancy(&discrepancy),
                    None => Ok(()),
                })
                .expect("replay")
            })
        }

        fn execute(&mut self, sql: &str) {
            self.in_tx(|tx| tx.batch_execute(sql).expect("execute"));
        }
    }
}
