//! Which version of the stock rules ([`aisle_core::stock::RULES_VERSION`]) wrote a
//! projection, and the replay that rebuilds the projection from the database's event log.
//!
//! The projection is a function of the log, so it can always be recomputed. When the rules
//! change what an event means, a projection written under the older rules is rebuilt the
//! first time a newer build opens the database, and the new version is recorded in
//! `projection_rules` (no row means version 1). The device store and the server each decide
//! when to replay and what else to do around it (the store compares the rebuild with what it
//! replaces; the server re-derives its own `lot_missing` discrepancies); the replay itself is
//! this one.

use super::SqlLedger;
use crate::ProjectionError;
use aisle_core::stock::{apply, RULES_VERSION};
use aisle_core::Event;
use rusqlite::Connection;

/// Every event of the log, as [`replay`] takes them: `seq` and canonical JSON `payload`, in
/// event order.
pub const ALL_EVENTS: &str = "SELECT seq, payload FROM events ORDER BY hlc, device, id";

/// The version of the rules that wrote the projection behind `conn`.
pub fn written_version(conn: &Connection) -> Result<i64, ProjectionError> {
    Ok(conn.query_row(
        "SELECT coalesce((SELECT version FROM projection_rules WHERE id = 1), 1)",
        [],
        |row| row.get(0),
    )?)
}

/// Whether an older version of the rules than this build's wrote the projection, which must
/// then be rebuilt with [`replay`].
pub fn is_behind(conn: &Connection) -> Result<bool, ProjectionError> {
    Ok(written_version(conn)? < i64::from(RULES_VERSION))
}

/// Records that this build's rules wrote the projection.
pub fn record_current(conn: &Connection) -> Result<(), ProjectionError> {
    conn.execute(
        "INSERT INTO projection_rules (id, version) VALUES (1, ?1)
         ON CONFLICT (id) DO UPDATE SET version = excluded.version",
        [RULES_VERSION],
    )?;
    Ok(())
}

/// Empties the projection and applies again every event that `events_query` selects (rows
/// of `seq` and `payload`, in event order; [`ALL_EVENTS`] for the whole log), calling
/// `also` after each with the ledger, for what a store derives beside the rules. Run it
/// inside a transaction. Answers how many events it applied.
pub fn replay<E>(
    tx: &Connection,
    events_query: &str,
    mut also: impl FnMut(&mut SqlLedger<'_>, &Event) -> Result<(), E>,
) -> Result<u64, E>
where
    E: From<ProjectionError>,
{
    tx.execute_batch(
        "DELETE FROM stock_deltas; DELETE FROM counts; DELETE FROM count_reviews;
         DELETE FROM pick_line_progress; DELETE FROM pick_claims; DELETE FROM tasks;
         DELETE FROM discrepancies; DELETE FROM key_states; DELETE FROM stock_keys;",
    )
    .map_err(ProjectionError::from)?;
    let mut n_events = 0;
    let mut ledger = SqlLedger::new(tx);
    let mut statement = tx.prepare(events_query).map_err(ProjectionError::from)?;
    let mut rows = statement.query([]).map_err(ProjectionError::from)?;
    while let Some(row) = rows.next().map_err(ProjectionError::from)? {
        let payload: String = row.get(1).map_err(ProjectionError::from)?;
        let event: Event = serde_json::from_str(&payload).map_err(ProjectionError::from)?;
        ledger.applying(event.id, row.get(0).map_err(ProjectionError::from)?);
        apply(&mut ledger, &event)?;
        also(&mut ledger, &event)?;
        n_events += 1;
    }
    ledger.finish()?;
    Ok(n_events)
}
