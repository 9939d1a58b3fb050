//! Read-side queries for the UI: stock by item and by location, a key's audit trail, and
//! what is open for people to look at.

use crate::{Store, StoreError};
use aisle_core::ids::{ItemId, LocationId, TaskId};
use aisle_core::stock::memory::Snapshot;
use aisle_core::stock::{CountTask, Discrepancy, EventOrder, StockKey};
use aisle_core::Event;
use aisle_projection::sqlite::columns::{key_at, lot_to_sql};
use rusqlite::OptionalExtension;
use serde::Serialize;
use std::collections::BTreeMap;

/// On-hand stock at one key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StockRow {
    pub key: StockKey,
    pub on_hand: i64,
}

/// One item's stock across all locations and lots of the store's warehouse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemStock {
    pub item: ItemId,
    pub total: i64,
    /// Keys with non-zero stock, by location then lot.
    pub rows: Vec<StockRow>,
}

/// A page of a key's audit trail, newest first.
/// Where one count stands with its reviews ([`Store::review_standing`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReviewStanding {
    /// The count approved itself within tolerance: no review changes it.
    pub self_approved: bool,
    /// The latest review in event order, which decides a count that needed review.
    pub deciding: Option<aisle_core::ids::EventId>,
    /// How many reviews the count has.
    pub n_reviews: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryPage {
    pub events: Vec<Event>,
    /// Pass as `before` to get the next (older) page; `None` at the end.
    pub next_before: Option<EventOrder>,
}

