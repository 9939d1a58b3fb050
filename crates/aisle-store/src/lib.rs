//! aisle-store: the device's local SQLite store.
//!
//! One database file per (tenant, warehouse) profile holds the append-only event log, the
//! outbox of local events waiting to be pushed, the stock projection with its count
//! baselines, the discrepancies and tasks the stock rules derive, master data and sync
//! cursors. A local change is one transaction: the event, its outbox row and the projection
//! update commit together or not at all, with `synchronous=FULL`, so a scan that has
//! beeped survives a power cut.
//!
//! The projection is maintained by `aisle_core::stock::apply` through
//! `aisle_projection::sqlite::SqlLedger`, the SQLite implementation of the core's `Ledger`
//! trait, over the projection's tables from `migrations/projection/` (the server's tenant
//! databases run the same); this crate never decides stock semantics itself. It must never
//! hold a device token or any other secret: those live in the OS keyring (PIN hashes, which
//! are argon2id, are not secrets in that sense).
//!
//! The file is encrypted at rest (SQLCipher, see [`key`]): [`Store::open`] takes the
//! profile's [`StoreKey`], which the caller keeps in the OS keyring; this crate never talks
//! to the keyring and never writes the key anywhere. A plain file left by an older Aisle is
//! encrypted on its first keyed open.

mod checkpoint;
pub mod checksum;
mod error;
pub mod floor;
pub mod key;
pub mod lockout;
mod log;
pub mod master;
mod migrate;
pub mod names;
pub mod outbox;
pub mod pin;
pub mod queries;
pub mod repairs;
pub mod unread;

pub use error::StoreError;
pub use key::{StoreFile, StoreKey};
pub use log::{RebuildReport, Recorded};
pub use migrate::SCHEMA_VERSION;

use aisle_core::ids::{TenantId, WarehouseId};
use checkpoint::{Checkpointer, WriteCounters};
use rusqlite::{Connection, OptionalExtension};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Which tenant and warehouse a store belongs to.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    pub tenant: TenantId,
    pub warehouse: WarehouseId,
}

impl Profile {
    /// The conventional file for this profile under a data directory.
    pub fn database_path(&self, data_dir: &Path) -> PathBuf {
        data_dir.join(format!("{}-{}.sqlite3", self.tenant, self.warehouse))
    }
}

/// An open device store.
#[derive(Debug)]
pub struct Store {
    // Declared first so it stops, and closes its connection, before `conn` closes: the
    // last connection to close checkpoints the WAL into the database file.
    _checkpointer: Option<Checkpointer>,
    conn: Connection,
    profile: Profile,
    path: PathBuf,
    /// Stock key ids from committed transactions (rows of `stock_keys` are only ever
    /// deleted by `rebuild_projection`, which clears this).
    key_ids: aisle_projection::KeyIds,
    counters: Arc<WriteCounters>,
}

impl Store {
    /// Opens (creating if needed) the store at `path` for `profile` with its `key`,
    /// encrypts a plain file from an older Aisle, applies pending migrations, and refuses a
    /// file that belongs to another profile, was written by a newer Aisle, or does not open
    /// with `key` ([`StoreError::Locked`]).
    pub fn open(path: &Path, profile: Profile, key: &StoreKey) -> Result<Self, StoreError> {
        Self::open_with(path, profile, Some(key))
    }

    /// The same store without encryption, for the record benchmark's side-by-side figure
    /// of what encryption costs, and for nothing else: only the feature
    /// `bench-unencrypted`, which aisle-store's own dev-dependencies turn on, has it.
    #[cfg(feature = "bench-unencrypted")]
    #[doc(hidden)]
    pub fn open_unencrypted(path: &Path, profile: Profile) -> Result<Self, StoreError> {
        Self::open_with(path, profile, None)
    }

    fn open_with(
        path: &Path,
        profile: Profile,
        key: Option<&StoreKey>,
    ) -> Result<Self, StoreError> {
        let mut conn = open_keyed(path, key)?;
        migrate::migrate(&mut conn)?;
        let mut store = Self::assemble(conn, profile, path, key);
        store.claim_profile()?;
        if let Some(report) = store.follow_rules_version()? {
            if !report.differences.is_empty() {
                tracing::info!(
                    n_events = report.n_events,
                    n_differences = report.differences.len(),
                    "the projection was rebuilt under the current stock rules"
                );
            }
        }
        Ok(store)
    }

