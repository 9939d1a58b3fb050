//! Business messages for ERPs (docs/protocol.md, "ERP integration: outbound messages and
//! the feed"), derived from the floor's events inside the push's transaction (`storage::push`
//! hands them to the backend's outbox with the events). A push that commits has its
//! messages; one that rolls back has none; an event pushed twice is applied once and so
//! derives its messages once, and a message derived again (a count approved by a second
//! review) has the same id, which the outbox keeps once.
//!
//! Today: `goods.received` for each receipt, `stock.adjusted` for each adjustment and
//! each count that is approved with a variance (within tolerance at once, or by the latest
//! review of a count that needed one), and `discrepancy.opened` / `discrepancy.closed` as
//! the rules (or the server's lot check) open and close discrepancies ([`Watched`]), and
//! `pick_list.completed` when a list's last line is finished ([`pick_list_completed`]),
//! and `pick_list.cancelled` when a list the ERP cancelled is settled: at its cancellation
//! when nothing was picked, else when the last unit picked is put back
//! ([`pick_list_cancelled`]). A cancelled list is never `pick_list.completed`.
//!
//! Derivation reads the projection (a key's on-hand before an adjustment, a count's record
//! after its review) through the same [`Ledger`] the rules write, and nothing else: no
//! clock, no randomness.

use aisle_core::event::{CountDecision, EventBody};
use aisle_core::ids::{EventId, ItemId, LocationId, PickListId};
use aisle_core::stock::{
    Claim, CountRecord, CountStatus, CountTask, Discrepancy, EventOrder, KeyState, Ledger,
    PickLineState, ReviewRecord, StockKey,
};
use aisle_core::Event;
use aisle_protocol::{
    AdjustmentCause, CancelledLine, CompletedLine, DiscrepancyClosed, DiscrepancyOpened,
    ErpMessage, ErpMessageBody, GoodsReceived, PickListCancelled, PickListCompleted, PutBackLine,
    StockAdjusted, ERP_MESSAGE_VERSION,
};

/// What an event's messages need from the projection before the event is applied: the
/// on-hand of the key an adjustment changes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Before {
    on_hand: Option<i64>,
}

/// Reads what [`messages`] needs from before `event` is applied.
pub(crate) fn before<L: Ledger>(ledger: &mut L, event: &Event) -> Result<Before, L::Error> {
    let on_hand = match &event.body {
        // An adjustment moves one key: its only delta.
        EventBody::Adjusted { .. } => match event.deltas().into_iter().next() {
            Some((key, _)) => Some(on_hand(ledger, &key)?),
            None => None,
        },
        _ => None,
    };
    Ok(Before { on_hand })
}

fn on_hand<L: Ledger>(ledger: &mut L, key: &StockKey) -> Result<i64, L::Error> {
    Ok(ledger.key_state(key)?.map_or(0, |state| state.on_hand))
}

/// The message id for `kind` of `cause`: the same however often it is derived. It starts
/// with the cause's first 48 bits, a UUIDv7's time (see [`time_ordered`]).
fn message_id(kind: &str, cause: EventId) -> uuid::Uuid {
    let derived = EventId::derived(&format!("erp/{kind}"), cause.as_uuid().as_bytes());
    *time_ordered(derived, cause).as_uuid()
}

/// `id` with the first 48 bits of `time_of` (a UUIDv7's milliseconds), the rest (and the
/// UUIDv8 version and variant) its own. The outbox's unique index on ids then grows at its
/// right edge as the floor's events do, instead of at random pages (on PostgreSQL, one
/// tenant's ingest with the outbox went from 12.6% below the same run without it to 2.8%
/// when ids became time-ordered; one pair of runs each, docs/BENCHMARKS.md).
fn time_ordered(id: EventId, time_of: EventId) -> EventId {
    let mut bytes = *id.as_bytes();
    bytes[..6].copy_from_slice(&time_of.as_bytes()[..6]);
    EventId::from_uuid(uuid::Uuid::from_bytes(bytes))
}

