//! [`PgLedger::finish`]'s writes: what the ledger held back in the transaction, each table
//! in one statement (column arrays, `unnest`), whatever the batch's size. Each is built
//! here as a [`Deferred`] statement, and they are sent together, in one pipeline.

use super::{PendingDiscrepancy, PgLedger};
use crate::columns::{count_decision_to_sql, lot_to_sql};
use crate::write_behind::{DirtyStates, StateRow};
use crate::ProjectionError;
use aisle_core::ids::PickListId;
use aisle_core::stock::{CountRecord, CountTask, PickLineState};
use aisle_pg::Deferred;
use uuid::Uuid;

/// `pick_line_progress` rows as column arrays, for one `unnest` upsert.
#[derive(Default)]
struct PickLineColumns {
    pick_list: Vec<Uuid>,
    line: Vec<i64>,
    picked_total: Vec<i64>,
    line_qty: Vec<i64>,
    hlc: Vec<i64>,
    device: Vec<Uuid>,
    event: Vec<Uuid>,
}

/// `tasks` rows as column arrays, for one `unnest` upsert.
#[derive(Default)]
struct TaskColumns {
    id: Vec<Uuid>,
    warehouse: Vec<Uuid>,
    location: Vec<Uuid>,
    item: Vec<Uuid>,
    lot: Vec<String>,
    kind: Vec<&'static str>,
    open: Vec<bool>,
    detail: Vec<String>,
}

/// `discrepancies` rows as column arrays, for one `unnest` upsert.
#[derive(Default)]
struct DiscrepancyColumns {
    id: Vec<String>,
    warehouse: Vec<Uuid>,
    kind: Vec<&'static str>,
    open: Vec<bool>,
    detail: Vec<String>,
}

/// `counts` rows as column arrays, for one `unnest` upsert.
#[derive(Default)]
struct CountColumns {
    event_id: Vec<Uuid>,
    key_id: Vec<i64>,
    hlc: Vec<i64>,
    device: Vec<Uuid>,
    user_id: Vec<Uuid>,
    counted_qty: Vec<i64>,
    system_qty: Vec<i64>,
    decision: Vec<&'static str>,
    status: Vec<&'static str>,
}

/// `key_states` rows as the five column arrays `unnest` takes.
fn state_columns(rows: Vec<StateRow>) -> Vec<Box<dyn aisle_pg::ToSql + Sync>> {
    let mut key_ids = Vec::with_capacity(rows.len());
    let mut on_hand = Vec::with_capacity(rows.len());
    let mut baseline_hlc: Vec<Option<i64>> = Vec::with_capacity(rows.len());
    let mut baseline_seq = Vec::with_capacity(rows.len());
    let mut baseline_qty: Vec<Option<i64>> = Vec::with_capacity(rows.len());
    for (key_id, state, seq) in rows {
        key_ids.push(key_id);
        on_hand.push(state.on_hand);
        baseline_hlc.push(state.baseline.map(|b| b.order.hlc.to_packed()));
        baseline_seq.push(seq);
        baseline_qty.push(state.baseline.map(|b| b.qty));
    }
    vec![
        Box::new(key_ids),
        Box::new(on_hand),
        Box::new(baseline_hlc),
        Box::new(baseline_seq),
        Box::new(baseline_qty),
    ]
}