impl Store {
    pub fn on_hand_by_item(&self, item: ItemId) -> Result<ItemStock, StoreError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT k.warehouse, k.location, k.item, k.lot, s.on_hand FROM stock_keys k JOIN key_states s USING (key_id)
             WHERE k.warehouse = ?1 AND k.item = ?2 AND s.on_hand <> 0 ORDER BY k.location, k.lot",
        )?;
        let rows = statement
            .query_map(
                (self.profile.warehouse.as_bytes(), item.as_bytes()),
                |row| {
                    Ok(StockRow {
                        key: key_at(row, 0)?,
                        on_hand: row.get(4)?,
                    })
                },
            )?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ItemStock {
            item,
            total: rows.iter().map(|row| row.on_hand).sum(),
            rows,
        })
    }

    /// Keys with non-zero stock at a location, by item then lot.
    pub fn on_hand_by_location(&self, location: LocationId) -> Result<Vec<StockRow>, StoreError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT k.warehouse, k.location, k.item, k.lot, s.on_hand FROM stock_keys k JOIN key_states s USING (key_id)
             WHERE k.warehouse = ?1 AND k.location = ?2 AND s.on_hand <> 0 ORDER BY k.item, k.lot",
        )?;
        let rows = statement.query_map(
            (self.profile.warehouse.as_bytes(), location.as_bytes()),
            |row| {
                Ok(StockRow {
                    key: key_at(row, 0)?,
                    on_hand: row.get(4)?,
                })
            },
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The on-hand quantity at one key (0 if never touched).
    pub fn on_hand(&self, key: &StockKey) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT s.on_hand FROM stock_keys k JOIN key_states s USING (key_id)
                 WHERE k.warehouse = ?1 AND k.location = ?2 AND k.item = ?3 AND k.lot = ?4",
            )?
            .query_row(
                (
                    key.warehouse.as_bytes(),
                    key.location.as_bytes(),
                    key.item.as_bytes(),
                    lot_to_sql(&key.lot),
                ),
                |row| row.get(0),
            )
            .optional()?
            .unwrap_or(0))
    }

    /// The key of the count `counted` and whether it needed review, if the count is here.
    pub fn count_key(
        &self,
        counted: aisle_core::ids::EventId,
    ) -> Result<Option<(StockKey, bool)>, StoreError> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT k.warehouse, k.location, k.item, k.lot, c.decision = 'needs_review'
                 FROM counts c JOIN stock_keys k USING (key_id) WHERE c.event_id = ?1",
            )?
            .query_row([counted.as_bytes()], |row| {
                Ok((key_at(row, 0)?, row.get(4)?))
            })
            .optional()?)
    }

    /// What a review of `counted` did, as the projection holds it: `None` when the count is
    /// not here; otherwise whether the count approved itself (reviews change nothing) and the
    /// review that decides it (the latest in event order), if any.
    pub fn review_standing(
        &self,
        counted: aisle_core::ids::EventId,
    ) -> Result<Option<ReviewStanding>, StoreError> {
        let decision: Option<String> = self
            .conn
            .prepare_cached("SELECT decision FROM counts WHERE event_id = ?1")?
            .query_row([counted.as_bytes()], |row| row.get(0))
            .optional()?;
        let Some(decision) = decision else {
            return Ok(None);
        };
        let deciding: Option<Vec<u8>> = self
            .conn
            .prepare_cached(
                "SELECT event_id FROM count_reviews WHERE counted = ?1
                 ORDER BY hlc DESC, device DESC, event_id DESC LIMIT 1",
            )?
            .query_row([counted.as_bytes()], |row| row.get(0))
            .optional()?;
        let deciding = deciding
            .map(|bytes| {
                uuid::Uuid::from_slice(&bytes)
                    .map(aisle_core::ids::EventId::from_uuid)
                    .map_err(|error| StoreError::Corrupt(error.to_string()))
            })
            .transpose()?;
        let n_reviews: u32 = self
            .conn
            .prepare_cached("SELECT COUNT(*) FROM count_reviews WHERE counted = ?1")?
            .query_row([counted.as_bytes()], |row| row.get(0))?;
        Ok(Some(ReviewStanding {
            self_approved: decision == "self_approved",
            deciding,
            n_reviews,
        }))
    }

    /// The events that moved, counted or reviewed stock at `key`, newest first in event
    /// order, `limit` at a time, starting before `before` (or at the newest).
    pub fn key_history(
        &self,
        key: &StockKey,
        before: Option<&EventOrder>,
        limit: u32,
    ) -> Result<HistoryPage, StoreError> {
        let key_id: Option<i64> = self
            .conn
            .prepare_cached("SELECT key_id FROM stock_keys WHERE warehouse = ?1 AND location = ?2 AND item = ?3 AND lot = ?4")?
            .query_row(
                (key.warehouse.as_bytes(), key.location.as_bytes(), key.item.as_bytes(), lot_to_sql(&key.lot)),
                |row| row.get(0),
            )
            .optional()?;
        let Some(key_id) = key_id else {
            return Ok(HistoryPage {
                events: Vec::new(),
                next_before: None,
            });
        };
        let mut statement = self.conn.prepare_cached(
            "SELECT payload FROM events
             WHERE (seq IN (SELECT event_seq FROM stock_deltas WHERE key_id = ?1)
                    OR id IN (SELECT event_id FROM counts WHERE key_id = ?1
                          UNION SELECT r.event_id FROM count_reviews r JOIN counts c ON c.event_id = r.counted
                                WHERE c.key_id = ?1))
               AND (?2 IS NULL OR (hlc, device, id) < (?2, ?3, ?4))
             ORDER BY hlc DESC, device DESC, id DESC LIMIT ?5",
        )?;
        let rows = statement.query_map(
            (
                key_id,
                before.map(|order| order.hlc.to_packed()),
                before.map(|order| order.device.as_bytes().to_vec()),
                before.map(|order| order.id.as_bytes().to_vec()),
                i64::from(limit) + 1,
            ),
            |row| row.get::<_, String>(0),
        )?;
        let mut events = rows
            .map(|payload| Ok(serde_json::from_str::<Event>(&payload?)?))
            .collect::<Result<Vec<_>, StoreError>>()?;
        let next_before = if events.len() > limit as usize {
            events.truncate(limit as usize);
            events.last().map(Event::order)
        } else {
            None
        };
        Ok(HistoryPage {
            events,
            next_before,
        })
    }

    pub fn open_discrepancies(&self) -> Result<Vec<Discrepancy>, StoreError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT detail FROM discrepancies WHERE is_open = 1 ORDER BY kind, id",
        )?;
        let rows = statement.query_map([], |row| row.get::<_, String>(0))?;
        rows.map(|detail| Ok(serde_json::from_str(&detail?)?))
            .collect()
    }

    pub fn open_tasks(&self) -> Result<Vec<CountTask>, StoreError> {
        let mut statement = self
            .conn
            .prepare_cached("SELECT detail FROM tasks WHERE is_open = 1 ORDER BY kind, id")?;
        let rows = statement.query_map([], |row| row.get::<_, String>(0))?;
        rows.map(|detail| {
            let mut task: CountTask = serde_json::from_str(&detail?)?;
            task.open = true;
            Ok(task)
        })
        .collect()
    }

    /// The whole projection in the core's terms, for comparing replicas and rebuilds.
    pub fn snapshot(&self) -> Result<Snapshot, StoreError> {
        let mut statement = self
            .conn
            .prepare("SELECT k.warehouse, k.location, k.item, k.lot, coalesce(s.on_hand, 0) FROM stock_keys k LEFT JOIN key_states s USING (key_id)")?;
        let on_hand = statement
            .query_map([], |row| Ok((key_at(row, 0)?, row.get::<_, i64>(4)?)))?
            .collect::<Result<BTreeMap<_, _>, _>>()?;
        let discrepancies = self
            .open_discrepancies()?
            .into_iter()
            .map(|d| (d.id.clone(), d))
            .collect();
        let tasks: BTreeMap<TaskId, CountTask> = self
            .open_tasks()?
            .into_iter()
            .map(|task| (task.id, task))
            .collect();
        Ok(Snapshot {
            on_hand,
            discrepancies,
            tasks,
        })
    }
}

/// Human-readable differences between two snapshots. Keys at zero on one side and absent
/// on the other are the same stock and not reported.
pub(crate) fn diff_snapshots(before: &Snapshot, after: &Snapshot) -> Vec<String> {
    let mut differences = Vec::new();
    let keys: std::collections::BTreeSet<&StockKey> =
        before.on_hand.keys().chain(after.on_hand.keys()).collect();
    for key in keys {
        let (old, new) = (
            before.on_hand.get(key).copied().unwrap_or(0),
            after.on_hand.get(key).copied().unwrap_or(0),
        );
        if old != new {
            differences.push(format!("on_hand {key:?}: incremental {old}, rebuilt {new}"));
        }
    }
    for id in before
        .discrepancies
        .keys()
        .chain(after.discrepancies.keys())
    {
        if before.discrepancies.get(id) != after.discrepancies.get(id)
            && !differences.iter().any(|d| d.ends_with(id.as_str()))
        {
            differences.push(format!("discrepancy differs: {id}"));
        }
    }
    for id in before.tasks.keys().chain(after.tasks.keys()) {
        if before.tasks.get(id) != after.tasks.get(id) {
            let text = format!("task differs: {id}");
            if !differences.contains(&text) {
                differences.push(text);
            }
        }
    }
    differences
}
