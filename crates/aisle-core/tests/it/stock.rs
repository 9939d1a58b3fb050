//! The stock rules, one test per consequence the foundation issue lists, each checked in
//! every arrival order of its events and against the reference evaluator.

use crate::fixture::*;
use aisle_core::event::{CountDecision, Event, ReviewDecision};
use aisle_core::stock::memory::{Projection, Snapshot};
use aisle_core::stock::{reference, CountTaskReason, DiscrepancyKind, Notice};

/// Every permutation of `events` (kept small by the callers).
fn permutations(events: &[Event]) -> Vec<Vec<Event>> {
    if events.len() <= 1 {
        return vec![events.to_vec()];
    }
    let mut all = Vec::new();
    for first in 0..events.len() {
        let mut rest = events.to_vec();
        let head = rest.remove(first);
        for mut tail in permutations(&rest) {
            tail.insert(0, head.clone());
            all.push(tail);
        }
    }
    all
}

/// Applies the events in every order; asserts each order gives the reference snapshot,
/// and returns it.
fn in_every_order(events: &[Event]) -> Snapshot {
    let expected = reference::evaluate(events);
    for order in permutations(events) {
        let mut projection = Projection::new();
        for event in &order {
            projection.apply(event).expect("no payload mismatch");
        }
        let ids: Vec<String> = order.iter().map(|event| event.kind().to_string()).collect();
        assert_eq!(
            projection.snapshot(),
            expected,
            "arrival order {ids:?} must not change the outcome"
        );
    }
    expected
}

#[test]
fn pick_before_count_synced_after_is_absorbed_by_the_count() {
    let mut events = Events::default();
    let bin = key(1, 1, None);
    let receive = events.make(1, 1_000, 0, received(&bin, 10));
    // Device 2 picks 3 at t=2000 while offline ...
    let pick = events.make(2, 2_000, 0, picked(&bin, 3));
    // ... and device 1 counts 7 at t=3000: the count already saw the pick's effect.
    let count = events.make(
        1,
        3_000,
        0,
        counted(&bin, 7, 10, CountDecision::SelfApproved),
    );
    let snapshot = in_every_order(&[receive, count, pick]);
    assert_eq!(
        snapshot.on_hand[&bin], 7,
        "the pick is inside the count and must not be subtracted twice"
    );
}

#[test]
fn pick_after_count_applies_on_top_whatever_the_arrival_order() {
    let mut events = Events::default();
    let bin = key(1, 1, None);
    let receive = events.make(1, 1_000, 0, received(&bin, 10));
    let count = events.make(
        1,
        2_000,
        0,
        counted(&bin, 10, 10, CountDecision::SelfApproved),
    );
    let pick = events.make(2, 3_000, 0, picked(&bin, 3));
    let snapshot = in_every_order(&[receive, count, pick]);
    assert_eq!(
        snapshot.on_hand[&bin], 7,
        "a pick after the count comes off the counted quantity"
    );
}

#[test]
fn on_hand_depends_only_on_the_set_of_events() {
    let mut events = Events::default();
    let bin = key(1, 1, Some("L1"));
    let other = key(2, 1, Some("L1"));
    let all = vec![
        events.make(1, 1_000, 0, received(&bin, 20)),
        events.make(2, 1_000, 0, picked(&bin, 4)),
        events.make(3, 1_500, 1, moved(&bin, 2, 5)),
        events.make(1, 2_000, 0, adjusted(&other, -1)),
        events.make(
            2,
            2_500,
            0,
            counted(&bin, 12, 11, CountDecision::SelfApproved),
        ),
    ];
    let once = in_every_order(&all);
    assert_eq!(
        once.on_hand[&bin], 12,
        "the count at t=2500 is the baseline"
    );
    assert_eq!(once.on_hand[&other], 4, "5 moved in, 1 adjusted out");

    // Duplicates and a split across devices that later exchange everything.
    let mut device_a = Projection::new();
    let mut device_b = Projection::new();
    for (index, event) in all.iter().enumerate() {
        if index % 2 == 0 {
            device_a.apply(event)
        } else {
            device_b.apply(event)
        }
        .expect("apply");
    }
    for event in all.iter().rev().chain(all.iter()) {
        device_a.apply(event).expect("apply");
        device_b.apply(event).expect("apply");
    }
    assert_eq!(device_a.snapshot(), once, "device A after sync");
    assert_eq!(device_b.snapshot(), once, "device B after sync");
}

