//! [`PgLedger`]: the core's `Ledger` trait over a PostgreSQL transaction, with exactly the
//! semantics of [`SqlLedger`](crate::sqlite::SqlLedger) over the same tables
//! (`migrations/projection/pg/`).
//!
//! Every call is at most one statement round trip, and most are none. What the rules read
//! and write over and over within a batch is held in memory and written back by
//! [`PgLedger::finish`], one statement per table whatever the batch's size (arrays,
//! `unnest`): key ids, key states and stock deltas (the write-behind cache shared with
//! SQLite, `crate::write_behind`), and here also discrepancies, count tasks, pick-line
//! progress and the counts of the keys it holds. [`PgLedger::prefetch`] reads, one
//! statement per table, what a batch will ask about: its keys' ids and states, its pick
//! lines, its counts' reviews, and every count and count task of the keys it counts or
//! reviews. With it a movement costs no round trip and a count one (`sum_deltas_after`,
//! whose rows are the key's whole history). Without it, each key, line or count is read the
//! first time it is needed, by its columns inside the statement that needs it. The other
//! round trips: creating a key the database has never seen (which also tells the ledger that
//! it has no state and no counts; none after [`PgLedger::create_absent_keys`]), a review or a claim (written at once), claims read for a
//! claim, and a baseline or delta of an event that was not announced in this transaction
//! (see [`PgLedger::applying`]), whose `events.seq` is looked up.

use crate::checksum::event_keys;
use crate::columns::{
    corrupt, count_decision_from_sql, count_decision_to_sql, count_status_from_sql, lot_from_sql,
    lot_to_sql, review_decision_from_sql, review_decision_to_sql,
};
use crate::write_behind::WriteBehind;
use crate::KeyIds;
use crate::ProjectionError;
use aisle_core::ids::{DeviceId, EventId, ItemId, LocationId, PickListId, UserId, WarehouseId};
use aisle_core::stock::{
    Baseline, Claim, CountRecord, CountStatus, CountTask, Discrepancy, EventOrder, KeyState,
    Ledger, PickLineState, ReviewRecord, StockKey,
};
use aisle_core::{Event, Hlc};
use aisle_pg::{PgTx, Row, ToSql};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

mod flush;
mod prefetch;

/// A key's id, its state, and the `events.seq` of its baseline count (if it has one), as
/// [`PgLedger::finish_with_states`] answers them and [`PgLedger::seed_keys`] takes them.
pub type KnownKey = (i64, KeyState, Option<i64>);

/// Reads an event order from three columns: hlc, device, event id.
pub(crate) fn order_at(row: &Row, hlc: usize, device: usize, id: usize) -> EventOrder {
    EventOrder {
        hlc: Hlc::from_packed(row.get(hlc)),
        device: DeviceId::from_uuid(row.get(device)),
        id: EventId::from_uuid(row.get(id)),
    }
}

/// Reads a stock key from four consecutive columns: warehouse, location, item, lot.
pub(crate) fn key_at(row: &Row, first: usize) -> StockKey {
    StockKey {
        warehouse: WarehouseId::from_uuid(row.get(first)),
        location: LocationId::from_uuid(row.get(first + 1)),
        item: ItemId::from_uuid(row.get(first + 2)),
        lot: lot_from_sql(row.get(first + 3)),
    }
}

/// Reads a key's state from six consecutive columns: on_hand, baseline hlc, the baseline
/// event's device and id (from its `events` row), baseline qty and seq; `None` when
/// `on_hand` is NULL (the key has no `key_states` row: nothing on hand, no baseline).
pub(crate) fn state_at(row: &Row, first: usize) -> Option<(KeyState, Option<i64>)> {
    let on_hand: Option<i64> = row.get(first);
    on_hand.map(|on_hand| {
        let baseline_seq: Option<i64> = row.get(first + 5);
        let baseline = baseline_seq.map(|_| Baseline {
            order: order_at(row, first + 1, first + 2, first + 3),
            qty: row.get(first + 4),
        });
        (KeyState { baseline, on_hand }, baseline_seq)
    })
}

