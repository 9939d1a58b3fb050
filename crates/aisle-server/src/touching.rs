//! The events of a warehouse that touch given stock keys, for a device whose pulled stock
//! checksum differed from the server's: it re-fetches those events and applies the ones it
//! lacks (`POST /v1/t/{tenant}/events/touching`, `docs/protocol.md`).
//!
//! "Touching" is the pull checksum's definition, read from the tenant's stock projection
//! (which `aisle_core::stock::apply` keeps over every event the server holds) rather than
//! by decoding the log: a movement touches the keys of its deltas (`stock_deltas`), a count
//! its key (`counts`), a review the key of the count it reviews (`count_reviews`), and a
//! short pick or a manager's count request its key (the count task it opened, in `tasks`,
//! whose reason names the event; the rules keep that task, open or closed, for good). Every lookup is an index seek per key, so the cost is that of the
//! events returned, not of the warehouse's log.

use crate::error::ServerError;
use crate::wire::RawPulledEvent;
use aisle_core::ids::WarehouseId;
use aisle_core::stock::{CountTask, CountTaskReason, StockKey};
use rusqlite::{Connection, OptionalExtension};
use serde_json::value::RawValue;

/// The events touching key ids `?1` (a JSON array) or with the ids `?2` (a JSON array of
/// hex), of warehouse `?3`, with `seq > ?4`, at most `?5`, in seq order. `CROSS JOIN` makes
/// SQLite drive the join from the touching events (index seeks per key) rather than from
/// the warehouse's log in seq order, which would read every later event of the warehouse.
const TOUCHING_SQL: &str = "WITH wanted(key_id) AS (SELECT value FROM json_each(?1)),
     touching(seq) AS (
         SELECT event_seq FROM stock_deltas WHERE key_id IN (SELECT key_id FROM wanted)
         UNION SELECT e.seq FROM counts c JOIN events e ON e.id = c.event_id
               WHERE c.key_id IN (SELECT key_id FROM wanted)
         UNION SELECT e.seq FROM count_reviews r JOIN counts c ON c.event_id = r.counted
               JOIN events e ON e.id = r.event_id
               WHERE c.key_id IN (SELECT key_id FROM wanted)
         UNION SELECT e.seq FROM json_each(?2) j JOIN events e ON e.id = unhex(j.value)
     )
     SELECT e.seq, e.payload FROM touching t CROSS JOIN events e ON e.seq = t.seq
     WHERE e.warehouse = ?3 AND e.seq > ?4
     ORDER BY e.seq LIMIT ?5";

/// A page of events touching the keys.
#[derive(Debug)]
pub struct TouchingPage {
    pub events: Vec<RawPulledEvent>,
    /// The last seq in the page, or the request's `after` when it is empty.
    pub next: u64,
}

/// The warehouse's events with `seq > after` that touch any of `keys`, in seq order, at
/// most `limit`, read in one snapshot. Keys of other warehouses touch nothing here.
pub fn events_touching(
    conn: &mut Connection,
    warehouse: WarehouseId,
    keys: &[StockKey],
    after: u64,
    limit: u32,
) -> Result<TouchingPage, ServerError> {
    let tx = conn.transaction()?;
    let mut key_ids = Vec::with_capacity(keys.len());
    // Events that move no stock but are about a key, found through the task each opened.
    let mut task_causes = Vec::new();
    {
        let mut key_id = tx.prepare_cached(
            "SELECT key_id FROM stock_keys WHERE warehouse = ?1 AND location = ?2 AND item = ?3 AND lot = ?4",
        )?;
        let mut caused_tasks = tx.prepare_cached(
            "SELECT detail FROM tasks
             WHERE warehouse = ?1 AND location = ?2 AND item = ?3 AND lot = ?4
               AND kind IN ('short_pick', 'requested')",
        )?;
        for key in keys.iter().filter(|key| key.warehouse == warehouse) {
            let params = (
                warehouse.as_bytes(),
                key.location.as_bytes(),
                key.item.as_bytes(),
                key.lot.as_ref().map_or("", |lot| lot.as_str()),
            );
            if let Some(id) = key_id
                .query_row(params, |row| row.get::<_, i64>(0))
                .optional()?
            {
                key_ids.push(id);
            }
            for detail in caused_tasks.query_map(params, |row| row.get::<_, String>(0))? {
                let task: CountTask = serde_json::from_str(&detail?)?;
                match task.reason {
                    CountTaskReason::ShortPick {
                        short_pick: cause, ..
                    }
                    | CountTaskReason::Requested {
                        requested: cause, ..
                    } => task_causes.push(hex::encode(cause.id.as_bytes())),
                    CountTaskReason::NegativeStock | CountTaskReason::Recount { .. } => {}
                }
            }
        }
    }
    let mut events = Vec::new();
    {
        let mut statement = tx.prepare_cached(TOUCHING_SQL)?;
        let rows = statement.query_map(
            (
                serde_json::to_string(&key_ids)?,
                serde_json::to_string(&task_causes)?,
                warehouse.as_bytes(),
                i64::try_from(after).unwrap_or(i64::MAX),
                limit,
            ),
            |row| Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?)),
        )?;
        for row in rows {
            let (seq, payload) = row?;
            events.push(RawPulledEvent {
                seq: seq as u64,
                event: RawValue::from_string(payload)?,
            });
        }
    }
    tx.commit()?;
    let next = events.last().map_or(after, |event| event.seq);
    Ok(TouchingPage { events, next })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cost of a re-fetch must be that of the events it returns, not of the log.
    #[test]
    fn the_query_seeks_by_key_and_never_scans_the_log() {
        let mut conn = Connection::open_in_memory().expect("open");
        crate::migrate::migrate_tenant(&mut conn).expect("migrate");
        let plan: Vec<String> = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {TOUCHING_SQL}"))
            .expect("explain")
            .query_map(("[1, 2]", "[]", [0u8; 16], 0, 500), |row| {
                row.get::<_, String>(3)
            })
            .expect("plan")
            .collect::<Result<_, _>>()
            .expect("rows");
        assert!(
            plan.iter()
                .any(|step| step.starts_with("SEARCH stock_deltas USING PRIMARY KEY (key_id=?)")),
            "deltas are found by key: {plan:#?}"
        );
        assert!(
            plan.iter()
                .any(|step| step.starts_with("SEARCH e USING INTEGER PRIMARY KEY (rowid=?)")),
            "events are looked up by seq: {plan:#?}"
        );
        assert!(
            !plan
                .iter()
                .any(|step| step.contains("events_by_warehouse") || step.starts_with("SCAN e")),
            "the warehouse's log is never walked: {plan:#?}"
        );
    }
}
