//! Schema migrations, from the numbered files in `migrations/device/`.
//!
//! rusqlite_migration tracks the version in SQLite's `user_version`. A file whose version
//! is above what this build knows was written by a newer Aisle and is refused before any
//! migration runs, rather than half-understood.

use crate::StoreError;
use rusqlite::Connection;
use rusqlite_migration::{Migrations, M};

const MIGRATIONS: &[&str] = &[
    include_str!("../../../migrations/device/0001_init.sql"),
    include_str!("../../../migrations/device/0002_outbox_due.sql"),
    include_str!("../../../migrations/device/0003_checksum_repairs.sql"),
    include_str!("../../../migrations/device/0004_compact_stock_deltas.sql"),
    include_str!("../../../migrations/device/0005_key_states.sql"),
    include_str!("../../../migrations/device/0006_projection_rules.sql"),
    include_str!("../../../migrations/device/0007_replaced_events.sql"),
    include_str!("../../../migrations/device/0008_device_names.sql"),
    include_str!("../../../migrations/device/0009_badge_lockouts.sql"),
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

pub(crate) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    let migrations = Migrations::new(MIGRATIONS.iter().map(|sql| M::up(sql)).collect());
    migrations
        .to_latest(conn)
        .map_err(|error| StoreError::Migration(error.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        let migrations = Migrations::new(MIGRATIONS.iter().map(|sql| M::up(sql)).collect());
        migrations
            .validate()
            .expect("every migration applies cleanly to an empty database");
    }

    /// The engine asks for the next due time after every push; it must be an index seek,
    /// not a scan of every pending row.
    #[test]
    fn the_next_due_outbox_time_is_an_index_seek() {
        let mut conn = Connection::open_in_memory().expect("open");
        migrate(&mut conn).expect("migrate");
        let plan: Vec<String> = conn
            .prepare("EXPLAIN QUERY PLAN SELECT MIN(next_attempt_ms) FROM outbox WHERE state = 'pending'")
            .expect("explain")
            .query_map([], |row| row.get::<_, String>(3))
            .expect("plan")
            .collect::<Result<_, _>>()
            .expect("rows");
        assert!(
            plan.iter().any(|step| step.contains("outbox_due")),
            "the due-time query must use the outbox_due index: {plan:?}"
        );
    }

    #[test]
    fn a_newer_schema_is_refused_with_a_clear_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("new.sqlite3");
        let conn = Connection::open(&path).expect("open");
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .expect("pretend a newer build wrote it");
        drop(conn);
        let mut conn = Connection::open(&path).expect("reopen");
        let err = migrate(&mut conn).expect_err("newer schema");
        assert!(matches!(err, StoreError::TooNew { .. }), "{err}");
        assert!(
            err.to_string().contains("newer Aisle"),
            "the message tells the user what to do: {err}"
        );
    }
}
