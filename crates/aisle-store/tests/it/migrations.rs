//! Upgrading a store file written by an older Aisle keeps its projection intact.

use crate::profile;
use aisle_core::stock::StockKey;
use aisle_core::testkit::*;
use aisle_store::Store;
use rusqlite::Connection;

type Delta = (i64, i64, Vec<u8>, Vec<u8>, i64);

/// Every row `sql` selects, read by `row`.
fn all_rows<T>(
    conn: &Connection,
    sql: &str,
    row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> Vec<T> {
    conn.prepare(sql)
        .expect("prepare")
        .query_map([], row)
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

/// The stock deltas as (key, hlc, device, event id, delta), whatever the table's layout.
fn deltas(conn: &Connection, schema_3: bool) -> Vec<Delta> {
    let sql = if schema_3 {
        "SELECT d.key_id, d.hlc, e.device, e.id, d.delta FROM stock_deltas d JOIN events e ON e.seq = d.event_seq"
    } else {
        "SELECT key_id, hlc, device, event_id, delta FROM stock_deltas"
    };
    let mut rows: Vec<Delta> = all_rows(conn, sql, |row| {
        Ok((
            row.get(0)?,
            row.get(1)?,
            row.get(2)?,
            row.get(3)?,
            row.get(4)?,
        ))
    });
    rows.sort();
    rows
}

/// Turns a schema 5 file back into schema 4: each key's state goes back into `stock_keys`,
/// with the baseline named by its device and event id.
fn back_to_schema_4(conn: &Connection) {
    back_to_schema_5(conn);
    conn.execute_batch(
        "ALTER TABLE stock_keys ADD COLUMN on_hand INTEGER NOT NULL DEFAULT 0;
         ALTER TABLE stock_keys ADD COLUMN baseline_hlc INTEGER;
         ALTER TABLE stock_keys ADD COLUMN baseline_device BLOB;
         ALTER TABLE stock_keys ADD COLUMN baseline_event BLOB;
         ALTER TABLE stock_keys ADD COLUMN baseline_qty INTEGER;
         UPDATE stock_keys SET
             on_hand = coalesce((SELECT s.on_hand FROM key_states s WHERE s.key_id = stock_keys.key_id), 0),
             (baseline_hlc, baseline_device, baseline_event, baseline_qty) = (
                 SELECT s.baseline_hlc, e.device, e.id, s.baseline_qty
                 FROM key_states s JOIN events e ON e.seq = s.baseline_seq
                 WHERE s.key_id = stock_keys.key_id);
         DROP TABLE key_states;
         PRAGMA user_version = 4;",
    )
    .expect("turn the file back into schema 4");
}

/// Schema 12 keeps the events this build cannot read yet, and marks their keys.
fn back_to_schema_11(conn: &Connection) {
    conn.execute_batch(
        "DROP TABLE unread_keys; DROP TABLE unread_events; PRAGMA user_version = 11;",
    )
    .expect("turn the file back into schema 11");
}

/// Schema 11 keeps expected receipts and finds receipts against them.
fn back_to_schema_10(conn: &Connection) {
    back_to_schema_11(conn);
    conn.execute_batch(
        "DROP TABLE expected_lines; DROP TABLE expected_receipts;
         DROP INDEX events_received_by_receipt; PRAGMA user_version = 10;",
    )
    .expect("turn the file back into schema 10");
}

/// Schema 10 finds a pick list's picks and put-backs by list.
fn back_to_schema_9(conn: &Connection) {
    back_to_schema_10(conn);
    conn.execute_batch(
        "DROP INDEX events_picked_by_list; DROP INDEX events_put_back_by_list;
         PRAGMA user_version = 9;",
    )
    .expect("turn the file back into schema 9");
}

/// Schema 9 counts wrong PINs per badge.
fn back_to_schema_8(conn: &Connection) {
    back_to_schema_9(conn);
    conn.execute_batch("DROP TABLE badge_lockouts; PRAGMA user_version = 8;")
        .expect("turn the file back into schema 8");
}

/// Schema 8 keeps the names of the warehouse's PCs.
fn back_to_schema_7(conn: &Connection) {
    back_to_schema_8(conn);
    conn.execute_batch("DROP TABLE device_names; PRAGMA user_version = 7;")
        .expect("turn the file back into schema 7");
}

/// Schema 7 keeps which refused events were recorded again.
fn back_to_schema_6(conn: &Connection) {
    back_to_schema_7(conn);
    conn.execute_batch("DROP TABLE replaced_events; PRAGMA user_version = 6;")
        .expect("turn the file back into schema 6");
}

/// Schema 6 records which version of the stock rules wrote the projection; a file of
/// schema 5 has no such record, so its projection is taken as version 1's.
fn back_to_schema_5(conn: &Connection) {
    back_to_schema_6(conn);
    conn.execute_batch("DROP TABLE projection_rules; PRAGMA user_version = 5;")
        .expect("turn the file back into schema 5");
}

/// A file written when the earliest review decided a count is rebuilt when opened, so it
/// follows the rule every replica now follows: the latest review decides.
#[test]
fn a_projection_written_under_the_earliest_review_rule_is_rebuilt_on_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = profile().database_path(dir.path());
    let mut events = Events::default();
    let bin = key(1, 1, None);
    let mut store = Store::open(&path, profile(), &crate::store_key()).expect("open");
    let count = events.make(
        1,
        2_000,
        0,
        counted(&bin, 4, 10, aisle_core::event::CountDecision::NeedsReview),
    );
    for event in [
        events.make(1, 1_000, 0, received(&bin, 10)),
        count.clone(),
        events.make(
            2,
            3_000,
            0,
            reviewed(count.id, aisle_core::event::ReviewDecision::Rejected),
        ),
        events.make(
            3,
            4_000,
            0,
            reviewed(count.id, aisle_core::event::ReviewDecision::Approved),
        ),
    ] {
        store.record(&event).expect("record");
    }
    assert_eq!(
        store.on_hand(&bin).expect("on hand"),
        4,
        "the later approval decides"
    );
    drop(store);

    // What the earlier rule made of the same log: the rejection decided, so no baseline.
    let conn = crate::raw_open(&path);
    back_to_schema_5(&conn);
    conn.execute_batch(
        "UPDATE key_states SET on_hand = 10, baseline_hlc = NULL, baseline_seq = NULL, baseline_qty = NULL;",
    )
    .expect("the old rule's projection");
    drop(conn);

    let store = Store::open(&path, profile(), &crate::store_key()).expect("open upgrades the file");
    assert_eq!(
        store.on_hand(&bin).expect("on hand"),
        4,
        "the projection was rebuilt under the latest-review rule"
    );
    drop(store);
    let conn = crate::raw_open(&path);
    let version: i64 = conn
        .query_row("SELECT version FROM projection_rules", [], |row| row.get(0))
        .expect("the rules version is recorded");
    assert_eq!(version, i64::from(aisle_core::stock::RULES_VERSION));
}

/// A closed store with movements on three keys and a self-approved count (a baseline) at
/// wall time 1,002 on `key(1, 1, None)`; returns the temp dir's guard, the file, the event
/// maker and the store's projection.
fn recorded_store() -> (
    tempfile::TempDir,
    std::path::PathBuf,
    Events,
    aisle_core::stock::memory::Snapshot,
) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = profile().database_path(dir.path());
    let mut events = Events::default();
    let bin = key(1, 1, None);
    let other = key(2, 1, Some("LOT-1"));
    let mut store = Store::open(&path, profile(), &crate::store_key()).expect("open");
    for (device, wall, body) in [
        (1, 1_000, received(&bin, 10)),
        (2, 1_000, picked(&bin, 2)),
        (3, 1_001, moved(&bin, 2, 3)),
        (1, 1_002, received(&other, 4)),
        (
            2,
            1_002,
            counted(&bin, 4, 5, aisle_core::event::CountDecision::SelfApproved),
        ),
        (3, 1_002, picked(&bin, 1)),
    ] {
        store
            .record(&events.make(device, wall, 0, body))
            .expect("record");
    }
    let snapshot = store.snapshot().expect("snapshot");
    drop(store);
    (dir, path, events, snapshot)
}

