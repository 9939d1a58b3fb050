//! [`SqlLedger`]: the core's `Ledger` trait over a SQLite connection (inside a transaction).
//!
//! Each method is one or two prepared, cached statements. Stock keys get an integer
//! `key_id`, cached per ledger so a scan touching one key looks it up once; the device
//! store carries that cache from one committed transaction to the next.
//!
//! Key states and stock deltas are written behind (`crate::write_behind`, shared with the
//! PostgreSQL ledger): within one ledger (one transaction), a key's state is read from
//! SQLite once and kept in memory, and the state of every key the transaction changed is
//! written once, with the transaction's deltas, by [`SqlLedger::finish`], which the caller
//! must run before committing. The deltas go in multi-row inserts; inside the transaction,
//! [`Ledger::sum_deltas_after`] adds the pending deltas to what the table holds.

use super::columns::{key_at, lot_to_sql, uuid_at};
use crate::columns::{
    count_decision_from_sql, count_decision_to_sql, count_status_from_sql,
    review_decision_from_sql, review_decision_to_sql,
};
use crate::write_behind::WriteBehind;
use crate::KeyIds;
use crate::ProjectionError;
use aisle_core::ids::{DeviceId, EventId, PickListId, UserId};
use aisle_core::stock::{
    Baseline, Claim, CountRecord, CountTask, Discrepancy, EventOrder, KeyState, Ledger,
    PickLineState, ReviewRecord, StockKey,
};
use aisle_core::Hlc;
use rusqlite::{Connection, OptionalExtension, Row};

fn order_at(row: &Row<'_>, hlc: usize, device: usize, id: usize) -> rusqlite::Result<EventOrder> {
    Ok(EventOrder {
        hlc: Hlc::from_packed(row.get(hlc)?),
        device: DeviceId::from_uuid(uuid_at(row, device)?),
        id: EventId::from_uuid(uuid_at(row, id)?),
    })
}

fn corrupt(what: &str, value: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Text,
        format!("bad {what}: {value:?}").into(),
    )
}

/// Rows per multi-row `INSERT INTO stock_deltas` when the pending deltas are written.
const DELTA_ROWS_PER_INSERT: usize = 50;

/// The rules' state in the projection's tables of one SQLite database (a device store or a
/// tenant database).
#[derive(Debug)]
pub struct SqlLedger<'c> {
    conn: &'c Connection,
    cache: WriteBehind,
}

impl<'c> SqlLedger<'c> {
    /// Wraps a connection; callers run it inside a transaction.
    pub fn new(conn: &'c Connection) -> Self {
        Self::with_key_ids(conn, KeyIds::default())
    }

    /// Wraps a connection with key ids already known from earlier, committed
    /// transactions. Only ids whose `stock_keys` rows are committed may be passed in.
    pub fn with_key_ids(conn: &'c Connection, key_ids: KeyIds) -> Self {
        Self {
            conn,
            cache: WriteBehind::with_key_ids(key_ids),
        }
    }

    /// Says that the event about to be applied is row `seq` of `events`, which saves
    /// looking it up: stock deltas are keyed by that row. Optional; every event applied
    /// must already be in `events` either way.
    pub fn applying(&mut self, event: EventId, seq: i64) {
        self.cache.applying(event, seq);
    }

    /// The `events.seq` of an event that is in the log: the one being applied (see
    /// [`SqlLedger::applying`]) without a lookup, any other looked up.
    fn event_seq(&self, event: EventId) -> Result<i64, ProjectionError> {
        if let Some(seq) = self.cache.current_seq(event) {
            return Ok(seq);
        }
        let seq: i64 = self
            .conn
            .prepare_cached("SELECT seq FROM events WHERE id = ?1")?
            .query_row([event.as_bytes()], |row| row.get(0))
            .optional()?
            .ok_or_else(|| {
                ProjectionError::Invalid(format!("event {event} is applied before it is logged"))
            })?;
        Ok(seq)
    }