    /// Opens an existing store as whatever profile it was created for (for tools such as
    /// `aisle-store doctor`, which are pointed at a file rather than a profile).
    pub fn open_existing(path: &Path, key: &StoreKey) -> Result<Self, StoreError> {
        if !path.exists() {
            return Err(StoreError::Invalid(format!(
                "no store at {}",
                path.display()
            )));
        }
        let mut conn = open_keyed(path, Some(key))?;
        migrate::migrate(&mut conn)?;
        let read = |name: &str| -> Result<String, StoreError> {
            conn.query_row("SELECT value FROM meta WHERE name = ?1", [name], |row| {
                row.get::<_, String>(0)
            })
            .optional()?
            .ok_or_else(|| StoreError::Corrupt(format!("the store has no {name}")))
        };
        let parse_error = |error: uuid::Error| StoreError::Corrupt(error.to_string());
        let profile = Profile {
            tenant: read("tenant")?.parse().map_err(parse_error)?,
            warehouse: read("warehouse")?.parse().map_err(parse_error)?,
        };
        Ok(Self::assemble(conn, profile, path, Some(key)))
    }

    /// Starts the checkpoint thread and, once it runs, takes checkpoints off the recording
    /// connection (see [`checkpoint`]).
    fn assemble(conn: Connection, profile: Profile, path: &Path, key: Option<&StoreKey>) -> Self {
        let counters = Arc::new(WriteCounters::default());
        let checkpointer = Checkpointer::start(path, key, Arc::clone(&counters));
        if checkpointer.is_some() {
            // Without the thread, SQLite's automatic checkpoint stays on.
            let _ = conn.pragma_update(None, "wal_autocheckpoint", 0);
        }
        Self {
            _checkpointer: checkpointer,
            conn,
            profile,
            path: path.to_owned(),
            key_ids: aisle_projection::KeyIds::default(),
            counters,
        }
    }

    pub fn profile(&self) -> Profile {
        self.profile
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The first open stamps the file with its profile; later opens must match, so one
    /// tenant's file can never be opened as another's.
    fn claim_profile(&self) -> Result<(), StoreError> {
        for (name, expected) in [
            ("tenant", self.profile.tenant.to_string()),
            ("warehouse", self.profile.warehouse.to_string()),
        ] {
            let found: Option<String> = self
                .conn
                .query_row("SELECT value FROM meta WHERE name = ?1", [name], |row| {
                    row.get(0)
                })
                .optional()?;
            match found {
                None => {
                    self.conn.execute(
                        "INSERT INTO meta (name, value) VALUES (?1, ?2)",
                        (name, &expected),
                    )?;
                }
                Some(found) if found == expected => {}
                Some(found) => {
                    return Err(StoreError::ProfileMismatch {
                        field: name,
                        expected,
                        found,
                    })
                }
            }
        }
        Ok(())
    }

    /// A named value from the store's settings, e.g. the persisted clock.
    pub fn meta(&self, name: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE name = ?1", [name], |row| {
                row.get(0)
            })
            .optional()?)
    }

    pub fn set_meta(&self, name: &str, value: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO meta (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (name, value),
        )?;
        Ok(())
    }
}

/// A keyed, configured connection to the store at `path`, encrypting a plain file first.
/// Only the benchmark's unencrypted side passes no key.
fn open_keyed(path: &Path, key: Option<&StoreKey>) -> Result<Connection, StoreError> {
    if let Some(key) = key {
        if StoreFile::inspect(path)? == StoreFile::Plain {
            key::encrypt_plain_file(path, key)?;
        }
    }
    let conn = Connection::open(path).map_err(|source| StoreError::Open {
        path: path.to_owned(),
        source,
    })?;
    if let Some(key) = key {
        key::apply(&conn, key)?;
    }
    key::check(&conn, path)?;
    configure(&conn)?;
    Ok(conn)
}

