//! WAL checkpoints run on the store's background thread, not inside a scan's commit.

use crate::{fresh_store, profile};
use aisle_core::testkit::*;
use aisle_store::Store;
use std::time::{Duration, Instant};

fn file_len(path: &std::path::Path) -> u64 {
    std::fs::metadata(path).map_or(0, |meta| meta.len())
}

#[test]
fn an_idle_store_checkpoints_its_wal_in_the_background() {
    let (_dir, mut store) = fresh_store();
    let db_path = store.path().to_owned();
    let mut events = Events::default();
    // Far more pages than SQLite's automatic checkpoint would leave in the WAL, so if the
    // recording connection still checkpointed on its own, the file would grow during the
    // loop; it must only grow once the store has gone idle.
    for n in 0..300u16 {
        let bin = key(n % 50, n, None);
        store
            .record(&events.make(1, 1_000 + u64::from(n), 0, received(&bin, 5)))
            .expect("record");
    }
    let len_after_writes = file_len(&db_path);
    let deadline = Instant::now() + Duration::from_secs(20);
    while file_len(&db_path) <= len_after_writes && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        file_len(&db_path) > len_after_writes,
        "within 20 s of going idle the checkpoint thread must copy the WAL into the database \
         file ({len_after_writes} bytes after the writes, {} now)",
        file_len(&db_path)
    );
    // Everything recorded is still there, read back through the store.
    assert_eq!(store.event_count().expect("count"), 300);
    assert_eq!(store.on_hand(&key(0, 0, None)).expect("on hand"), 5);
}

#[test]
fn records_survive_close_and_reopen_with_the_checkpoint_thread() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = profile().database_path(dir.path());
    let mut events = Events::default();
    let bin = key(1, 1, None);
    {
        let mut store = Store::open(&path, profile(), &crate::store_key()).expect("open");
        for n in 0..20u64 {
            store
                .record(&events.make(1, 1_000 + n, 0, received(&bin, 1)))
                .expect("record");
        }
    }
    let store = Store::open(&path, profile(), &crate::store_key()).expect("reopen");
    assert_eq!(store.on_hand(&bin).expect("on hand"), 20);
}