#[test]
fn negative_stock_is_recorded_and_raises_a_discrepancy_and_count_task() {
    let mut events = Events::default();
    let bin = key(1, 1, None);
    let receive = events.make(1, 1_000, 0, received(&bin, 1));
    let pick_a = events.make(1, 2_000, 0, picked(&bin, 1));
    let pick_b = events.make(2, 2_000, 5, picked(&bin, 1));
    let snapshot = in_every_order(&[receive.clone(), pick_a.clone(), pick_b.clone()]);
    assert_eq!(
        snapshot.on_hand[&bin], -1,
        "both picks happened on the floor; neither is rejected"
    );
    let negative: Vec<_> = snapshot
        .discrepancies
        .values()
        .filter(|d| matches!(&d.kind, DiscrepancyKind::NegativeStock { key, on_hand: -1 } if *key == bin))
        .collect();
    assert_eq!(
        negative.len(),
        1,
        "one negative-stock discrepancy: {:?}",
        snapshot.discrepancies
    );
    assert!(
        snapshot
            .tasks
            .values()
            .any(|task| task.key == bin && task.reason == CountTaskReason::NegativeStock),
        "a count task for the key: {:?}",
        snapshot.tasks
    );

    // A count of the bin settles it: the discrepancy and task close.
    let count = events.make(
        1,
        3_000,
        0,
        counted(&bin, 0, -1, CountDecision::SelfApproved),
    );
    let settled = in_every_order(&[receive, pick_a, pick_b, count]);
    assert_eq!(settled.on_hand[&bin], 0);
    assert!(
        settled.discrepancies.is_empty(),
        "nothing left open: {:?}",
        settled.discrepancies
    );
    assert!(settled.tasks.is_empty(), "task closed: {:?}", settled.tasks);
}

#[test]
fn short_pick_raises_a_count_task_that_a_later_count_closes() {
    let mut events = Events::default();
    let bin = key(1, 1, None);
    let receive = events.make(1, 1_000, 0, received(&bin, 5));
    let short = events.make(2, 2_000, 0, short_picked(&bin, pick_list(1), 2));
    let snapshot = in_every_order(&[receive.clone(), short.clone()]);
    let tasks: Vec<_> = snapshot.tasks.values().collect();
    assert_eq!(tasks.len(), 1, "one count task");
    assert!(
        matches!(tasks[0].reason, CountTaskReason::ShortPick { .. }),
        "raised by the short pick"
    );
    assert_eq!(tasks[0].key, bin);

    let earlier_count = events.make(
        1,
        1_500,
        0,
        counted(&bin, 5, 5, CountDecision::SelfApproved),
    );
    let still_open = in_every_order(&[receive.clone(), short.clone(), earlier_count]);
    assert_eq!(
        still_open.tasks.len(),
        1,
        "a count from before the short pick does not answer it"
    );

    let later_count = events.make(1, 3_000, 0, counted(&bin, 3, 5, CountDecision::NeedsReview));
    let answered = in_every_order(&[receive, short, later_count]);
    assert!(
        answered.tasks.is_empty(),
        "a later count answers the task: {:?}",
        answered.tasks
    );
    assert_eq!(
        answered.discrepancies.len(),
        1,
        "but its variance waits for a manager"
    );
}

#[test]
fn pick_list_claimed_twice_earliest_wins_and_the_other_device_is_told() {
    let mut events = Events::default();
    let list = pick_list(7);
    let first = events.make(2, 5_000, 0, claimed(list));
    let second = events.make(1, 5_000, 1, claimed(list));
    let snapshot = in_every_order(&[first.clone(), second.clone()]);
    let contested = snapshot.discrepancies.values().find_map(|d| match &d.kind {
        DiscrepancyKind::PickListContested { winner, losers, .. } => {
            Some((winner.clone(), losers.clone()))
        }
        _ => None,
    });
    let (winner, losers) = contested.expect("the double claim is surfaced");
    assert_eq!(winner.order.device, device(2), "the earlier hlc wins");
    assert_eq!(losers.len(), 1);
    assert_eq!(losers[0].order.device, device(1));

    for order in [[first.clone(), second.clone()], [second, first]] {
        let mut projection = Projection::new();
        let notices: Vec<Notice> = order
            .iter()
            .flat_map(|event| projection.apply(event).expect("apply"))
            .collect();
        assert!(
            notices.iter().any(|notice| matches!(notice, Notice::ClaimLost { loser, winner, .. } if *loser == device(1) && winner.order.device == device(2) && winner.user == user(2))),
            "device 1 is told that device 2 (and which user) won, whatever the arrival order: {notices:?}"
        );
    }
}

