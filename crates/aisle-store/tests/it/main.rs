//! aisle-store's integration tests, on real database files in temporary directories.

mod checkpoint;
mod crash;
mod master;
mod migrations;
mod projection;
mod queries;
mod record;

use aisle_core::testkit::{tenant, warehouse};
use aisle_store::{Profile, Store};

pub fn profile() -> Profile {
    Profile {
        tenant: tenant(),
        warehouse: warehouse(),
    }
}

/// A fresh store file in a fresh temp dir (kept alive by the returned guard).
pub fn fresh_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&profile().database_path(dir.path()), profile()).expect("open store");
    (dir, store)
}
