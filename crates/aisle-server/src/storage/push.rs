//! The push, once for every backend: which events are refused before they reach the log
//! (a device's `resolved`, an invalid event, one stamped too far ahead), deduplication by
//! id, applying each new event through `aisle_core::stock::apply_with_resolutions`, the
//! server's `lot_missing` discrepancies, and recording the rules' decisions as `resolved`
//! events, and the ERP outbox's messages each new event derives (`crate::erp_out`).
//!
//! A backend supplies [`PushTx`]: its push transaction's log and ledger. What a backend must
//! add is only how it appends a row and numbers it (SQLite's rowid under its single writer,
//! PostgreSQL's `MAX(seq) + 1` under the push lock).

use crate::error::ServerError;
use aisle_core::event::{EventBody, Resolution};
use aisle_core::ids::{EventId, ItemId};
use aisle_core::stock::{apply, apply_with_resolutions, Discrepancy, DiscrepancyKind, Ledger};
use aisle_core::{Event, Hlc, HlcClock};
use aisle_protocol::{PushResult, PushStatus};
use std::collections::HashMap;

/// One push transaction of a backend: its event log and its projection ledger.
pub(crate) trait PushTx {
    type Ledger: Ledger;

    /// Appends `event` (its canonical JSON is `payload`) with the log's next seq, unless its
    /// id is logged already: the new seq, or `None` for a known id.
    fn append(
        &mut self,
        event: &Event,
        payload: &str,
        now_ms: i64,
    ) -> Result<Option<i64>, ServerError>;

    /// The seq and payload of the logged event `id`.
    fn logged(&mut self, id: EventId) -> Result<(i64, String), ServerError>;

    /// Whether the tenant's item `item` is lot-tracked (false for an unknown item).
    fn lot_tracked(&mut self, item: ItemId) -> Result<bool, ServerError>;

    /// Tells the ledger that the next event it applies is `id`, logged at `seq`.
    fn applying(&mut self, id: EventId, seq: i64);

    fn ledger(&mut self) -> &mut Self::Ledger;

    /// Adds `message`, derived from the event logged at `cause_seq`, to the tenant's ERP
    /// outbox in this transaction, after every message added before it; a message whose
    /// id the outbox holds already is kept once.
    fn emit(
        &mut self,
        message: &aisle_protocol::ErpMessage,
        cause_seq: i64,
    ) -> Result<(), ServerError>;

    /// The pick list `id` as master data has it (reference and lines, in line order), or
    /// `None` when master data does not know it.
    fn master_pick_list(
        &mut self,
        id: aisle_core::ids::PickListId,
    ) -> Result<Option<crate::erp_out::MasterPickList>, ServerError>;

    /// Keeps the short pick `short` (a `short_picked` event just logged) for the ERP's
    /// `pick_list.completed`.
    fn add_short(&mut self, short: &crate::erp_out::Short) -> Result<(), ServerError>;

    /// The seq of the logged event `id`, or `None` when it is not logged (this push's own
    /// appends included).
    fn logged_seq(&mut self, id: EventId) -> Result<Option<i64>, ServerError>;

    /// The `put_back` events of `pick_list` in the log, this push's own appends included,
    /// in any order.
    fn put_backs(
        &mut self,
        pick_list: aisle_core::ids::PickListId,
    ) -> Result<Vec<Event>, ServerError>;

    /// The expected receipt `reference` of `warehouse`: its supplier and lines, or `None`
    /// when master data has none.
    fn expected_receipt(
        &mut self,
        warehouse: aisle_core::ids::WarehouseId,
        reference: &str,
    ) -> Result<Option<(String, Vec<aisle_core::receipt::ExpectedLine>)>, ServerError>;

    /// The `received` events of `warehouse` that name the expected receipt `reference`,
    /// this push's own appends included, in any order.
    fn received_against(
        &mut self,
        warehouse: aisle_core::ids::WarehouseId,
        reference: &str,
    ) -> Result<Vec<Event>, ServerError>;

    /// The tenant's pick lists with the ERP reference `reference` (in `warehouse`, when
    /// given): id, warehouse and master status.
    fn pick_lists_by_reference(
        &mut self,
        reference: &str,
        warehouse: Option<aisle_core::ids::WarehouseId>,
    ) -> Result<
        Vec<(
            aisle_core::ids::PickListId,
            aisle_core::ids::WarehouseId,
            String,
        )>,
        ServerError,
    >;

    /// Sets the pick list's master status to `cancelled` at the tenant's next master
    /// version, so devices pull the change (the push lock this transaction holds is the
    /// lock master writes take).
    fn mark_cancelled(&mut self, pick_list: aisle_core::ids::PickListId)
        -> Result<(), ServerError>;