/// Schema 4 keys stock deltas by the event's row instead of its device and id. A file at
/// schema 3 (made here by turning a fresh file's table back into the old layout) upgrades
/// with every delta kept, and its projection still equals a rebuild from the log.
#[test]
fn schema_3_stock_deltas_upgrade_to_the_compact_layout() {
    let (_dir, path, _events, before) = recorded_store();

    let conn = crate::raw_open(&path);
    back_to_schema_4(&conn);
    let expected = deltas(&conn, true);
    assert_eq!(
        expected.len(),
        6,
        "five movements, one of them a move with two keys"
    );
    conn.execute_batch(
        "ALTER TABLE stock_deltas RENAME TO compact;
         CREATE TABLE stock_deltas (
             key_id   INTEGER NOT NULL REFERENCES stock_keys (key_id),
             hlc      INTEGER NOT NULL,
             device   BLOB NOT NULL,
             event_id BLOB NOT NULL,
             delta    INTEGER NOT NULL,
             PRIMARY KEY (key_id, hlc, device, event_id)
         ) STRICT, WITHOUT ROWID;
         INSERT INTO stock_deltas SELECT c.key_id, c.hlc, e.device, e.id, c.delta
             FROM compact c JOIN events e ON e.seq = c.event_seq;
         DROP TABLE compact;
         PRAGMA user_version = 3;",
    )
    .expect("turn the file back into schema 3");
    assert_eq!(
        deltas(&conn, false),
        expected,
        "the schema 3 file holds the same deltas"
    );
    drop(conn);

    let mut store =
        Store::open(&path, profile(), &crate::store_key()).expect("open upgrades the file");
    assert_eq!(store.snapshot().expect("snapshot"), before);
    let report = store.rebuild_projection().expect("rebuild");
    assert!(report.differences.is_empty(), "{:?}", report.differences);
    drop(store);
    let conn = crate::raw_open(&path);
    assert_eq!(
        deltas(&conn, true),
        expected,
        "every delta survived the upgrade"
    );
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .expect("version");
    assert!(version >= 4, "the file is at schema {version}");
}

