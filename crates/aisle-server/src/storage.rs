//! [`Storage`]: the tenant data operations behind the HTTP layer, each taking an
//! authenticated context first (a device's [`TenantContext`], or an integration's
//! [`IntegrationContext`] holding the scope the operation needs), and [`SqliteStorage`], the implementation over one
//! SQLite file per tenant.
//!
//! A push is one transaction: each new event is appended to the tenant's log with the next
//! `seq` and applied to the projection by `aisle_core::stock::apply` through
//! `aisle_projection::sqlite::SqlLedger`, the same code the devices run. Events are deduplicated
//! by id against the log, which is the deduplication `apply` leaves to its caller.
//! The methods are blocking; the HTTP layer calls them on tokio's blocking pool.
//!
//! The server is the one replica that records the rules' automatic decisions: each decision
//! that applying a pushed event takes is appended right after it, in the same transaction,
//! as a `resolved` event authored by the server's identity in the warehouse
//! (`DeviceId::server`). Its id is derived from the decision, so a decision taken again is
//! not recorded again. Devices may not push resolutions (`rejected` / `server_only`).

use crate::auth::{IntegrationContext, MasterWrite, StockRead, TenantContext};
use crate::error::ServerError;
use crate::master;
use crate::pool::TenantPools;
use crate::wire::RawPulledEvent;
use aisle_core::event::{EventBody, Resolution};
use aisle_core::ids::WarehouseId;
use aisle_core::ids::{ItemId, LocationId};
use aisle_core::stock::{apply, apply_with_resolutions, Discrepancy, DiscrepancyKind};
use aisle_core::{Event, Hlc, HlcClock};
use aisle_projection::sqlite::SqlLedger;
use aisle_protocol::ErpStockRow;
use aisle_protocol::{PushResult, PushStatus, StockRow};
use rusqlite::{OptionalExtension, TransactionBehavior};
use serde_json::value::RawValue;
use uuid::Uuid;

/// A page of pulled events.
#[derive(Debug)]
pub struct PullPage {
    pub events: Vec<RawPulledEvent>,
    pub next: u64,
    /// `aisle_projection::sqlite::checksum::page_checksum` of the page's events over this server's
    /// projection, taken in the same snapshot as the page.
    pub checksum: String,
    /// The warehouse's last seq in that snapshot: the checksum describes the projection
    /// of exactly the events up to it.
    pub checksum_seq: u64,
}

/// Which stock to show: all of the device's warehouse, or one item and/or location of it.
#[derive(Clone, Copy, Debug, Default)]
pub struct StockFilter {
    pub item: Option<ItemId>,
    pub location: Option<LocationId>,
}

#[derive(Debug)]
pub struct StockView {
    pub rows: Vec<StockRow>,
    pub discrepancies: Vec<Discrepancy>,
}

/// Tenant data. Every method takes the authenticated context first and acts only inside
/// its tenant (and, for reads, its warehouse).
pub trait Storage: Send + Sync + std::fmt::Debug {
    /// Appends and applies a batch in one transaction; one result per event, in order.
    /// The caller has checked that every event belongs to the context.
    fn push(
        &self,
        context: &TenantContext,
        events: &[Event],
        now_ms: i64,
    ) -> Result<Vec<PushResult>, ServerError>;

    /// The context's warehouse's events with `seq > after`, at most `limit` of them.
    fn pull(
        &self,
        context: &TenantContext,
        after: u64,
        limit: u32,
    ) -> Result<PullPage, ServerError>;

    /// On-hand rows and open discrepancies of the context's warehouse.
    fn stock(&self, context: &TenantContext, filter: StockFilter)
        -> Result<StockView, ServerError>;

    /// The context's warehouse's events with `seq > after` that touch any of `keys`, at
    /// most `limit` of them (see [`crate::touching`]).
    fn events_touching(
        &self,
        context: &TenantContext,
        keys: &[aisle_core::stock::StockKey],
        after: u64,
        limit: u32,
    ) -> Result<crate::touching::TouchingPage, ServerError>;

    /// Master-data changes after `after` for the context's device: the tenant's items and
    /// users and its warehouse's locations and pick lists (see [`master::changes`]).
    fn master_changes(
        &self,
        context: &TenantContext,
        after: u64,
        limit: u32,
    ) -> Result<master::ChangesPage, ServerError>;

