//! The device file at rest: encrypted, unreadable without its key, and a plain file from an
//! older Aisle encrypted on its first open (issue 12, section 3).

use crate::{profile, store_key};
use aisle_core::testkit::*;
use aisle_store::master::Item;
use aisle_store::{Store, StoreError, StoreFile, StoreKey};
use std::path::{Path, PathBuf};

/// A real plain store written by the code before encryption (commit 6c8149c,
/// `aisle-store stream DB 50`): 50 scan events for the testkit profile, schema 8.
const PLAIN_FIXTURE: &[u8] = include_bytes!("../fixtures/plain-schema-8.sqlite3");
const PLAIN_FIXTURE_EVENTS: u64 = 50;

/// An item name only master data holds.
const ITEM_NAME: &str = "Zinc-plated hex bolt M8x40";

fn bytes_of(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_default()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    name.into()
}

fn plain_fixture(dir: &Path) -> PathBuf {
    let path = profile().database_path(dir);
    std::fs::write(&path, PLAIN_FIXTURE).expect("write the plain fixture");
    path
}

#[test]
fn the_file_and_its_wal_hold_no_readable_item_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = profile().database_path(dir.path());
    let mut store = Store::open(&path, profile(), &store_key()).expect("open");
    store
        .upsert_item(&Item {
            id: item(1),
            sku: "SKU-4711".into(),
            name: ITEM_NAME.into(),
            base_unit: "each".into(),
            lot_tracked: false,
            barcodes: vec![],
        })
        .expect("upsert");
    store
        .record(&Events::default().make(1, 1_000, 0, received(&key(1, 1, Some("LOT-SECRET")), 5)))
        .expect("record");
    // While the store is open the newest pages are in the WAL: it is encrypted too.
    let wal = bytes_of(&with_suffix(&path, "-wal"));
    assert!(!wal.is_empty(), "the write went through the WAL");
    for (name, bytes) in [("WAL", &wal), ("file", &bytes_of(&path))] {
        assert!(
            !contains(bytes, ITEM_NAME) && !contains(bytes, "LOT-SECRET"),
            "the {name} must not show master data or event payloads in clear"
        );
    }
    drop(store);
    let file = bytes_of(&path);
    assert!(!contains(&file, ITEM_NAME), "nor after the last checkpoint");
    assert!(
        !file.starts_with(b"SQLite format 3\0"),
        "an encrypted file has no SQLite header"
    );
    assert_eq!(
        StoreFile::inspect(&path).expect("inspect"),
        StoreFile::Encrypted
    );
    let store = Store::open(&path, profile(), &store_key()).expect("its key reopens it");
    assert_eq!(
        store
            .item_by_sku("SKU-4711")
            .expect("lookup")
            .map(|item| item.name),
        Some(ITEM_NAME.to_owned())
    );
}

#[test]
fn a_file_copied_to_another_pc_cannot_be_read_without_its_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = profile().database_path(dir.path());
    let mut store = Store::open(&path, profile(), &store_key()).expect("open");
    store
        .record(&Events::default().make(1, 1_000, 0, received(&key(1, 1, None), 5)))
        .expect("record");
    drop(store);

    let other_key = StoreKey::from_bytes([0x11; 32]);
    for error in [
        Store::open(&path, profile(), &other_key).expect_err("a wrong key"),
        Store::open_existing(&path, &other_key).expect_err("a wrong key, as a tool"),
    ] {
        assert!(
            matches!(error, StoreError::Locked { .. }),
            "a wrong key is its own error, not a generic database error: {error:?}"
        );
        let message = error.to_string();
        assert!(
            message.contains("encrypted") && !message.contains("not a database"),
            "the message says why, without SQLite's wording: {message}"
        );
    }
    // No key at all: plain SQLite sees no database in the file.
    let conn = rusqlite::Connection::open(&path).expect("a plain connection");
    let read = conn.query_row("SELECT count(*) FROM events", [], |row| {
        row.get::<_, i64>(0)
    });
    assert!(
        read.as_ref().is_err_and(
            |error| error.sqlite_error_code() == Some(rusqlite::ErrorCode::NotADatabase)
        ),
        "without the key the file is unreadable: {read:?}"
    );
    drop(conn);
    let store = Store::open(&path, profile(), &store_key()).expect("the right key still opens it");
    assert_eq!(store.event_count().expect("count"), 1, "nothing was lost");
}

