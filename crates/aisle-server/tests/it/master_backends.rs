//! Master data below HTTP, on both backends: every test body here is written once, generic
//! over [`Backend`], and run on SQLite (`aisle_server::master`) and on a real PostgreSQL
//! cluster (`aisle_server::pg::master`), so the two give the same versions, pages and
//! refusals. The HTTP-level master tests (master.rs, erp.rs) stay SQLite's.
//!
//! The PostgreSQL half also pins what SQLite gets for free: with several writers at once,
//! versions commit in order, so a device that pulls in a loop while they write gets every
//! change and skips none.

use aisle_core::barcode::Barcode;
use aisle_core::ids::WarehouseId;
use aisle_core::Role;
use aisle_pg::deadpool_postgres;
use aisle_pg::PgTx;
use aisle_pin::{PinHash, PinPolicy};
use aisle_protocol::ErpStockRow;
use aisle_server::master::{
    self, ChangesPage, NewItem, NewLocation, NewPickLine, NewPickList, NewUser, PickStatus,
    RecordError, Upsert, Upserted,
};
use aisle_server::pg;
use aisle_server::ServerError;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use uuid::Uuid;

/// A stock key by its parts, for [`Backend::seed_stock`].
struct StockKey {
    warehouse: WarehouseId,
    location: Uuid,
    item: Uuid,
    lot: &'static str,
}

/// One tenant database's master data, on one backend. Each call is its own transaction.
trait Backend: Sync {
    fn items(&self, items: &[NewItem]) -> Upsert;
    fn locations(&self, locations: &[NewLocation]) -> Upsert;
    fn users(&self, users: &[NewUser]) -> Upsert;
    fn pick_lists(&self, lists: &[NewPickList]) -> Upsert;
    fn changes(&self, warehouse: WarehouseId, after: u64, limit: u32) -> ChangesPage;
    fn pin_policy(&self) -> PinPolicy;
    fn set_pin_policy(&self, policy: PinPolicy);
    fn tenant_stock(&self, warehouse: Option<WarehouseId>) -> Vec<ErpStockRow>;
    /// Writes a stock key and its on-hand straight into the projection's tables, as a push
    /// would leave them (`None`: a key with no state row yet, which has nothing on hand).
    fn seed_stock(&self, key: &StockKey, on_hand: Option<i64>);
}

const NOW_MS: i64 = 1_750_000_000_000;

/// A tenant database file, a connection per call (as the server's pool hands them out).
struct Sqlite {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Sqlite {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tenant.sqlite3");
        let mut conn = rusqlite::Connection::open(&path).expect("open");
        aisle_server::migrate::configure(&conn).expect("configure");
        aisle_server::migrate::migrate_tenant(&mut conn).expect("migrate");
        Self { _dir: dir, path }
    }

    fn conn(&self) -> rusqlite::Connection {
        let conn = rusqlite::Connection::open(&self.path).expect("open");
        aisle_server::migrate::configure(&conn).expect("configure");
        conn
    }
}

impl Backend for Sqlite {
    fn items(&self, items: &[NewItem]) -> Upsert {
        master::upsert_items(&mut self.conn(), items, NOW_MS).expect("sqlite")
    }
    fn locations(&self, locations: &[NewLocation]) -> Upsert {
        master::upsert_locations(&mut self.conn(), locations, NOW_MS).expect("sqlite")
    }
    fn users(&self, users: &[NewUser]) -> Upsert {
        master::upsert_users(&mut self.conn(), users, NOW_MS).expect("sqlite")
    }
    fn pick_lists(&self, lists: &[NewPickList]) -> Upsert {
        master::upsert_pick_lists(&mut self.conn(), lists, NOW_MS).expect("sqlite")
    }
    fn changes(&self, warehouse: WarehouseId, after: u64, limit: u32) -> ChangesPage {
        master::changes(&mut self.conn(), warehouse, after, limit).expect("sqlite")
    }
    fn pin_policy(&self) -> PinPolicy {
        master::pin_policy(&self.conn()).expect("sqlite")
    }
    fn set_pin_policy(&self, policy: PinPolicy) {
        master::set_pin_policy(&self.conn(), policy).expect("sqlite");
    }
    fn tenant_stock(&self, warehouse: Option<WarehouseId>) -> Vec<ErpStockRow> {
        master::tenant_stock(&self.conn(), warehouse).expect("sqlite")
    }
    fn seed_stock(&self, key: &StockKey, on_hand: Option<i64>) {
        let conn = self.conn();
        let key_id: i64 = conn
            .query_row(
                "INSERT INTO stock_keys (warehouse, location, item, lot) VALUES (?1, ?2, ?3, ?4)
                 RETURNING key_id",
                (
                    key.warehouse.as_bytes().as_slice(),
                    key.location.as_bytes().as_slice(),
                    key.item.as_bytes().as_slice(),
                    key.lot,
                ),
                |row| row.get(0),
            )
            .expect("stock key");
        if let Some(on_hand) = on_hand {
            conn.execute(
                "INSERT INTO key_states (key_id, on_hand) VALUES (?1, ?2)",
                (key_id, on_hand),
            )
            .expect("key state");
        }
    }
}

