//! [`PgStorage`]: [`Storage`] over one PostgreSQL database per tenant, on the clusters its
//! [`Placements`](super::placement::Placements) name, through [`PgTenantPools`].
//!
//! A push is one transaction that first takes the tenant's push lock
//! (`pg_advisory_xact_lock(PUSH_LOCK)`), then numbers its new events from `MAX(seq) + 1` and
//! runs the push every backend shares (`crate::storage::push`): deduplication by id, the
//! rules through `aisle_projection::pg::PgLedger`, the server's `lot_missing`
//! discrepancies and its recorded resolutions. The log rows are appended in memory and
//! written in one statement at the end (see `PgPush`), so a push's round trips do not grow
//! with its events. Because the lock is held until commit and
//! seqs are taken under it, pushes commit in seq order on any number of server instances,
//! and a device's pull cursor (`seq > after`) never skips an event that commits late.
//!
//! Reads that must agree with themselves (a pull page, its last seq and its checksum; the
//! events touching keys) run in one REPEATABLE READ, READ ONLY transaction, set with
//! `SET TRANSACTION`, which lasts only for that transaction (no session state).
//!
//! Master data is `crate::pg::master`'s (this only opens and settles its transactions).
//!
//! Reads go to the tenant's database on the primary, except the report read
//! (`tenant_stock`, the ERP stock endpoint and exports), which goes through
//! `PgTenantPools::report` to the cluster's read replica while it keeps up
//! (`crate::pg::reports`). Architecture invariant: device push and pull always read the
//! primary, so a device reads its own writes.
//!
//! The methods are blocking; the HTTP layer calls them on tokio's blocking pool.

use super::master as pg_master;
use super::pools::PgTenantPools;
use super::PUSH_LOCK;
use crate::auth::{FeedRead, IntegrationContext, MasterWrite, StockRead, TenantContext};
use crate::error::ServerError;
use crate::master;
use crate::storage::push::{self, PushTx};
use crate::storage::{PullPage, StockFilter, StockView, Storage};
use crate::touching::TouchingPage;
use crate::wire::RawPulledEvent;
use aisle_core::event::EventBody;
use aisle_core::ids::{EventId, ItemId, LocationId, TenantId, WarehouseId};
use aisle_core::stock::{CountTask, CountTaskReason, Discrepancy, StockKey};
use aisle_core::Event;
use aisle_pg::Deferred;
use aisle_pg::PgTx;
use aisle_projection::pg::PgLedger;
use aisle_protocol::{ErpStockRow, PushResult, StockRow};
use coalesce::{Member, PushQueues};
use serde_json::value::RawValue;
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use uuid::Uuid;

mod coalesce;
mod key_cache;
#[cfg(test)]
mod tests;

/// [`Storage`] over one PostgreSQL database per tenant.
#[derive(Debug)]
pub struct PgStorage {
    pools: PgTenantPools,
    max_clock_ahead_ms: i64,
    erp_outbox: bool,
    /// The tenants with a push running in this process, and the pushes queued behind it
    /// (see [`coalesce`]).
    push_queues: PushQueues,
    /// Each tenant's database size as last measured, for its size quota.
    sizes: Mutex<HashMap<TenantId, (std::time::Instant, u64)>>,
    /// The key ids and states each tenant's last push left (see [`key_cache`]).
    key_cache: key_cache::KeyCache,
}

/// How long a measured database size stands in for the next ones. `pg_database_size` walks
/// the database's files, too much for every push; a quota a few seconds late overshoots by
/// a few seconds of pushes at most, which the tenant's events/s quota bounds.
const SIZE_REFRESH: std::time::Duration = std::time::Duration::from_secs(5);

impl PgStorage {
    pub fn new(pools: PgTenantPools) -> Self {
        Self {
            pools,
            max_clock_ahead_ms: crate::DEFAULT_MAX_CLOCK_AHEAD_MS,
            erp_outbox: true,
            push_queues: PushQueues::default(),
            sizes: Mutex::new(HashMap::new()),
            key_cache: key_cache::KeyCache::default(),
        }
    }

    /// Refuse events stamped more than `bound_ms` ahead of the server's clock.
    pub fn with_max_clock_ahead_ms(mut self, bound_ms: i64) -> Self {
        self.max_clock_ahead_ms = bound_ms.max(0);
        self
    }

    /// Pushes derive no ERP messages: for the ingest benchmark's measure of what the
    /// outbox costs, never for serving (an ERP would miss what the floor did).
    #[doc(hidden)]
    pub fn without_erp_outbox(mut self) -> Self {
        self.erp_outbox = false;
        self
    }

    pub fn pools(&self) -> &PgTenantPools {
        &self.pools
    }

    /// When a tenant move's fence refused the request (`tenant_moving`), drops this
    /// process's pool of the tenant, so the retry opens it afresh from its placement, which
    /// names the new cluster once the move has switched (see `crate::pg::moving`).
    fn moving<T>(
        &self,
        context: &impl crate::auth::Authenticated,
        result: Result<T, ServerError>,
    ) -> Result<T, ServerError> {
        if matches!(result, Err(ServerError::TenantMoving)) {
            self.pools.forget(context.authenticated_tenant());
        }
        result
    }

    /// The tenant's database size as last measured, if that was less than `within` ago.
    fn measured_size(
        &self,
        tenant: TenantId,
        within: std::time::Duration,
    ) -> Option<(std::time::Instant, u64)> {
        self.sizes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&tenant)
            .filter(|measured| measured.0.elapsed() < within)
            .copied()
    }

    /// Measures the tenant's database size on `conn` (a transaction of its own) and keeps it
    /// for [`Storage::stored_bytes`].
    fn measure_size(
        &self,
        tenant: TenantId,
        conn: &mut aisle_pg::PgConn,
    ) -> Result<u64, ServerError> {
        let tx = conn.transaction()?;
        let size: i64 = tx
            .query_one("SELECT pg_database_size(current_database())", &[])?
            .get(0);
        tx.commit()?;
        let size = u64::try_from(size).unwrap_or(0);
        let mut sizes = self.sizes.lock().unwrap_or_else(|p| p.into_inner());
        // Only tenants pushing now stay: the others are measured afresh anyway.
        sizes.retain(|_, measured| measured.0.elapsed() < SIZE_REFRESH);
        sizes.insert(tenant, (std::time::Instant::now(), size));
        Ok(size)
    }
}