#[test]
fn same_device_claiming_twice_is_not_a_conflict() {
    let mut events = Events::default();
    let list = pick_list(7);
    let snapshot = in_every_order(&[
        events.make(1, 1, 0, claimed(list)),
        events.make(1, 2, 0, claimed(list)),
    ]);
    assert!(
        snapshot.discrepancies.is_empty(),
        "{:?}",
        snapshot.discrepancies
    );
}

#[test]
fn picking_above_the_line_quantity_is_an_over_pick() {
    let mut events = Events::default();
    let bin = key(1, 1, None);
    let list = pick_list(3);
    let receive = events.make(1, 1_000, 0, received(&bin, 20));
    let pick_1 = events.make(1, 2_000, 0, picked_on_line(&bin, 3, list, 1, 5));
    let pick_2 = events.make(2, 2_001, 0, picked_on_line(&bin, 2, list, 1, 5));
    let exact = in_every_order(&[receive.clone(), pick_1.clone(), pick_2.clone()]);
    assert!(exact.discrepancies.is_empty(), "5 of 5 is not an over-pick");

    let pick_3 = events.make(2, 2_002, 0, picked_on_line(&bin, 1, list, 1, 5));
    let over = in_every_order(&[receive, pick_1, pick_2, pick_3]);
    let found = over.discrepancies.values().find_map(|d| match d.kind {
        DiscrepancyKind::OverPick {
            picked,
            line_qty,
            line,
            ..
        } => Some((picked, line_qty, line)),
        _ => None,
    });
    assert_eq!(found, Some((6, 5, 1)), "6 picked on a line of 5");
    assert_eq!(over.on_hand[&bin], 14, "the over-pick still happened");
}

#[test]
fn count_outside_tolerance_waits_for_review() {
    let mut events = Events::default();
    let bin = key(1, 1, None);
    let receive = events.make(1, 1_000, 0, received(&bin, 10));
    let count = events.make(
        1,
        2_000,
        0,
        counted(&bin, 4, 10, CountDecision::NeedsReview),
    );
    let pending = in_every_order(&[receive.clone(), count.clone()]);
    assert_eq!(
        pending.on_hand[&bin], 10,
        "an unreviewed count does not move stock"
    );
    assert!(
        pending.discrepancies.values().any(|d| matches!(
            d.kind,
            DiscrepancyKind::CountVariance {
                counted_qty: 4,
                system_qty: 10,
                ..
            }
        )),
        "the key shows an open variance"
    );

    let approve = events.make(3, 3_000, 0, reviewed(count.id, ReviewDecision::Approved));
    let approved = in_every_order(&[receive.clone(), count.clone(), approve.clone()]);
    assert_eq!(
        approved.on_hand[&bin], 4,
        "approved, the count is the baseline"
    );
    assert!(approved.discrepancies.is_empty());

    // The latest review in event order decides, whatever order the reviews arrive in: a
    // rejection ordered before the approval is overridden by it.
    let early_reject = events.make(4, 2_500, 0, reviewed(count.id, ReviewDecision::Rejected));
    let approved_last = in_every_order(&[
        receive.clone(),
        count.clone(),
        early_reject.clone(),
        approve.clone(),
    ]);
    assert_eq!(
        approved_last.on_hand[&bin], 4,
        "the latest review (an approval) decides over an earlier rejection"
    );
    assert!(
        approved_last.tasks.is_empty(),
        "an approved count asks for no recount: {:?}",
        approved_last.tasks
    );

    // A manager who approved by mistake rejects later: the rejection stands, and an older
    // approval synced late cannot override it.
    let reject = events.make(4, 3_500, 0, reviewed(count.id, ReviewDecision::Rejected));
    let rejected = in_every_order(&[receive.clone(), count.clone(), approve, reject.clone()]);
    assert_eq!(
        rejected.on_hand[&bin], 10,
        "the latest review (a rejection) decides"
    );
    assert!(
        rejected
            .tasks
            .values()
            .any(|task| matches!(task.reason, CountTaskReason::Recount { .. })),
        "a rejection asks for a recount: {:?}",
        rejected.tasks
    );
    let recount = events.make(
        1,
        4_000,
        0,
        counted(&bin, 9, 10, CountDecision::SelfApproved),
    );
    let done = in_every_order(&[receive, count, reject, recount]);
    assert_eq!(done.on_hand[&bin], 9);
    assert!(
        done.tasks.is_empty(),
        "the recount closes the task: {:?}",
        done.tasks
    );
}