fn message(event: &Event, id_cause: EventId, body: ErpMessageBody) -> ErpMessage {
    ErpMessage {
        id: message_id(body.message_type(), id_cause),
        version: ERP_MESSAGE_VERSION,
        tenant: event.tenant,
        warehouse: event.warehouse,
        occurred_at_ms: event.hlc.wall_ms,
        body,
    }
}

/// The messages `event`, just applied, derives; `before` is what [`before`] read.
pub(crate) fn messages<L: Ledger>(
    ledger: &mut L,
    event: &Event,
    before: Before,
) -> Result<Vec<ErpMessage>, L::Error> {
    let lot =
        |lot: &Option<aisle_core::event::Lot>| lot.as_ref().map(|lot| lot.as_str().to_owned());
    Ok(match &event.body {
        EventBody::Received {
            location,
            item,
            lot: received_lot,
            qty,
            ..
        } => vec![message(
            event,
            event.id,
            ErpMessageBody::GoodsReceived(GoodsReceived {
                event: event.id,
                location: *location,
                item: *item,
                lot: lot(received_lot),
                quantity: *qty,
                device: event.device,
                user: event.user,
                // Filled in by `receipt_progress`, which reads the expected receipt.
                receipt: None,
            }),
        )],
        EventBody::Adjusted {
            location,
            item,
            lot: adjusted_lot,
            delta,
            reason,
            ..
        } => {
            let before = before.on_hand.unwrap_or(0);
            vec![message(
                event,
                event.id,
                ErpMessageBody::StockAdjusted(StockAdjusted {
                    cause: AdjustmentCause::Adjustment,
                    event: event.id,
                    approved_by: None,
                    location: *location,
                    item: *item,
                    lot: lot(adjusted_lot),
                    before,
                    after: before + delta,
                    delta: *delta,
                    reason: reason.clone(),
                }),
            )]
        }
        EventBody::Counted { .. } => approved_count(ledger, event, event.id, None)?,
        EventBody::CountReviewed { counted, .. } => {
            approved_count(ledger, event, *counted, Some(event.id))?
        }
        _ => Vec::new(),
    })
}

/// `stock.adjusted` for count `counted` if it now stands approved with a variance. Its id
/// comes from the count, so a count approved again by a later review is one message.
fn approved_count<L: Ledger>(
    ledger: &mut L,
    event: &Event,
    counted: EventId,
    review: Option<EventId>,
) -> Result<Vec<ErpMessage>, L::Error> {
    let Some(record) = ledger.count(counted)? else {
        // A review that arrived before its count: the count derives the message.
        return Ok(Vec::new());
    };
    // A count that approved itself stays approved; a review of it changes nothing.
    let reviewed_now = review.is_some() && record.decision == CountDecision::NeedsReview;
    let counted_now = review.is_none();
    let variance = record.counted_qty - record.system_qty;
    if record.status != CountStatus::Approved || variance == 0 || !(reviewed_now || counted_now) {
        return Ok(Vec::new());
    }
    let key = &record.key;
    Ok(vec![message(
        event,
        counted,
        ErpMessageBody::StockAdjusted(StockAdjusted {
            cause: AdjustmentCause::Count,
            event: counted,
            approved_by: review.filter(|_| reviewed_now),
            location: key.location,
            item: key.item,
            lot: key.lot.as_ref().map(|lot| lot.as_str().to_owned()),
            before: record.system_qty,
            after: record.counted_qty,
            delta: variance,
            reason: "count".to_owned(),
        }),
    )])
}

/// A pick list as master data has it, for `pick_list.completed` and `pick_list.cancelled`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct MasterPickList {
    pub reference: String,
    /// `open`, `done` or `cancelled`.
    pub status: String,
    /// `(line, item, location, lot, quantity)`, in line order.
    pub lines: Vec<(u32, ItemId, LocationId, Option<String>, i64)>,
}

/// One short pick of a pick line, as the push keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Short {
    pub event: EventId,
    pub pick_list: PickListId,
    pub line: u32,
    pub qty_short: i64,
    /// The reason's wire name (`not_found`, `damaged`, `wrong_item`).
    pub reason: String,
}