/// A tenant database on a throwaway cluster, reached through a pool from plain threads the
/// way `PgStorage` reaches it from tokio's blocking pool.
struct Postgres {
    // Field order matters: the pool closes before the bouncer and the cluster stop.
    pool: deadpool_postgres::Pool,
    runtime: tokio::runtime::Runtime,
    _bouncer: Option<aisle_pgtest::PgBouncer>,
    _cluster: aisle_pgtest::PgCluster,
}

impl Postgres {
    fn new() -> Self {
        Self::start(false)
    }

    /// Through a PgBouncer in transaction mode with 2 server connections, so consecutive
    /// transactions of one client connection run on different server connections.
    fn behind_pgbouncer() -> Self {
        Self::start(true)
    }

    fn start(behind_pgbouncer: bool) -> Self {
        let cluster = aisle_pgtest::PgCluster::start().expect("a test cluster");
        cluster.create_database("tenant").expect("create database");
        let bouncer = behind_pgbouncer.then(|| {
            let options = aisle_pgtest::PgBouncerOptions {
                pool_size: 2,
                ..aisle_pgtest::PgBouncerOptions::default()
            };
            aisle_pgtest::PgBouncer::start_with(&cluster, options).expect("a pgbouncer")
        });
        let url = match &bouncer {
            Some(bouncer) => bouncer.url("tenant"),
            None => cluster.url("tenant"),
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let config = deadpool_postgres::Config {
            url: Some(url),
            manager: Some(deadpool_postgres::ManagerConfig {
                recycling_method: deadpool_postgres::RecyclingMethod::Fast,
            }),
            ..deadpool_postgres::Config::default()
        };
        let pool = config
            .create_pool(
                Some(deadpool_postgres::Runtime::Tokio1),
                aisle_pg::tokio_postgres::NoTls,
            )
            .expect("pool");
        let backend = Self {
            pool,
            runtime,
            _bouncer: bouncer,
            _cluster: cluster,
        };
        backend.in_tx(|tx| {
            aisle_pg::migrate(tx, pg::tenant_schema::MIGRATIONS)?;
            Ok(())
        });
        backend
    }

    /// Runs `work` in a transaction and commits it.
    fn in_tx<R>(&self, work: impl FnOnce(&PgTx<'_>) -> Result<R, ServerError>) -> R {
        let mut conn = aisle_pg::connect(&self.pool, self.runtime.handle()).expect("connect");
        let tx = conn.transaction().expect("begin");
        let result = work(&tx).expect("postgresql");
        tx.commit().expect("commit");
        result
    }

    /// Runs an upsert in a transaction that `settle` commits or rolls back.
    fn upsert(&self, work: impl FnOnce(&PgTx<'_>) -> Result<Upsert, ServerError>) -> Upsert {
        let mut conn = aisle_pg::connect(&self.pool, self.runtime.handle()).expect("connect");
        let tx = conn.transaction().expect("begin");
        let result = work(&tx);
        pg::master::settle(tx, result).expect("postgresql")
    }
}

impl Backend for Postgres {
    fn items(&self, items: &[NewItem]) -> Upsert {
        self.upsert(|tx| pg::master::upsert_items(tx, items, NOW_MS))
    }
    fn locations(&self, locations: &[NewLocation]) -> Upsert {
        self.upsert(|tx| pg::master::upsert_locations(tx, locations, NOW_MS))
    }
    fn users(&self, users: &[NewUser]) -> Upsert {
        self.upsert(|tx| pg::master::upsert_users(tx, users, NOW_MS))
    }
    fn pick_lists(&self, lists: &[NewPickList]) -> Upsert {
        self.upsert(|tx| pg::master::upsert_pick_lists(tx, lists, NOW_MS))
    }
    fn changes(&self, warehouse: WarehouseId, after: u64, limit: u32) -> ChangesPage {
        self.in_tx(|tx| pg::master::changes(tx, warehouse, after, limit))
    }
    fn pin_policy(&self) -> PinPolicy {
        self.in_tx(pg::master::pin_policy)
    }
    fn set_pin_policy(&self, policy: PinPolicy) {
        self.in_tx(|tx| pg::master::set_pin_policy(tx, policy));
    }
    fn tenant_stock(&self, warehouse: Option<WarehouseId>) -> Vec<ErpStockRow> {
        self.in_tx(|tx| pg::master::tenant_stock(tx, warehouse))
    }
    fn seed_stock(&self, key: &StockKey, on_hand: Option<i64>) {
        self.in_tx(|tx| {
            let key_id: i64 = tx
                .query_one(
                    "INSERT INTO stock_keys (warehouse, location, item, lot) VALUES ($1, $2, $3, $4)
                     RETURNING key_id",
                    &[key.warehouse.as_uuid(), &key.location, &key.item, &key.lot],
                )?
                .get(0);
            if let Some(on_hand) = on_hand {
                tx.execute(
                    "INSERT INTO key_states (key_id, on_hand) VALUES ($1, $2)",
                    &[&key_id, &on_hand],
                )?;
            }
            Ok(())
        });
    }
}

/// Runs a test body on SQLite, then on PostgreSQL.
fn on_both(body: impl Fn(&dyn Backend)) {
    body(&Sqlite::new());
    body(&Postgres::new());
}

/// [`on_both`], then once more on PostgreSQL behind a PgBouncer in transaction mode.
fn on_both_and_behind_pgbouncer(body: impl Fn(&dyn Backend)) {
    on_both(&body);
    body(&Postgres::behind_pgbouncer());
}

fn warehouse(n: u8) -> WarehouseId {
    WarehouseId::new_v7(1, [n; 10])
}

fn item(sku: &str, barcodes: &[(&str, i64)]) -> NewItem {
    NewItem {
        sku: sku.to_owned(),
        name: format!("item {sku}"),
        base_unit: "each".to_owned(),
        lot_tracked: false,
        barcodes: barcodes
            .iter()
            .map(|(code, pack_qty)| Barcode {
                code: (*code).to_owned(),
                pack_qty: *pack_qty,
            })
            .collect(),
    }
}

fn location(warehouse: WarehouseId, code: &str, walk_order: i64) -> NewLocation {
    NewLocation {
        warehouse,
        code: code.to_owned(),
        name: format!("location {code}"),
        walk_order,
    }
}

fn user(badge: &str, warehouses: &[WarehouseId]) -> NewUser {
    NewUser {
        badge: badge.to_owned(),
        name: format!("user {badge}"),
        role: Role::Picker,
        pin_hash: PinHash::new("482913").expect("hash"),
        active: true,
        warehouses: warehouses.to_vec(),
    }
}

fn line(number: u32, sku: &str, location: &str, qty: i64) -> NewPickLine {
    NewPickLine {
        line: number,
        sku: sku.to_owned(),
        location: location.to_owned(),
        lot: None,
        qty,
    }
}

fn pick_list(warehouse: WarehouseId, reference: &str, lines: Vec<NewPickLine>) -> NewPickList {
    NewPickList {
        warehouse,
        reference: reference.to_owned(),
        status: PickStatus::Open,
        lines,
    }
}

fn written(upsert: Upsert) -> Upserted {
    upsert.expect("every record is valid")
}

/// Every version a page carries, by aggregate.
fn versions(page: &ChangesPage) -> BTreeSet<(&'static str, u64)> {
    let items = page.items.iter().map(|item| ("item", item.version));
    let locations = page.locations.iter().map(|row| ("location", row.version));
    let users = page.users.iter().map(|user| ("user", user.version));
    let lists = page
        .pick_lists
        .iter()
        .map(|list| ("pick_list", list.version));
    items.chain(locations).chain(users).chain(lists).collect()
}

#[test]
fn every_upsert_takes_the_next_version_and_keeps_its_id() {
    on_both(|db| {
        let warehouse = warehouse(1);
        let first = written(db.items(&[item("A", &[("111", 1)]), item("B", &[])]));
        assert_eq!(
            first,
            Upserted {
                n_records: 2,
                version: 2
            }
        );
        let page = db.changes(warehouse, 0, 100);
        let id_of_a = page.items[0].id;
        written(db.items(&[item("A", &[("111", 6)])]));
        let page = db.changes(warehouse, first.version, 100);
        assert_eq!(page.items.len(), 1, "only the changed item: {page:?}");
        assert_eq!(
            (page.items[0].id, page.items[0].version, page.next),
            (id_of_a, 3, 3),
            "an item keeps its id and takes the next version"
        );
        assert_eq!(page.items[0].barcodes[0].pack_qty, 6);
        let location = written(db.locations(&[location(warehouse, "A-01", 1)]));
        assert_eq!(
            location.version, 4,
            "versions are shared by every aggregate"
        );
        assert_eq!(
            written(db.items(&[])),
            Upserted {
                n_records: 0,
                version: 4
            },
            "an empty batch answers the current version and takes none"
        );
    });
}

#[test]
fn a_refused_record_rolls_back_the_whole_batch_and_its_versions() {
    on_both(|db| {
        let refused = db
            .items(&[item("A", &[("111", 1)]), item("B", &[("111", 1)])])
            .expect_err("a barcode is listed for two items");
        assert_eq!((refused.record, refused.field), (1, "barcodes"));
        let page = db.changes(warehouse(1), 0, 100);
        assert!(
            page.items.is_empty(),
            "the valid first record was rolled back: {page:?}"
        );
        assert_eq!(page.next, 0);
        let next = written(db.items(&[item("C", &[])]));
        assert_eq!(
            next.version, 1,
            "the refused batch's versions were rolled back too"
        );
    });
}

#[test]
fn refusals_name_the_same_record_field_and_message() {
    on_both_and_behind_pgbouncer(|db| {
        let warehouse = warehouse(1);
        let elsewhere = self::warehouse(2);
        written(db.items(&[item("A", &[("111", 1), ("222", 1)])]));
        written(db.locations(&[
            location(warehouse, "A-01", 1),
            location(elsewhere, "Z-9", 1),
        ]));
        let refusal = |record, line, field, message: &str| RecordError {
            record,
            line,
            field,
            message: message.to_owned(),
        };
        assert_eq!(
            db.items(&[item("B", &[]), item("C", &[("111", 2)])]),
            Err(refusal(
                1,
                None,
                "barcodes",
                "barcode \"111\" belongs to item \"A\""
            )),
        );
        assert_eq!(
            db.items(&[item("C", &[("333", 1), ("222", 1), ("111", 1)])]),
            Err(refusal(
                0,
                None,
                "barcodes",
                "barcode \"222\" belongs to item \"A\""
            )),
            "the first taken barcode in the record's own order"
        );
        assert_eq!(
            db.items(&[item("B", &[("9", 0)])]),
            Err(refusal(
                0,
                None,
                "barcodes",
                "barcode \"9\" needs a positive pack size, got 0"
            )),
        );
        assert_eq!(
            db.items(&[item(" ", &[])]),
            Err(refusal(0, None, "sku", "an item needs a sku")),
        );
        assert_eq!(
            db.locations(&[location(warehouse, "", 1)]),
            Err(refusal(0, None, "code", "a location needs a code")),
        );
        assert_eq!(
            db.users(&[user("", &[warehouse])]),
            Err(refusal(0, None, "badge", "a user needs a badge")),
        );
        let lists = [
            pick_list(warehouse, "SO-1", vec![line(1, "A", "A-01", 1)]),
            pick_list(
                warehouse,
                "SO-2",
                vec![
                    line(1, "A", "A-01", 1),
                    line(2, "A", "Z-9", 1),
                    line(3, "X", "A-01", 0),
                ],
            ),
        ];
        assert_eq!(
            db.pick_lists(&lists),
            Err(refusal(
                1,
                Some(1),
                "location",
                "no location \"Z-9\" in the list's warehouse"
            )),
            "a location of another warehouse is no location of the list's"
        );
        assert_eq!(
            db.pick_lists(&[pick_list(warehouse, "SO-3", vec![line(1, "X", "A-01", 1)])]),
            Err(refusal(0, Some(0), "sku", "no item has sku \"X\"")),
        );
        assert_eq!(
            db.pick_lists(&[pick_list(
                warehouse,
                "SO-4",
                vec![line(1, "A", "A-01", 1), line(1, "A", "A-01", 1)]
            )]),
            Err(refusal(0, Some(1), "line", "line 1 appears twice")),
        );
        assert_eq!(
            db.pick_lists(&[pick_list(warehouse, "SO-5", vec![])]),
            Err(refusal(
                0,
                None,
                "lines",
                "a pick list needs at least one line"
            )),
        );
        assert_eq!(
            written(db.items(&[item("D", &[])])).version,
            4,
            "no refused batch left a version behind"
        );
    });
}

#[test]
fn a_page_carries_the_items_and_locations_its_pick_lists_name() {
    on_both(|db| {
        let warehouse = warehouse(1);
        written(db.items(&[item("A", &[])]));
        written(db.locations(&[location(warehouse, "A-01", 1)]));
        written(db.pick_lists(&[pick_list(warehouse, "SO-1", vec![line(1, "A", "A-01", 2)])]));
        // The item changes after the list, so its version is above the list's.
        written(db.items(&[item("A", &[("9", 1)])]));
        let page = db.changes(warehouse, 0, 1);
        assert_eq!(page.next, 2, "one row per page: the location at version 2");
        let page = db.changes(warehouse, 2, 1);
        assert_eq!(page.pick_lists.len(), 1, "the list at version 3: {page:?}");
        assert_eq!(page.pick_lists[0].lines[0].qty, 2);
        assert_eq!(
            (page.items.len(), page.locations.len()),
            (1, 1),
            "the list's item and location come along so the page applies on its own"
        );
        let again =
            written(db.pick_lists(&[pick_list(warehouse, "SO-1", vec![line(2, "A", "A-01", 5)])]));
        let page = db.changes(warehouse, again.version - 1, 10);
        assert_eq!(page.pick_lists.len(), 1);
        let lines = &page.pick_lists[0].lines;
        assert_eq!(
            (lines.len(), lines[0].line, lines[0].qty),
            (1, 2, 5),
            "upserting a list replaces its lines"
        );
        assert!(
            db.changes(self::warehouse(2), 0, 100).pick_lists.is_empty(),
            "another warehouse's device gets none of this warehouse's lists"
        );
    });
}

#[test]
fn rows_a_page_names_outside_its_window_come_in_id_order_with_their_barcodes() {
    on_both(|db| {
        let warehouse = warehouse(1);
        written(db.items(&[
            item("C", &[("3", 1)]),
            item("A", &[]),
            item("B", &[("2", 4), ("1", 1)]),
        ]));
        written(db.locations(&[
            location(warehouse, "L3", 1),
            location(warehouse, "L1", 1),
            location(warehouse, "L2", 1),
        ]));
        let list = written(db.pick_lists(&[pick_list(
            warehouse,
            "SO-1",
            vec![
                line(1, "C", "L3", 1),
                line(2, "A", "L1", 1),
                line(3, "B", "L2", 1),
            ],
        )]));
        let page = db.changes(warehouse, list.version - 1, 10);
        assert_eq!(page.pick_lists.len(), 1, "only the list is in the window");
        let item_ids: Vec<_> = page.items.iter().map(|item| *item.id.as_uuid()).collect();
        let mut sorted = item_ids.clone();
        sorted.sort_unstable();
        assert_eq!(
            item_ids, sorted,
            "named items in id order, as SQLite's BTreeSet gives them"
        );
        let location_ids: Vec<_> = page.locations.iter().map(|row| *row.id.as_uuid()).collect();
        let mut sorted = location_ids.clone();
        sorted.sort_unstable();
        assert_eq!(location_ids, sorted, "named locations in id order");
        let mut barcodes: Vec<(String, Vec<(String, i64)>)> = page
            .items
            .iter()
            .map(|item| {
                let codes = item.barcodes.iter().map(|b| (b.code.clone(), b.pack_qty));
                (item.sku.clone(), codes.collect())
            })
            .collect();
        barcodes.sort();
        let owned = |code: &str, pack_qty| (code.to_owned(), pack_qty);
        assert_eq!(
            barcodes,
            [
                ("A".to_owned(), vec![]),
                ("B".to_owned(), vec![owned("1", 1), owned("2", 4)]),
                ("C".to_owned(), vec![owned("3", 1)]),
            ],
            "each named item with its own barcodes, in byte order"
        );
    });
}

#[test]
fn rows_come_in_version_order_and_barcodes_in_byte_order() {
    on_both(|db| {
        let warehouse = warehouse(1);
        // Byte order puts "B2" before "a1"; a locale's order would not.
        written(db.items(&[item("b", &[("a1", 1), ("B2", 2)]), item("A", &[])]));
        written(db.locations(&[location(warehouse, "b", 2), location(warehouse, "A", 1)]));
        let page = db.changes(warehouse, 0, 100);
        let skus: Vec<&str> = page.items.iter().map(|item| item.sku.as_str()).collect();
        assert_eq!(skus, ["b", "A"], "items in version order");
        let codes: Vec<&str> = page.items[0]
            .barcodes
            .iter()
            .map(|b| b.code.as_str())
            .collect();
        assert_eq!(
            codes,
            ["B2", "a1"],
            "barcodes in byte order on both backends"
        );
        let codes: Vec<&str> = page.locations.iter().map(|l| l.code.as_str()).collect();
        assert_eq!(codes, ["b", "A"], "locations in version order");
    });
}

#[test]
fn a_device_gets_only_its_warehouses_users_and_loses_one_taken_out() {
    on_both(|db| {
        let (first, second) = (warehouse(1), warehouse(2));
        written(db.users(&[user("7", &[first, second]), user("8", &[second])]));
        let badges = |page: &ChangesPage| -> Vec<(String, bool)> {
            page.users
                .iter()
                .map(|u| (u.badge.clone(), u.active))
                .collect()
        };
        assert_eq!(badges(&db.changes(first, 0, 100)), [("7".to_owned(), true)]);
        let taken_out = written(db.users(&[user("7", &[first])]));
        let page = db.changes(second, taken_out.version - 1, 100);
        assert_eq!(
            badges(&page),
            [("7".to_owned(), false)],
            "the warehouse taken away gets the user once more, as inactive"
        );
        let page = db.changes(first, taken_out.version - 1, 100);
        assert_eq!(badges(&page), [("7".to_owned(), true)]);
        assert!(
            db.changes(self::warehouse(3), 0, 100).users.is_empty(),
            "a warehouse the users never worked in gets none"
        );
    });
}

#[test]
fn the_pin_policy_is_kept_and_rides_on_every_page() {
    on_both(|db| {
        assert_eq!(db.pin_policy(), PinPolicy::DEFAULT);
        let policy = PinPolicy::new(5, 8).expect("a valid policy");
        db.set_pin_policy(policy);
        assert_eq!(db.pin_policy(), policy);
        assert_eq!(
            db.changes(warehouse(1), 0, 100).pin_policy,
            policy,
            "an empty page carries the policy too"
        );
    });
}

/// Several writers upsert fresh rows of every aggregate at once while a device pulls in a
/// loop: the device must get every version a writer was answered, and nothing else. On
/// PostgreSQL this fails if versions can commit out of order (a device that pulled after
/// 102 before 101 committed would never get 101). Behind PgBouncer too: the lock is a
/// transaction's, and the page's snapshot is set per transaction.
#[test]
fn concurrent_upserts_reach_a_device_pulling_in_a_loop_with_none_skipped() {
    on_both_and_behind_pgbouncer(|db| {
        const N_WRITERS: usize = 4;
        const N_BATCHES: usize = 25;
        let warehouse = warehouse(1);
        written(db.items(&[item("SEED", &[])]));
        written(db.locations(&[location(warehouse, "SEED", 0)]));
        let done = AtomicBool::new(false);
        let (answered, pulled) = std::thread::scope(|scope| {
            let puller = scope.spawn(|| {
                let mut pulled = BTreeSet::new();
                let mut after = 0;
                loop {
                    // Read the flag first: a page taken after every writer finished that
                    // comes back empty means the device has everything.
                    let finished = done.load(Ordering::SeqCst);
                    let page = db.changes(warehouse, after, 7);
                    assert!(page.next >= after, "the cursor never goes back");
                    for (_, version) in versions(&page) {
                        pulled.insert(version);
                    }
                    if finished && page.next == after {
                        return pulled;
                    }
                    after = page.next;
                }
            });
            let writers: Vec<_> = (0..N_WRITERS)
                .map(|writer| {
                    scope.spawn(move || {
                        let mut answered = Vec::new();
                        for batch in 0..N_BATCHES {
                            let key = format!("w{writer}-{batch}");
                            let upserted = match batch % 4 {
                                0 => db.items(&[
                                    item(&key, &[(&key, 1)]),
                                    item(&format!("{key}b"), &[]),
                                ]),
                                1 => db.locations(&[location(warehouse, &key, 1)]),
                                2 => db.users(&[user(&key, &[warehouse])]),
                                _ => db.pick_lists(&[pick_list(
                                    warehouse,
                                    &key,
                                    vec![line(1, "SEED", "SEED", 1)],
                                )]),
                            };
                            answered.push(written(upserted));
                        }
                        answered
                    })
                })
                .collect();
            let answered: Vec<Upserted> = writers
                .into_iter()
                .flat_map(|writer| writer.join().expect("writer"))
                .collect();
            done.store(true, Ordering::SeqCst);
            (answered, puller.join().expect("puller"))
        });
        let n_records: usize = answered.iter().map(|batch| batch.n_records).sum();
        assert_eq!(
            n_records,
            N_WRITERS * (N_BATCHES + N_BATCHES.div_ceil(4)),
            "every batch was written whole"
        );
        // Every row is a fresh key, so the final state holds every version ever written.
        let everything = db.changes(warehouse, 0, 100_000);
        let written: BTreeSet<u64> = versions(&everything).into_iter().map(|(_, v)| v).collect();
        assert_eq!(
            written.len(),
            n_records + 2,
            "one version per record and seed"
        );
        let skipped: Vec<_> = written.difference(&pulled).collect();
        assert!(
            skipped.is_empty(),
            "the device never got versions {skipped:?}"
        );
        assert_eq!(
            pulled, written,
            "the device got exactly the versions written"
        );
        for batch in &answered {
            assert!(
                pulled.contains(&batch.version),
                "the version a writer was answered reached the device: {batch:?}"
            );
        }
    });
}

#[test]
fn tenant_stock_names_what_master_data_knows_in_the_same_order() {
    on_both(|db| {
        let (first, second) = (warehouse(1), warehouse(2));
        written(db.items(&[item("b", &[]), item("A", &[])]));
        written(db.locations(&[
            location(first, "b-1", 1),
            location(first, "A-1", 2),
            location(second, "Z", 1),
        ]));
        let page = db.changes(first, 0, 100);
        let item_id = |sku: &str| -> Uuid {
            let item = page
                .items
                .iter()
                .find(|item| item.sku == sku)
                .expect("item");
            *item.id.as_uuid()
        };
        let location_id = |code: &str| -> Uuid {
            let found = page.locations.iter().find(|row| row.code == code);
            *found.expect("location").id.as_uuid()
        };
        let z = *db.changes(second, 0, 100).locations[0].id.as_uuid();
        let unknown = Uuid::from_bytes([9; 16]);
        let key = |warehouse, location, item, lot| StockKey {
            warehouse,
            location,
            item,
            lot,
        };
        db.seed_stock(&key(first, location_id("b-1"), item_id("A"), "L2"), Some(3));
        db.seed_stock(&key(first, location_id("b-1"), item_id("A"), "L1"), None);
        db.seed_stock(&key(first, location_id("A-1"), item_id("b"), ""), Some(5));
        db.seed_stock(&key(first, location_id("A-1"), unknown, ""), Some(2));
        db.seed_stock(&key(first, unknown, item_id("A"), ""), Some(1));
        db.seed_stock(&key(second, z, item_id("A"), ""), Some(7));
        type Shown = (
            WarehouseId,
            Option<String>,
            Option<String>,
            Option<String>,
            i64,
        );
        let shown = |rows: Vec<ErpStockRow>| -> Vec<Shown> {
            rows.into_iter()
                .map(|row| {
                    (
                        row.warehouse,
                        row.location_code,
                        row.sku,
                        row.lot,
                        row.on_hand,
                    )
                })
                .collect()
        };
        let text = |text: &str| Some(text.to_owned());
        assert_eq!(
            shown(db.tenant_stock(None)),
            [
                (first, None, text("A"), None, 1),
                (first, text("A-1"), None, None, 2),
                (first, text("A-1"), text("b"), None, 5),
                (first, text("b-1"), text("A"), text("L1"), 0),
                (first, text("b-1"), text("A"), text("L2"), 3),
                (second, text("Z"), text("A"), None, 7),
            ],
            "by warehouse, location code, sku and lot, byte by byte, unknown codes first"
        );
        assert_eq!(
            shown(db.tenant_stock(Some(second))),
            [(second, text("Z"), text("A"), None, 7)],
            "one warehouse when asked"
        );
    });
}