/// Makes `tx` (just begun) one snapshot that writes nothing.
fn one_snapshot(tx: &PgTx<'_>) -> Result<(), ServerError> {
    tx.batch_execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")?;
    Ok(())
}

/// A PostgreSQL push transaction, as [`push::push_events`] drives it: the push lock is
/// held, and `next_seq` is one more than the log's last seq.
///
/// The log is appended in memory and written in one statement by [`PgPush::write_log`]
/// before the ledger's `finish`: a 500-event push is a handful of round trips instead of one
/// per event. What makes that exact is the push lock: no other transaction appends to this
/// tenant's log until this one commits, so the ids found in the log by
/// [`ReadAhead`] (after the lock is taken; see [`Dedup`] for which it asks about) and
/// the ones this push appends are all there is to know about duplicates, and the seqs taken
/// from `next_seq` in the push loop's order are the log's next ones, gap-free.
struct PgPush<'t> {
    tx: &'t PgTx<'t>,
    ledger: PgLedger<'t>,
    next_seq: i64,
    /// The ids this push knows the log to have, with their seq and where their payload is.
    logged: HashMap<EventId, (i64, Payload)>,
    /// The batch's ids: those not in `logged` are taken as not in the log (until this push
    /// appends them), asked about or, with [`Dedup::FirstOfEach`], checked by the log's
    /// unique index as they are written. Any other id (a resolution's) is looked up.
    checked: HashSet<EventId>,
    /// The rows to append, as columns.
    appended: AppendedRows,
    /// The items of the batch's keys that are lot-tracked, read ahead in one statement; an
    /// item not read ahead is looked up.
    lot_tracked: HashMap<ItemId, bool>,
    /// The ERP outbox rows this push adds, written with the log in one statement.
    outbox: OutboxRows,
}

/// The `erp_outbox` rows a push adds, column by column, as `unnest` takes them. Positions
/// are numbered here from `MAX(position) + 1`, under the push lock like `events.seq`.
#[derive(Default)]
struct OutboxRows {
    next_position: Option<i64>,
    ids: HashSet<Uuid>,
    position: Vec<i64>,
    id: Vec<Uuid>,
    tenant: Vec<Uuid>,
    warehouse: Vec<Uuid>,
    kind: Vec<&'static str>,
    version: Vec<i64>,
    occurred_ms: Vec<i64>,
    cause_seq: Vec<i64>,
    body: Vec<String>,
}

/// Where the payload of a logged event is: read from the log, or in the rows to append.
enum Payload {
    Stored(String),
    Appended(usize),
}

/// The `events` rows a push appends, column by column, as `unnest` takes them.
#[derive(Default)]
struct AppendedRows {
    seq: Vec<i64>,
    id: Vec<Uuid>,
    warehouse: Vec<Uuid>,
    device: Vec<Uuid>,
    hlc: Vec<i64>,
    kind: Vec<&'static str>,
    payload: Vec<String>,
}

/// How a push learns which of its events the log has already.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dedup {
    /// Ask about the first event of each batch (each member of a group) only. A device
    /// pushes its outbox in order, so a batch pushed again (its answer lost on the way)
    /// starts with an event the log has; then every id is asked about, in one more
    /// statement. Otherwise the batch is taken as new, and the log's unique index on `id`
    /// checks that as the rows go in: an id logged after all fails the push's INSERT (a
    /// unique violation on `events`, nothing written; or earlier, the key of a row its rule
    /// writes at once), and the push is run again with [`Dedup::Every`]. That saves the index probe of every other event of a new batch,
    /// which the INSERT makes anyway (docs/BENCHMARKS.md, "A push's ids asked about once").
    FirstOfEach,
    /// Ask about every id before deciding anything.
    Every,
}

/// What a push reads ahead about its batch, in the pipeline that opens its transaction: the
/// ids of its events that [`Dedup`] asks about (which are logged already) and the items of
/// their keys (which are lot-tracked), one statement each.
struct ReadAhead {
    ids: Vec<Uuid>,
    items: Vec<Uuid>,
}

impl ReadAhead {
    const LOGGED_SQL: &'static str = "SELECT id, seq, payload FROM events WHERE id = ANY($1)";
    const LOT_TRACKED_SQL: &'static str = "SELECT id, lot_tracked FROM items WHERE id = ANY($1)";

    /// `firsts`: where each batch of `events` begins (a group's members), for
    /// [`Dedup::FirstOfEach`].
    fn of(events: &[Event], dedup: Dedup, firsts: &[usize]) -> Self {
        let ids = match dedup {
            Dedup::Every => events.iter().map(|event| *event.id.as_uuid()).collect(),
            Dedup::FirstOfEach => firsts
                .iter()
                .filter_map(|first| events.get(*first))
                .map(|event| *event.id.as_uuid())
                .collect(),
        };
        let items: HashSet<Uuid> = events
            .iter()
            .flat_map(|event| {
                let deltas = event.deltas().into_iter().map(|(key, _)| key);
                deltas.chain(event.subject_key())
            })
            .map(|key| *key.item.as_uuid())
            .collect();
        Self {
            ids,
            items: items.into_iter().collect(),
        }
    }
}

impl<'t> PgPush<'t> {
    /// The events `sql` (selecting `payload`) finds in the log, then those of this push's
    /// own appends of `kind` that `keep` takes: the appends are written only at the push's
    /// end, so a query alone would miss them.
    fn logged_and_appended(
        &self,
        kind: &str,
        sql: &str,
        params: &[&(dyn aisle_pg::ToSql + Sync)],
        keep: impl Fn(&Event) -> bool,
    ) -> Result<Vec<Event>, ServerError> {
        let mut events = self
            .tx
            .query(sql, params)?
            .iter()
            .map(|row| serde_json::from_str::<Event>(row.get(0)))
            .collect::<Result<Vec<_>, _>>()?;
        for (appended_kind, payload) in self.appended.kind.iter().zip(&self.appended.payload) {
            if *appended_kind == kind {
                let event: Event = serde_json::from_str(payload)?;
                if keep(&event) {
                    events.push(event);
                }
            }
        }
        Ok(events)
    }

    fn new(tx: &'t PgTx<'t>, next_seq: i64) -> Self {
        Self {
            tx,
            ledger: PgLedger::new(tx),
            next_seq,
            logged: HashMap::new(),
            checked: HashSet::new(),
            appended: AppendedRows::default(),
            lot_tracked: HashMap::new(),
            outbox: OutboxRows::default(),
        }
    }

