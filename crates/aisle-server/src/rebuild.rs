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
use crate::storage::push::LotTracking;
use aisle_projection::sqlite::rules;
use rusqlite::{Connection, TransactionBehavior};

/// Rebuilds the projection if an older version of the rules wrote it, then records the
/// current version, in one transaction. Answers the number of events replayed, if it ran.
pub fn follow_rules_version(conn: &mut Connection) -> Result<Option<u64>, ServerError> {
    if !rules::is_behind(conn)? {
        return Ok(None);
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let n_events = replay(&tx)?;
    rules::record_current(&tx)?;
    tx.commit()?;
    Ok(Some(n_events))
}

/// Empties the projection and applies every logged event again, in event order, with the
/// server's own `lot_missing` discrepancies.
pub fn replay(tx: &rusqlite::Transaction<'_>) -> Result<u64, ServerError> {
    let mut lot_tracking = LotTracking::default();
    rules::replay(tx, rules::ALL_EVENTS, |ledger, event| {
        if let Some(discrepancy) =
            lot_tracking.missing_lot(event, |item| crate::storage::sqlite_lot_tracked(tx, item))?
        {
            aisle_core::stock::Ledger::open_discrepancy(ledger, &discrepancy)?;
        }
        Ok::<(), ServerError>(())
    })
}
