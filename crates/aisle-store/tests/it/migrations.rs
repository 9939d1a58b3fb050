//! Upgrading a store file written by an older Aisle keeps its projection intact.

use crate::profile;
use aisle_core::testkit::*;
use aisle_store::Store;
use rusqlite::Connection;

type Delta = (i64, i64, Vec<u8>, Vec<u8>, i64);

/// The stock deltas as (key, hlc, device, event id, delta), whatever the table's layout.
fn deltas(conn: &Connection, schema_3: bool) -> Vec<Delta> {
    let sql = if schema_3 {
        "SELECT d.key_id, d.hlc, e.device, e.id, d.delta FROM stock_deltas d JOIN events e ON e.seq = d.event_seq"
    } else {
        "SELECT key_id, hlc, device, event_id, delta FROM stock_deltas"
    };
    let mut statement = conn.prepare(sql).expect("prepare");
    let mut rows: Vec<Delta> = statement
        .query_map([], |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
            ))
        })
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    rows.sort();
    rows
}

/// Schema 4 keys stock deltas by the event's row instead of its device and id. A file at
/// schema 3 (made here by turning a fresh file's table back into the old layout) upgrades
/// with every delta kept, and its projection still equals a rebuild from the log.
#[test]
fn schema_3_stock_deltas_upgrade_to_the_compact_layout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = profile().database_path(dir.path());
    let mut events = Events::default();
    let bin = key(1, 1, None);
    let other = key(2, 1, Some("LOT-1"));
    let mut store = Store::open(&path, profile()).expect("open");
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
    let before = store.snapshot().expect("snapshot");
    drop(store);

    let conn = Connection::open(&path).expect("raw open");
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

    let mut store = Store::open(&path, profile()).expect("open upgrades the file");
    assert_eq!(store.snapshot().expect("snapshot"), before);
    let report = store.rebuild_projection().expect("rebuild");
    assert!(report.differences.is_empty(), "{:?}", report.differences);
    drop(store);
    let conn = Connection::open(&path).expect("raw open");
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