/// `pick_list.completed` when `event`, just applied, finished the last unfinished line of
/// its pick list: every line's picks and shorts reach its quantity. Keeps `event`'s short
/// pick first. The message's id comes from the pick list, so a list that is finished
/// again (a late pick from an offline PC) is the same message, which the outbox keeps once.
/// Costs nothing for an event that is not about a pick line, and one read of the line's
/// progress for a pick that leaves its line unfinished.
pub(crate) fn pick_list_completed<T: crate::storage::push::PushTx>(
    tx: &mut T,
    event: &Event,
) -> Result<Option<ErpMessage>, crate::error::ServerError>
where
    crate::error::ServerError: From<<T::Ledger as Ledger>::Error>,
{
    let line_ref = match &event.body {
        EventBody::Picked {
            pick_line: Some(line_ref),
            ..
        } => line_ref,
        EventBody::ShortPicked {
            pick_line,
            qty_short,
            reason,
            ..
        } => {
            tx.add_short(&Short {
                event: event.id,
                pick_list: pick_line.pick_list,
                line: pick_line.line,
                qty_short: *qty_short,
                reason: wire_name(reason),
            })?;
            pick_line
        }
        _ => return Ok(None),
    };
    let list_id = line_ref.pick_list;
    let picked = |tx: &mut T, line: u32| -> Result<i64, crate::error::ServerError> {
        Ok(tx
            .ledger()
            .pick_line(list_id, line)?
            .map_or(0, |state| state.picked_total))
    };
    // Most picks leave their line unfinished: that is seen from the line alone.
    let picked_here = picked(tx, line_ref.line)?;
    if picked_here < line_ref.line_qty {
        let short: i64 = tx
            .shorts(list_id)?
            .iter()
            .filter(|short| short.line == line_ref.line)
            .map(|short| short.qty_short)
            .sum();
        if picked_here + short < line_ref.line_qty {
            return Ok(None);
        }
    }
    let Some(list) = tx.master_pick_list(list_id)? else {
        return Ok(None);
    };
    // The ERP cancelled it: what was picked goes back, and `pick_list.cancelled` says so.
    if cancelled(tx, list_id, &list)? {
        return Ok(None);
    }
    let shorts = tx.shorts(list_id)?;
    let mut lines = Vec::with_capacity(list.lines.len());
    for (line, item, location, lot, quantity) in list.lines {
        let picked = picked(tx, line)?;
        let of_line: Vec<&Short> = shorts.iter().filter(|short| short.line == line).collect();
        let short: i64 = of_line.iter().map(|short| short.qty_short).sum();
        if picked + short < quantity {
            return Ok(None);
        }
        lines.push(CompletedLine {
            line,
            item,
            location,
            lot,
            quantity,
            picked,
            short,
            short_reasons: of_line.iter().map(|short| short.reason.clone()).collect(),
        });
    }
    if lines.is_empty() {
        return Ok(None);
    }
    let id_cause = time_ordered(
        EventId::derived("pick_list", list_id.as_bytes()),
        EventId::from_uuid(*list_id.as_uuid()),
    );
    Ok(Some(message(
        event,
        id_cause,
        ErpMessageBody::PickListCompleted(PickListCompleted {
            pick_list: list_id,
            reference: list.reference,
            event: event.id,
            lines,
        }),
    )))
}

