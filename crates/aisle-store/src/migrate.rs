//! Schema migrations: the store's own numbered files in `migrations/device/`, with the stock
//! projection's steps (`migrations/projection/`, owned by aisle-projection) at the positions
//! where they have always run, as one list.
//!
//! rusqlite_migration tracks the version in SQLite's `user_version`. A file whose version
//! is above what this build knows was written by a newer Aisle and is refused before any
//! migration runs, rather than half-understood.

use crate::StoreError;
use aisle_projection::sqlite::migrations::{ProjectionStep, Step};
use rusqlite::Connection;
use rusqlite_migration::Migrations;

/// The store's schema, step by step. A step's position is the schema version it brings a
/// file to, so steps are only ever appended. Steps 4 to 6 were files of this folder until the
/// projection's SQL moved to aisle-projection; the schema each step gives is unchanged (the
/// test `the_split_list_gives_the_old_schema_at_every_version` pins it).
const MIGRATIONS: &[Step] = &[
    Step::OwnThenProjection(
        include_str!("../../../migrations/device/0001_init.sql"),
        ProjectionStep::Init,
    ),
    Step::Own(include_str!(
        "../../../migrations/device/0002_outbox_due.sql"
    )),
    Step::Own(include_str!(
        "../../../migrations/device/0003_checksum_repairs.sql"
    )),
    Step::Projection(ProjectionStep::CompactStockDeltas),
    Step::Projection(ProjectionStep::KeyStates),
    Step::Projection(ProjectionStep::RulesVersion),
    Step::Own(include_str!(
        "../../../migrations/device/0007_replaced_events.sql"
    )),
    Step::Own(include_str!(
        "../../../migrations/device/0008_device_names.sql"
    )),
    Step::Own(include_str!(
        "../../../migrations/device/0009_badge_lockouts.sql"
    )),
    Step::Own(include_str!("../../../migrations/device/0010_put_back.sql")),
    Step::Own(include_str!(
        "../../../migrations/device/0011_expected_receipts.sql"
    )),
    Step::Own(include_str!(
        "../../../migrations/device/0012_unread_events.sql"
    )),
];

/// The store's migrations, as rusqlite_migration runs them.
pub(crate) fn migrations() -> Migrations<'static> {
    Migrations::new(aisle_projection::sqlite::migrations::migrations(MIGRATIONS))
}

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
    migrations()
        .to_latest(conn)
        .map_err(|error| StoreError::Migration(error.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        migrations()
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
            err.to_string().contains("newer Aisle")
                && err.to_string().contains(&format!(
                    "schema {}; this build knows up to {SCHEMA_VERSION}",
                    SCHEMA_VERSION + 1
                )),
            "the message names both versions and tells the user what to do: {err}"
        );
    }

    /// The schema of every version as the list gave it before the projection's SQL moved to
    /// aisle-projection (see the file's header).
    const SCHEMA_BEFORE_SPLIT: &str = include_str!("../tests/schema/device_before_split.txt");

    /// A file at any version the old list wrote has exactly the schema the split list gives
    /// at that version, so every later step meets the schema it always met, and a new file
    /// ends with the schema it always had.
    #[test]
    fn the_split_list_gives_the_old_schema_at_every_version() {
        let versions = aisle_projection::sqlite::migrations::compare_with_history(
            &migrations(),
            SCHEMA_BEFORE_SPLIT,
        )
        .unwrap_or_else(|difference| panic!("{difference}"));
        assert_eq!(
            versions,
            (1..=8).collect::<Vec<_>>(),
            "the history holds schemas 1 to 8, the old list's"
        );
    }
}