type StateRow = (i64, Option<i64>, Option<i64>, Option<i64>);

/// Every key's state as (on hand, baseline hlc, baseline event's seq, baseline qty), by
/// key id, from either layout.
fn key_states(conn: &Connection, schema_5: bool) -> Vec<(i64, StateRow)> {
    let sql = if schema_5 {
        "SELECT k.key_id, coalesce(s.on_hand, 0), s.baseline_hlc, s.baseline_seq, s.baseline_qty
         FROM stock_keys k LEFT JOIN key_states s USING (key_id) ORDER BY k.key_id"
    } else {
        "SELECT k.key_id, k.on_hand, k.baseline_hlc, e.seq, k.baseline_qty
         FROM stock_keys k LEFT JOIN events e ON e.id = k.baseline_event ORDER BY k.key_id"
    };
    all_rows(conn, sql, |row| {
        Ok((
            row.get(0)?,
            (row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?),
        ))
    })
}

/// Schema 5 moves each key's on-hand and baseline out of `stock_keys` into `key_states`,
/// naming the baseline count by its row in `events`. A schema 4 file upgrades with every
/// key's state kept, and the baseline still orders later events: a pick stamped before
/// the count, recorded after the upgrade, is absorbed by it.
#[test]
fn schema_4_key_states_upgrade_to_their_own_table() {
    let (_dir, path, mut events, before) = recorded_store();

    let conn = crate::raw_open(&path);
    back_to_schema_4(&conn);
    let expected = key_states(&conn, false);
    assert_eq!(
        expected.len(),
        3,
        "the bin, the move's destination and the lot"
    );
    let bin_state = expected[0].1;
    assert_eq!(
        bin_state.0, 3,
        "the count set the bin to 4, then one was picked: {expected:?}"
    );
    assert!(
        bin_state.1.is_some() && bin_state.2.is_some() && bin_state.3 == Some(4),
        "the schema 4 file holds the bin's baseline (the count of 4): {expected:?}"
    );
    drop(conn);

    let mut store =
        Store::open(&path, profile(), &crate::store_key()).expect("open upgrades the file");
    assert_eq!(store.snapshot().expect("snapshot"), before);
    let bin = key(1, 1, None);
    // Stamped before the count (wall 1,002): the count absorbs it.
    store
        .record(&events.make(4, 1_001, 0, picked(&bin, 3)))
        .expect("record a late pick");
    assert_eq!(
        store.on_hand(&bin).expect("on hand"),
        3,
        "a pick from before the baseline count does not move the counted stock"
    );
    store
        .record(&events.make(4, 1_003, 0, picked(&bin, 1)))
        .expect("record a pick after the count");
    assert_eq!(store.on_hand(&bin).expect("on hand"), 2);
    let conn = crate::raw_open(&path);
    let upgraded = key_states(&conn, true);
    let baseline = |(_, hlc, seq, qty): StateRow| (hlc, seq, qty);
    assert_eq!(
        baseline(upgraded[0].1),
        baseline(bin_state),
        "the baseline is the same count after the upgrade: {upgraded:?}"
    );
    drop(conn);
    let report = store.rebuild_projection().expect("rebuild");
    assert!(report.differences.is_empty(), "{:?}", report.differences);
    drop(store);

    let conn = crate::raw_open(&path);
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .expect("version");
    assert!(version >= 5, "the file is at schema {version}");
    let columns: Vec<String> = all_rows(
        &conn,
        "SELECT name FROM pragma_table_info('stock_keys')",
        |row| row.get(0),
    );
    assert_eq!(
        columns,
        ["key_id", "warehouse", "location", "item", "lot"],
        "stock_keys keeps only the keys' identity"
    );
}

/// A real store written by the code before schema 10 (commit 20a6025, `AISLE_STORE_KEY=<the
/// tests' key> aisle-store stream DB 50`): 50 scan events for the testkit profile, schema 9,
/// encrypted. Made by the old code, not by turning a new file back, so it holds exactly what
/// that build wrote.
const SCHEMA_9_FIXTURE: &[u8] = include_bytes!("../fixtures/encrypted-schema-9.sqlite3");

