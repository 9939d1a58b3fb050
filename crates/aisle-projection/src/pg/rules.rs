//! Which version of the stock rules ([`aisle_core::stock::RULES_VERSION`]) wrote a
//! PostgreSQL projection, and the replay that rebuilds it from the tenant's event log: the
//! same steps as [`crate::sqlite::rules`], over the same tables.

use super::PgLedger;
use crate::ProjectionError;
use aisle_core::stock::{apply, RULES_VERSION};
use aisle_core::Event;
use aisle_pg::PgTx;

/// Events read per statement while replaying; the ledger also writes back what it holds
/// after each page, so a replay's memory does not grow with the log.
const REPLAY_PAGE: u32 = 5_000;

/// The version of the rules that wrote the projection in `tx`.
pub fn written_version(tx: &PgTx<'_>) -> Result<i64, ProjectionError> {
    Ok(tx
        .query_one(
            "SELECT COALESCE((SELECT version FROM projection_rules WHERE id = 1), 1)::BIGINT",
            &[],
        )?
        .get(0))
}

/// Whether an older version of the rules than this build's wrote the projection, which must
/// then be rebuilt with [`replay`].
pub fn is_behind(tx: &PgTx<'_>) -> Result<bool, ProjectionError> {
    Ok(written_version(tx)? < i64::from(RULES_VERSION))
}

/// Records that this build's rules wrote the projection.
pub fn record_current(tx: &PgTx<'_>) -> Result<(), ProjectionError> {
    tx.execute(
        "INSERT INTO projection_rules (id, version) VALUES (1, $1)
         ON CONFLICT (id) DO UPDATE SET version = excluded.version",
        &[&i64::from(RULES_VERSION)],
    )?;
    Ok(())
}

/// Empties the projection and applies again every event of the log, in event order (hlc,
/// device, id), calling `also` after each with the ledger, for what a store derives beside
/// the rules. Run it inside the transaction that holds the tenant's push lock, so no push
/// applies to a half-rebuilt projection; readers see the old projection until it commits.
/// Answers how many events it applied.
pub fn replay<E>(
    tx: &PgTx<'_>,
    also: impl FnMut(&mut PgLedger<'_>, &Event) -> Result<(), E>,
) -> Result<u64, E>
where
    E: From<ProjectionError>,
{
    replay_in_pages(tx, REPLAY_PAGE, also)
}

/// [`replay`], reading `page` events at a time (tests use small pages to cross page ends).
///
/// The log is read in event order through one cursor of the transaction: the tenant schema
/// keeps no index on (hlc, device, id), which every push would pay for to serve this rare
/// rebuild, so PostgreSQL sorts the log once (spilling to disk past `work_mem`). The sort
/// carries only the order's columns and each row's seq, so its temporary files stay a
/// fraction of the log's size; each page's payloads are then read by seq. A cursor lives only
/// as long as its transaction, so this relies on no session state (see aisle_pg's crate doc
/// on PgBouncer). An error leaves the cursor open: the caller must then roll back, as every
/// caller of a failed replay does.
#[doc(hidden)]
pub fn replay_in_pages<E>(
    tx: &PgTx<'_>,
    page: u32,
    mut also: impl FnMut(&mut PgLedger<'_>, &Event) -> Result<(), E>,
) -> Result<u64, E>
where
    E: From<ProjectionError>,
{
    tx.batch_execute(
        "DELETE FROM stock_deltas; DELETE FROM counts; DELETE FROM count_reviews;
         DELETE FROM pick_line_progress; DELETE FROM pick_claims; DELETE FROM tasks;
         DELETE FROM discrepancies; DELETE FROM key_states; DELETE FROM stock_keys;
         DECLARE aisle_replay NO SCROLL CURSOR FOR
             SELECT seq FROM events ORDER BY hlc, device, id;",
    )
    .map_err(ProjectionError::from)?;
    let fetch = format!("FETCH FORWARD {} FROM aisle_replay", page.max(1));
    let mut n_events = 0;
    let mut key_ids = crate::KeyIds::default();
    loop {
        let seqs: Vec<i64> = tx
            .query(&fetch, &[])
            .map_err(ProjectionError::from)?
            .iter()
            .map(|row| row.get(0))
            .collect();
        if seqs.is_empty() {
            break;
        }
        let mut payloads: std::collections::HashMap<i64, String> = tx
            .query(
                "SELECT seq, payload FROM events WHERE seq = ANY($1)",
                &[&seqs],
            )
            .map_err(ProjectionError::from)?
            .iter()
            .map(|row| (row.get(0), row.get(1)))
            .collect();
        let page: Vec<(i64, Event)> = seqs
            .iter()
            .map(|seq| {
                let payload = payloads.remove(seq).ok_or_else(|| {
                    ProjectionError::Corrupt(format!("event {seq} left the log during a replay"))
                })?;
                Ok((
                    *seq,
                    serde_json::from_str(&payload).map_err(ProjectionError::from)?,
                ))
            })
            .collect::<Result<_, ProjectionError>>()?;
        let mut ledger = PgLedger::with_key_ids(tx, std::mem::take(&mut key_ids));
        ledger.prefetch(page.iter().map(|(_, event)| event))?;
        for (seq, event) in &page {
            ledger.applying(event.id, *seq);
            apply(&mut ledger, event)?;
            also(&mut ledger, event)?;
            n_events += 1;
        }
        // Ids of keys created in this transaction are valid for the rest of it.
        key_ids = ledger.finish()?;
    }
    tx.batch_execute("CLOSE aisle_replay")
        .map_err(ProjectionError::from)?;
    Ok(n_events)
}