    /// Upserts items by SKU in one transaction, or names the first bad record.
    fn upsert_items(
        &self,
        context: &IntegrationContext<MasterWrite>,
        items: &[master::NewItem],
        now_ms: i64,
    ) -> Result<master::Upsert, ServerError>;

    /// Upserts locations by warehouse and code in one transaction.
    fn upsert_locations(
        &self,
        context: &IntegrationContext<MasterWrite>,
        locations: &[master::NewLocation],
        now_ms: i64,
    ) -> Result<master::Upsert, ServerError>;

    /// The tenant's PIN policy.
    fn pin_policy(
        &self,
        context: &IntegrationContext<MasterWrite>,
    ) -> Result<aisle_pin::PinPolicy, ServerError>;

    /// Sets the tenant's PIN policy (the admin CLI's `tenant set-pin-policy`).
    fn set_pin_policy(
        &self,
        context: &IntegrationContext<MasterWrite>,
        policy: aisle_pin::PinPolicy,
    ) -> Result<(), ServerError>;

    /// Upserts users by badge in one transaction.
    fn upsert_users(
        &self,
        context: &IntegrationContext<MasterWrite>,
        users: &[master::NewUser],
        now_ms: i64,
    ) -> Result<master::Upsert, ServerError>;

    /// Upserts pick lists (with all their lines) by warehouse and reference in one
    /// transaction.
    fn upsert_pick_lists(
        &self,
        context: &IntegrationContext<MasterWrite>,
        lists: &[master::NewPickList],
        now_ms: i64,
    ) -> Result<master::Upsert, ServerError>;

    /// On-hand stock of the context's tenant, of one of its warehouses when given. The
    /// caller has resolved `warehouse` among the tenant's own.
    fn tenant_stock(
        &self,
        context: &IntegrationContext<StockRead>,
        warehouse: Option<WarehouseId>,
    ) -> Result<Vec<ErpStockRow>, ServerError>;
}

/// [`Storage`] over one SQLite database per tenant.
#[derive(Debug)]
pub struct SqliteStorage {
    pools: TenantPools,
    max_clock_ahead_ms: i64,
}

impl SqliteStorage {
    pub fn new(pools: TenantPools) -> Self {
        Self {
            pools,
            max_clock_ahead_ms: crate::DEFAULT_MAX_CLOCK_AHEAD_MS,
        }
    }

    /// Refuse events stamped more than `bound_ms` ahead of the server's clock.
    pub fn with_max_clock_ahead_ms(mut self, bound_ms: i64) -> Self {
        self.max_clock_ahead_ms = bound_ms.max(0);
        self
    }

    pub fn pools(&self) -> &TenantPools {
        &self.pools
    }
}

/// Appends the `resolved` event recording `resolution`, which applying `cause` decided,
/// unless the same decision is recorded already. `clock` stamps it after its cause and the
/// push's earlier resolutions, and no earlier than the server's time.
fn record_resolution(
    insert: &mut rusqlite::CachedStatement<'_>,
    ledger: &mut SqlLedger<'_>,
    clock: &mut HlcClock,
    cause: &Event,
    resolution: Resolution,
    now_ms: i64,
) -> Result<(), ServerError> {
    // Any drift: the cause was accepted within the server's clock bound, and its
    // resolution must order after it whatever that bound is set to.
    *clock =
        HlcClock::new(clock.last().max(cause.hlc)).with_max_drift(aisle_core::hlc::MAX_WALL_MS);
    let hlc = clock.now(u64::try_from(now_ms).unwrap_or(0));
    let rule = resolution.rule();
    let resolved = resolution.into_event(cause.tenant, cause.warehouse, hlc);
    // Devices validate every event they pull: one they would refuse must never be written,
    // or every device's pull would stop at it. Losing the record is the lesser harm.
    if let Err(invalid) = resolved.validate() {
        tracing::error!(event = %cause.id, %invalid, "a resolution of the rules is invalid; not recorded");
        return Ok(());
    }
    let inserted = insert_event(
        insert,
        &resolved,
        &serde_json::to_string(&resolved)?,
        now_ms,
    )?;
    if inserted == 1 {
        // Changes nothing, but every logged event goes through the rules once.
        apply(ledger, &resolved)?;
        tracing::debug!(event = %resolved.id, cause = %cause.id, rule, "resolution recorded");
    }
    Ok(())
}