/// The expected receipt `event` (a `received` that names one) was received against, with
/// expected against received per line so far, this event included (`aisle_core::receipt`);
/// `None` for any other event.
pub(crate) fn receipt_progress<T: crate::storage::push::PushTx>(
    tx: &mut T,
    event: &Event,
) -> Result<Option<aisle_protocol::ReceiptProgress>, crate::error::ServerError> {
    let EventBody::Received {
        receipt: Some(reference),
        ..
    } = &event.body
    else {
        return Ok(None);
    };
    let expected = tx.expected_receipt(event.warehouse, reference)?;
    let mut received = tx.received_against(event.warehouse, reference)?;
    if !received.iter().any(|logged| logged.id == event.id) {
        received.push(event.clone());
    }
    let (known, supplier, lines) = match expected {
        Some((supplier, lines)) => (true, supplier, lines),
        None => (false, String::new(), Vec::new()),
    };
    let progress = aisle_core::receipt::progress(reference, &lines, &received);
    let lot = |lot: Option<aisle_core::event::Lot>| lot.map(|lot| lot.as_str().to_owned());
    Ok(Some(aisle_protocol::ReceiptProgress {
        reference: reference.clone(),
        known,
        supplier,
        lines: progress
            .lines
            .into_iter()
            .map(|line| aisle_protocol::ReceiptLineProgress {
                line: line.line,
                item: line.item,
                lot: lot(line.lot),
                expected: line.expected,
                received: line.received,
                difference: line.difference,
            })
            .collect(),
        unexpected: progress
            .unexpected
            .into_iter()
            .map(|extra| aisle_protocol::ReceiptUnexpected {
                item: extra.item,
                lot: lot(extra.lot),
                received: extra.received,
            })
            .collect(),
    }))
}

/// Whether the ERP cancelled `list_id`: its cancellation is logged, or its master record
/// says `cancelled` (an ERP may also cancel by upserting the list with that status).
fn cancelled<T: crate::storage::push::PushTx>(
    tx: &mut T,
    list_id: PickListId,
    list: &MasterPickList,
) -> Result<bool, crate::error::ServerError> {
    Ok(list.status == "cancelled" || tx.logged_seq(Event::cancellation_id(list_id))?.is_some())
}

/// Whether every line of `list_id` is finished: its picks and reported shorts reach the
/// line's quantity (false for a list master data does not know, or one without lines).
pub(crate) fn finished<T: crate::storage::push::PushTx>(
    tx: &mut T,
    list_id: PickListId,
) -> Result<bool, crate::error::ServerError>
where
    crate::error::ServerError: From<<T::Ledger as Ledger>::Error>,
{
    let Some(list) = tx.master_pick_list(list_id)? else {
        return Ok(false);
    };
    let shorts = tx.shorts(list_id)?;
    for (line, _, _, _, quantity) in &list.lines {
        let picked = tx
            .ledger()
            .pick_line(list_id, *line)?
            .map_or(0, |state| state.picked_total);
        let short: i64 = shorts
            .iter()
            .filter(|short| short.line == *line)
            .map(|short| short.qty_short)
            .sum();
        if picked.saturating_add(short) < *quantity {
            return Ok(false);
        }
    }
    Ok(!list.lines.is_empty())
}

/// `pick_list.cancelled` when `event`, just applied, settles a pick list the ERP cancelled:
/// the cancellation itself when nothing was picked for the list, or the put-back that
/// brings every line's put-back total up to what was picked for it (one that was settled
/// already derives nothing). The message's id comes from that event, so it is derived once.
pub(crate) fn pick_list_cancelled<T: crate::storage::push::PushTx>(
    tx: &mut T,
    event: &Event,
) -> Result<Option<ErpMessage>, crate::error::ServerError>
where
    crate::error::ServerError: From<<T::Ledger as Ledger>::Error>,
{
    let (list_id, this_put_back) = match &event.body {
        EventBody::PickListCancelled { pick_list } => (*pick_list, None),
        EventBody::PutBack {
            pick_list,
            line,
            qty,
            ..
        } => (*pick_list, Some((*line, *qty))),
        _ => return Ok(None),
    };
    let Some(list) = tx.master_pick_list(list_id)? else {
        return Ok(None);
    };
    let cancellation = Event::cancellation_id(list_id);
    let logged = tx.logged_seq(cancellation)?.is_some();
    if !logged && list.status != "cancelled" {
        return Ok(None);
    }
    let mut put_backs = tx.put_backs(list_id)?;
    put_backs.sort_by_key(Event::order);
    put_backs.dedup_by_key(|put_back| put_back.id);
    let (mut settled, mut settled_before) = (true, true);
    let mut lines = Vec::with_capacity(list.lines.len());
    for (line, item, location, lot, quantity) in list.lines {
        let picked = tx
            .ledger()
            .pick_line(list_id, line)?
            .map_or(0, |state| state.picked_total);
        let mut put_back = Vec::new();
        for put in &put_backs {
            if let EventBody::PutBack {
                line: put_line,
                location,
                lot,
                qty,
                ..
            } = &put.body
            {
                if *put_line == line {
                    put_back.push(PutBackLine {
                        location: *location,
                        lot: lot.as_ref().map(|lot| lot.as_str().to_owned()),
                        qty: *qty,
                        event: put.id,
                    });
                }
            }
        }
        let back: i64 = put_back.iter().map(|put| put.qty).sum();
        let this = this_put_back
            .filter(|(put_line, _)| *put_line == line)
            .map_or(0, |(_, qty)| qty);
        settled &= back >= picked;
        settled_before &= back - this >= picked;
        lines.push(CancelledLine {
            line,
            item,
            location,
            lot,
            quantity,
            picked,
            put_back,
        });
    }
    let newly_settled = match this_put_back {
        None => settled,
        Some(_) => settled && !settled_before,
    };
    if !newly_settled {
        return Ok(None);
    }
    Ok(Some(message(
        event,
        event.id,
        ErpMessageBody::PickListCancelled(PickListCancelled {
            pick_list: list_id,
            reference: list.reference,
            cancellation: logged.then_some(cancellation),
            lines,
        }),
    )))
}