/// A stock key's four columns, as values to pass as parameters.
#[derive(PartialEq, Eq)]
pub(crate) struct KeyColumns<'k> {
    warehouse: Uuid,
    location: Uuid,
    item: Uuid,
    lot: &'k str,
}

impl<'k> KeyColumns<'k> {
    pub(crate) fn of(key: &'k StockKey) -> Self {
        Self {
            warehouse: *key.warehouse.as_uuid(),
            location: *key.location.as_uuid(),
            item: *key.item.as_uuid(),
            lot: lot_to_sql(&key.lot),
        }
    }

    /// The columns as four parameters, in the order warehouse, location, item, lot.
    pub(crate) fn params(&self) -> [&(dyn ToSql + Sync); 4] {
        [&self.warehouse, &self.location, &self.item, &self.lot]
    }
}

/// The filter that finds a key's `stock_keys` row (as `k`) by its columns, `$1..$4`.
const BY_COLUMNS: &str = "k.warehouse = $1 AND k.location = $2 AND k.item = $3 AND k.lot = $4";

/// How a statement finds its stock key: by the cached id, or by the key's columns.
enum KeyRef<'k> {
    Id(i64),
    Columns(KeyColumns<'k>),
}

impl KeyRef<'_> {
    /// The filter on `k` (a `stock_keys` row) and its parameters, which come first.
    fn filter(&self) -> (&'static str, Vec<&(dyn ToSql + Sync)>) {
        match self {
            KeyRef::Id(id) => ("k.key_id = $1", vec![id]),
            KeyRef::Columns(columns) => (BY_COLUMNS, columns.params().to_vec()),
        }
    }

    /// The number of the first parameter after the key's.
    fn next_param(&self) -> usize {
        match self {
            KeyRef::Id(_) => 2,
            KeyRef::Columns(_) => 5,
        }
    }
}

/// The rules' state in the projection's tables of one PostgreSQL tenant database.
pub struct PgLedger<'t> {
    tx: &'t PgTx<'t>,
    cache: WriteBehind,
    /// Keys that [`PgLedger::prefetch`] found the database without, until this ledger
    /// creates them: asking about them again needs no round trip.
    absent: HashSet<StockKey>,
    /// Discrepancies opened or resolved in this transaction, written at `finish`. Nothing
    /// reads `discrepancies` through the ledger, so only their end state matters: a pick on
    /// a key below zero re-opens its `negative_stock` with a new quantity every time.
    discrepancies: HashMap<String, PendingDiscrepancy>,
    /// Count tasks put in this transaction, by id, written at `finish`; `count_tasks`
    /// answers with them in place of the rows they replace.
    tasks: HashMap<aisle_core::ids::TaskId, CountTask>,
    /// Pick lines read (`None`: no progress row) or put in this transaction, and whether
    /// each was put; the ones put are written at `finish`.
    pick_lines: HashMap<(PickListId, u32), (Option<PickLineState>, bool)>,
    /// The reviews of counts that [`PgLedger::prefetch`] read, with those added since.
    reviews: HashMap<EventId, Vec<ReviewRecord>>,
    /// Every count of the keys whose counts this ledger holds (read by prefetch, or none
    /// yet because this ledger created the key), as put last, by key id. A count put on
    /// such a key is written at `finish`; on any other key at once.
    counts: HashMap<i64, Vec<CountRecord>>,
    /// The counts put on those keys in this transaction.
    counts_put: HashSet<EventId>,
    /// The count tasks stored for keys whose counts this ledger holds, by key id, as read by
    /// prefetch (the ones put since are in `tasks`).
    stored_tasks: HashMap<i64, Vec<CountTask>>,
    /// The `events.seq` of every event announced with [`PgLedger::applying`] in this
    /// transaction. A caller that writes its log rows in bulk at the end of the transaction
    /// (the server's push) has not written them yet when a later event of the same batch
    /// names one of them, e.g. a review's baseline count.
    announced: HashMap<EventId, i64>,
    /// Keys [`PgLedger::create_absent_keys`] created ahead, by id, that the rules have not
    /// asked to create yet. Until they do, the key stays in `absent` (it has no state, no
    /// deltas and no counts); [`PgLedger::finish`] deletes the ones never asked for.
    created_ahead: HashSet<i64>,
}