#[test]
fn a_plain_file_from_before_encryption_is_encrypted_on_first_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = plain_fixture(dir.path());
    let tenant_text = tenant().to_string();
    assert_eq!(
        StoreFile::inspect(&path).expect("inspect"),
        StoreFile::Plain
    );
    assert!(
        contains(&bytes_of(&path), &tenant_text),
        "the fixture is plain: its tenant stamp is readable"
    );

    let mut store = Store::open(&path, profile(), &store_key()).expect("the plain file opens");
    assert_eq!(
        store.event_count().expect("count"),
        PLAIN_FIXTURE_EVENTS,
        "every event of the plain file is in the encrypted one"
    );
    assert!(
        store
            .rebuild_projection()
            .expect("rebuild")
            .differences
            .is_empty(),
        "the projection came across intact"
    );
    drop(store);

    assert_eq!(
        StoreFile::inspect(&path).expect("inspect"),
        StoreFile::Encrypted
    );
    assert!(
        !contains(&bytes_of(&path), &tenant_text),
        "nothing plain is left in the file"
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list")
        .map(|entry| entry.expect("entry").file_name())
        .filter(|name| name.to_string_lossy().contains("encrypting"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "no copy is left behind: {leftovers:?}"
    );
    assert!(
        matches!(
            Store::open(&path, profile(), &StoreKey::from_bytes([0x11; 32])),
            Err(StoreError::Locked { .. })
        ),
        "the migrated file is bound to its key"
    );
    let mut store = Store::open(&path, profile(), &store_key()).expect("reopens");
    store
        .record(&Events::default().make(9, 9_000_000_000, 0, picked(&key(1, 1, None), 1)))
        .expect("records on");
}

/// A crash after the encrypted copy was begun but before it replaced the plain file leaves
/// the plain file as it was and a half-written copy; the next open starts over.
#[test]
fn a_crash_midway_through_encryption_leaves_a_usable_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = plain_fixture(dir.path());
    let copy = with_suffix(&path, ".encrypting");
    std::fs::write(&copy, &PLAIN_FIXTURE[..PLAIN_FIXTURE.len() / 3]).expect("a torn copy");
    let copy_journal = with_suffix(&copy, "-journal");
    std::fs::write(&copy_journal, [0xd9u8; 4096]).expect("and its journal");

    let store = Store::open(&path, profile(), &store_key()).expect("opens despite the torn copy");
    assert_eq!(store.event_count().expect("count"), PLAIN_FIXTURE_EVENTS);
    drop(store);
    assert!(
        !copy.exists() && !copy_journal.exists(),
        "the torn copy is gone"
    );
    assert_eq!(
        StoreFile::inspect(&path).expect("inspect"),
        StoreFile::Encrypted
    );
}

/// A plain file whose last commits are still only in its WAL (the old app was killed):
/// they are encrypted with the rest, never dropped and never replayed onto the new file.
#[test]
fn commits_left_in_a_plain_wal_are_encrypted_with_the_rest() {
    let dir = tempfile::tempdir().expect("tempdir");
    let source = plain_fixture(dir.path());
    let conn = rusqlite::Connection::open(&source).expect("plain open");
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
        .expect("wal");
    assert_eq!(mode, "wal");
    conn.execute_batch(
        "PRAGMA wal_autocheckpoint = 0;
         INSERT INTO meta (name, value) VALUES ('last.words', 'only in the WAL');",
    )
    .expect("a commit that stays in the WAL");
    // Copy the file and its WAL while the writer still holds them, as a kill leaves them.
    let crashed = tempfile::tempdir().expect("tempdir");
    let path = profile().database_path(crashed.path());
    std::fs::copy(&source, &path).expect("copy the file");
    std::fs::copy(with_suffix(&source, "-wal"), with_suffix(&path, "-wal")).expect("copy the WAL");
    drop(conn);

    let store = Store::open(&path, profile(), &store_key()).expect("open");
    assert_eq!(
        store.meta("last.words").expect("meta").as_deref(),
        Some("only in the WAL"),
        "the WAL's commit survived the encryption"
    );
    assert_eq!(store.event_count().expect("count"), PLAIN_FIXTURE_EVENTS);
}