/// A serde enum's wire name (its JSON string).
fn wire_name<S: serde::Serialize>(value: &S) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        _ => String::new(),
    }
}

/// A ledger that notes which discrepancies the rules open and resolve while one event is
/// applied through it, and whether each was open before, so that [`Watched::messages`]
/// can tell an ERP which ones opened and which closed. A discrepancy refreshed (opened
/// again while open) or resolved while already resolved changes nothing an ERP is told.
pub(crate) struct Watched<'l, L> {
    inner: &'l mut L,
    /// Each discrepancy touched, in the order first touched, with whether it was open
    /// before, and its latest details when it was opened.
    touched: Vec<(String, bool, Option<Discrepancy>)>,
}

impl<'l, L: Ledger> Watched<'l, L> {
    pub(crate) fn new(inner: &'l mut L) -> Self {
        Self {
            inner,
            touched: Vec::new(),
        }
    }

    fn touch(&mut self, id: &str) -> Result<usize, L::Error> {
        if let Some(at) = self.touched.iter().position(|(seen, ..)| seen == id) {
            return Ok(at);
        }
        let was_open = self.inner.discrepancy_open(id)?;
        self.touched.push((id.to_owned(), was_open, None));
        Ok(self.touched.len() - 1)
    }

    /// `discrepancy.opened` for each discrepancy `event` opened and `discrepancy.closed`
    /// for each it closed. Ids come from the discrepancy and the event, so a message
    /// derived again is the same message, and a discrepancy that opens again later is a
    /// new one.
    pub(crate) fn messages(self, event: &Event) -> Result<Vec<ErpMessage>, L::Error> {
        let mut messages = Vec::new();
        for (id, was_open, opened) in self.touched {
            let open = self.inner.discrepancy_open(&id)?;
            let kind = id.split('/').next().unwrap_or_default().to_owned();
            let id_cause = time_ordered(
                EventId::derived(&id, event.id.as_uuid().as_bytes()),
                event.id,
            );
            let body = match (was_open, open, opened) {
                (false, true, Some(opened)) => {
                    ErpMessageBody::DiscrepancyOpened(DiscrepancyOpened {
                        discrepancy: id,
                        kind,
                        event: event.id,
                        details: serde_json::to_value(&opened.kind).unwrap_or_default(),
                    })
                }
                (true, false, _) => ErpMessageBody::DiscrepancyClosed(DiscrepancyClosed {
                    discrepancy: id,
                    kind,
                    event: event.id,
                }),
                _ => continue,
            };
            messages.push(message(event, id_cause, body));
        }
        Ok(messages)
    }
}