/// WAL so readers never block the scanner's writes; `synchronous=FULL` so a committed
/// record survives power loss, not just a process crash; a busy timeout so the UI's reads
/// and the sync engine's writes wait for each other instead of failing.
fn configure(conn: &Connection) -> Result<(), StoreError> {
    conn.busy_timeout(Duration::from_secs(5))?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Pragma(format!(
            "journal_mode is {mode}, not wal"
        )));
    }
    conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")?;
    // Performance only, see docs/BENCHMARKS.md: a 32 MB page cache keeps the hot pages of
    // the stock indexes in memory; a WAL left behind by a checkpoint is cut back to 64 MB;
    // the store runs about two dozen distinct statements, more than rusqlite's default
    // statement cache of 16, so a mixed batch would keep re-preparing them.
    conn.execute_batch("PRAGMA cache_size = -32768; PRAGMA journal_size_limit = 67108864;")?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_key() -> StoreKey {
        StoreKey::from_bytes([7; 32])
    }

    fn profile(n: u8) -> Profile {
        Profile {
            tenant: TenantId::new_v7(1, [n; 10]),
            warehouse: WarehouseId::new_v7(1, [n; 10]),
        }
    }

    #[test]
    fn open_sets_durable_pragmas() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store =
            Store::open(&dir.path().join("a.sqlite3"), profile(1), &test_key()).expect("open");
        let pragma = |name: &str| -> i64 {
            store
                .conn
                .query_row(&format!("PRAGMA {name}"), [], |row| row.get(0))
                .expect(name)
        };
        assert_eq!(pragma("synchronous"), 2, "synchronous must be FULL (2)");
        assert_eq!(pragma("foreign_keys"), 1, "foreign keys on");
        assert!(pragma("busy_timeout") >= 1000, "a busy timeout is set");
        let mode: String = store
            .conn
            .query_row("PRAGMA journal_mode", [], |row| row.get(0))
            .expect("mode");
        assert_eq!(mode, "wal");
    }

    /// A full disk, made real by capping the file's page count: SQLite answers
    /// SQLITE_FULL exactly as it does when the file system is out of space.
    #[test]
    fn a_full_disk_is_its_own_error_and_loses_nothing_recorded() {
        use aisle_core::testkit::{key, received, tenant, warehouse, Events};
        let dir = tempfile::tempdir().expect("tempdir");
        let testkit_profile = Profile {
            tenant: tenant(),
            warehouse: warehouse(),
        };
        let mut store =
            Store::open(&dir.path().join("a.sqlite3"), testkit_profile, &test_key()).expect("open");
        let mut events = Events::default();
        let mut make = |n: u64| events.make(1, 1_000 + n, 0, received(&key(1, 1, None), 1));
        for n in 0..10 {
            store.record(&make(n)).expect("room for the first records");
        }
        let n_pages: i64 = store
            .conn
            .query_row("PRAGMA page_count", [], |row| row.get(0))
            .expect("page count");
        store
            .conn
            .pragma_update(None, "max_page_count", n_pages)
            .expect("cap the file at its current size");
        let error = (10..10_000)
            .find_map(|n| store.record(&make(n)).err())
            .expect("a capped file fills up");
        assert!(
            matches!(error, StoreError::DiskFull),
            "a full disk must be reported as such, not as a generic error: {error:?}"
        );
        assert!(
            error.is_retryable(),
            "freeing space and retrying is the way out"
        );
        let n_recorded = store.event_count().expect("count");
        assert!(
            n_recorded >= 10,
            "nothing recorded before the disk filled is lost"
        );
        assert_eq!(
            store
                .on_hand(&key(1, 1, None))
                .map(|on_hand| on_hand as u64)
                .expect("on hand"),
            n_recorded,
            "the failed record left no partial projection update behind"
        );
    }

    #[test]
    fn a_file_cannot_be_opened_as_another_profile() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a.sqlite3");
        drop(Store::open(&path, profile(1), &test_key()).expect("first open claims the file"));
        Store::open(&path, profile(1), &test_key()).expect("same profile reopens");
        let err = Store::open(&path, profile(2), &test_key()).expect_err("another tenant's file");
        assert!(
            matches!(
                err,
                StoreError::ProfileMismatch {
                    field: "tenant",
                    ..
                }
            ),
            "{err}"
        );
    }
}
