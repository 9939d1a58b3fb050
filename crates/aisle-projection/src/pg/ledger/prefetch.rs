//! [`PgLedger::prefetch`]: what applying a batch will ask about, read ahead in one statement
//! per table.

use super::{count_at, order_at, review_at, state_at, PgLedger, COUNT_COLUMNS};
use crate::checksum::event_keys;
use crate::columns::lot_to_sql;
use crate::ProjectionError;
use aisle_core::event::EventBody;
use aisle_core::ids::{EventId, PickListId};
use aisle_core::stock::{CountRecord, CountTask, PickLineState, StockKey};
use aisle_core::Event;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use uuid::Uuid;

impl PgLedger<'_> {
    /// Reads, in one statement each, what applying `events` will ask about: the ids and
    /// states of every stock key they touch (a key the database does not have is remembered
    /// as absent until the ledger creates it), the progress of the pick lines they pick on,
    /// and the reviews of the counts they make or review; only what this ledger does not hold
    /// yet. Optional, and only a read: pass the batch about to be applied (a superset does no
    /// harm). Without it each key, line or count costs a round trip the first time a
    /// transaction touches it.
    pub fn prefetch<'e>(
        &mut self,
        events: impl IntoIterator<Item = &'e Event>,
    ) -> Result<(), ProjectionError> {
        let events: Vec<&Event> = events.into_iter().collect();
        let lines: BTreeSet<(PickListId, u32)> = events
            .iter()
            .filter_map(|event| match &event.body {
                EventBody::Picked {
                    pick_line: Some(line),
                    ..
                } => Some((line.pick_list, line.line)),
                _ => None,
            })
            .collect();
        self.prefetch_pick_lines(lines)?;
        // A count's reviews are read when it is applied, and a review's count's.
        let counted: BTreeSet<EventId> = events
            .iter()
            .filter_map(|event| match &event.body {
                EventBody::Counted { .. } => Some(event.id),
                EventBody::CountReviewed { counted, .. } => Some(*counted),
                _ => None,
            })
            .collect();
        self.prefetch_reviews(counted)?;
        self.prefetch_keys(events.iter().flat_map(|event| event_keys(event)))?;
        // The counts of every key a count is made on, and of every reviewed count's key.
        let counted_keys: Vec<i64> = events
            .iter()
            .filter_map(|event| match &event.body {
                EventBody::Counted { .. } => event.subject_key(),
                _ => None,
            })
            .filter_map(|key| self.cache.key_ids.get(&key).copied())
            .collect();
        let reviewed: Vec<Uuid> = events
            .iter()
            .filter_map(|event| match &event.body {
                EventBody::CountReviewed { counted, .. } => Some(*counted.as_uuid()),
                _ => None,
            })
            .collect();
        self.prefetch_counts(counted_keys, reviewed)
    }

    /// Reads the ids and states of `keys` that this ledger does not hold.
    fn prefetch_keys(
        &mut self,
        keys: impl Iterator<Item = StockKey>,
    ) -> Result<(), ProjectionError> {
        let keys: BTreeSet<StockKey> = keys
            .filter(|key| {
                !self.absent.contains(key)
                    && self
                        .cache
                        .key_ids
                        .get(key)
                        .is_none_or(|id| self.cache.state(*id).is_none())
            })
            .collect();
        if keys.is_empty() {
            return Ok(());
        }
        let mut columns: (Vec<Uuid>, Vec<Uuid>, Vec<Uuid>, Vec<&str>) = Default::default();
        for key in &keys {
            columns.0.push(*key.warehouse.as_uuid());
            columns.1.push(*key.location.as_uuid());
            columns.2.push(*key.item.as_uuid());
            columns.3.push(lot_to_sql(&key.lot));
        }
        // Each key is looked up through an index: the LIMIT (the key is unique anyway) keeps
        // the planner from flattening the lookup into a join, which, knowing the batch's
        // exact size, it would make a hash join over a seq scan of the tenant's every key
        // once a tenant has a few thousand (measured: a fifth slower at 8,000 keys, and it
        // grows with the tenant, where these lookups grow with the batch).
        let rows = self.tx.query(
            "SELECT q.n, k.key_id, s.on_hand, s.baseline_hlc, e.device, e.id, s.baseline_qty, s.baseline_seq
             FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::TEXT[]) WITH ORDINALITY
                 AS q (warehouse, location, item, lot, n)
             LEFT JOIN LATERAL (
                 SELECT key_id FROM stock_keys k WHERE k.warehouse = q.warehouse
                     AND k.location = q.location AND k.item = q.item AND k.lot = q.lot
                 LIMIT 1) k ON TRUE
             LEFT JOIN key_states s ON s.key_id = k.key_id
             LEFT JOIN events e ON e.seq = s.baseline_seq
             ORDER BY q.n",
            &[&columns.0, &columns.1, &columns.2, &columns.3],
        )?;
        if rows.len() != keys.len() {
            return Err(ProjectionError::Corrupt(format!(
                "{} stock key rows for {} keys",
                rows.len(),
                keys.len()
            )));
        }
        for (key, row) in keys.into_iter().zip(&rows) {
            match row.get::<_, Option<i64>>(1) {
                None => {
                    self.absent.insert(key);
                }
                Some(key_id) => {
                    self.learn_key(&key, key_id);
                    // A state this ledger holds (through another spelling of the same key,
                    // a lot of "" for none) is newer than the table's.
                    if self.cache.state(key_id).is_none() {
                        self.cache.read(key_id, state_at(row, 2));
                    }
                }
            }
        }
        Ok(())
    }

    /// Creates, in one statement, every key [`PgLedger::prefetch`] found the database
    /// without, so that the rules creating one later (a movement on a new slot) cost no round
    /// trip. Until the rules ask for a key it stays as the prefetch found it, absent (no state,
    /// no deltas, no counts), and [`PgLedger::finish`] deletes the keys never asked for, so
    /// the transaction commits the same `stock_keys` rows as without this call (only the ids
    /// may differ). Only for a caller that serialises the database's writers (the server's
    /// push lock): the insert is a plain one (no `ON CONFLICT`, whose speculative insertion
    /// costs an index probe and a WAL record more per key), so a key another transaction
    /// created meanwhile fails it, and the caller's transaction with it.
    pub fn create_absent_keys(&mut self) -> Result<(), ProjectionError> {
        // One row per distinct spelling in the table (a lot of "" is no lot).
        let mut by_columns: BTreeMap<(Uuid, Uuid, Uuid, &str), Vec<StockKey>> = BTreeMap::new();
        for key in &self.absent {
            if self.cache.key_ids.contains_key(key) {
                continue;
            }
            by_columns
                .entry((
                    *key.warehouse.as_uuid(),
                    *key.location.as_uuid(),
                    *key.item.as_uuid(),
                    lot_to_sql(&key.lot),
                ))
                .or_default()
                .push(key.clone());
        }
        if by_columns.is_empty() {
            return Ok(());
        }
        let mut columns: (Vec<Uuid>, Vec<Uuid>, Vec<Uuid>, Vec<&str>) = Default::default();
        for (warehouse, location, item, lot) in by_columns.keys() {
            columns.0.push(*warehouse);
            columns.1.push(*location);
            columns.2.push(*item);
            columns.3.push(lot);
        }
        let rows = self.tx.query(
            "INSERT INTO stock_keys (warehouse, location, item, lot)
             SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::TEXT[])
             RETURNING key_id, warehouse, location, item, lot",
            &[&columns.0, &columns.1, &columns.2, &columns.3],
        )?;
        let mut created: Vec<(i64, Vec<StockKey>)> = Vec::with_capacity(rows.len());
        for row in &rows {
            let lot: &str = row.get(4);
            let spelled = (row.get(1), row.get(2), row.get(3), lot);
            if let Some(keys) = by_columns.remove(&spelled) {
                created.push((row.get(0), keys));
            }
        }
        for (key_id, keys) in created {
            for key in keys {
                self.cache.key_ids.insert(key, key_id);
            }
            self.created_ahead.insert(key_id);
        }
        Ok(())
    }

    /// Deletes the keys [`PgLedger::create_absent_keys`] created that the rules never asked
    /// for, and forgets their ids.
    pub(super) fn drop_unused_keys(&mut self, writes: &mut Vec<aisle_pg::Deferred>) {
        if self.created_ahead.is_empty() {
            return;
        }
        let unused: HashSet<i64> = self.created_ahead.drain().collect();
        self.cache.key_ids.retain(|_, id| !unused.contains(id));
        let unused: Vec<i64> = unused.into_iter().collect();
        writes.push(aisle_pg::Deferred::new(
            "DELETE FROM stock_keys WHERE key_id = ANY($1)",
            vec![Box::new(unused)],
        ));
    }

    /// Reads the progress of every pick line `lines` names that this ledger does not hold.
    fn prefetch_pick_lines(
        &mut self,
        lines: BTreeSet<(PickListId, u32)>,
    ) -> Result<(), ProjectionError> {
        let lines: Vec<(PickListId, u32)> = lines
            .into_iter()
            .filter(|line| !self.pick_lines.contains_key(line))
            .collect();
        if lines.is_empty() {
            return Ok(());
        }
        let lists: Vec<Uuid> = lines.iter().map(|(list, _)| *list.as_uuid()).collect();
        let numbers: Vec<i64> = lines.iter().map(|(_, line)| i64::from(*line)).collect();
        let rows = self.tx.query(
            "SELECT q.n, p.picked_total, p.line_qty, p.line_qty_hlc, p.line_qty_device, p.line_qty_event
             FROM unnest($1::uuid[], $2::BIGINT[]) WITH ORDINALITY AS q (pick_list, line, n)
             LEFT JOIN pick_line_progress p ON p.pick_list = q.pick_list AND p.line = q.line
             ORDER BY q.n",
            &[&lists, &numbers],
        )?;
        for (line, row) in lines.into_iter().zip(&rows) {
            let state = row
                .get::<_, Option<i64>>(1)
                .map(|picked_total| PickLineState {
                    picked_total,
                    line_qty: row.get(2),
                    line_qty_order: order_at(row, 3, 4, 5),
                });
            self.pick_lines.insert(line, (state, false));
        }
        Ok(())
    }

    /// Reads every count, and every count task, of the keys `key_ids` and of the keys of the
    /// counts `reviewed`, unless this ledger holds them: `count`, `latest_count` and
    /// `count_tasks` on those keys then ask the database nothing.
    fn prefetch_counts(
        &mut self,
        key_ids: Vec<i64>,
        reviewed: Vec<Uuid>,
    ) -> Result<(), ProjectionError> {
        let key_ids: Vec<i64> = key_ids
            .into_iter()
            .filter(|id| !self.counts.contains_key(id))
            .collect();
        let reviewed: Vec<Uuid> = reviewed
            .into_iter()
            .filter(|id| {
                !self
                    .counts
                    .values()
                    .flatten()
                    .any(|count| count.order.id.as_uuid() == id)
            })
            .collect();
        if key_ids.is_empty() && reviewed.is_empty() {
            return Ok(());
        }
        let rows = self.tx.query(
            &format!(
                "SELECT {COUNT_COLUMNS} FROM counts c JOIN stock_keys k ON k.key_id = c.key_id
                 WHERE c.key_id = ANY($1::BIGINT[])
                    OR c.key_id IN (SELECT r.key_id FROM counts r WHERE r.event_id = ANY($2::uuid[]))"
            ),
            &[&key_ids, &reviewed],
        )?;
        let mut loaded: BTreeSet<i64> = key_ids.into_iter().collect();
        let mut counts: Vec<(i64, CountRecord)> = Vec::with_capacity(rows.len());
        for row in &rows {
            let key_id: i64 = row.get(12);
            loaded.insert(key_id);
            counts.push((key_id, count_at(row)?));
        }
        let loaded: Vec<i64> = loaded
            .into_iter()
            .filter(|id| !self.counts.contains_key(id))
            .collect();
        for key_id in &loaded {
            self.counts.insert(*key_id, Vec::new());
        }
        for (key_id, count) in counts {
            if let Some(list) = self.counts.get_mut(&key_id) {
                if !list.iter().any(|held| held.order.id == count.order.id) {
                    list.push(count);
                }
            }
        }
        let rows = self.tx.query(
            "SELECT k.key_id, t.detail, t.is_open FROM stock_keys k
             JOIN tasks t ON t.warehouse = k.warehouse AND t.location = k.location AND t.item = k.item AND t.lot = k.lot
             WHERE k.key_id = ANY($1::BIGINT[])",
            &[&loaded],
        )?;
        for key_id in &loaded {
            self.stored_tasks.entry(*key_id).or_default();
        }
        for row in &rows {
            let mut task: CountTask = serde_json::from_str(row.get(1))?;
            task.open = row.get(2);
            self.stored_tasks.entry(row.get(0)).or_default().push(task);
        }
        Ok(())
    }

    /// Reads the reviews of every count in `counted` that this ledger does not hold.
    fn prefetch_reviews(&mut self, counted: BTreeSet<EventId>) -> Result<(), ProjectionError> {
        let counted: Vec<Uuid> = counted
            .into_iter()
            .filter(|id| !self.reviews.contains_key(id))
            .map(|id| *id.as_uuid())
            .collect();
        if counted.is_empty() {
            return Ok(());
        }
        let rows = self.tx.query(
            "SELECT hlc, device, event_id, user_id, decision, counted FROM count_reviews WHERE counted = ANY($1::uuid[])",
            &[&counted],
        )?;
        for id in &counted {
            self.reviews.insert(EventId::from_uuid(*id), Vec::new());
        }
        for row in &rows {
            let review = review_at(row, EventId::from_uuid(row.get(5)))?;
            self.reviews.entry(review.counted).or_default().push(review);
        }
        Ok(())
    }
}