    /// Takes what [`ReadAhead`]'s statements answered: which of `events` are in the log
    /// already (with their seq and payload), and which items of their keys are lot-tracked.
    /// A batch whose first event is logged (asked about alone, [`Dedup::FirstOfEach`]) was
    /// pushed before: then every id of `events` is asked about, in one statement.
    fn take_read_ahead(
        &mut self,
        events: &[Event],
        read_ahead: &ReadAhead,
        logged: &[aisle_pg::Row],
        lot_tracked: &[aisle_pg::Row],
    ) -> Result<(), ServerError> {
        let every;
        let logged = if !logged.is_empty() && read_ahead.ids.len() < events.len() {
            let ids: Vec<Uuid> = events.iter().map(|event| *event.id.as_uuid()).collect();
            every = self.tx.query(ReadAhead::LOGGED_SQL, &[&ids])?;
            every.as_slice()
        } else {
            logged
        };
        for row in logged {
            let id = EventId::from_uuid(row.get(0));
            self.logged
                .insert(id, (row.get(1), Payload::Stored(row.get(2))));
        }
        self.checked.extend(events.iter().map(|event| event.id));
        for row in lot_tracked {
            self.lot_tracked
                .insert(ItemId::from_uuid(row.get(0)), row.get(1));
        }
        // An item the tenant does not know is not lot-tracked, as `lot_tracked` answers.
        for item in &read_ahead.items {
            self.lot_tracked
                .entry(ItemId::from_uuid(*item))
                .or_insert(false);
        }
        Ok(())
    }

    /// The statements writing what this push appended: its ERP outbox rows, then its rows
    /// of `events`, one statement each. A plain INSERT for the log: under the push lock no
    /// id or seq can be taken meanwhile, so a conflict would be a broken invariant, and it
    /// fails the push rather than drop an event it reported applied. A message id the
    /// outbox holds already (derived by an earlier push) is kept once.
    fn log_writes(&mut self, now_ms: i64) -> Vec<Deferred> {
        let mut writes = Vec::new();
        let outbox = std::mem::take(&mut self.outbox);
        if !outbox.id.is_empty() {
            writes.push(Deferred::new(
                "INSERT INTO erp_outbox (position, id, tenant, warehouse, type, version, occurred_ms, cause_seq, body)
                 SELECT * FROM unnest($1::bigint[], $2::uuid[], $3::uuid[], $4::uuid[], $5::text[],
                                      $6::bigint[], $7::bigint[], $8::bigint[], $9::text[])
                 ON CONFLICT (id) WHERE type IN ('stock.adjusted', 'pick_list.completed') DO NOTHING",
                vec![
                    Box::new(outbox.position),
                    Box::new(outbox.id),
                    Box::new(outbox.tenant),
                    Box::new(outbox.warehouse),
                    Box::new(outbox.kind),
                    Box::new(outbox.version),
                    Box::new(outbox.occurred_ms),
                    Box::new(outbox.cause_seq),
                    Box::new(outbox.body),
                ],
            ));
        }
        let rows = std::mem::take(&mut self.appended);
        if !rows.seq.is_empty() {
            writes.push(Deferred::new(
                "INSERT INTO events (seq, id, warehouse, device, hlc, kind, received_ms, payload)
                 SELECT seq, id, warehouse, device, hlc, kind, $7, payload
                 FROM unnest($1::bigint[], $2::uuid[], $3::uuid[], $4::uuid[], $5::bigint[],
                             $6::text[], $8::text[])
                      AS appended (seq, id, warehouse, device, hlc, kind, payload)",
                vec![
                    Box::new(rows.seq),
                    Box::new(rows.id),
                    Box::new(rows.warehouse),
                    Box::new(rows.device),
                    Box::new(rows.hlc),
                    Box::new(rows.kind),
                    Box::new(now_ms),
                    Box::new(rows.payload),
                ],
            ));
        }
        writes
    }
}

impl<'t> PushTx for PgPush<'t> {
    type Ledger = PgLedger<'t>;

