//! Business messages for ERPs (docs/protocol.md, "ERP integration: outbound messages and
//! the feed"), derived from the floor's events inside the push's transaction (`storage::push`
//! hands them to the backend's outbox with the events). A push that commits has its
//! messages; one that rolls back has none; an event pushed twice is applied once and so
//! derives its messages once, and a message derived again (a count approved by a second
//! review) has the same id, which the outbox keeps once.
//!
//! Today: `goods.received` for each receipt, and `stock.adjusted` for each adjustment and
//! each count that is approved with a variance (within tolerance at once, or by the latest
//! review of a count that needed one). The other types of issue 16 (`pick_list.completed`,
//! `pick_list.cancelled`, `discrepancy.*`) are not derived yet.
//!
//! Derivation reads the projection (a key's on-hand before an adjustment, a count's record
//! after its review) through the same [`Ledger`] the rules write, and nothing else: no
//! clock, no randomness.

use aisle_core::event::{CountDecision, EventBody};
use aisle_core::ids::EventId;
use aisle_core::stock::{CountStatus, Ledger, StockKey};
use aisle_core::Event;
use aisle_protocol::{
    AdjustmentCause, ErpMessage, ErpMessageBody, GoodsReceived, StockAdjusted, ERP_MESSAGE_VERSION,
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

/// The message id for `kind` of `cause`: the same however often it is derived.
fn message_id(kind: &str, cause: EventId) -> uuid::Uuid {
    *EventId::derived(&format!("erp/{kind}"), cause.as_uuid().as_bytes()).as_uuid()
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