/// Runs the push's `INSERT INTO events ... ON CONFLICT (id) DO NOTHING` for `event`; 1 if
/// it is new, 0 if its id is logged already.
fn insert_event(
    insert: &mut rusqlite::CachedStatement<'_>,
    event: &Event,
    payload: &str,
    now_ms: i64,
) -> Result<usize, rusqlite::Error> {
    insert.execute((
        event.id.as_bytes(),
        event.warehouse.as_bytes(),
        event.device.as_bytes(),
        event.hlc.to_packed(),
        event.kind(),
        now_ms,
        payload,
    ))
}

/// The refusal of an event stamped further ahead of `now_ms` than `bound_ms`, if it is.
/// Such an event, accepted, would order after everything the floor does until its time
/// comes: a count stamped in the year 6429 would stay its key's baseline forever.
fn clock_ahead(event: &Event, now_ms: i64, bound_ms: i64) -> Option<PushResult> {
    let stamped_ms = i64::try_from(event.hlc.wall_ms).unwrap_or(i64::MAX);
    let ahead_ms = stamped_ms.saturating_sub(now_ms);
    (ahead_ms > bound_ms).then(|| {
        let message = format!(
            "stamped {} s ahead of the server's clock (at most {} s allowed); check the PC's clock, then record it again",
            ahead_ms / 1000,
            bound_ms / 1000
        );
        rejected(event, "clock_ahead", Some(message))
    })
}

/// Which items of the tenant are lot-tracked, read once per item per push.
#[derive(Default)]
pub(crate) struct LotTracking {
    lot_tracked: std::collections::HashMap<ItemId, bool>,
}

impl LotTracking {
    /// The `lot_missing` discrepancy that `event` opens: an event on a lot-tracked item that
    /// names no lot. The event is a fact and is kept; a manager finds out which lot it was.
    pub(crate) fn missing_lot(
        &mut self,
        conn: &rusqlite::Connection,
        event: &Event,
    ) -> Result<Option<Discrepancy>, ServerError> {
        // A manager's request to count names a key to look at; it records no stock.
        if matches!(event.body, EventBody::CountRequested { .. }) {
            return Ok(None);
        }
        let Some(key) = event
            .subject_key()
            .or_else(|| event.deltas().into_iter().next().map(|(key, _)| key))
        else {
            return Ok(None);
        };
        if key.lot.is_some() {
            return Ok(None);
        }
        let lot_tracked = match self.lot_tracked.get(&key.item) {
            Some(known) => *known,
            None => {
                let known: bool = conn
                    .prepare_cached("SELECT lot_tracked FROM items WHERE id = ?1")?
                    .query_row([key.item.as_bytes()], |row| row.get(0))
                    .optional()?
                    .unwrap_or(false);
                self.lot_tracked.insert(key.item, known);
                known
            }
        };
        Ok(lot_tracked.then(|| Discrepancy {
            id: format!("lot_missing/{}", event.id),
            warehouse: event.warehouse,
            kind: DiscrepancyKind::LotMissing {
                key,
                event: event.id,
                event_kind: event.kind().to_owned(),
            },
        }))
    }
}

fn rejected(event: &Event, reason: &str, message: Option<String>) -> PushResult {
    PushResult {
        id: event.id,
        status: PushStatus::Rejected,
        seq: None,
        reason: Some(reason.to_owned()),
        message,
    }
}