/// A discrepancy's end state in this transaction: opened (with what it was opened with
/// last) and then perhaps resolved, or only resolved.
#[derive(Debug)]
struct PendingDiscrepancy {
    opened: Option<(Uuid, &'static str, String)>,
    open: bool,
}

impl std::fmt::Debug for PgLedger<'_> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("PgLedger")
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

impl<'t> PgLedger<'t> {
    /// Wraps a transaction.
    pub fn new(tx: &'t PgTx<'t>) -> Self {
        Self::with_key_ids(tx, KeyIds::default())
    }

    /// Wraps a transaction with key ids already known from earlier, committed transactions.
    /// Only ids whose `stock_keys` rows are committed may be passed in, and only while no
    /// replay ([`super::rules::replay`]) has renumbered the keys since: with several server
    /// instances on one database, prefer [`PgLedger::new`] per transaction.
    pub fn with_key_ids(tx: &'t PgTx<'t>, key_ids: KeyIds) -> Self {
        Self {
            tx,
            cache: WriteBehind::with_key_ids(key_ids),
            absent: HashSet::new(),
            discrepancies: HashMap::new(),
            tasks: HashMap::new(),
            pick_lines: HashMap::new(),
            reviews: HashMap::new(),
            counts: HashMap::new(),
            counts_put: HashSet::new(),
            stored_tasks: HashMap::new(),
            announced: HashMap::new(),
            created_ahead: HashSet::new(),
        }
    }

    /// Says that the event about to be applied is row `seq` of `events`, which saves
    /// looking it up: stock deltas and baselines are keyed by that row. The ledger remembers
    /// it for the rest of the transaction, so an event announced here may be written to
    /// `events` later in the same transaction, before it commits (the server's push appends
    /// its batch's log rows in one statement at the end). An event applied without being
    /// announced must already be in `events`.
    pub fn applying(&mut self, event: EventId, seq: i64) {
        self.cache.applying(event, seq);
        self.announced.insert(event, seq);
    }

    /// Writes what the ledger holds back (the changed key states and the pending deltas, one
    /// statement each, sent together) and returns the key ids it knows, to carry into the
    /// next transaction once this one has committed. Run it before committing: without it
    /// the transaction commits events without their projection.
    pub fn finish(self) -> Result<KeyIds, ProjectionError> {
        Ok(self.finish_with_states()?.0)
    }

    /// [`PgLedger::finish`], answering also every key state the ledger holds (read, seeded
    /// or written in this transaction) with its key id: once the transaction has committed,
    /// what the tables hold for those keys. Another transaction may pass them to
    /// [`PgLedger::seed_keys`] for as long as nothing else has written the tables since.
    pub fn finish_with_states(self) -> Result<(KeyIds, Vec<KnownKey>), ProjectionError> {
        let tx = self.tx;
        let (writes, key_ids, states) = self.finish_deferred()?;
        tx.run_deferred(&writes)?;
        Ok((key_ids, states))
    }

