//! Numbered migrations, applied once per database and recorded in `aisle_migrations`.
//!
//! All of them run in one transaction that first takes a transaction-level advisory lock,
//! so two server instances that start together never apply one twice, and a migration that
//! fails leaves the database exactly as it was (PostgreSQL's DDL is transactional).

use crate::{PgError, PgTx};

/// One migration: its number (1, 2, …, with no gaps) and its SQL.
#[derive(Clone, Copy, Debug)]
pub struct Migration {
    pub version: u32,
    pub name: &'static str,
    pub sql: &'static str,
}

/// What [`migrate`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigrationReport {
    /// The newest version before.
    pub from: u32,
    /// The newest version now.
    pub to: u32,
}

/// The advisory lock key that serialises migrations of one database ("aisle-mg").
const MIGRATION_LOCK: i64 = 0x6169_736c_652d_6d67;

/// Applies every migration of `migrations` newer than the database's, in order, within
/// `tx`; the caller commits. Refuses a database that has a migration this build does not know.
pub fn migrate(tx: &PgTx<'_>, migrations: &[Migration]) -> Result<MigrationReport, PgError> {
    tx.advisory_lock(MIGRATION_LOCK)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS aisle_migrations (
             version INTEGER PRIMARY KEY,
             name TEXT NOT NULL,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
         )",
    )?;
    let from: i32 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM aisle_migrations",
            &[],
        )?
        .get(0);
    let from = u32::try_from(from).unwrap_or(0);
    let known = migrations
        .iter()
        .map(|migration| migration.version)
        .max()
        .unwrap_or(0);
    if from > known {
        return Err(PgError::NewerSchema { found: from, known });
    }
    for migration in migrations
        .iter()
        .filter(|migration| migration.version > from)
    {
        tx.batch_execute(migration.sql)
            .map_err(|error| match error {
                PgError::Db(source) => PgError::Migration {
                    version: migration.version,
                    name: migration.name.to_owned(),
                    source,
                },
                other => other,
            })?;
        let version = i32::try_from(migration.version).expect("migration numbers are small");
        tx.execute(
            "INSERT INTO aisle_migrations (version, name) VALUES ($1, $2)",
            &[&version, &migration.name],
        )?;
    }
    Ok(MigrationReport {
        from,
        to: known.max(from),
    })
}