    /// The short picks kept for `pick_list`'s lines, in event id order (UUIDv7: the order
    /// the devices recorded them in, near enough for listing reasons).
    fn shorts(
        &mut self,
        pick_list: aisle_core::ids::PickListId,
    ) -> Result<Vec<crate::erp_out::Short>, ServerError>;
}

/// Appends and applies `events` in `tx`; one result per event, in order, with the ERP
/// messages they derive unless `erp_outbox` is false (only the ingest benchmark turns it
/// off, to measure what the outbox costs). The caller finishes its ledger and commits.
pub(crate) fn push_events<T: PushTx>(
    tx: &mut T,
    events: &[Event],
    now_ms: i64,
    max_clock_ahead_ms: i64,
    erp_outbox: bool,
) -> Result<Vec<PushResult>, ServerError>
where
    ServerError: From<<T::Ledger as Ledger>::Error>,
{
    let mut results = Vec::with_capacity(events.len());
    let mut resolution_clock = HlcClock::new(Hlc::default());
    let mut lot_tracking = LotTracking::default();
    for event in events {
        if let EventBody::PickListCancelled { .. } = event.body {
            let message =
                "only the server records a pick list's cancellation, for the ERP".to_owned();
            results.push(rejected(event, "server_only", Some(message)));
            continue;
        }
        if let EventBody::Resolved { .. } = event.body {
            let message = "only the server records resolutions".to_owned();
            results.push(rejected(event, "server_only", Some(message)));
            continue;
        }
        if let Err(invalid) = event.validate() {
            results.push(rejected(event, "invalid_event", Some(invalid.to_string())));
            continue;
        }
        if let Some(refusal) = clock_ahead(event, now_ms, max_clock_ahead_ms) {
            results.push(refusal);
            continue;
        }
        let payload = serde_json::to_string(event)?;
        if let Some(seq) = tx.append(event, &payload, now_ms)? {
            tx.applying(event.id, seq);
            let missing_lot = lot_tracking.missing_lot(event, |item| tx.lot_tracked(item))?;
            let applied = if erp_outbox {
                apply_deriving_messages(tx, event, seq, missing_lot)?
            } else {
                let applied = apply_with_resolutions(tx.ledger(), event)?;
                if let Some(discrepancy) = missing_lot {
                    tx.ledger().open_discrepancy(&discrepancy)?;
                }
                applied
            };
            results.push(applied_result(event, seq));
            for resolution in applied.resolutions {
                record_resolution(tx, &mut resolution_clock, event, resolution, now_ms)?;
            }
            continue;
        }
        let (seq, stored) = tx.logged(event.id)?;
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
    Ok(results)
}

/// Applies `event` (just logged at `seq`) and opens its `missing_lot` discrepancy, and adds
/// to the tenant's ERP outbox, in this transaction, the messages that derives: its own
/// (`erp_out::messages`), the discrepancies it opened and closed (`erp_out::Watched`), and
/// a pick list it completed. A push that commits has them.
fn apply_deriving_messages<T: PushTx>(
    tx: &mut T,
    event: &Event,
    seq: i64,
    missing_lot: Option<Discrepancy>,
) -> Result<aisle_core::stock::Applied, ServerError>
where
    ServerError: From<<T::Ledger as Ledger>::Error>,
{
    let before = crate::erp_out::before(tx.ledger(), event)?;
    let mut watched = crate::erp_out::Watched::new(tx.ledger());
    let applied = apply_with_resolutions(&mut watched, event)?;
    if let Some(discrepancy) = missing_lot {
        watched.open_discrepancy(&discrepancy)?;
    }
    let discrepancies = watched.messages(event)?;
    let completed = crate::erp_out::pick_list_completed(tx, event)?;
    let cancelled = crate::erp_out::pick_list_cancelled(tx, event)?;
    let mut own = crate::erp_out::messages(tx.ledger(), event, before)?;
    if let Some(progress) = crate::erp_out::receipt_progress(tx, event)? {
        for message in &mut own {
            if let aisle_protocol::ErpMessageBody::GoodsReceived(data) = &mut message.body {
                data.receipt = Some(progress.clone());
            }
        }
    }
    for message in own
        .into_iter()
        .chain(discrepancies)
        .chain(completed)
        .chain(cancelled)
    {
        tx.emit(&message, seq)?;
    }
    Ok(applied)
}

/// Appends the `resolved` event recording `resolution`, which applying `cause` decided,
/// unless the same decision is recorded already. `clock` stamps it after its cause and the
/// push's earlier resolutions, and no earlier than the server's time.
fn record_resolution<T: PushTx>(
    tx: &mut T,
    clock: &mut HlcClock,
    cause: &Event,
    resolution: Resolution,
    now_ms: i64,
) -> Result<(), ServerError>
where
    ServerError: From<<T::Ledger as Ledger>::Error>,
{
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
    let payload = serde_json::to_string(&resolved)?;
    if let Some(seq) = tx.append(&resolved, &payload, now_ms)? {
        tx.applying(resolved.id, seq);
        // Changes nothing, but every logged event goes through the rules once.
        apply(tx.ledger(), &resolved)?;
        tracing::debug!(event = %resolved.id, cause = %cause.id, rule, "resolution recorded");
    }
    Ok(())
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

fn applied_result(event: &Event, seq: i64) -> PushResult {
    PushResult {
        id: event.id,
        status: PushStatus::Applied,
        seq: Some(seq as u64),
        reason: None,
        message: None,
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

/// Which items of the tenant are lot-tracked, read once per item per push.
#[derive(Default)]
pub(crate) struct LotTracking {
    lot_tracked: HashMap<ItemId, bool>,
}

impl LotTracking {
    /// The `lot_missing` discrepancy that `event` opens: an event on a lot-tracked item that
    /// names no lot. The event is a fact and is kept; a manager finds out which lot it was.
    /// `lot_tracked` reads an item's flag from the backend.
    pub(crate) fn missing_lot(
        &mut self,
        event: &Event,
        lot_tracked: impl FnOnce(ItemId) -> Result<bool, ServerError>,
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
        let tracked = match self.lot_tracked.get(&key.item) {
            Some(known) => *known,
            None => {
                let known = lot_tracked(key.item)?;
                self.lot_tracked.insert(key.item, known);
                known
            }
        };
        Ok(tracked.then(|| Discrepancy {
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

/// What the ERP's cancellation of a pick list came to (`POST …/erp/pick_lists/{reference}/cancel`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cancellation {
    /// The `pick_list_cancelled` event is logged at `seq` (now, or by an earlier request
    /// when `already` is true) and the list's master record says `cancelled`.
    Cancelled {
        pick_list: aisle_core::ids::PickListId,
        warehouse: aisle_core::ids::WarehouseId,
        event: EventId,
        seq: i64,
        already: bool,
    },
    /// No pick list of the tenant has the reference (in the warehouse, if one was named).
    Unknown,
    /// The reference names lists in several warehouses: the request must name one.
    Ambiguous,
    /// Every line of the list is finished (picked, or reported short), or the ERP marked it
    /// `done`: there is nothing left to cancel.
    Complete,
}

/// Records the ERP's cancellation of the pick list `reference` in `tx`, a push transaction
/// (so the event is numbered like any other, and the messages it derives are written with
/// it): the server's `pick_list_cancelled` event, which devices pull, and the list's master
/// record set to `cancelled` at the next master version. A list that is finished is refused;
/// one already cancelled answers as before, writing nothing.
pub(crate) fn cancel_pick_list<T: PushTx>(
    tx: &mut T,
    tenant: aisle_core::ids::TenantId,
    reference: &str,
    warehouse: Option<aisle_core::ids::WarehouseId>,
    now_ms: i64,
) -> Result<Cancellation, ServerError>
where
    ServerError: From<<T::Ledger as Ledger>::Error>,
{
    let found = tx.pick_lists_by_reference(reference, warehouse)?;
    let (pick_list, warehouse, status) = match found.as_slice() {
        [] => return Ok(Cancellation::Unknown),
        [one] => one.clone(),
        _ => return Ok(Cancellation::Ambiguous),
    };
    let id = Event::cancellation_id(pick_list);
    if let Some(seq) = tx.logged_seq(id)? {
        if status != "cancelled" {
            tx.mark_cancelled(pick_list)?;
        }
        return Ok(Cancellation::Cancelled {
            pick_list,
            warehouse,
            event: id,
            seq,
            already: true,
        });
    }
    if status == "done" || crate::erp_out::finished(tx, pick_list)? {
        return Ok(Cancellation::Complete);
    }
    let hlc = HlcClock::new(Hlc::default()).now(u64::try_from(now_ms).unwrap_or(0));
    let event = Event::pick_list_cancelled(tenant, warehouse, pick_list, hlc);
    event
        .validate()
        .map_err(|invalid| ServerError::Invalid(invalid.to_string()))?;
    let payload = serde_json::to_string(&event)?;
    let Some(seq) = tx.append(&event, &payload, now_ms)? else {
        // Logged since the lookup above: the same transaction holds the push lock, so only
        // a bug gets here.
        return Err(ServerError::Invalid(format!(
            "the cancellation of {reference} is logged twice"
        )));
    };
    tx.applying(event.id, seq);
    apply_deriving_messages(tx, &event, seq, None)?;
    tx.mark_cancelled(pick_list)?;
    Ok(Cancellation::Cancelled {
        pick_list,
        warehouse,
        event: id,
        seq,
        already: false,
    })
}