    /// [`PgLedger::finish_with_states`] without running its writes: the statements that
    /// finish the ledger, in the order they must run, for the caller to send in one pipeline
    /// with its own writes (before them, what they refer to; after them, what must follow
    /// the projection's last write). The key ids and states hold once they have run and the
    /// transaction has committed.
    pub fn finish_deferred(
        mut self,
    ) -> Result<(Vec<aisle_pg::Deferred>, KeyIds, Vec<KnownKey>), ProjectionError> {
        let mut writes = Vec::new();
        self.drop_unused_keys(&mut writes);
        self.flush_states(&mut writes)?;
        self.flush_deltas(&mut writes)?;
        self.flush_discrepancies(&mut writes)?;
        self.flush_tasks(&mut writes)?;
        self.flush_pick_lines(&mut writes)?;
        self.flush_counts(&mut writes)?;
        // The states of the keys that stay (not of those dropped above as unused).
        let states = self
            .cache
            .key_ids
            .values()
            .filter_map(|key_id| self.cache.state_row(*key_id))
            .collect();
        Ok((writes, self.cache.key_ids, states))
    }

    /// Tells the ledger the ids and states of the keys `events` touch, as `known` has them,
    /// so that [`PgLedger::prefetch`] reads only the others. `known` must answer what the
    /// committed tables hold for the key (a state from [`PgLedger::finish_with_states`] of a
    /// committed transaction, while no other writer has written `stock_keys` or `key_states`
    /// since), or `None`; a key this ledger holds already is left as it is.
    pub fn seed_keys<'e>(
        &mut self,
        events: impl IntoIterator<Item = &'e Event>,
        known: impl Fn(&StockKey) -> Option<KnownKey>,
    ) {
        for key in events.into_iter().flat_map(event_keys) {
            let held = self
                .cache
                .key_ids
                .get(&key)
                .is_some_and(|id| self.cache.state(*id).is_some());
            if held {
                continue;
            }
            if let Some((key_id, state, baseline_seq)) = known(&key) {
                if self.cache.state(key_id).is_none() {
                    self.cache.read(key_id, Some((state, baseline_seq)));
                }
                self.cache.key_ids.insert(key, key_id);
            }
        }
    }

    /// The `events.seq` of an event that is in the log: one announced in this transaction
    /// (see [`PgLedger::applying`]) without a lookup, any other looked up.
    fn event_seq(&self, event: EventId) -> Result<i64, ProjectionError> {
        if let Some(seq) = self.cache.current_seq(event) {
            return Ok(seq);
        }
        if let Some(seq) = self.announced.get(&event) {
            return Ok(*seq);
        }
        let row = self
            .tx
            .query_opt("SELECT seq FROM events WHERE id = $1", &[event.as_uuid()])?
            .ok_or_else(|| {
                ProjectionError::Invalid(format!("event {event} is applied before it is logged"))
            })?;
        Ok(row.get(0))
    }

