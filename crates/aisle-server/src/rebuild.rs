//! Rebuilding a tenant database's projection from its event log.
//!
//! The projection (stock keys, deltas, counts, reviews, claims, tasks, discrepancies) is a
//! function of the log, so it can always be recomputed: when a database was written under an
//! older version of the stock rules ([`aisle_core::stock::RULES_VERSION`]), it is rebuilt the
//! first time the server opens it. The replay applies every event in event order through the
//! same `apply` the pushes run, and re-derives the server's own `lot_missing` discrepancies;
//! it records no new resolutions (those already in the log are replayed as the no-ops they
//! are).

use crate::error::ServerError;
use crate::storage::LotTracking;
use aisle_core::stock::{apply, RULES_VERSION};
use aisle_core::Event;
use aisle_store::ledger::SqlLedger;
use rusqlite::{Connection, TransactionBehavior};

/// Rebuilds the projection if an older version of the rules wrote it, then records the
/// current version, in one transaction. Answers the number of events replayed, if it ran.
pub fn follow_rules_version(conn: &mut Connection) -> Result<Option<u64>, ServerError> {
    let written: i64 = conn.query_row(
        "SELECT coalesce((SELECT version FROM projection_rules WHERE id = 1), 1)",
        [],
        |row| row.get(0),
    )?;
    if written >= i64::from(RULES_VERSION) {
        return Ok(None);
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let n_events = replay(&tx)?;
    tx.execute(
        "INSERT INTO projection_rules (id, version) VALUES (1, ?1)
         ON CONFLICT (id) DO UPDATE SET version = excluded.version",
        [RULES_VERSION],
    )?;
    tx.commit()?;
    Ok(Some(n_events))
}

/// Empties the projection and applies every logged event again, in event order.
pub fn replay(tx: &rusqlite::Transaction<'_>) -> Result<u64, ServerError> {
    tx.execute_batch(
        "DELETE FROM stock_deltas; DELETE FROM counts; DELETE FROM count_reviews;
         DELETE FROM pick_line_progress; DELETE FROM pick_claims; DELETE FROM tasks;
         DELETE FROM discrepancies; DELETE FROM key_states; DELETE FROM stock_keys;",
    )?;
    let mut n_events = 0;
    let mut lot_tracking = LotTracking::default();
    let mut ledger = SqlLedger::new(tx);
    let mut statement = tx.prepare("SELECT seq, payload FROM events ORDER BY hlc, device, id")?;
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        let event: Event = serde_json::from_str(&row.get::<_, String>(1)?)?;
        ledger.applying(event.id, row.get(0)?);
        apply(&mut ledger, &event)?;
        if let Some(discrepancy) = lot_tracking.missing_lot(tx, &event)? {
            aisle_core::stock::Ledger::open_discrepancy(&mut ledger, &discrepancy)?;
        }
        n_events += 1;
    }
    ledger.finish()?;
    Ok(n_events)
}