impl Storage for SqliteStorage {
    fn push(
        &self,
        context: &TenantContext,
        events: &[Event],
        now_ms: i64,
    ) -> Result<Vec<PushResult>, ServerError> {
        let db = self.pools.get(context)?;
        let _turn = db.write_turn();
        let mut conn = db.connection()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut results = Vec::with_capacity(events.len());
        let mut resolution_clock = HlcClock::new(Hlc::default());
        let mut lot_tracking = LotTracking::default();
        {
            let mut ledger = SqlLedger::new(&tx);
            let mut insert = tx.prepare_cached(
                "INSERT INTO events (id, warehouse, device, hlc, kind, received_ms, payload)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (id) DO NOTHING",
            )?;
            let mut existing =
                tx.prepare_cached("SELECT seq, payload FROM events WHERE id = ?1")?;
            for event in events {
                if let EventBody::Resolved { .. } = event.body {
                    let message = "only the server records resolutions".to_owned();
                    results.push(rejected(event, "server_only", Some(message)));
                    continue;
                }
                if let Err(invalid) = event.validate() {
                    results.push(rejected(event, "invalid_event", Some(invalid.to_string())));
                    continue;
                }
                if let Some(refusal) = clock_ahead(event, now_ms, self.max_clock_ahead_ms) {
                    results.push(refusal);
                    continue;
                }
                let payload = serde_json::to_string(event)?;
                let inserted = insert_event(&mut insert, event, &payload, now_ms)?;
                if inserted == 1 {
                    let seq = tx.last_insert_rowid();
                    ledger.applying(event.id, seq);
                    let applied = apply_with_resolutions(&mut ledger, event)?;
                    if let Some(discrepancy) = lot_tracking.missing_lot(&tx, event)? {
                        aisle_core::stock::Ledger::open_discrepancy(&mut ledger, &discrepancy)?;
                    }
                    results.push(PushResult {
                        id: event.id,
                        status: PushStatus::Applied,
                        seq: Some(seq as u64),
                        reason: None,
                        message: None,
                    });
                    for resolution in applied.resolutions {
                        record_resolution(
                            &mut insert,
                            &mut ledger,
                            &mut resolution_clock,
                            event,
                            resolution,
                            now_ms,
                        )?;
                    }
                    continue;
                }
                let (seq, stored): (i64, String) = existing
                    .query_row([event.id.as_bytes()], |row| Ok((row.get(0)?, row.get(1)?)))?;
                if stored == payload {
                    results.push(PushResult {
                        id: event.id,
                        status: PushStatus::Duplicate,
                        seq: Some(seq as u64),
                        reason: None,
                        message: None,
                    });
                } else {
                    results.push(rejected(event, "payload_mismatch", None));
                }
            }
            ledger.finish()?;
        }
        tx.commit()?;
        Ok(results)
    }