    /// How statements find `key`: by its cached id when known.
    fn key_ref<'k>(&self, key: &'k StockKey) -> KeyRef<'k> {
        match self.cache.key_ids.get(key) {
            Some(id) => KeyRef::Id(*id),
            None => KeyRef::Columns(KeyColumns::of(key)),
        }
    }

    /// The key's id, creating its `stock_keys` row if the database has none.
    fn create_key(&mut self, key: &StockKey) -> Result<i64, ProjectionError> {
        if let Some(id) = self.cache.key_ids.get(key).copied() {
            if self.created_ahead.remove(&id) {
                // Created ahead by this transaction, and wanted now: from here on it is a
                // key this ledger created, with no state and no counts.
                self.forget_absent(key);
                self.cache.read(id, None);
                self.counts.entry(id).or_default();
            }
            return Ok(id);
        }
        // One round trip: the new row's id, or the existing row's. Pushes to one database
        // are serialised, so no other transaction creates the same key meanwhile; if one
        // did, the insert waits for it and finds nothing to answer, and the key is read again.
        let columns = KeyColumns::of(key);
        let params = columns.params();
        let created = self.tx.query_opt(
            "WITH created AS (
                 INSERT INTO stock_keys (warehouse, location, item, lot) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (warehouse, location, item, lot) DO NOTHING RETURNING key_id)
             SELECT key_id, TRUE FROM created
             UNION ALL SELECT k.key_id, FALSE FROM stock_keys k WHERE k.warehouse = $1 AND k.location = $2 AND k.item = $3 AND k.lot = $4",
            &params,
        )?;
        let (id, inserted): (i64, bool) = match created {
            Some(row) => (row.get(0), row.get(1)),
            None => (
                self.tx
                    .query_one(
                        &format!("SELECT k.key_id FROM stock_keys k WHERE {BY_COLUMNS}"),
                        &params,
                    )?
                    .get(0),
                false,
            ),
        };
        self.forget_absent(key);
        self.cache.key_ids.insert(key.clone(), id);
        // A key this statement created has no state row (nothing on hand, no baseline) and
        // no counts.
        if inserted {
            if self.cache.state(id).is_none() {
                self.cache.read(id, None);
            }
            self.counts.entry(id).or_default();
        }
        Ok(id)
    }

    /// The key exists now, under every spelling of it (a lot of "" is no lot).
    fn forget_absent(&mut self, key: &StockKey) {
        if !self.absent.is_empty() {
            let stored = KeyColumns::of(key);
            self.absent
                .retain(|absent| KeyColumns::of(absent) != stored);
        }
    }

    /// Caches a key's id read back from a statement that found it by its columns.
    fn learn_key(&mut self, key: &StockKey, id: i64) {
        self.cache.key_ids.entry(key.clone()).or_insert(id);
    }
}

pub(crate) const COUNT_COLUMNS: &str =
    "c.hlc, c.device, c.event_id, c.user_id, c.counted_qty, c.system_qty, c.decision, c.status,
     k.warehouse, k.location, k.item, k.lot, k.key_id";

pub(crate) fn count_at(row: &Row) -> Result<CountRecord, ProjectionError> {
    let decision: &str = row.get(6);
    let status: &str = row.get(7);
    Ok(CountRecord {
        order: order_at(row, 0, 1, 2),
        user: UserId::from_uuid(row.get(3)),
        counted_qty: row.get(4),
        system_qty: row.get(5),
        decision: count_decision_from_sql(decision)
            .ok_or_else(|| corrupt("count decision", decision))?,
        status: count_status_from_sql(status).ok_or_else(|| corrupt("count status", status))?,
        key: key_at(row, 8),
    })
}

/// Reads a review of `counted` from five columns: hlc, device, event id, user, decision.
pub(crate) fn review_at(row: &Row, counted: EventId) -> Result<ReviewRecord, ProjectionError> {
    let decision: &str = row.get(4);
    Ok(ReviewRecord {
        counted,
        order: order_at(row, 0, 1, 2),
        user: UserId::from_uuid(row.get(3)),
        decision: review_decision_from_sql(decision)
            .ok_or_else(|| corrupt("review decision", decision))?,
    })
}