/// A count that approved itself within tolerance stays approved: a review of it, even a
/// rejection, changes nothing.
#[test]
fn a_review_of_a_self_approved_count_changes_nothing() {
    let mut events = Events::default();
    let bin = key(1, 1, None);
    let receive = events.make(1, 1_000, 0, received(&bin, 10));
    let count = events.make(
        1,
        2_000,
        0,
        counted(&bin, 9, 10, CountDecision::SelfApproved),
    );
    let reject = events.make(2, 3_000, 0, reviewed(count.id, ReviewDecision::Rejected));
    let after = in_every_order(&[receive, count, reject]);
    assert_eq!(
        after.on_hand[&bin], 9,
        "the self-approved count stays the baseline"
    );
    assert!(after.tasks.is_empty(), "no recount: {:?}", after.tasks);
}

#[test]
fn same_id_different_payload_is_refused() {
    let mut events = Events::default();
    let bin = key(1, 1, None);
    let event = events.make(1, 1_000, 0, received(&bin, 10));
    let mut forged = event.clone();
    forged.body = received(&bin, 11);
    let mut projection = Projection::new();
    projection.apply(&event).expect("first time");
    projection
        .apply(&event)
        .expect("the same event again is a no-op");
    assert!(projection.apply(&forged).is_err(), "same id, other payload");
    assert_eq!(projection.on_hand(&bin), 10);
}

#[test]
fn a_managers_request_opens_a_count_task_that_only_a_later_count_closes() {
    let mut events = Events::default();
    let bin = key(1, 1, Some("LOT-A"));
    let receive = events.make(1, 1_000, 0, received(&bin, 5));
    let request = events.make(3, 2_000, 0, count_requested(&bin, "pallet looks light"));
    let snapshot = in_every_order(&[receive.clone(), request.clone()]);
    assert_eq!(snapshot.on_hand[&bin], 5, "a request moves no stock");
    let tasks: Vec<_> = snapshot.tasks.values().collect();
    assert_eq!(tasks.len(), 1, "the request opens one task: {tasks:?}");
    assert_eq!(tasks[0].key, bin);
    assert_eq!(
        tasks[0].reason,
        CountTaskReason::Requested {
            requested: request.order(),
            user: request.user,
            note: "pallet looks light".into(),
        },
        "the task says who asked and why"
    );

    let earlier_count = events.make(
        1,
        1_500,
        0,
        counted(&bin, 5, 5, CountDecision::SelfApproved),
    );
    let still_open = in_every_order(&[receive.clone(), request.clone(), earlier_count]);
    assert_eq!(
        still_open.tasks.len(),
        1,
        "a count taken before the request does not answer it"
    );

    let later_count = events.make(
        2,
        2_500,
        0,
        counted(&bin, 4, 5, CountDecision::SelfApproved),
    );
    let closed = in_every_order(&[receive.clone(), request.clone(), later_count.clone()]);
    assert!(
        closed.tasks.is_empty(),
        "a count after the request closes it: {:?}",
        closed.tasks
    );
    assert_eq!(closed.on_hand[&bin], 4);

    let other_lot = events.make(
        2,
        2_600,
        0,
        counted(&key(1, 1, None), 0, 0, CountDecision::SelfApproved),
    );
    assert_eq!(
        in_every_order(&[request.clone(), other_lot]).tasks.len(),
        1,
        "a count of another key (no lot) does not answer a request for the lot"
    );
}

#[test]
fn a_requested_task_reopens_when_the_count_that_closed_it_is_rejected() {
    let mut events = Events::default();
    let bin = key(2, 1, None);
    let request = events.make(3, 2_000, 0, count_requested(&bin, ""));
    let count = events.make(1, 3_000, 0, counted(&bin, 9, 2, CountDecision::NeedsReview));
    let pending = in_every_order(&[request.clone(), count.clone()]);
    assert!(
        pending
            .tasks
            .values()
            .all(|task| !matches!(task.reason, CountTaskReason::Requested { .. })),
        "a count waiting for review still answers the request: {:?}",
        pending.tasks
    );
    let reject = events.make(3, 4_000, 0, reviewed(count.id, ReviewDecision::Rejected));
    let reopened = in_every_order(&[request.clone(), count, reject]);
    assert!(
        reopened
            .tasks
            .values()
            .any(|task| matches!(task.reason, CountTaskReason::Requested { .. })),
        "a rejected count answers nothing: the request is open again: {:?}",
        reopened.tasks
    );
}

#[test]
fn a_duplicated_request_opens_one_task() {
    let mut events = Events::default();
    let bin = key(1, 2, None);
    let request = events.make(3, 2_000, 0, count_requested(&bin, "check"));
    let mut projection = Projection::new();
    for _ in 0..3 {
        projection.apply(&request).expect("the same payload");
    }
    assert_eq!(
        projection.snapshot(),
        reference::evaluate([&request, &request])
    );
    assert_eq!(projection.snapshot().tasks.len(), 1);
}