    fn pull(
        &self,
        context: &TenantContext,
        after: u64,
        limit: u32,
    ) -> Result<PullPage, ServerError> {
        let db = self.pools.get(context)?;
        let mut conn = db.connection()?;
        // One read transaction, so the page, the last seq and the checksum's quantities
        // all come from the same snapshot of the log and projection.
        let tx = conn.transaction()?;
        let warehouse = context.warehouse();
        let mut events = Vec::new();
        let mut decoded = Vec::new();
        {
            let mut statement = tx.prepare_cached(
                "SELECT seq, payload FROM events WHERE warehouse = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
            )?;
            let rows = statement.query_map(
                (
                    warehouse.as_bytes(),
                    i64::try_from(after).unwrap_or(i64::MAX),
                    limit,
                ),
                |row| Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?)),
            )?;
            for row in rows {
                let (seq, payload) = row?;
                decoded.push(serde_json::from_str::<Event>(&payload)?);
                events.push(RawPulledEvent {
                    seq: seq as u64,
                    event: RawValue::from_string(payload)?,
                });
            }
        }
        let checksum_seq: i64 = tx
            .prepare_cached("SELECT coalesce(max(seq), 0) FROM events WHERE warehouse = ?1")?
            .query_row([warehouse.as_bytes()], |row| row.get(0))?;
        let checksum = aisle_projection::sqlite::checksum::page_checksum(&tx, &decoded)?;
        tx.commit()?;
        let next = events.last().map_or(after, |event| event.seq);
        Ok(PullPage {
            events,
            next,
            checksum,
            checksum_seq: checksum_seq as u64,
        })
    }

    fn stock(
        &self,
        context: &TenantContext,
        filter: StockFilter,
    ) -> Result<StockView, ServerError> {
        let db = self.pools.get(context)?;
        let conn = db.connection()?;
        let warehouse = context.warehouse();
        let mut statement = conn.prepare_cached(
            "SELECT k.location, k.item, k.lot, coalesce(s.on_hand, 0) FROM stock_keys k LEFT JOIN key_states s USING (key_id)
             WHERE k.warehouse = ?1 AND (?2 IS NULL OR k.item = ?2) AND (?3 IS NULL OR k.location = ?3)
             ORDER BY k.location, k.item, k.lot",
        )?;
        let rows = statement.query_map(
            (
                warehouse.as_bytes(),
                filter.item.map(|id| *id.as_bytes()),
                filter.location.map(|id| *id.as_bytes()),
            ),
            |row| {
                let lot: String = row.get(2)?;
                Ok(StockRow {
                    location: LocationId::from_uuid(Uuid::from_bytes(row.get(0)?)),
                    item: ItemId::from_uuid(Uuid::from_bytes(row.get(1)?)),
                    lot: (!lot.is_empty()).then_some(lot),
                    on_hand: row.get(3)?,
                })
            },
        )?;
        let rows = rows.collect::<Result<Vec<_>, _>>()?;
        let mut statement = conn.prepare_cached(
            "SELECT detail FROM discrepancies WHERE warehouse = ?1 AND is_open = 1 ORDER BY kind, id",
        )?;
        let mut discrepancies = Vec::new();
        for detail in statement.query_map([warehouse.as_bytes()], |row| row.get::<_, String>(0))? {
            let discrepancy: Discrepancy = serde_json::from_str(&detail?)?;
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
        Ok(StockView {
            rows,
            discrepancies,
        })
    }

    fn events_touching(
        &self,
        context: &TenantContext,
        keys: &[aisle_core::stock::StockKey],
        after: u64,
        limit: u32,
    ) -> Result<crate::touching::TouchingPage, ServerError> {
        let db = self.pools.get(context)?;
        let mut conn = db.connection()?;
        crate::touching::events_touching(&mut conn, context.warehouse(), keys, after, limit)
    }

    fn master_changes(
        &self,
        context: &TenantContext,
        after: u64,
        limit: u32,
    ) -> Result<master::ChangesPage, ServerError> {
        let db = self.pools.get(context)?;
        let mut conn = db.connection()?;
        master::changes(&mut conn, context.warehouse(), after, limit)
    }

    fn upsert_items(
        &self,
        context: &IntegrationContext<MasterWrite>,
        items: &[master::NewItem],
        now_ms: i64,
    ) -> Result<master::Upsert, ServerError> {
        let db = self.pools.get(context)?;
        let mut conn = db.connection()?;
        master::upsert_items(&mut conn, items, now_ms)
    }

    fn upsert_locations(
        &self,
        context: &IntegrationContext<MasterWrite>,
        locations: &[master::NewLocation],
        now_ms: i64,
    ) -> Result<master::Upsert, ServerError> {
        let db = self.pools.get(context)?;
        let mut conn = db.connection()?;
        master::upsert_locations(&mut conn, locations, now_ms)
    }

    fn pin_policy(
        &self,
        context: &IntegrationContext<MasterWrite>,
    ) -> Result<aisle_pin::PinPolicy, ServerError> {
        let db = self.pools.get(context)?;
        let conn = db.connection()?;
        master::pin_policy(&conn)
    }

    fn set_pin_policy(
        &self,
        context: &IntegrationContext<MasterWrite>,
        policy: aisle_pin::PinPolicy,
    ) -> Result<(), ServerError> {
        let db = self.pools.get(context)?;
        let conn = db.connection()?;
        master::set_pin_policy(&conn, policy)
    }

    fn upsert_users(
        &self,
        context: &IntegrationContext<MasterWrite>,
        users: &[master::NewUser],
        now_ms: i64,
    ) -> Result<master::Upsert, ServerError> {
        let db = self.pools.get(context)?;
        let mut conn = db.connection()?;
        master::upsert_users(&mut conn, users, now_ms)
    }

    fn upsert_pick_lists(
        &self,
        context: &IntegrationContext<MasterWrite>,
        lists: &[master::NewPickList],
        now_ms: i64,
    ) -> Result<master::Upsert, ServerError> {
        let db = self.pools.get(context)?;
        let mut conn = db.connection()?;
        master::upsert_pick_lists(&mut conn, lists, now_ms)
    }

    fn tenant_stock(
        &self,
        context: &IntegrationContext<StockRead>,
        warehouse: Option<WarehouseId>,
    ) -> Result<Vec<ErpStockRow>, ServerError> {
        let db = self.pools.get(context)?;
        let conn = db.connection()?;
        master::tenant_stock(&conn, warehouse)
    }
}