    fn append(
        &mut self,
        event: &Event,
        payload: &str,
        _now_ms: i64,
    ) -> Result<Option<i64>, ServerError> {
        if self.logged.contains_key(&event.id) {
            return Ok(None);
        }
        if !self.checked.contains(&event.id) {
            // Not one of the batch's events (a resolution the rules decided): one lookup.
            self.checked.insert(event.id);
            if let Some(row) = self.tx.query_opt(
                "SELECT seq, payload FROM events WHERE id = $1",
                &[event.id.as_uuid()],
            )? {
                self.logged
                    .insert(event.id, (row.get(0), Payload::Stored(row.get(1))));
                return Ok(None);
            }
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let rows = &mut self.appended;
        self.logged
            .insert(event.id, (seq, Payload::Appended(rows.payload.len())));
        rows.seq.push(seq);
        rows.id.push(*event.id.as_uuid());
        rows.warehouse.push(*event.warehouse.as_uuid());
        rows.device.push(*event.device.as_uuid());
        rows.hlc.push(event.hlc.to_packed());
        rows.kind.push(event.kind());
        rows.payload.push(payload.to_owned());
        Ok(Some(seq))
    }

    fn logged(&mut self, id: EventId) -> Result<(i64, String), ServerError> {
        if let Some((seq, payload)) = self.logged.get(&id) {
            let payload = match payload {
                Payload::Stored(payload) => payload.clone(),
                Payload::Appended(row) => self.appended.payload[*row].clone(),
            };
            return Ok((*seq, payload));
        }
        let row = self.tx.query_one(
            "SELECT seq, payload FROM events WHERE id = $1",
            &[id.as_uuid()],
        )?;
        Ok((row.get(0), row.get(1)))
    }

    fn lot_tracked(&mut self, item: ItemId) -> Result<bool, ServerError> {
        if let Some(tracked) = self.lot_tracked.get(&item) {
            return Ok(*tracked);
        }
        lot_tracked(self.tx, item)
    }

    fn applying(&mut self, id: EventId, seq: i64) {
        self.ledger.applying(id, seq);
    }

    fn ledger(&mut self) -> &mut Self::Ledger {
        &mut self.ledger
    }

    fn emit(
        &mut self,
        message: &aisle_protocol::ErpMessage,
        cause_seq: i64,
    ) -> Result<(), ServerError> {
        // Derived twice in one push (a count approved by two reviews): kept once, as the
        // unique id keeps it once across pushes.
        if !self.outbox.ids.insert(message.id) {
            return Ok(());
        }
        let next = match self.outbox.next_position {
            Some(next) => next,
            None => self
                .tx
                .query_one("SELECT COALESCE(MAX(position), 0) + 1 FROM erp_outbox", &[])?
                .get(0),
        };
        self.outbox.next_position = Some(next + 1);
        let rows = &mut self.outbox;
        rows.position.push(next);
        rows.id.push(message.id);
        rows.tenant.push(*message.tenant.as_uuid());
        rows.warehouse.push(*message.warehouse.as_uuid());
        rows.kind.push(message.body.message_type());
        rows.version.push(i64::from(message.version));
        rows.occurred_ms
            .push(i64::try_from(message.occurred_at_ms).unwrap_or(i64::MAX));
        rows.cause_seq.push(cause_seq);
        rows.body.push(serde_json::to_string(message)?);
        Ok(())
    }

    fn master_pick_list(
        &mut self,
        id: aisle_core::ids::PickListId,
    ) -> Result<Option<crate::erp_out::MasterPickList>, ServerError> {
        let Some(row) = self.tx.query_opt(
            "SELECT reference, status FROM pick_lists WHERE id = $1",
            &[id.as_uuid()],
        )?
        else {
            return Ok(None);
        };
        let lines = self
            .tx
            .query(
                "SELECT line, item, location, lot, qty FROM pick_lines WHERE pick_list = $1 ORDER BY line",
                &[id.as_uuid()],
            )?
            .iter()
            .map(|line| {
                (
                    u32::try_from(line.get::<_, i64>(0)).unwrap_or(u32::MAX),
                    ItemId::from_uuid(line.get(1)),
                    LocationId::from_uuid(line.get(2)),
                    line.get::<_, Option<String>>(3),
                    line.get::<_, i64>(4),
                )
            })
            .collect();
        Ok(Some(crate::erp_out::MasterPickList {
            reference: row.get(0),
            status: row.get(1),
            lines,
        }))
    }

    fn logged_seq(&mut self, id: EventId) -> Result<Option<i64>, ServerError> {
        if let Some((seq, _)) = self.logged.get(&id) {
            return Ok(Some(*seq));
        }
        Ok(self
            .tx
            .query_opt("SELECT seq FROM events WHERE id = $1", &[id.as_uuid()])?
            .map(|row| row.get(0)))
    }

    fn put_backs(
        &mut self,
        pick_list: aisle_core::ids::PickListId,
    ) -> Result<Vec<Event>, ServerError> {
        // Through the partial index of tenant migration 7.
        self.logged_and_appended(
            "put_back",
            "SELECT payload FROM events
             WHERE kind = 'put_back' AND (payload::jsonb #>> '{body,pick_list}') = $1",
            &[&pick_list.to_string()],
            |event| matches!(&event.body, EventBody::PutBack { pick_list: list, .. } if *list == pick_list),
        )
    }

    fn expected_receipt(
        &mut self,
        warehouse: WarehouseId,
        reference: &str,
    ) -> Result<Option<(String, Vec<aisle_core::receipt::ExpectedLine>)>, ServerError> {
        let Some(head) = self.tx.query_opt(
            "SELECT id, supplier FROM expected_receipts WHERE warehouse = $1 AND reference = $2",
            &[warehouse.as_uuid(), &reference],
        )?
        else {
            return Ok(None);
        };
        let id: Uuid = head.get(0);
        let lines = self
            .tx
            .query(
                "SELECT line, item, lot, qty FROM expected_lines WHERE receipt = $1 ORDER BY line",
                &[&id],
            )?
            .iter()
            .map(|row| aisle_core::receipt::ExpectedLine {
                line: u32::try_from(row.get::<_, i64>(0)).unwrap_or(u32::MAX),
                item: ItemId::from_uuid(row.get(1)),
                lot: row.get::<_, Option<String>>(2).map(aisle_core::Lot::new),
                qty: row.get(3),
            })
            .collect();
        Ok(Some((head.get(1), lines)))
    }

    fn received_against(
        &mut self,
        warehouse: WarehouseId,
        reference: &str,
    ) -> Result<Vec<Event>, ServerError> {
        // Through the partial index of tenant migration 9, whose predicate this repeats.
        self.logged_and_appended(
            "received",
            RECEIVED_AGAINST_SQL,
            &[warehouse.as_uuid(), &reference],
            |event| {
                event.warehouse == warehouse
                    && matches!(&event.body, EventBody::Received { receipt: Some(named), .. } if named == reference)
            },
        )
    }

    fn pick_lists_by_reference(
        &mut self,
        reference: &str,
        warehouse: Option<aisle_core::ids::WarehouseId>,
    ) -> Result<Vec<(aisle_core::ids::PickListId, WarehouseId, String)>, ServerError> {
        let warehouse = warehouse.map(|warehouse| *warehouse.as_uuid());
        Ok(self
            .tx
            .query(
                "SELECT id, warehouse, status FROM pick_lists
                 WHERE reference = $1 AND ($2::uuid IS NULL OR warehouse = $2) ORDER BY warehouse",
                &[&reference, &warehouse],
            )?
            .iter()
            .map(|row| {
                (
                    aisle_core::ids::PickListId::from_uuid(row.get(0)),
                    WarehouseId::from_uuid(row.get(1)),
                    row.get(2),
                )
            })
            .collect())
    }

    fn mark_cancelled(
        &mut self,
        pick_list: aisle_core::ids::PickListId,
    ) -> Result<(), ServerError> {
        // The next master version, as every master write takes it, under the push lock this
        // transaction holds (`pg::master`'s module doc).
        let version: i64 = self
            .tx
            .query_one(
                "UPDATE master_version SET version = version + 1 WHERE id = 1 RETURNING version",
                &[],
            )?
            .get(0);
        self.tx.execute(
            "UPDATE pick_lists SET status = 'cancelled', version = $2 WHERE id = $1",
            &[pick_list.as_uuid(), &version],
        )?;
        Ok(())
    }

    fn add_short(&mut self, short: &crate::erp_out::Short) -> Result<(), ServerError> {
        self.tx.execute(
            "INSERT INTO pick_line_shorts (event_id, pick_list, line, qty_short, reason)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (event_id) DO NOTHING",
            &[
                short.event.as_uuid(),
                short.pick_list.as_uuid(),
                &i64::from(short.line),
                &short.qty_short,
                &short.reason,
            ],
        )?;
        Ok(())
    }

    fn shorts(
        &mut self,
        pick_list: aisle_core::ids::PickListId,
    ) -> Result<Vec<crate::erp_out::Short>, ServerError> {
        Ok(self
            .tx
            .query(
                "SELECT event_id, line, qty_short, reason FROM pick_line_shorts
                 WHERE pick_list = $1 ORDER BY event_id",
                &[pick_list.as_uuid()],
            )?
            .iter()
            .map(|row| crate::erp_out::Short {
                event: EventId::from_uuid(row.get(0)),
                pick_list,
                line: u32::try_from(row.get::<_, i64>(1)).unwrap_or(u32::MAX),
                qty_short: row.get(2),
                reason: row.get(3),
            })
            .collect())
    }
}

/// Whether the tenant's item `item` is lot-tracked (false for an unknown item).
pub(super) fn lot_tracked(tx: &PgTx<'_>, item: ItemId) -> Result<bool, ServerError> {
    Ok(tx
        .query_opt(
            "SELECT lot_tracked FROM items WHERE id = $1",
            &[item.as_uuid()],
        )?
        .is_some_and(|row| row.get(0)))
}

impl PgStorage {
    /// A push's transaction: the push lock, the batch, commit (see the module doc). Taken
    /// as new unless its first event is logged ([`Dedup::FirstOfEach`]); run again asking
    /// about every id if the log had one of the others after all.
    fn push_in_tx(
        &self,
        context: &TenantContext,
        events: &[Event],
        now_ms: i64,
        dedup: Dedup,
    ) -> Result<Vec<PushResult>, ServerError> {
        let once = |dedup| {
            self.once_more_if_stale(|| {
                self.in_push(context, events, now_ms, dedup, &[0], |push| {
                    push::push_events(
                        push,
                        events,
                        now_ms,
                        self.max_clock_ahead_ms,
                        self.erp_outbox,
                    )
                })
            })
        };
        match once(dedup) {
            Err(error) if dedup == Dedup::FirstOfEach && is_constraint_violation(&error) => {
                self.pools.metrics().push_reruns.inc();
                once(Dedup::Every)
            }
            answer => answer,
        }
    }

    /// Several pushes of the tenant that queued behind one another, in one transaction: each
    /// member's events go through [`push::push_events`] in turn, with its own time, so each
    /// gets the results it would have got alone and seqs follow the queue's order. If the
    /// transaction fails (nothing of it is written), each push is run again alone, so one
    /// push's failure is not its neighbours'.
    fn push_group(
        &self,
        context: &TenantContext,
        events: &[Event],
        members: &[Member],
    ) -> Vec<Result<Vec<PushResult>, ServerError>> {
        let alone = |member: &Member, dedup| {
            self.push_in_tx(
                context,
                &events[member.events.clone()],
                member.now_ms,
                dedup,
            )
        };
        if let [member] = members {
            return vec![alone(member, Dedup::FirstOfEach)];
        }
        let metrics = self.pools.metrics();
        metrics.push_groups.inc();
        metrics.grouped_pushes.inc_by(members.len() as u64);
        let now_ms = members
            .iter()
            .map(|member| member.now_ms)
            .max()
            .unwrap_or(0);
        let firsts: Vec<usize> = members.iter().map(|member| member.events.start).collect();
        let grouped = self.in_push(
            context,
            events,
            now_ms,
            Dedup::FirstOfEach,
            &firsts,
            |push| {
                members
                    .iter()
                    .map(|member| {
                        push::push_events(
                            push,
                            &events[member.events.clone()],
                            member.now_ms,
                            self.max_clock_ahead_ms,
                            self.erp_outbox,
                        )
                    })
                    .collect::<Result<Vec<_>, _>>()
            },
        );
        match grouped {
            Ok(answers) => answers.into_iter().map(Ok).collect(),
            Err(error) => {
                tracing::debug!(%error, pushes = members.len(), "a group of pushes failed; each is run alone");
                metrics.push_groups_split.inc();
                // A group that met a logged id (a constraint violation) asks about every id of
                // each member alone.
                let dedup = if is_constraint_violation(&error) {
                    Dedup::Every
                } else {
                    Dedup::FirstOfEach
                };
                members.iter().map(|member| alone(member, dedup)).collect()
            }
        }
    }

    /// A page of the device's warehouse's log after `after`, in one snapshot (see
    /// [`Storage::pull`]).
    fn pull_in_tx(
        &self,
        context: &TenantContext,
        after: u64,
        limit: u32,
    ) -> Result<PullPage, ServerError> {
        let mut conn = self.pools.connect(context)?;
        // One snapshot, so the page, the last seq and the checksum's quantities agree.
        let tx = conn.transaction()?;
        one_snapshot(&tx)?;
        self.moving(context, super::moving::check_readable(&tx))?;
        let warehouse = *context.warehouse().as_uuid();
        let rows = tx.query(
            "SELECT seq, payload FROM events WHERE warehouse = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            &[
                &warehouse,
                &i64::try_from(after).unwrap_or(i64::MAX),
                &i64::from(limit),
            ],
        )?;
        let mut events = Vec::with_capacity(rows.len());
        let mut decoded = Vec::with_capacity(rows.len());
        for row in rows {
            let seq: i64 = row.get(0);
            let payload: String = row.get(1);
            decoded.push(serde_json::from_str::<Event>(&payload)?);
            events.push(RawPulledEvent {
                seq: seq as u64,
                event: RawValue::from_string(payload)?,
            });
        }
        let checksum_seq: i64 = tx
            .query_one(
                "SELECT COALESCE(MAX(seq), 0) FROM events WHERE warehouse = $1",
                &[&warehouse],
            )?
            .get(0);
        let checksum = aisle_projection::pg::checksum::page_checksum(&tx, &decoded)?;
        tx.commit()?;
        let next = events.last().map_or(after, |event| event.seq);
        Ok(PullPage {
            events,
            next,
            checksum,
            checksum_seq: checksum_seq as u64,
        })
    }

    /// Runs `work`, one transaction of which nothing is written if it fails, and once more if
    /// a statement kept on the connection ([`aisle_pg::StatementScope::Connection`], `serve
    /// --keep-prepared-statements`) was stale: that failure dropped the kept statements of
    /// the tenant's pool, so the second run prepares afresh. A device would otherwise get
    /// `503` for a migration another instance ran, or for a server connection that lost its
    /// statements, and push again after `Retry-After`. Once only: a second stale answer is
    /// returned as it is (retryable, `503`).
    fn once_more_if_stale<R>(
        &self,
        work: impl Fn() -> Result<R, ServerError>,
    ) -> Result<R, ServerError> {
        match work() {
            Err(error) if is_stale_statement(&error) => {
                tracing::info!(%error, "running the transaction once more, preparing afresh");
                self.pools.metrics().stale_statement_reruns.inc();
                work()
            }
            answer => answer,
        }
    }

    /// Runs `work` in a push transaction: the push lock, the log and outbox positions read
    /// once, `events` (those `work` will push, if it knows them; batches beginning at
    /// `firsts`) read ahead as `dedup` says, then the log written, the ledger finished and
    /// the transaction committed.
    fn in_push<R>(
        &self,
        context: &impl crate::auth::Authenticated,
        events: &[Event],
        now_ms: i64,
        dedup: Dedup,
        firsts: &[usize],
        work: impl FnOnce(&mut PgPush<'_>) -> Result<R, ServerError>,
    ) -> Result<R, ServerError> {
        let tenant = context.authenticated_tenant();
        // Taken out for this push, and put back only once it has committed (see key_cache).
        let cached = self.key_cache.take(tenant);
        let mut conn = self.pools.connect(context)?;
        let tx = conn.transaction()?;
        // One round trip: the push lock, then (each statement starting once the one before
        // it has ended, so under the lock) the fence, where the log and the outbox go on
        // with the projection's marker, and the read-ahead of the batch.
        let read_ahead = ReadAhead::of(events, dedup, firsts);
        let answers = tx.pipeline(&[
            (aisle_pg::ADVISORY_LOCK_SQL, &[&PUSH_LOCK]),
            (super::moving::FENCE_SQL, &[&super::moving::FENCE]),
            (
                "SELECT (SELECT COALESCE(MAX(seq), 0) + 1 FROM events),
                        (SELECT COALESCE(MAX(position), 0) + 1 FROM erp_outbox),
                        (SELECT token FROM projection_marker)",
                &[],
            ),
            (ReadAhead::LOGGED_SQL, &[&read_ahead.ids]),
            (ReadAhead::LOT_TRACKED_SQL, &[&read_ahead.items]),
        ])?;
        let [_, fence, next, logged, lot_tracked] = answers.as_slice() else {
            unreachable!("a pipeline answers each of its statements");
        };
        self.moving(context, super::moving::check_writable_rows(&fence.rows))?;
        let next = next.rows.first().ok_or(aisle_pg::PgError::RowCount)?;
        let (next_seq, next_position, marker): (i64, i64, Option<Uuid>) =
            (next.get(0), next.get(1), next.get(2));
        let base = cached.filter(|keys| keys.is_current(marker));
        let metrics = self.pools.metrics();
        match base {
            Some(_) => metrics.key_cache_hits.inc(),
            None => metrics.key_cache_misses.inc(),
        };
        let token = new_token();
        let (result, key_ids, states) = {
            let mut push = PgPush::new(&tx, next_seq);
            push.outbox.next_position = Some(next_position);
            push.take_read_ahead(events, &read_ahead, &logged.rows, &lot_tracked.rows)?;
            // No row outlives the transaction (see `aisle_pg::PgTx`).
            drop(answers);
            if let Some(keys) = &base {
                push.ledger.seed_keys(events, |key| keys.get(key));
            }
            // One statement per table reads what the batch will ask the ledger about, so a
            // movement on a known key costs no round trip (aisle_projection::pg's prefetch),
            // and one creates the keys it found missing, so a movement on a new slot costs
            // none either (the push lock is what that needs; unused keys go at `finish`).
            push.ledger.prefetch(events)?;
            push.ledger.create_absent_keys()?;
            let result = work(&mut push)?;
            // The push's writes, sent together: the outbox and the log, then the projection
            // (whose deltas refer to the log's rows), then the projection's marker as this
            // push leaves the key tables (the triggers cleared it at each write before it).
            let mut writes = push.log_writes(now_ms);
            let (projection, key_ids, states) = push.ledger.finish_deferred()?;
            writes.extend(projection);
            writes.push(Deferred::new(
                "UPDATE projection_marker SET token = $1",
                vec![Box::new(token)],
            ));
            tx.run_deferred(&writes)?;
            (result, key_ids, states)
        };
        tx.commit()?;
        self.key_cache.put(tenant, base, token, key_ids, states);
        // A tenant that pushes keeps its size measured on its own connection, half a refresh
        // ahead of the quota check's: that check then never needs a second connection while
        // a push holds the first (which, with many tenants at the cluster's connection
        // budget, closed another tenant's idle connection each time, to be reopened).
        if self.measured_size(tenant, SIZE_REFRESH / 2).is_none() {
            if let Err(error) = self.measure_size(tenant, &mut conn) {
                tracing::debug!(%error, "measuring the tenant's size after its push");
            }
        }
        Ok(result)
    }
}

/// Whether `error` is an integrity constraint's (SQLSTATE class 23): in a batch taken as new
/// ([`Dedup::FirstOfEach`]), an event the log had after all, met by the log's INSERT
/// (`events.id`) or, for an event whose rule writes its row at once, by that row's own key
/// (`count_reviews`, `pick_claims`), or by any other constraint that an event applied twice
/// breaks. Nothing of the attempt is written, and asking about every id answers it. Under
/// the push lock nothing else can conflict; a broken invariant (a seq taken twice) fails the
/// rerun the same way.
fn is_constraint_violation(error: &ServerError) -> bool {
    let (ServerError::Pg(aisle_pg::PgError::Db(error))
    | ServerError::Projection(aisle_projection::ProjectionError::Pg(aisle_pg::PgError::Db(
        error,
    )))) = error
    else {
        return false;
    };
    error
        .code()
        .is_some_and(|code| code.code().starts_with("23"))
}

/// Whether `error` is a statement kept on the connection that was stale
/// ([`aisle_pg::PgError::StaleStatement`]), whichever layer met it.
fn is_stale_statement(error: &ServerError) -> bool {
    matches!(
        error,
        ServerError::Pg(error) | ServerError::Projection(aisle_projection::ProjectionError::Pg(error))
            if error.is_stale_statement()
    )
}

/// A random token for the projection's marker (see [`key_cache`]).
fn new_token() -> Uuid {
    uuid::Builder::from_random_bytes(crate::random_bytes()).into_uuid()
}

impl Storage for PgStorage {
    fn stored_bytes(&self, context: &TenantContext) -> Result<u64, ServerError> {
        let tenant = context.tenant();
        if let Some((_, size)) = self.measured_size(tenant, SIZE_REFRESH) {
            return Ok(size);
        }
        let mut conn = self.pools.connect(context)?;
        self.measure_size(tenant, &mut conn)
    }

    fn push(
        &self,
        context: &TenantContext,
        events: &[Event],
        now_ms: i64,
    ) -> Result<Vec<PushResult>, ServerError> {
        self.push_queues
            .push(context.tenant(), events, now_ms, |events, members| {
                self.push_group(context, events, members)
            })
    }

    fn cancel_pick_list(
        &self,
        context: &IntegrationContext<MasterWrite>,
        reference: &str,
        warehouse: Option<WarehouseId>,
        now_ms: i64,
    ) -> Result<crate::storage::Cancellation, ServerError> {
        // Rare (the ERP's call), so it waits for the push lock in the database, holding its
        // connection, rather than queue with the devices' pushes.
        self.once_more_if_stale(|| {
            self.in_push(context, &[], now_ms, Dedup::Every, &[], |push| {
                push::cancel_pick_list(push, context.tenant(), reference, warehouse, now_ms)
            })
        })
    }

    fn pull(
        &self,
        context: &TenantContext,
        after: u64,
        limit: u32,
    ) -> Result<PullPage, ServerError> {
        self.once_more_if_stale(|| self.pull_in_tx(context, after, limit))
    }

    fn stock(
        &self,
        context: &TenantContext,
        filter: StockFilter,
    ) -> Result<StockView, ServerError> {
        let mut conn = self.pools.connect(context)?;
        let tx = conn.transaction()?;
        one_snapshot(&tx)?;
        let warehouse = *context.warehouse().as_uuid();
        let item = filter.item.map(|id| *id.as_uuid());
        let location = filter.location.map(|id| *id.as_uuid());
        // Ordered as SQLite orders them: uuids byte by byte, the lot by its bytes.
        let rows = tx
            .query(
                "SELECT k.location, k.item, k.lot, COALESCE(s.on_hand, 0)
                 FROM stock_keys k LEFT JOIN key_states s USING (key_id)
                 WHERE k.warehouse = $1 AND ($2::uuid IS NULL OR k.item = $2)
                   AND ($3::uuid IS NULL OR k.location = $3)
                 ORDER BY k.location, k.item, k.lot COLLATE \"C\"",
                &[&warehouse, &item, &location],
            )?
            .into_iter()
            .map(|row| {
                let lot: String = row.get(2);
                StockRow {
                    location: LocationId::from_uuid(row.get(0)),
                    item: ItemId::from_uuid(row.get(1)),
                    lot: (!lot.is_empty()).then_some(lot),
                    on_hand: row.get(3),
                }
            })
            .collect();
        let mut discrepancies = Vec::new();
        for row in tx.query(
            "SELECT detail FROM discrepancies WHERE warehouse = $1 AND is_open
             ORDER BY kind COLLATE \"C\", id COLLATE \"C\"",
            &[&warehouse],
        )? {
            let discrepancy: Discrepancy = serde_json::from_str(row.get(0))?;
            let wanted = match discrepancy.kind.key() {
                Some(key) => {
                    filter.item.is_none_or(|item| item == key.item)
                        && filter
                            .location
                            .is_none_or(|location| location == key.location)
                }
                None => filter.item.is_none() && filter.location.is_none(),
            };
            if wanted {
                discrepancies.push(discrepancy);
            }
        }
        tx.commit()?;
        Ok(StockView {
            rows,
            discrepancies,
        })
    }

    fn events_touching(
        &self,
        context: &TenantContext,
        keys: &[StockKey],
        after: u64,
        limit: u32,
    ) -> Result<TouchingPage, ServerError> {
        let mut conn = self.pools.connect(context)?;
        let tx = conn.transaction()?;
        one_snapshot(&tx)?;
        let page = events_touching(&tx, context.warehouse(), keys, after, limit)?;
        tx.commit()?;
        Ok(page)
    }

    fn master_changes(
        &self,
        context: &TenantContext,
        after: u64,
        limit: u32,
    ) -> Result<master::ChangesPage, ServerError> {
        let mut conn = self.pools.connect(context)?;
        let tx = conn.transaction()?;
        let page = pg_master::changes(&tx, context.warehouse(), after, limit)?;
        tx.commit()?;
        Ok(page)
    }

    fn upsert_items(
        &self,
        context: &IntegrationContext<MasterWrite>,
        items: &[master::NewItem],
        now_ms: i64,
    ) -> Result<master::Upsert, ServerError> {
        let mut conn = self.pools.connect(context)?;
        let tx = conn.transaction()?;
        let upsert = pg_master::upsert_items(&tx, items, now_ms);
        self.moving(context, pg_master::settle(tx, upsert))
    }

    fn upsert_locations(
        &self,
        context: &IntegrationContext<MasterWrite>,
        locations: &[master::NewLocation],
        now_ms: i64,
    ) -> Result<master::Upsert, ServerError> {
        let mut conn = self.pools.connect(context)?;
        let tx = conn.transaction()?;
        let upsert = pg_master::upsert_locations(&tx, locations, now_ms);
        self.moving(context, pg_master::settle(tx, upsert))
    }

    fn pin_policy(
        &self,
        context: &IntegrationContext<MasterWrite>,
    ) -> Result<aisle_pin::PinPolicy, ServerError> {
        let mut conn = self.pools.connect(context)?;
        let tx = conn.transaction()?;
        let policy = pg_master::pin_policy(&tx)?;
        tx.commit()?;
        Ok(policy)
    }

    fn set_pin_policy(
        &self,
        context: &IntegrationContext<MasterWrite>,
        policy: aisle_pin::PinPolicy,
    ) -> Result<(), ServerError> {
        let mut conn = self.pools.connect(context)?;
        let tx = conn.transaction()?;
        self.moving(context, pg_master::set_pin_policy(&tx, policy))?;
        tx.commit()?;
        Ok(())
    }

    fn upsert_users(
        &self,
        context: &IntegrationContext<MasterWrite>,
        users: &[master::NewUser],
        now_ms: i64,
    ) -> Result<master::Upsert, ServerError> {
        let mut conn = self.pools.connect(context)?;
        let tx = conn.transaction()?;
        let upsert = pg_master::upsert_users(&tx, users, now_ms);
        self.moving(context, pg_master::settle(tx, upsert))
    }

    fn upsert_pick_lists(
        &self,
        context: &IntegrationContext<MasterWrite>,
        lists: &[master::NewPickList],
        now_ms: i64,
    ) -> Result<master::Upsert, ServerError> {
        let mut conn = self.pools.connect(context)?;
        let tx = conn.transaction()?;
        let upsert = pg_master::upsert_pick_lists(&tx, lists, now_ms);
        self.moving(context, pg_master::settle(tx, upsert))
    }

    fn upsert_expected_receipts(
        &self,
        context: &IntegrationContext<MasterWrite>,
        receipts: &[master::NewExpectedReceipt],
        now_ms: i64,
    ) -> Result<master::Upsert, ServerError> {
        let mut conn = self.pools.connect(context)?;
        let tx = conn.transaction()?;
        let upsert = pg_master::upsert_expected_receipts(&tx, receipts, now_ms);
        self.moving(context, pg_master::settle(tx, upsert))
    }

    fn tenant_stock(
        &self,
        context: &IntegrationContext<StockRead>,
        warehouse: Option<WarehouseId>,
    ) -> Result<Vec<ErpStockRow>, ServerError> {
        // A report read: the cluster's replica may answer it (see `crate::pg::reports`).
        // Like a pull, it refuses a database the tenant has moved away from, so this
        // process drops its pools there and the retry reads the new one.
        let rows = self.pools.report(context, |tx| {
            one_snapshot(tx)?;
            super::moving::check_readable(tx)?;
            pg_master::tenant_stock(tx, warehouse)
        });
        self.moving(context, rows)
    }

    fn erp_feed(
        &self,
        context: &IntegrationContext<FeedRead>,
        after: u64,
        limit: u32,
    ) -> Result<Vec<aisle_protocol::FeedEntry>, ServerError> {
        // The primary, as a device's pull: the feed must never show an ERP less than it
        // showed a moment ago (a lagging replica could), nor miss what a push committed.
        let mut conn = self.pools.connect(context)?;
        let tx = conn.transaction()?;
        self.moving(context, super::moving::check_readable(&tx))?;
        let rows = tx.query(
            "SELECT position, body FROM erp_outbox WHERE position > $1 ORDER BY position LIMIT $2",
            &[&i64::try_from(after).unwrap_or(i64::MAX), &i64::from(limit)],
        )?;
        tx.commit()?;
        rows.iter()
            .map(|row| crate::storage::feed_entry(row.get(0), row.get::<_, &str>(1)))
            .collect()
    }
}

/// The `received` events of warehouse `$1` against the expected receipt `$2`. The text test
/// is the partial index's predicate (tenant migration 9): without it the planner cannot use
/// the index and reads every `received` event of the log.
const RECEIVED_AGAINST_SQL: &str = "SELECT payload FROM events
     WHERE kind = 'received' AND strpos(payload, '\"receipt\"') > 0
       AND warehouse = $1 AND (payload::jsonb #>> '{body,receipt}') = $2";

/// The events touching key ids `$1` or with the ids `$2`, of warehouse `$3`, with
/// `seq > $4`, at most `$5`, in seq order: [`crate::touching`]'s definition, in PostgreSQL.
const TOUCHING_SQL: &str = "WITH touching(seq) AS (
         SELECT event_seq FROM stock_deltas WHERE key_id = ANY($1)
         UNION SELECT e.seq FROM counts c JOIN events e ON e.id = c.event_id
               WHERE c.key_id = ANY($1)
         UNION SELECT e.seq FROM count_reviews r JOIN counts c ON c.event_id = r.counted
               JOIN events e ON e.id = r.event_id
               WHERE c.key_id = ANY($1)
         UNION SELECT e.seq FROM events e WHERE e.id = ANY($2)
     )
     SELECT e.seq, e.payload FROM touching t JOIN events e ON e.seq = t.seq
     WHERE e.warehouse = $3 AND e.seq > $4
     ORDER BY e.seq LIMIT $5";

/// The warehouse's events with `seq > after` that touch any of `keys` (see
/// [`crate::touching`]), in seq order, at most `limit`, in `tx`'s snapshot.
fn events_touching(
    tx: &PgTx<'_>,
    warehouse: WarehouseId,
    keys: &[StockKey],
    after: u64,
    limit: u32,
) -> Result<TouchingPage, ServerError> {
    let mut key_ids: Vec<i64> = Vec::with_capacity(keys.len());
    // Events that move no stock but are about a key, found through the task each opened.
    let mut task_causes: Vec<Uuid> = Vec::new();
    for key in keys.iter().filter(|key| key.warehouse == warehouse) {
        let lot = key.lot.as_ref().map_or("", |lot| lot.as_str());
        let params: [&(dyn aisle_pg::ToSql + Sync); 4] = [
            warehouse.as_uuid(),
            key.location.as_uuid(),
            key.item.as_uuid(),
            &lot,
        ];
        if let Some(row) = tx.query_opt(
            "SELECT key_id FROM stock_keys
             WHERE warehouse = $1 AND location = $2 AND item = $3 AND lot = $4",
            &params,
        )? {
            key_ids.push(row.get(0));
        }
        for row in tx.query(
            "SELECT detail FROM tasks
             WHERE warehouse = $1 AND location = $2 AND item = $3 AND lot = $4
               AND kind IN ('short_pick', 'requested')",
            &params,
        )? {
            let task: CountTask = serde_json::from_str(row.get(0))?;
            match task.reason {
                CountTaskReason::ShortPick {
                    short_pick: cause, ..
                }
                | CountTaskReason::Requested {
                    requested: cause, ..
                } => task_causes.push(*cause.id.as_uuid()),
                CountTaskReason::NegativeStock | CountTaskReason::Recount { .. } => {}
            }
        }
    }
    let rows = tx.query(
        TOUCHING_SQL,
        &[
            &key_ids,
            &task_causes,
            warehouse.as_uuid(),
            &i64::try_from(after).unwrap_or(i64::MAX),
            &i64::from(limit),
        ],
    )?;
    let mut events = Vec::with_capacity(rows.len());
    for row in rows {
        let seq: i64 = row.get(0);
        events.push(RawPulledEvent {
            seq: seq as u64,
            event: RawValue::from_string(row.get(1))?,
        });
    }
    let next = events.last().map_or(after, |event| event.seq);
    Ok(TouchingPage { events, next })
}