/// A PC's store from the build before put-backs and expected receipts opens with today's
/// build: it upgrades to the current schema in place, keeps its 50 events, its projection
/// equals a rebuild from the log, and the new schema's queries answer on it.
#[test]
fn a_store_written_by_the_schema_9_build_upgrades_with_its_projection_intact() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = profile().database_path(dir.path());
    std::fs::write(&path, SCHEMA_9_FIXTURE).expect("write the fixture");
    let version = |conn: &Connection| -> i64 {
        conn.query_row("PRAGMA user_version", [], |row| row.get(0))
            .expect("user_version")
    };
    {
        let conn = crate::raw_open(&path);
        assert_eq!(version(&conn), 9, "the fixture is at schema 9");
    }
    let mut store = Store::open(&path, profile(), &crate::store_key()).expect("open upgrades");
    assert_eq!(store.event_count().expect("count"), 50);
    let report = store.rebuild_projection().expect("rebuild");
    assert!(report.differences.is_empty(), "{:?}", report.differences);
    assert!(
        store
            .pick_list_picks(pick_list(1))
            .expect("schema 10's query")
            .is_empty(),
        "the fixture's scans name no pick list"
    );
    assert_eq!(
        store.expected_receipt("ASN-1").expect("schema 11's query"),
        None
    );
    drop(store);
    let conn = crate::raw_open(&path);
    assert_eq!(version(&conn), aisle_store::SCHEMA_VERSION);
    let indexes: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'events_%' ORDER BY name")
        .expect("prepare")
        .query_map([], |row| row.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("names");
    for index in [
        "events_picked_by_list",
        "events_put_back_by_list",
        "events_received_by_receipt",
    ] {
        assert!(
            indexes.iter().any(|name| name == index),
            "{index} in {indexes:?}"
        );
    }
}

/// Store files written by the old code at every device schema this project has shipped on
/// its main line: `aisle-store stream DB 40` (40 scan events: a receipt of 2 at bin
/// `n % 50 + 1`, item `n % 7 + 1`, or a pick of 1 for every third) built at the last
/// commit of each schema (docs/ARCHITECTURE.md, "migrations/"; the commits are in
/// crates/aisle-store/tests/fixtures/README.md). Plain files before SQLCipher (schema 8),
/// encrypted with the tests' key after.
const OLD_STORES: &[(i64, &[u8])] = &[
    (1, include_bytes!("../fixtures/device-schema-1.sqlite3")),
    (2, include_bytes!("../fixtures/device-schema-2.sqlite3")),
    (3, include_bytes!("../fixtures/device-schema-3.sqlite3")),
    (4, include_bytes!("../fixtures/device-schema-4.sqlite3")),
    (5, include_bytes!("../fixtures/device-schema-5.sqlite3")),
    (6, include_bytes!("../fixtures/device-schema-6.sqlite3")),
    (7, include_bytes!("../fixtures/device-schema-7.sqlite3")),
    (10, include_bytes!("../fixtures/device-schema-10.sqlite3")),
    (11, include_bytes!("../fixtures/device-schema-11.sqlite3")),
];

/// Every old store upgrades in place to today's schema with its 40 events, its projection
/// equal to a rebuild from its log, and each bin's stock what the 40 scans add up to.
#[test]
fn a_store_from_every_shipped_schema_upgrades_with_its_stock_intact() {
    let mut expected: std::collections::BTreeMap<StockKey, i64> = Default::default();
    for n in 0..40u64 {
        let bin = key((n % 50) as u16 + 1, (n % 7) as u16 + 1, None);
        *expected.entry(bin).or_default() += if n % 3 == 2 { -1 } else { 2 };
    }
    for (schema, bytes) in OLD_STORES {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = profile().database_path(dir.path());
        std::fs::write(&path, bytes).expect("write the fixture");
        let mut store = Store::open(&path, profile(), &crate::store_key())
            .unwrap_or_else(|error| panic!("schema {schema} opens: {error}"));
        assert_eq!(store.event_count().expect("count"), 40, "schema {schema}");
        let report = store.rebuild_projection().expect("rebuild");
        assert!(
            report.differences.is_empty(),
            "schema {schema}: {:?}",
            report.differences
        );
        for (bin, on_hand) in &expected {
            assert_eq!(
                store.on_hand(bin).expect("on hand"),
                *on_hand,
                "schema {schema}: {bin:?}"
            );
        }
        drop(store);
        let conn = crate::raw_open(&path);
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .expect("version");
        assert_eq!(
            version,
            aisle_store::SCHEMA_VERSION,
            "schema {schema} upgraded"
        );
    }
}