impl<L: Ledger> Ledger for Watched<'_, L> {
    type Error = L::Error;

    fn key_state(&mut self, key: &StockKey) -> Result<Option<KeyState>, Self::Error> {
        self.inner.key_state(key)
    }
    fn put_key_state(&mut self, key: &StockKey, state: &KeyState) -> Result<(), Self::Error> {
        self.inner.put_key_state(key, state)
    }
    fn add_delta(
        &mut self,
        key: &StockKey,
        order: &EventOrder,
        delta: i64,
    ) -> Result<(), Self::Error> {
        self.inner.add_delta(key, order, delta)
    }
    fn sum_deltas_after(
        &mut self,
        key: &StockKey,
        after: Option<&EventOrder>,
    ) -> Result<i64, Self::Error> {
        self.inner.sum_deltas_after(key, after)
    }
    fn count(&mut self, counted: EventId) -> Result<Option<CountRecord>, Self::Error> {
        self.inner.count(counted)
    }
    fn put_count(&mut self, count: &CountRecord) -> Result<(), Self::Error> {
        self.inner.put_count(count)
    }
    fn latest_count(
        &mut self,
        key: &StockKey,
        approved_only: bool,
    ) -> Result<Option<CountRecord>, Self::Error> {
        self.inner.latest_count(key, approved_only)
    }
    fn add_review(&mut self, review: &ReviewRecord) -> Result<(), Self::Error> {
        self.inner.add_review(review)
    }
    fn reviews(&mut self, counted: EventId) -> Result<Vec<ReviewRecord>, Self::Error> {
        self.inner.reviews(counted)
    }
    fn pick_line(
        &mut self,
        pick_list: PickListId,
        line: u32,
    ) -> Result<Option<PickLineState>, Self::Error> {
        self.inner.pick_line(pick_list, line)
    }
    fn put_pick_line(
        &mut self,
        pick_list: PickListId,
        line: u32,
        state: &PickLineState,
    ) -> Result<(), Self::Error> {
        self.inner.put_pick_line(pick_list, line, state)
    }
    fn add_claim(&mut self, claim: &Claim) -> Result<(), Self::Error> {
        self.inner.add_claim(claim)
    }
    fn claims(&mut self, pick_list: PickListId) -> Result<Vec<Claim>, Self::Error> {
        self.inner.claims(pick_list)
    }
    fn count_tasks(&mut self, key: &StockKey) -> Result<Vec<CountTask>, Self::Error> {
        self.inner.count_tasks(key)
    }
    fn put_task(&mut self, task: &CountTask) -> Result<(), Self::Error> {
        self.inner.put_task(task)
    }
    fn open_discrepancy(&mut self, discrepancy: &Discrepancy) -> Result<(), Self::Error> {
        let at = self.touch(&discrepancy.id)?;
        self.touched[at].2 = Some(discrepancy.clone());
        self.inner.open_discrepancy(discrepancy)
    }
    fn resolve_discrepancy(&mut self, id: &str) -> Result<(), Self::Error> {
        self.touch(id)?;
        self.inner.resolve_discrepancy(id)
    }
    fn discrepancy_open(&mut self, id: &str) -> Result<bool, Self::Error> {
        self.inner.discrepancy_open(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aisle_core::event::ReviewDecision;
    use aisle_core::stock::apply;
    use aisle_core::stock::memory::MemoryLedger;
    use aisle_core::testkit;

    fn applied(ledger: &mut MemoryLedger, event: &Event) -> Vec<ErpMessage> {
        let before = before(ledger, event).expect("before");
        apply(ledger, event).expect("applied");
        messages(ledger, event, before).expect("messages")
    }

    fn adjusted(messages: &[ErpMessage]) -> &StockAdjusted {
        match &messages[0].body {
            ErpMessageBody::StockAdjusted(data) => data,
            other => panic!("stock.adjusted, not {other:?}"),
        }
    }

    #[test]
    fn a_receipt_and_an_adjustment_derive_their_messages_with_before_and_after() {
        let mut ledger = MemoryLedger::default();
        let mut events = testkit::Events::default();
        let key = testkit::key(1, 1, None);
        let receipt = events.make(1, 1_000, 0, testkit::received(&key, 10));
        let received = applied(&mut ledger, &receipt);
        assert_eq!(received.len(), 1);
        assert_eq!(received[0].body.message_type(), "goods.received");
        assert_eq!(received[0].occurred_at_ms, 1_000);
        let ErpMessageBody::GoodsReceived(data) = &received[0].body else {
            panic!("goods.received")
        };
        assert_eq!(
            (data.quantity, data.event, data.item),
            (10, receipt.id, key.item)
        );

        let adjustment = events.make(1, 2_000, 0, testkit::adjusted(&key, -3));
        let messages = applied(&mut ledger, &adjustment);
        let data = adjusted(&messages);
        assert_eq!(
            (
                data.cause,
                data.before,
                data.after,
                data.delta,
                data.reason.as_str()
            ),
            (AdjustmentCause::Adjustment, 10, 7, -3, "damaged")
        );
        assert_eq!(
            applied(&mut MemoryLedger::default(), &adjustment)[0].id,
            messages[0].id,
            "the id is the cause's, whatever the projection says"
        );
        assert_ne!(received[0].id, messages[0].id);
    }

    #[test]
    fn a_count_derives_an_adjustment_once_approved_with_a_variance_and_only_once() {
        let mut ledger = MemoryLedger::default();
        let mut events = testkit::Events::default();
        let key = testkit::key(1, 1, None);
        applied(
            &mut ledger,
            &events.make(1, 1_000, 0, testkit::received(&key, 10)),
        );

        // Within tolerance, approved at once: the variance is the message.
        let within = events.make(
            1,
            2_000,
            0,
            testkit::counted(&key, 9, 10, CountDecision::SelfApproved),
        );
        let messages = applied(&mut ledger, &within);
        let data = adjusted(&messages);
        assert_eq!(
            (
                data.cause,
                data.before,
                data.after,
                data.delta,
                data.approved_by
            ),
            (AdjustmentCause::Count, 10, 9, -1, None)
        );
        // A review of a count that approved itself changes nothing.
        let review = events.make(
            2,
            2_500,
            0,
            testkit::reviewed(within.id, ReviewDecision::Approved),
        );
        assert!(applied(&mut ledger, &review).is_empty());

        // Needs review: nothing until a review approves it, then one message, whose id a
        // second approving review repeats.
        let big = events.make(
            1,
            3_000,
            0,
            testkit::counted(&key, 2, 9, CountDecision::NeedsReview),
        );
        assert!(
            applied(&mut ledger, &big).is_empty(),
            "pending review: no message"
        );
        let approve = events.make(
            2,
            4_000,
            0,
            testkit::reviewed(big.id, ReviewDecision::Approved),
        );
        let approved = applied(&mut ledger, &approve);
        let data = adjusted(&approved);
        assert_eq!(
            (data.event, data.approved_by, data.before, data.after),
            (big.id, Some(approve.id), 9, 2)
        );
        let again = events.make(
            2,
            5_000,
            0,
            testkit::reviewed(big.id, ReviewDecision::Approved),
        );
        assert_eq!(
            applied(&mut ledger, &again)[0].id,
            approved[0].id,
            "the same message"
        );

        // A count without a variance tells the ERP nothing.
        let equal = events.make(
            1,
            6_000,
            0,
            testkit::counted(&key, 2, 2, CountDecision::SelfApproved),
        );
        assert!(applied(&mut ledger, &equal).is_empty());
        // A rejected review derives nothing.
        let other = testkit::key(2, 1, None);
        let pending = events.make(
            1,
            7_000,
            0,
            testkit::counted(&other, 50, 0, CountDecision::NeedsReview),
        );
        applied(&mut ledger, &pending);
        let reject = events.make(
            2,
            8_000,
            0,
            testkit::reviewed(pending.id, ReviewDecision::Rejected),
        );
        assert!(applied(&mut ledger, &reject).is_empty());
    }
}