    /// Writes what the ledger holds back (the changed key states and the pending deltas)
    /// and returns the key ids it knows, to carry into the next transaction once this one
    /// has committed (a rolled-back transaction's ids must be dropped instead). Run it
    /// before committing: without it the transaction commits events without their
    /// projection.
    pub fn finish(mut self) -> Result<KeyIds, ProjectionError> {
        self.flush_states()?;
        self.flush_deltas()?;
        Ok(self.cache.key_ids)
    }

    fn flush_states(&mut self) -> Result<(), ProjectionError> {
        let dirty = self.cache.take_dirty_states();
        let mut upsert = self.conn.prepare_cached(
            "INSERT INTO key_states (key_id, on_hand, baseline_hlc, baseline_seq, baseline_qty) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (key_id) DO UPDATE SET on_hand = excluded.on_hand, baseline_hlc = excluded.baseline_hlc,
               baseline_seq = excluded.baseline_seq, baseline_qty = excluded.baseline_qty",
        )?;
        for (key_id, state, baseline_seq) in dirty {
            let baseline = state.baseline.as_ref();
            upsert.execute((
                key_id,
                state.on_hand,
                baseline.map(|b| b.order.hlc.to_packed()),
                baseline_seq,
                baseline.map(|b| b.qty),
            ))?;
        }
        Ok(())
    }

    fn flush_deltas(&mut self) -> Result<(), ProjectionError> {
        let deltas = self.cache.take_deltas();
        let mut chunks = deltas.chunks_exact(DELTA_ROWS_PER_INSERT);
        if chunks.len() > 0 {
            let placeholders = vec!["(?, ?, ?, ?)"; DELTA_ROWS_PER_INSERT].join(", ");
            let mut insert = self.conn.prepare_cached(&format!(
                "INSERT INTO stock_deltas (key_id, hlc, event_seq, delta) VALUES {placeholders}"
            ))?;
            for chunk in chunks.by_ref() {
                let params: Vec<i64> = chunk
                    .iter()
                    .flat_map(|&(key_id, hlc, seq, delta)| [key_id, hlc, seq, delta])
                    .collect();
                insert.execute(rusqlite::params_from_iter(params))?;
            }
        }
        let mut insert = self.conn.prepare_cached(
            "INSERT INTO stock_deltas (key_id, hlc, event_seq, delta) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for row in chunks.remainder() {
            insert.execute(*row)?;
        }
        Ok(())
    }

    fn key_id(&mut self, key: &StockKey, create: bool) -> Result<Option<i64>, ProjectionError> {
        if let Some(id) = self.cache.key_ids.get(key) {
            return Ok(Some(*id));
        }
        let params = (
            key.warehouse.as_bytes(),
            key.location.as_bytes(),
            key.item.as_bytes(),
            lot_to_sql(&key.lot),
        );
        if create {
            self.conn
                .prepare_cached(
                    "INSERT INTO stock_keys (warehouse, location, item, lot) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (warehouse, location, item, lot) DO NOTHING",
                )?
                .execute(params)?;
        }
        let id: Option<i64> = self
            .conn
            .prepare_cached("SELECT key_id FROM stock_keys WHERE warehouse = ?1 AND location = ?2 AND item = ?3 AND lot = ?4")?
            .query_row(params, |row| row.get(0))
            .optional()?;
        if let Some(id) = id {
            self.cache.key_ids.insert(key.clone(), id);
        }
        Ok(id)
    }
}

const COUNT_COLUMNS: &str =
    "c.hlc, c.device, c.event_id, c.user_id, c.counted_qty, c.system_qty, c.decision, c.status,
     k.warehouse, k.location, k.item, k.lot";

fn count_at(row: &Row<'_>) -> rusqlite::Result<CountRecord> {
    let decision: String = row.get(6)?;
    let status: String = row.get(7)?;
    Ok(CountRecord {
        order: order_at(row, 0, 1, 2)?,
        user: UserId::from_uuid(uuid_at(row, 3)?),
        counted_qty: row.get(4)?,
        system_qty: row.get(5)?,
        decision: count_decision_from_sql(&decision)
            .ok_or_else(|| corrupt("count decision", &decision))?,
        status: count_status_from_sql(&status).ok_or_else(|| corrupt("count status", &status))?,
        key: key_at(row, 8)?,
    })
}

