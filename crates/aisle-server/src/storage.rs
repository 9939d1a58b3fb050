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

use crate::auth::{FeedRead, IntegrationContext, MasterWrite, StockRead, TenantContext};
use crate::error::ServerError;
use crate::master;
use crate::pool::TenantPools;
use crate::wire::RawPulledEvent;
use aisle_core::ids::WarehouseId;
use aisle_core::ids::{EventId, ItemId, LocationId};
use aisle_core::stock::Discrepancy;
use aisle_core::Event;
use aisle_projection::sqlite::SqlLedger;
use aisle_protocol::ErpStockRow;
use aisle_protocol::{PushResult, StockRow};
use rusqlite::{OptionalExtension, TransactionBehavior};
use serde_json::value::RawValue;
use uuid::Uuid;

#[cfg(test)]
pub(crate) mod conformance;
pub(crate) mod push;
pub use push::Cancellation;

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

    /// Records the ERP's cancellation of the pick list `reference` (in `warehouse`, when
    /// the tenant has that reference in several), in one push transaction (see
    /// [`push::cancel_pick_list`]).
    fn cancel_pick_list(
        &self,
        context: &IntegrationContext<MasterWrite>,
        reference: &str,
        warehouse: Option<WarehouseId>,
        now_ms: i64,
    ) -> Result<Cancellation, ServerError>;

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

    /// Upserts expected receipts by warehouse and reference in one transaction, or names
    /// the first bad record.
    fn upsert_expected_receipts(
        &self,
        context: &IntegrationContext<MasterWrite>,
        receipts: &[master::NewExpectedReceipt],
        now_ms: i64,
    ) -> Result<master::Upsert, ServerError>;

    /// On-hand stock of the context's tenant, of one of its warehouses when given. The
    /// caller has resolved `warehouse` among the tenant's own.
    fn tenant_stock(
        &self,
        context: &IntegrationContext<StockRead>,
        warehouse: Option<WarehouseId>,
    ) -> Result<Vec<ErpStockRow>, ServerError>;

    /// The context's tenant's ERP feed: the outbox's messages after position `after`, at
    /// most `limit`, in position order.
    fn erp_feed(
        &self,
        context: &IntegrationContext<FeedRead>,
        after: u64,
        limit: u32,
    ) -> Result<Vec<aisle_protocol::FeedEntry>, ServerError>;

    /// The bytes the context's tenant's database takes, for its size quota
    /// (`tenant set-quota --max-bytes`). It may be a few seconds old. Blocking.
    fn stored_bytes(&self, context: &TenantContext) -> Result<u64, ServerError>;
}

/// Decodes an outbox row's stored message.
pub(crate) fn feed_entry(
    position: i64,
    body: &str,
) -> Result<aisle_protocol::FeedEntry, ServerError> {
    Ok(aisle_protocol::FeedEntry {
        position: u64::try_from(position).unwrap_or(0),
        message: serde_json::from_str(body)?,
    })
}

/// [`Storage`] over one SQLite database per tenant.
#[derive(Debug)]
pub struct SqliteStorage {
    pools: TenantPools,
    max_clock_ahead_ms: i64,
    erp_outbox: bool,
}