impl Ledger for PgLedger<'_> {
    type Error = ProjectionError;

    fn key_state(&mut self, key: &StockKey) -> Result<Option<KeyState>, ProjectionError> {
        if self.absent.contains(key) {
            return Ok(None);
        }
        let key_ref = self.key_ref(key);
        if let KeyRef::Id(key_id) = key_ref {
            if let Some(state) = self.cache.state(key_id) {
                return Ok(Some(state));
            }
        }
        // The key's id and state, with the baseline's device and id from its row in
        // `events`; no row when the database has never seen the key.
        let (filter, params) = key_ref.filter();
        let Some(row) = self.tx.query_opt(
            &format!(
                "SELECT k.key_id, s.on_hand, s.baseline_hlc, e.device, e.id, s.baseline_qty, s.baseline_seq
                 FROM stock_keys k LEFT JOIN key_states s ON s.key_id = k.key_id
                 LEFT JOIN events e ON e.seq = s.baseline_seq WHERE {filter}"
            ),
            &params,
        )?
        else {
            return Ok(None);
        };
        let key_id: i64 = row.get(0);
        self.learn_key(key, key_id);
        Ok(Some(self.cache.read(key_id, state_at(&row, 1))))
    }

    fn put_key_state(&mut self, key: &StockKey, state: &KeyState) -> Result<(), ProjectionError> {
        let key_id = self.create_key(key)?;
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
        let key_id = self.create_key(key)?;
        let seq = self.event_seq(order.id)?;
        self.cache.add_delta(key_id, *order, seq, delta);
        Ok(())
    }

    fn sum_deltas_after(
        &mut self,
        key: &StockKey,
        after: Option<&EventOrder>,
    ) -> Result<i64, ProjectionError> {
        if self.absent.contains(key) {
            return Ok(0);
        }
        let key_ref = self.key_ref(key);
        let (filter, mut params) = key_ref.filter();
        let next = key_ref.next_param();
        // Rows are keyed by hlc and event row; only a row with the same hlc as `after` needs
        // its event's device and id to place it in the event order. SUM of BIGINT is NUMERIC
        // in PostgreSQL; the cast back fails rather than wraps, as SQLite's SUM does.
        let after_values;
        let deltas = match after {
            None => "d.key_id = k.key_id".to_owned(),
            Some(after) => {
                after_values = (after.hlc.to_packed(), after.device, after.id);
                params.push(&after_values.0);
                params.push(after_values.1.as_uuid());
                params.push(after_values.2.as_uuid());
                let (hlc, device, id) = (next, next + 1, next + 2);
                format!(
                    "d.key_id = k.key_id AND d.hlc >= ${hlc}::BIGINT
                     AND (d.hlc > ${hlc} OR (SELECT (e.device, e.id) > (${device}::uuid, ${id}::uuid) FROM events e WHERE e.seq = d.event_seq))"
                )
            }
        };
        let Some(row) = self.tx.query_opt(
            &format!(
                "SELECT k.key_id, (SELECT COALESCE(SUM(d.delta), 0)::BIGINT FROM stock_deltas d WHERE {deltas})
                 FROM stock_keys k WHERE {filter}"
            ),
            &params,
        )?
        else {
            // The database has never seen the key, so this transaction added nothing to it.
            return Ok(0);
        };
        let key_id: i64 = row.get(0);
        self.learn_key(key, key_id);
        let stored: i64 = row.get(1);
        // This transaction's deltas, not written yet, count as much as the table's.
        Ok(stored + self.cache.pending_sum(key_id, after))
    }

    fn count(&mut self, counted: EventId) -> Result<Option<CountRecord>, ProjectionError> {
        // A count on a key whose counts this ledger holds is among them; any other is only
        // in the table.
        if let Some(count) = self
            .counts
            .values()
            .flatten()
            .find(|count| count.order.id == counted)
        {
            return Ok(Some(count.clone()));
        }
        let row = self.tx.query_opt(
            &format!("SELECT {COUNT_COLUMNS} FROM counts c JOIN stock_keys k ON k.key_id = c.key_id WHERE c.event_id = $1"),
            &[counted.as_uuid()],
        )?;
        row.as_ref().map(count_at).transpose()
    }

    fn put_count(&mut self, count: &CountRecord) -> Result<(), ProjectionError> {
        let key_id = self.create_key(&count.key)?;
        if let Some(counts) = self.counts.get_mut(&key_id) {
            match counts
                .iter_mut()
                .find(|held| held.order.id == count.order.id)
            {
                // Only the status of a stored count changes.
                Some(held) => held.status = count.status,
                None => counts.push(count.clone()),
            }
            self.counts_put.insert(count.order.id);
            return Ok(());
        }
        self.tx.execute(
            "INSERT INTO counts (event_id, key_id, hlc, device, user_id, counted_qty, system_qty, decision, status)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (event_id) DO UPDATE SET status = excluded.status",
            &[
                count.order.id.as_uuid(),
                &key_id,
                &count.order.hlc.to_packed(),
                count.order.device.as_uuid(),
                count.user.as_uuid(),
                &count.counted_qty,
                &count.system_qty,
                &count_decision_to_sql(count.decision),
                &count.status.as_str(),
            ],
        )?;
        Ok(())
    }

    fn latest_count(
        &mut self,
        key: &StockKey,
        approved_only: bool,
    ) -> Result<Option<CountRecord>, ProjectionError> {
        if self.absent.contains(key) {
            return Ok(None);
        }
        if let Some(counts) = self
            .cache
            .key_ids
            .get(key)
            .and_then(|key_id| self.counts.get(key_id))
        {
            return Ok(counts
                .iter()
                .filter(|count| match count.status {
                    CountStatus::Approved => true,
                    CountStatus::PendingReview => !approved_only,
                    CountStatus::Rejected => false,
                })
                .max_by_key(|count| count.order)
                .cloned());
        }
        let key_ref = self.key_ref(key);
        let (filter, params) = key_ref.filter();
        let statuses = if approved_only {
            "('approved')"
        } else {
            "('approved', 'pending_review')"
        };
        let row = self.tx.query_opt(
            &format!(
                "SELECT {COUNT_COLUMNS} FROM counts c JOIN stock_keys k ON k.key_id = c.key_id
                 WHERE {filter} AND c.status IN {statuses}
                 ORDER BY c.hlc DESC, c.device DESC, c.event_id DESC LIMIT 1"
            ),
            &params,
        )?;
        let Some(row) = row else {
            return Ok(None);
        };
        self.learn_key(key, row.get(12));
        count_at(&row).map(Some)
    }

    fn add_review(&mut self, review: &ReviewRecord) -> Result<(), ProjectionError> {
        self.tx.execute(
            "INSERT INTO count_reviews (event_id, counted, hlc, device, user_id, decision) VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                review.order.id.as_uuid(),
                review.counted.as_uuid(),
                &review.order.hlc.to_packed(),
                review.order.device.as_uuid(),
                review.user.as_uuid(),
                &review_decision_to_sql(review.decision),
            ],
        )?;
        if let Some(reviews) = self.reviews.get_mut(&review.counted) {
            reviews.push(review.clone());
        }
        Ok(())
    }

    fn reviews(&mut self, counted: EventId) -> Result<Vec<ReviewRecord>, ProjectionError> {
        if let Some(reviews) = self.reviews.get(&counted) {
            return Ok(reviews.clone());
        }
        let rows = self.tx.query(
            "SELECT hlc, device, event_id, user_id, decision FROM count_reviews WHERE counted = $1",
            &[counted.as_uuid()],
        )?;
        rows.iter().map(|row| review_at(row, counted)).collect()
    }

    fn pick_line(
        &mut self,
        pick_list: PickListId,
        line: u32,
    ) -> Result<Option<PickLineState>, ProjectionError> {
        if let Some((state, _)) = self.pick_lines.get(&(pick_list, line)) {
            return Ok(*state);
        }
        let row = self.tx.query_opt(
            "SELECT picked_total, line_qty, line_qty_hlc, line_qty_device, line_qty_event
             FROM pick_line_progress WHERE pick_list = $1 AND line = $2",
            &[pick_list.as_uuid(), &i64::from(line)],
        )?;
        let state = row.map(|row| PickLineState {
            picked_total: row.get(0),
            line_qty: row.get(1),
            line_qty_order: order_at(&row, 2, 3, 4),
        });
        self.pick_lines.insert((pick_list, line), (state, false));
        Ok(state)
    }

    fn put_pick_line(
        &mut self,
        pick_list: PickListId,
        line: u32,
        state: &PickLineState,
    ) -> Result<(), ProjectionError> {
        self.pick_lines
            .insert((pick_list, line), (Some(*state), true));
        Ok(())
    }

    fn add_claim(&mut self, claim: &Claim) -> Result<(), ProjectionError> {
        self.tx.execute(
            "INSERT INTO pick_claims (event_id, pick_list, hlc, device, user_id) VALUES ($1, $2, $3, $4, $5)",
            &[
                claim.order.id.as_uuid(),
                claim.pick_list.as_uuid(),
                &claim.order.hlc.to_packed(),
                claim.order.device.as_uuid(),
                claim.user.as_uuid(),
            ],
        )?;
        Ok(())
    }

    fn claims(&mut self, pick_list: PickListId) -> Result<Vec<Claim>, ProjectionError> {
        let rows = self.tx.query(
            "SELECT hlc, device, event_id, user_id FROM pick_claims WHERE pick_list = $1",
            &[pick_list.as_uuid()],
        )?;
        Ok(rows
            .iter()
            .map(|row| Claim {
                order: order_at(row, 0, 1, 2),
                pick_list,
                user: UserId::from_uuid(row.get::<_, Uuid>(3)),
            })
            .collect())
    }

    fn count_tasks(&mut self, key: &StockKey) -> Result<Vec<CountTask>, ProjectionError> {
        let prefetched = self
            .cache
            .key_ids
            .get(key)
            .and_then(|key_id| self.stored_tasks.get(key_id))
            .cloned();
        let stored = match prefetched {
            Some(stored) => stored,
            None => {
                let rows = self.tx.query(
                    "SELECT detail, is_open FROM tasks WHERE warehouse = $1 AND location = $2 AND item = $3 AND lot = $4",
                    &KeyColumns::of(key).params(),
                )?;
                let mut stored = Vec::with_capacity(rows.len());
                for row in &rows {
                    let mut task: CountTask = serde_json::from_str(row.get(0))?;
                    task.open = row.get(1);
                    stored.push(task);
                }
                stored
            }
        };
        let mut tasks = Vec::with_capacity(stored.len());
        for mut task in stored {
            // A task put in this transaction is as it was put.
            if let Some(put) = self.tasks.get(&task.id) {
                task = put.clone();
            }
            tasks.push(task);
        }
        let stored: HashSet<_> = tasks.iter().map(|task| task.id).collect();
        let mut new: Vec<&CountTask> = self
            .tasks
            .values()
            .filter(|task| task.key == *key && !stored.contains(&task.id))
            .collect();
        new.sort_unstable_by_key(|task| task.id);
        tasks.extend(new.into_iter().cloned());
        Ok(tasks)
    }

    fn put_task(&mut self, task: &CountTask) -> Result<(), ProjectionError> {
        self.tasks.insert(task.id, task.clone());
        Ok(())
    }

    fn open_discrepancy(&mut self, discrepancy: &Discrepancy) -> Result<(), ProjectionError> {
        let detail = serde_json::to_string(discrepancy)
            .map_err(|error| ProjectionError::Invalid(error.to_string()))?;
        self.discrepancies.insert(
            discrepancy.id.clone(),
            PendingDiscrepancy {
                opened: Some((
                    *discrepancy.warehouse.as_uuid(),
                    discrepancy.kind.as_str(),
                    detail,
                )),
                open: true,
            },
        );
        Ok(())
    }

    fn resolve_discrepancy(&mut self, id: &str) -> Result<(), ProjectionError> {
        self.discrepancies
            .entry(id.to_owned())
            .or_insert(PendingDiscrepancy {
                opened: None,
                open: false,
            })
            .open = false;
        Ok(())
    }

    fn discrepancy_open(&mut self, id: &str) -> Result<bool, ProjectionError> {
        // What this push changed is buffered until the ledger is finished: it comes first.
        if let Some(pending) = self.discrepancies.get(id) {
            return Ok(pending.open);
        }
        Ok(self
            .tx
            .query_opt("SELECT is_open FROM discrepancies WHERE id = $1", &[&id])?
            .is_some_and(|row| row.get::<_, bool>(0)))
    }
}