impl Ledger for SqlLedger<'_> {
    type Error = ProjectionError;

    fn key_state(&mut self, key: &StockKey) -> Result<Option<KeyState>, ProjectionError> {
        let Some(key_id) = self.key_id(key, false)? else {
            return Ok(None);
        };
        if let Some(state) = self.cache.state(key_id) {
            return Ok(Some(state));
        }
        // The baseline's device and id come from its row in `events`.
        let read = self
            .conn
            .prepare_cached(
                "SELECT s.on_hand, s.baseline_hlc, e.device, e.id, s.baseline_qty, s.baseline_seq
                 FROM key_states s LEFT JOIN events e ON e.seq = s.baseline_seq WHERE s.key_id = ?1",
            )?
            .query_row([key_id], |row| {
                let baseline_seq: Option<i64> = row.get(5)?;
                let baseline = match baseline_seq {
                    None => None,
                    Some(_) => Some(Baseline { order: order_at(row, 1, 2, 3)?, qty: row.get(4)? }),
                };
                Ok((KeyState { baseline, on_hand: row.get(0)? }, baseline_seq))
            })
            .optional()?;
        // A key with no state row has nothing on hand and no baseline yet.
        Ok(Some(self.cache.read(key_id, read)))
    }

    fn put_key_state(&mut self, key: &StockKey, state: &KeyState) -> Result<(), ProjectionError> {
        let key_id = self.key_id(key, true)?.expect("created");
        let baseline_seq = match self.cache.baseline_seq(key_id, state) {
            Ok(known) => known,
            Err(count) => Some(self.event_seq(count)?),
        };
        self.cache.put(key_id, *state, baseline_seq);
        Ok(())
    }

    fn add_delta(
        &mut self,
        key: &StockKey,
        order: &EventOrder,
        delta: i64,
    ) -> Result<(), ProjectionError> {
        let key_id = self.key_id(key, true)?.expect("created");
        let seq = self.event_seq(order.id)?;
        self.cache.add_delta(key_id, *order, seq, delta);
        Ok(())
    }

    fn sum_deltas_after(
        &mut self,
        key: &StockKey,
        after: Option<&EventOrder>,
    ) -> Result<i64, ProjectionError> {
        let Some(key_id) = self.key_id(key, false)? else {
            return Ok(0);
        };
        // This transaction's deltas, not inserted yet, count as much as the table's.
        let pending = self.cache.pending_sum(key_id, after);
        let stored: i64 = match after {
            None => self
                .conn
                .prepare_cached(
                    "SELECT COALESCE(SUM(delta), 0) FROM stock_deltas WHERE key_id = ?1",
                )?
                .query_row([key_id], |row| row.get(0))?,
            // Rows are keyed by hlc and event row; only a row with the same hlc as `after`
            // needs its event's device and id to place it in the event order.
            Some(after) => self
                .conn
                .prepare_cached(
                    "SELECT COALESCE(SUM(d.delta), 0) FROM stock_deltas d
                     WHERE d.key_id = ?1 AND d.hlc >= ?2
                       AND (d.hlc > ?2 OR (SELECT (e.device, e.id) > (?3, ?4) FROM events e WHERE e.seq = d.event_seq))",
                )?
                .query_row(
                    (
                        key_id,
                        after.hlc.to_packed(),
                        after.device.as_bytes(),
                        after.id.as_bytes(),
                    ),
                    |row| row.get(0),
                )?,
        };
        Ok(stored + pending)
    }

    fn count(&mut self, counted: EventId) -> Result<Option<CountRecord>, ProjectionError> {
        let sql = format!("SELECT {COUNT_COLUMNS} FROM counts c JOIN stock_keys k USING (key_id) WHERE c.event_id = ?1");
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_row([counted.as_bytes()], count_at)
            .optional()?)
    }

    fn put_count(&mut self, count: &CountRecord) -> Result<(), ProjectionError> {
        let key_id = self.key_id(&count.key, true)?.expect("created");
        self.conn
            .prepare_cached(
                "INSERT INTO counts (event_id, key_id, hlc, device, user_id, counted_qty, system_qty, decision, status)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT (event_id) DO UPDATE SET status = excluded.status",
            )?
            .execute((
                count.order.id.as_bytes(),
                key_id,
                count.order.hlc.to_packed(),
                count.order.device.as_bytes(),
                count.user.as_bytes(),
                count.counted_qty,
                count.system_qty,
                count_decision_to_sql(count.decision),
                count.status.as_str(),
            ))?;
        Ok(())
    }

    fn latest_count(
        &mut self,
        key: &StockKey,
        approved_only: bool,
    ) -> Result<Option<CountRecord>, ProjectionError> {
        let Some(key_id) = self.key_id(key, false)? else {
            return Ok(None);
        };
        let statuses = if approved_only {
            "('approved')"
        } else {
            "('approved', 'pending_review')"
        };
        let sql = format!(
            "SELECT {COUNT_COLUMNS} FROM counts c JOIN stock_keys k USING (key_id)
             WHERE c.key_id = ?1 AND c.status IN {statuses}
             ORDER BY c.hlc DESC, c.device DESC, c.event_id DESC LIMIT 1"
        );
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_row([key_id], count_at)
            .optional()?)
    }

    fn add_review(&mut self, review: &ReviewRecord) -> Result<(), ProjectionError> {
        self.conn
            .prepare_cached(
                "INSERT INTO count_reviews (event_id, counted, hlc, device, user_id, decision) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute((
                review.order.id.as_bytes(),
                review.counted.as_bytes(),
                review.order.hlc.to_packed(),
                review.order.device.as_bytes(),
                review.user.as_bytes(),
                review_decision_to_sql(review.decision),
            ))?;
        Ok(())
    }

    fn reviews(&mut self, counted: EventId) -> Result<Vec<ReviewRecord>, ProjectionError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT hlc, device, event_id, user_id, decision FROM count_reviews WHERE counted = ?1",
        )?;
        let rows = statement.query_map([counted.as_bytes()], |row| {
            let decision: String = row.get(4)?;
            Ok(ReviewRecord {
                counted,
                order: order_at(row, 0, 1, 2)?,
                user: UserId::from_uuid(uuid_at(row, 3)?),
                decision: review_decision_from_sql(&decision)
                    .ok_or_else(|| corrupt("review decision", &decision))?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn pick_line(
        &mut self,
        pick_list: PickListId,
        line: u32,
    ) -> Result<Option<PickLineState>, ProjectionError> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT picked_total, line_qty, line_qty_hlc, line_qty_device, line_qty_event
                 FROM pick_line_progress WHERE pick_list = ?1 AND line = ?2",
            )?
            .query_row((pick_list.as_bytes(), line), |row| {
                Ok(PickLineState {
                    picked_total: row.get(0)?,
                    line_qty: row.get(1)?,
                    line_qty_order: order_at(row, 2, 3, 4)?,
                })
            })
            .optional()?)
    }

    fn put_pick_line(
        &mut self,
        pick_list: PickListId,
        line: u32,
        state: &PickLineState,
    ) -> Result<(), ProjectionError> {
        self.conn
            .prepare_cached(
                "INSERT INTO pick_line_progress (pick_list, line, picked_total, line_qty, line_qty_hlc, line_qty_device, line_qty_event)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (pick_list, line) DO UPDATE SET picked_total = excluded.picked_total, line_qty = excluded.line_qty,
                   line_qty_hlc = excluded.line_qty_hlc, line_qty_device = excluded.line_qty_device,
                   line_qty_event = excluded.line_qty_event",
            )?
            .execute((
                pick_list.as_bytes(),
                line,
                state.picked_total,
                state.line_qty,
                state.line_qty_order.hlc.to_packed(),
                state.line_qty_order.device.as_bytes(),
                state.line_qty_order.id.as_bytes(),
            ))?;
        Ok(())
    }

    fn add_claim(&mut self, claim: &Claim) -> Result<(), ProjectionError> {
        self.conn
            .prepare_cached("INSERT INTO pick_claims (event_id, pick_list, hlc, device, user_id) VALUES (?1, ?2, ?3, ?4, ?5)")?
            .execute((
                claim.order.id.as_bytes(),
                claim.pick_list.as_bytes(),
                claim.order.hlc.to_packed(),
                claim.order.device.as_bytes(),
                claim.user.as_bytes(),
            ))?;
        Ok(())
    }

    fn claims(&mut self, pick_list: PickListId) -> Result<Vec<Claim>, ProjectionError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT hlc, device, event_id, user_id FROM pick_claims WHERE pick_list = ?1",
        )?;
        let rows = statement.query_map([pick_list.as_bytes()], |row| {
            Ok(Claim {
                order: order_at(row, 0, 1, 2)?,
                pick_list,
                user: UserId::from_uuid(uuid_at(row, 3)?),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn count_tasks(&mut self, key: &StockKey) -> Result<Vec<CountTask>, ProjectionError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT detail, is_open FROM tasks WHERE warehouse = ?1 AND location = ?2 AND item = ?3 AND lot = ?4",
        )?;
        let rows = statement.query_map(
            (
                key.warehouse.as_bytes(),
                key.location.as_bytes(),
                key.item.as_bytes(),
                lot_to_sql(&key.lot),
            ),
            |row| Ok((row.get::<_, String>(0)?, row.get::<_, bool>(1)?)),
        )?;
        let mut tasks = Vec::new();
        for row in rows {
            let (detail, open) = row?;
            let mut task: CountTask = serde_json::from_str(&detail)?;
            task.open = open;
            tasks.push(task);
        }
        Ok(tasks)
    }

    fn put_task(&mut self, task: &CountTask) -> Result<(), ProjectionError> {
        let detail = serde_json::to_string(task)
            .map_err(|error| ProjectionError::Invalid(error.to_string()))?;
        self.conn
            .prepare_cached(
                "INSERT INTO tasks (id, warehouse, location, item, lot, kind, is_open, detail)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (id) DO UPDATE SET is_open = excluded.is_open, detail = excluded.detail",
            )?
            .execute((
                task.id.as_bytes(),
                task.key.warehouse.as_bytes(),
                task.key.location.as_bytes(),
                task.key.item.as_bytes(),
                lot_to_sql(&task.key.lot),
                task.reason.as_str(),
                task.open,
                detail,
            ))?;
        Ok(())
    }

    fn open_discrepancy(&mut self, discrepancy: &Discrepancy) -> Result<(), ProjectionError> {
        let detail = serde_json::to_string(discrepancy)
            .map_err(|error| ProjectionError::Invalid(error.to_string()))?;
        self.conn
            .prepare_cached(
                "INSERT INTO discrepancies (id, warehouse, kind, is_open, detail) VALUES (?1, ?2, ?3, 1, ?4)
                 ON CONFLICT (id) DO UPDATE SET is_open = 1, detail = excluded.detail",
            )?
            .execute((&discrepancy.id, discrepancy.warehouse.as_bytes(), discrepancy.kind.as_str(), detail))?;
        Ok(())
    }

    fn resolve_discrepancy(&mut self, id: &str) -> Result<(), ProjectionError> {
        self.conn
            .prepare_cached("UPDATE discrepancies SET is_open = 0 WHERE id = ?1")?
            .execute([id])?;
        Ok(())
    }

    fn discrepancy_open(&mut self, id: &str) -> Result<bool, ProjectionError> {
        Ok(self
            .conn
            .prepare_cached("SELECT is_open FROM discrepancies WHERE id = ?1")?
            .query_row([id], |row| row.get::<_, i64>(0))
            .optional()?
            == Some(1))
    }
}
