//! aisle-store's integration tests, on real database files in temporary directories.

mod checkpoint;
mod crash;
mod encryption;
mod lockout;
mod master;
mod migrations;
mod pin_cost;
mod projection;
mod queries;
mod record;
mod unread;

use aisle_core::testkit::{tenant, warehouse};
use aisle_store::{Profile, Store, StoreKey};

pub fn profile() -> Profile {
    Profile {
        tenant: tenant(),
        warehouse: warehouse(),
    }
}

/// The store key the tests open their files with.
pub fn store_key() -> StoreKey {
    StoreKey::from_bytes([0x5a; 32])
}

/// A raw connection to a store file, keyed like the store's own.
pub fn raw_open(path: &std::path::Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).expect("raw open");
    conn.pragma_update(None, "key", format!("x'{}'", store_key().to_hex().as_str()))
        .expect("key the raw connection");
    conn
}

/// A fresh store file in a fresh temp dir (kept alive by the returned guard).
pub fn fresh_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(
        &profile().database_path(dir.path()),
        profile(),
        &store_key(),
    )
    .expect("open store");
    (dir, store)
}