impl SqliteStorage {
    /// Runs `work` in a push transaction of `db`: the file's one writer, immediate, the
    /// ledger finished and the transaction committed when `work` succeeds.
    fn in_push<R>(
        &self,
        db: &crate::pool::TenantDb,
        work: impl FnOnce(&mut SqlitePush<'_>) -> Result<R, ServerError>,
    ) -> Result<R, ServerError> {
        let _turn = db.write_turn();
        let mut conn = db.connection()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let result = {
            let mut push = SqlitePush {
                conn: &tx,
                ledger: SqlLedger::new(&tx),
                insert: tx.prepare_cached(
                    "INSERT INTO events (id, warehouse, device, hlc, kind, received_ms, payload)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (id) DO NOTHING",
                )?,
                existing: tx.prepare_cached("SELECT seq, payload FROM events WHERE id = ?1")?,
                outbox: tx.prepare_cached(
                    "INSERT INTO erp_outbox (id, tenant, warehouse, type, version, occurred_ms, cause_seq, body)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (id) DO NOTHING",
                )?,
            };
            let result = work(&mut push)?;
            push.ledger.finish()?;
            result
        };
        tx.commit()?;
        Ok(result)
    }

    pub fn new(pools: TenantPools) -> Self {
        Self {
            pools,
            max_clock_ahead_ms: crate::DEFAULT_MAX_CLOCK_AHEAD_MS,
            erp_outbox: true,
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

    pub fn pools(&self) -> &TenantPools {
        &self.pools
    }
}

/// Whether the tenant's item `item` is lot-tracked, in a SQLite tenant database.
pub(crate) fn sqlite_lot_tracked(
    conn: &rusqlite::Connection,
    item: ItemId,
) -> Result<bool, ServerError> {
    Ok(conn
        .prepare_cached("SELECT lot_tracked FROM items WHERE id = ?1")?
        .query_row([item.as_bytes()], |row| row.get(0))
        .optional()?
        .unwrap_or(false))
}

/// A SQLite push transaction, as [`push::push_events`] drives it: `seq` is the rowid, which
/// the one writer per file (`TenantDb::write_turn`) hands out in commit order.
struct SqlitePush<'t> {
    conn: &'t rusqlite::Connection,
    ledger: SqlLedger<'t>,
    insert: rusqlite::CachedStatement<'t>,
    existing: rusqlite::CachedStatement<'t>,
    outbox: rusqlite::CachedStatement<'t>,
}

impl SqlitePush<'_> {
    /// The events `sql` (selecting `payload`) finds in the log with `params`.
    fn logged_events(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<Event>, ServerError> {
        let mut statement = self.conn.prepare_cached(sql)?;
        let payloads = statement
            .query_map(params, |row| row.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(payloads
            .iter()
            .map(|payload| serde_json::from_str(payload))
            .collect::<Result<_, _>>()?)
    }
}

impl<'t> push::PushTx for SqlitePush<'t> {
    type Ledger = SqlLedger<'t>;

    fn append(
        &mut self,
        event: &Event,
        payload: &str,
        now_ms: i64,
    ) -> Result<Option<i64>, ServerError> {
        let inserted = self.insert.execute((
            event.id.as_bytes(),
            event.warehouse.as_bytes(),
            event.device.as_bytes(),
            event.hlc.to_packed(),
            event.kind(),
            now_ms,
            payload,
        ))?;
        Ok((inserted == 1).then(|| self.conn.last_insert_rowid()))
    }

    fn logged(&mut self, id: EventId) -> Result<(i64, String), ServerError> {
        Ok(self
            .existing
            .query_row([id.as_bytes()], |row| Ok((row.get(0)?, row.get(1)?)))?)
    }

    fn lot_tracked(&mut self, item: ItemId) -> Result<bool, ServerError> {
        sqlite_lot_tracked(self.conn, item)
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
        self.outbox.execute((
            message.id.as_bytes(),
            message.tenant.as_bytes(),
            message.warehouse.as_bytes(),
            message.body.message_type(),
            message.version,
            i64::try_from(message.occurred_at_ms).unwrap_or(i64::MAX),
            cause_seq,
            serde_json::to_string(message)?,
        ))?;
        Ok(())
    }

    fn master_pick_list(
        &mut self,
        id: aisle_core::ids::PickListId,
    ) -> Result<Option<crate::erp_out::MasterPickList>, ServerError> {
        let head: Option<(String, String)> = self
            .conn
            .prepare_cached("SELECT reference, status FROM pick_lists WHERE id = ?1")?
            .query_row([id.as_bytes()], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()?;
        let Some((reference, status)) = head else {
            return Ok(None);
        };
        let mut statement = self.conn.prepare_cached(
            "SELECT line, item, location, lot, qty FROM pick_lines WHERE pick_list = ?1 ORDER BY line",
        )?;
        let lines = statement
            .query_map([id.as_bytes()], |row| {
                Ok((
                    row.get::<_, u32>(0)?,
                    ItemId::from_uuid(Uuid::from_bytes(row.get(1)?)),
                    LocationId::from_uuid(Uuid::from_bytes(row.get(2)?)),
                    row.get::<_, Option<String>>(3)?,
                    row.get::<_, i64>(4)?,
                ))
            })?
            .collect::<Result<_, _>>()?;
        Ok(Some(crate::erp_out::MasterPickList {
            reference,
            status,
            lines,
        }))
    }

    fn logged_seq(&mut self, id: EventId) -> Result<Option<i64>, ServerError> {
        Ok(self
            .existing
            .query_row([id.as_bytes()], |row| row.get(0))
            .optional()?)
    }

    fn put_backs(
        &mut self,
        pick_list: aisle_core::ids::PickListId,
    ) -> Result<Vec<Event>, ServerError> {
        // Through the partial index of tenant schema 10.
        self.logged_events(
            "SELECT payload FROM events
             WHERE kind = 'put_back' AND json_extract(payload, '$.body.pick_list') = ?1",
            [pick_list.to_string()],
        )
    }

    fn expected_receipt(
        &mut self,
        warehouse: WarehouseId,
        reference: &str,
    ) -> Result<Option<(String, Vec<aisle_core::receipt::ExpectedLine>)>, ServerError> {
        let head: Option<([u8; 16], String)> = self
            .conn
            .prepare_cached(
                "SELECT id, supplier FROM expected_receipts WHERE warehouse = ?1 AND reference = ?2",
            )?
            .query_row((warehouse.as_bytes(), reference), |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .optional()?;
        let Some((id, supplier)) = head else {
            return Ok(None);
        };
        let mut statement = self.conn.prepare_cached(
            "SELECT line, item, lot, qty FROM expected_lines WHERE receipt = ?1 ORDER BY line",
        )?;
        let lines = statement
            .query_map([id.as_slice()], |row| {
                Ok(aisle_core::receipt::ExpectedLine {
                    line: row.get(0)?,
                    item: ItemId::from_uuid(Uuid::from_bytes(row.get(1)?)),
                    lot: row.get::<_, Option<String>>(2)?.map(aisle_core::Lot::new),
                    qty: row.get(3)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(Some((supplier, lines)))
    }

    fn received_against(
        &mut self,
        warehouse: WarehouseId,
        reference: &str,
    ) -> Result<Vec<Event>, ServerError> {
        // Through the partial index of tenant schema 11.
        self.logged_events(
            "SELECT payload FROM events WHERE kind = 'received' AND warehouse = ?1
               AND json_extract(payload, '$.body.receipt') = ?2",
            (warehouse.as_bytes(), reference),
        )
    }

    fn pick_lists_by_reference(
        &mut self,
        reference: &str,
        warehouse: Option<aisle_core::ids::WarehouseId>,
    ) -> Result<Vec<(aisle_core::ids::PickListId, WarehouseId, String)>, ServerError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT id, warehouse, status FROM pick_lists
             WHERE reference = ?1 AND (?2 IS NULL OR warehouse = ?2) ORDER BY warehouse",
        )?;
        let found = statement
            .query_map(
                rusqlite::params![reference, warehouse.as_ref().map(|w| w.as_bytes().to_vec())],
                |row| {
                    Ok((
                        aisle_core::ids::PickListId::from_uuid(Uuid::from_bytes(row.get(0)?)),
                        WarehouseId::from_uuid(Uuid::from_bytes(row.get(1)?)),
                        row.get::<_, String>(2)?,
                    ))
                },
            )?
            .collect::<Result<_, _>>()?;
        Ok(found)
    }

    fn mark_cancelled(
        &mut self,
        pick_list: aisle_core::ids::PickListId,
    ) -> Result<(), ServerError> {
        // The next master version, as every master write takes it (`master::next_version`):
        // this transaction is the file's one writer.
        let version: i64 = self.conn.query_row(
            "UPDATE master_version SET version = version + 1 WHERE id = 1 RETURNING version",
            [],
            |row| row.get(0),
        )?;
        self.conn.execute(
            "UPDATE pick_lists SET status = 'cancelled', version = ?2 WHERE id = ?1",
            (pick_list.as_bytes(), version),
        )?;
        Ok(())
    }

    fn add_short(&mut self, short: &crate::erp_out::Short) -> Result<(), ServerError> {
        self.conn
            .prepare_cached(
                "INSERT INTO pick_line_shorts (event_id, pick_list, line, qty_short, reason)
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (event_id) DO NOTHING",
            )?
            .execute((
                short.event.as_bytes(),
                short.pick_list.as_bytes(),
                short.line,
                short.qty_short,
                &short.reason,
            ))?;
        Ok(())
    }

    fn shorts(
        &mut self,
        pick_list: aisle_core::ids::PickListId,
    ) -> Result<Vec<crate::erp_out::Short>, ServerError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT event_id, line, qty_short, reason FROM pick_line_shorts
             WHERE pick_list = ?1 ORDER BY event_id",
        )?;
        let shorts = statement
            .query_map([pick_list.as_bytes()], |row| {
                Ok(crate::erp_out::Short {
                    event: EventId::from_uuid(Uuid::from_bytes(row.get(0)?)),
                    pick_list,
                    line: row.get(1)?,
                    qty_short: row.get(2)?,
                    reason: row.get(3)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(shorts)
    }
}

impl Storage for SqliteStorage {
    fn stored_bytes(&self, context: &TenantContext) -> Result<u64, ServerError> {
        // The file and its write-ahead log, measured now: a stat costs next to nothing.
        Ok(crate::quota::stored_bytes(&crate::tenant_db_path(
            self.pools.data_dir(),
            context.tenant(),
        )))
    }

    fn push(
        &self,
        context: &TenantContext,
        events: &[Event],
        now_ms: i64,
    ) -> Result<Vec<PushResult>, ServerError> {
        let db = self.pools.get(context)?;
        self.in_push(&db, |push| {
            push::push_events(
                push,
                events,
                now_ms,
                self.max_clock_ahead_ms,
                self.erp_outbox,
            )
        })
    }

    fn cancel_pick_list(
        &self,
        context: &IntegrationContext<MasterWrite>,
        reference: &str,
        warehouse: Option<WarehouseId>,
        now_ms: i64,
    ) -> Result<Cancellation, ServerError> {
        let db = self.pools.get(context)?;
        self.in_push(&db, |push| {
            push::cancel_pick_list(push, context.tenant(), reference, warehouse, now_ms)
        })
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

    fn upsert_expected_receipts(
        &self,
        context: &IntegrationContext<MasterWrite>,
        receipts: &[master::NewExpectedReceipt],
        now_ms: i64,
    ) -> Result<master::Upsert, ServerError> {
        let db = self.pools.get(context)?;
        let mut conn = db.connection()?;
        master::upsert_expected_receipts(&mut conn, receipts, now_ms)
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

    fn erp_feed(
        &self,
        context: &IntegrationContext<FeedRead>,
        after: u64,
        limit: u32,
    ) -> Result<Vec<aisle_protocol::FeedEntry>, ServerError> {
        let db = self.pools.get(context)?;
        let conn = db.connection()?;
        let mut statement = conn.prepare_cached(
            "SELECT position, body FROM erp_outbox WHERE position > ?1 ORDER BY position LIMIT ?2",
        )?;
        let rows = statement.query_map(
            (i64::try_from(after).unwrap_or(i64::MAX), i64::from(limit)),
            |row| Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?)),
        )?;
        rows.map(|row| {
            let (position, body) = row?;
            feed_entry(position, &body)
        })
        .collect()
    }
}
