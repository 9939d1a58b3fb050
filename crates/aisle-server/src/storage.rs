//! [`Storage`]: the tenant data operations behind the HTTP layer, each taking the
//! authenticated [`TenantContext`] first, and [`SqliteStorage`], the implementation over one
//! SQLite file per tenant.
//!
//! A push is one transaction: each new event is appended to the tenant's log with the next
//! `seq` and applied to the projection by `aisle_core::stock::apply` through
//! `aisle_store::ledger::SqlLedger`, the same code the devices run. Events are deduplicated
//! by id against the log, which is the deduplication `apply` leaves to its caller.
//! The methods are blocking; the HTTP layer calls them on tokio's blocking pool.

use crate::auth::TenantContext;
use crate::error::ServerError;
use crate::pool::TenantPools;
use crate::wire::{PulledEvent, PushResult, PushStatus, StockRow};
use aisle_core::ids::{ItemId, LocationId};
use aisle_core::stock::{apply, Discrepancy};
use aisle_core::Event;
use aisle_store::ledger::SqlLedger;
use rusqlite::TransactionBehavior;
use serde_json::value::RawValue;
use uuid::Uuid;

/// A page of pulled events.
#[derive(Debug)]
pub struct PullPage {
    pub events: Vec<PulledEvent>,
    pub next: u64,
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
}

/// [`Storage`] over one SQLite database per tenant.
#[derive(Debug)]
pub struct SqliteStorage {
    pools: TenantPools,
}

impl SqliteStorage {
    pub fn new(pools: TenantPools) -> Self {
        Self { pools }
    }

    pub fn pools(&self) -> &TenantPools {
        &self.pools
    }
}

fn rejected(event: &Event, reason: &str, message: Option<String>) -> PushResult {
    PushResult {
        id: event.id.to_string(),
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
        let mut conn = db.connection()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut results = Vec::with_capacity(events.len());
        {
            let mut ledger = SqlLedger::new(&tx);
            let mut insert = tx.prepare_cached(
                "INSERT INTO events (id, warehouse, device, hlc, kind, received_ms, payload)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (id) DO NOTHING",
            )?;
            let mut existing =
                tx.prepare_cached("SELECT seq, payload FROM events WHERE id = ?1")?;
            for event in events {
                if let Err(invalid) = event.validate() {
                    results.push(rejected(event, "invalid_event", Some(invalid.to_string())));
                    continue;
                }
                let payload = serde_json::to_string(event)?;
                let inserted = insert.execute((
                    event.id.as_bytes(),
                    event.warehouse.as_bytes(),
                    event.device.as_bytes(),
                    event.hlc.to_packed(),
                    event.kind(),
                    now_ms,
                    &payload,
                ))?;
                if inserted == 1 {
                    let seq = tx.last_insert_rowid() as u64;
                    apply(&mut ledger, event)?;
                    results.push(PushResult {
                        id: event.id.to_string(),
                        status: PushStatus::Applied,
                        seq: Some(seq),
                        reason: None,
                        message: None,
                    });
                    continue;
                }
                let (seq, stored): (i64, String) = existing
                    .query_row([event.id.as_bytes()], |row| Ok((row.get(0)?, row.get(1)?)))?;
                if stored == payload {
                    results.push(PushResult {
                        id: event.id.to_string(),
                        status: PushStatus::Duplicate,
                        seq: Some(seq as u64),
                        reason: None,
                        message: None,
                    });
                } else {
                    results.push(rejected(event, "payload_mismatch", None));
                }
            }
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
        let conn = db.connection()?;
        let mut statement = conn.prepare_cached(
            "SELECT seq, payload FROM events WHERE warehouse = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
        )?;
        let rows = statement.query_map(
            (
                context.warehouse().as_bytes(),
                i64::try_from(after).unwrap_or(i64::MAX),
                limit,
            ),
            |row| Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?)),
        )?;
        let mut events = Vec::new();
        for row in rows {
            let (seq, payload) = row?;
            events.push(PulledEvent {
                seq: seq as u64,
                event: RawValue::from_string(payload)?,
            });
        }
        let next = events.last().map_or(after, |event| event.seq);
        Ok(PullPage { events, next })
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
            "SELECT location, item, lot, on_hand FROM stock_keys
             WHERE warehouse = ?1 AND (?2 IS NULL OR item = ?2) AND (?3 IS NULL OR location = ?3)
             ORDER BY location, item, lot",
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
                    location: Uuid::from_bytes(row.get(0)?).to_string(),
                    item: Uuid::from_bytes(row.get(1)?).to_string(),
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
}