impl PgLedger<'_> {
    /// Writes the counts put on keys whose counts this ledger holds, each as it is now, in
    /// one statement (a stored count's status is all that changes, as with one upsert each).
    pub(super) fn flush_counts(
        &mut self,
        writes: &mut Vec<Deferred>,
    ) -> Result<(), ProjectionError> {
        if self.counts_put.is_empty() {
            return Ok(());
        }
        let put = std::mem::take(&mut self.counts_put);
        let mut columns = CountColumns::default();
        let mut rows: Vec<(i64, &CountRecord)> = self
            .counts
            .iter()
            .flat_map(|(key_id, counts)| counts.iter().map(move |count| (*key_id, count)))
            .filter(|(_, count)| put.contains(&count.order.id))
            .collect();
        rows.sort_unstable_by_key(|(_, count)| count.order.id);
        for (key_id, count) in rows {
            columns.event_id.push(*count.order.id.as_uuid());
            columns.key_id.push(key_id);
            columns.hlc.push(count.order.hlc.to_packed());
            columns.device.push(*count.order.device.as_uuid());
            columns.user_id.push(*count.user.as_uuid());
            columns.counted_qty.push(count.counted_qty);
            columns.system_qty.push(count.system_qty);
            columns.decision.push(count_decision_to_sql(count.decision));
            columns.status.push(count.status.as_str());
        }
        writes.push(Deferred::new(
            "INSERT INTO counts (event_id, key_id, hlc, device, user_id, counted_qty, system_qty, decision, status)
             SELECT * FROM unnest($1::uuid[], $2::BIGINT[], $3::BIGINT[], $4::uuid[], $5::uuid[], $6::BIGINT[],
                 $7::BIGINT[], $8::TEXT[], $9::TEXT[])
             ON CONFLICT (event_id) DO UPDATE SET status = excluded.status",
            vec![Box::new(columns.event_id), Box::new(columns.key_id), Box::new(columns.hlc), Box::new(columns.device), Box::new(columns.user_id), Box::new(columns.counted_qty), Box::new(columns.system_qty), Box::new(columns.decision), Box::new(columns.status)],
        ));
        Ok(())
    }

    /// Writes the pick lines put in this transaction, each as it was put last, in one
    /// statement.
    pub(super) fn flush_pick_lines(
        &mut self,
        writes: &mut Vec<Deferred>,
    ) -> Result<(), ProjectionError> {
        let mut put: Vec<((PickListId, u32), PickLineState)> = self
            .pick_lines
            .drain()
            .filter_map(|(line, (state, dirty))| dirty.then_some(line).zip(state))
            .collect();
        if put.is_empty() {
            return Ok(());
        }
        put.sort_unstable_by_key(|(line, _)| *line);
        let mut columns = PickLineColumns::default();
        for ((pick_list, line), state) in &put {
            columns.pick_list.push(*pick_list.as_uuid());
            columns.line.push(i64::from(*line));
            columns.picked_total.push(state.picked_total);
            columns.line_qty.push(state.line_qty);
            columns.hlc.push(state.line_qty_order.hlc.to_packed());
            columns.device.push(*state.line_qty_order.device.as_uuid());
            columns.event.push(*state.line_qty_order.id.as_uuid());
        }
        writes.push(Deferred::new(
            "INSERT INTO pick_line_progress (pick_list, line, picked_total, line_qty, line_qty_hlc, line_qty_device, line_qty_event)
             SELECT * FROM unnest($1::uuid[], $2::BIGINT[], $3::BIGINT[], $4::BIGINT[], $5::BIGINT[], $6::uuid[], $7::uuid[])
             ON CONFLICT (pick_list, line) DO UPDATE SET picked_total = excluded.picked_total, line_qty = excluded.line_qty,
               line_qty_hlc = excluded.line_qty_hlc, line_qty_device = excluded.line_qty_device,
               line_qty_event = excluded.line_qty_event",
            vec![Box::new(columns.pick_list), Box::new(columns.line), Box::new(columns.picked_total), Box::new(columns.line_qty), Box::new(columns.hlc), Box::new(columns.device), Box::new(columns.event)],
        ));
        Ok(())
    }

    /// Writes the count tasks put in this transaction, each as it was put last, in one
    /// statement. A task's id is derived from its key and cause, so its key and kind never
    /// change; only whether it is open and its detail do, as with one upsert per put.
    pub(super) fn flush_tasks(
        &mut self,
        writes: &mut Vec<Deferred>,
    ) -> Result<(), ProjectionError> {
        if self.tasks.is_empty() {
            return Ok(());
        }
        let mut tasks: Vec<CountTask> = std::mem::take(&mut self.tasks).into_values().collect();
        tasks.sort_unstable_by_key(|task| task.id);
        let mut columns = TaskColumns::default();
        for task in &tasks {
            columns.id.push(*task.id.as_uuid());
            columns.warehouse.push(*task.key.warehouse.as_uuid());
            columns.location.push(*task.key.location.as_uuid());
            columns.item.push(*task.key.item.as_uuid());
            columns.lot.push(lot_to_sql(&task.key.lot).to_owned());
            columns.kind.push(task.reason.as_str());
            columns.open.push(task.open);
            columns.detail.push(
                serde_json::to_string(task)
                    .map_err(|error| ProjectionError::Invalid(error.to_string()))?,
            );
        }
        writes.push(Deferred::new(
            "INSERT INTO tasks (id, warehouse, location, item, lot, kind, is_open, detail)
             SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::TEXT[], $6::TEXT[],
                 $7::BOOLEAN[], $8::TEXT[])
             ON CONFLICT (id) DO UPDATE SET is_open = excluded.is_open, detail = excluded.detail",
            vec![Box::new(columns.id), Box::new(columns.warehouse), Box::new(columns.location), Box::new(columns.item), Box::new(columns.lot), Box::new(columns.kind), Box::new(columns.open), Box::new(columns.detail)],
        ));
        Ok(())
    }

    /// Writes the discrepancies' end states: one statement for those opened in this
    /// transaction (open or resolved since, with what they were opened with last), one for
    /// those only resolved. The same rows as opening and resolving them one by one.
    pub(super) fn flush_discrepancies(
        &mut self,
        writes: &mut Vec<Deferred>,
    ) -> Result<(), ProjectionError> {
        let mut pending: Vec<(String, PendingDiscrepancy)> =
            std::mem::take(&mut self.discrepancies)
                .into_iter()
                .collect();
        pending.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut opened = DiscrepancyColumns::default();
        let mut resolved: Vec<String> = Vec::new();
        for (id, discrepancy) in pending {
            match discrepancy.opened {
                Some((warehouse, kind, detail)) => {
                    opened.id.push(id);
                    opened.warehouse.push(warehouse);
                    opened.kind.push(kind);
                    opened.open.push(discrepancy.open);
                    opened.detail.push(detail);
                }
                None => resolved.push(id),
            }
        }
        if !opened.id.is_empty() {
            writes.push(Deferred::new(
            "INSERT INTO discrepancies (id, warehouse, kind, is_open, detail)
                 SELECT * FROM unnest($1::TEXT[], $2::uuid[], $3::TEXT[], $4::BOOLEAN[], $5::TEXT[])
                 ON CONFLICT (id) DO UPDATE SET is_open = excluded.is_open, detail = excluded.detail",
            vec![Box::new(opened.id), Box::new(opened.warehouse), Box::new(opened.kind), Box::new(opened.open), Box::new(opened.detail)],
        ));
        }
        if !resolved.is_empty() {
            writes.push(Deferred::new(
                "UPDATE discrepancies SET is_open = FALSE WHERE id = ANY($1::TEXT[])",
                vec![Box::new(resolved)],
            ));
        }
        Ok(())
    }

    /// Writes the changed key states: the rows of keys that had none (new keys, mostly) with
    /// a plain insert, the others with an upsert. An upsert's insert is speculative (an
    /// index probe first, a confirmation record after) and its update locks the row first
    /// (one WAL record more); a plain insert needs neither, and if the ledger were wrong
    /// about a row being absent it would fail on the primary key, never lose a state.
    pub(super) fn flush_states(
        &mut self,
        writes: &mut Vec<Deferred>,
    ) -> Result<(), ProjectionError> {
        let DirtyStates { new, replaced } = self.cache.take_dirty_states_split();
        if !new.is_empty() {
            writes.push(Deferred::new(
                "INSERT INTO key_states (key_id, on_hand, baseline_hlc, baseline_seq, baseline_qty)
                 SELECT * FROM unnest($1::BIGINT[], $2::BIGINT[], $3::BIGINT[], $4::BIGINT[], $5::BIGINT[])",
                state_columns(new),
            ));
        }
        if !replaced.is_empty() {
            writes.push(Deferred::new(
                "INSERT INTO key_states (key_id, on_hand, baseline_hlc, baseline_seq, baseline_qty)
                 SELECT * FROM unnest($1::BIGINT[], $2::BIGINT[], $3::BIGINT[], $4::BIGINT[], $5::BIGINT[])
                 ON CONFLICT (key_id) DO UPDATE SET on_hand = excluded.on_hand, baseline_hlc = excluded.baseline_hlc,
                   baseline_seq = excluded.baseline_seq, baseline_qty = excluded.baseline_qty",
                state_columns(replaced),
            ));
        }
        Ok(())
    }

    pub(super) fn flush_deltas(
        &mut self,
        writes: &mut Vec<Deferred>,
    ) -> Result<(), ProjectionError> {
        let deltas = self.cache.take_deltas();
        if deltas.is_empty() {
            return Ok(());
        }
        let mut columns: [Vec<i64>; 4] = Default::default();
        for (key_id, hlc, seq, delta) in deltas {
            columns[0].push(key_id);
            columns[1].push(hlc);
            columns[2].push(seq);
            columns[3].push(delta);
        }
        let [key_id, hlc, seq, delta] = columns;
        writes.push(Deferred::new(
            "INSERT INTO stock_deltas (key_id, hlc, event_seq, delta)
             SELECT * FROM unnest($1::BIGINT[], $2::BIGINT[], $3::BIGINT[], $4::BIGINT[])",
            vec![
                Box::new(key_id),
                Box::new(hlc),
                Box::new(seq),
                Box::new(delta),
            ],
        ));
        Ok(())
    }
}
