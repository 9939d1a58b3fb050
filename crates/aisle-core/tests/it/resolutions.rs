//! Resolutions: every automatic decision of the rules, as the server records it. Each rule
//! names what it decided and why, the same decision is recorded once, and recording it
//! changes no stock and raises nothing.

use crate::fixture::*;
use aisle_core::event::{CountDecision, Event, EventBody, Resolution, ReviewDecision};
use aisle_core::ids::{DeviceId, EventId, ItemId, LocationId};
use aisle_core::stock::memory::{Projection, Snapshot};
use aisle_core::stock::{reference, CountTaskReason, DiscrepancyKind};
use aisle_core::{Hlc, HlcClock, Lot};
use std::collections::BTreeSet;

/// What the server does with arriving events: apply each new one and record every decision
/// it yields as a `resolved` event, once per derived id, stamped after everything it has
/// seen. Returns the projection (resolutions applied too) and the resolution events in
/// recorded order.
pub fn ingest<'a>(arrival: impl IntoIterator<Item = &'a Event>) -> (Projection, Vec<Event>) {
    let mut projection = Projection::new();
    let mut recorded = Vec::new();
    let mut ids = BTreeSet::new();
    let mut clock = HlcClock::new(Hlc::default());
    for event in arrival {
        clock = HlcClock::new(clock.last().max(event.hlc));
        let applied = projection
            .apply_with_resolutions(event)
            .expect("no payload mismatch");
        for resolution in applied.resolutions {
            if !ids.insert(resolution.event_id()) {
                continue;
            }
            let resolved = resolution.into_event(tenant(), warehouse(), clock.now(0));
            assert_eq!(resolved.validate(), Ok(()), "{resolved:?}");
            let notices = projection.apply(&resolved).expect("a new id");
            assert!(notices.is_empty(), "a resolution tells nobody anything");
            recorded.push(resolved);
        }
    }
    (projection, recorded)
}

fn resolutions(events: &[Event]) -> Vec<&Resolution> {
    events
        .iter()
        .map(|event| match &event.body {
            EventBody::Resolved { resolution } => resolution,
            other => panic!("not a resolution: {other:?}"),
        })
        .collect()
}

/// Recording the resolutions changed nothing: the projection is the reference evaluation
/// of the floor events alone, and so is the evaluation with the resolutions in.
fn assert_neutral(floor: &[Event], projection: &Projection, recorded: &[Event]) -> Snapshot {
    let expected = reference::evaluate(floor);
    assert_eq!(
        projection.snapshot(),
        expected,
        "resolutions change no state"
    );
    assert_eq!(
        reference::evaluate(floor.iter().chain(recorded)),
        expected,
        "the reference ignores resolutions too"
    );
    expected
}

#[test]
fn a_contested_pick_list_is_resolved_once_naming_the_winner_in_either_arrival_order() {
    let mut events = Events::default();
    let list = pick_list(7);
    let first = events.make(2, 5_000, 0, claimed(list));
    let second = events.make(1, 5_000, 1, claimed(list));
    // Device 1 claims again later: it has lost once, not twice.
    let again = events.make(1, 6_000, 0, claimed(list));
    for arrival in [
        [&first, &second, &again],
        [&second, &first, &again],
        [&again, &second, &first],
    ] {
        let (projection, recorded) = ingest(arrival);
        let floor: Vec<Event> = arrival.iter().map(|event| (*event).clone()).collect();
        assert_neutral(&floor, &projection, &recorded);
        let resolved = resolutions(&recorded);
        assert_eq!(resolved.len(), 1, "one decision: {resolved:?}");
        let Resolution::ClaimConflict {
            pick_list,
            winner,
            loser,
        } = resolved[0]
        else {
            panic!("a claim conflict: {resolved:?}")
        };
        assert_eq!(*pick_list, list);
        assert_eq!(
            (winner.event, winner.device, winner.user),
            (first.id, device(2), user(2)),
            "the earliest hlc won, and the resolution says which device and user"
        );
        assert_eq!(
            (loser.event, loser.device),
            (second.id, device(1)),
            "the loser's earliest claim"
        );
        assert_eq!(
            recorded[0].device,
            DeviceId::server(tenant(), warehouse()),
            "authored by the server"
        );
        assert!(
            recorded[0].hlc > first.hlc && recorded[0].hlc > second.hlc,
            "stamped after the claims it decided between"
        );
    }
}

#[test]
fn an_earlier_claim_arriving_late_is_a_new_decision() {
    let mut events = Events::default();
    let list = pick_list(7);
    let middle = events.make(1, 2_000, 0, claimed(list));
    let last = events.make(2, 3_000, 0, claimed(list));
    let earliest = events.make(3, 1_000, 0, claimed(list));
    let (_, recorded) = ingest([&middle, &last, &earliest]);
    let winners: Vec<(EventId, DeviceId)> = resolutions(&recorded)
        .into_iter()
        .map(|resolution| match resolution {
            Resolution::ClaimConflict { winner, loser, .. } => (winner.event, loser.device),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        winners,
        vec![
            (middle.id, device(2)),
            (earliest.id, device(1)),
            (earliest.id, device(2)),
        ],
        "the trail shows what was decided as the claims arrived"
    );
}

#[test]
fn negative_stock_is_resolved_with_its_count_task_each_time_it_goes_negative() {
    let mut events = Events::default();
    let bin = key(1, 1, None);
    let pick = events.make(1, 1_000, 0, picked(&bin, 2));
    let pick_more = events.make(1, 1_500, 0, picked(&bin, 1));
    let receipt = events.make(2, 2_000, 0, received(&bin, 5));
    let pick_again = events.make(1, 3_000, 0, picked(&bin, 9));
    let floor = [pick.clone(), pick_more, receipt, pick_again.clone()];
    let (projection, recorded) = ingest(&floor);
    let snapshot = assert_neutral(&floor, &projection, &recorded);
    let resolved = resolutions(&recorded);
    let causes: Vec<(EventId, i64)> = resolved
        .iter()
        .map(|resolution| match resolution {
            Resolution::NegativeStock {
                location,
                item,
                lot,
                on_hand,
                cause,
                task,
            } => {
                assert_eq!(
                    (*location, *item, lot),
                    (bin.location, bin.item, &bin.lot),
                    "names the key"
                );
                let raised = snapshot.tasks.get(task).expect("the task it names is open");
                assert_eq!(raised.reason, CountTaskReason::NegativeStock);
                (*cause, *on_hand)
            }
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        causes,
        vec![(pick.id, -2), (pick_again.id, -7)],
        "going further below zero is the same decision; going negative again is a new one"
    );
}

#[test]
fn an_over_pick_is_resolved_once_naming_the_line_and_the_key() {
    let mut events = Events::default();
    let bin = key(1, 1, Some("L1"));
    let list = pick_list(3);
    let floor = [
        events.make(1, 1_000, 0, received(&bin, 10)),
        events.make(1, 2_000, 0, picked_on_line(&bin, 4, list, 1, 5)),
        events.make(2, 2_000, 0, picked_on_line(&bin, 3, list, 1, 5)),
        events.make(2, 3_000, 0, picked_on_line(&bin, 1, list, 1, 5)),
    ];
    let (projection, recorded) = ingest(&floor);
    assert_neutral(&floor, &projection, &recorded);
    assert_eq!(
        resolutions(&recorded),
        vec![&Resolution::OverPick {
            pick_list: list,
            line: 1,
            picked: 7,
            line_qty: 5,
            location: bin.location,
            item: bin.item,
            lot: bin.lot.clone(),
            cause: floor[2].id,
        }],
        "the pick that went over is the cause; more over-picking is the same decision"
    );
}

#[test]
fn a_short_pick_raises_a_count_task_unless_a_later_count_covers_it() {
    let mut events = Events::default();
    let bin = key(2, 1, None);
    let short = events.make(1, 1_000, 0, short_picked(&bin, pick_list(1), 2));
    let (projection, recorded) = ingest([&short]);
    let snapshot = assert_neutral(std::slice::from_ref(&short), &projection, &recorded);
    let [Resolution::ShortPick {
        task,
        short_pick,
        cause,
        ..
    }] = resolutions(&recorded)[..]
    else {
        panic!("one short-pick resolution: {recorded:?}")
    };
    assert_eq!((*short_pick, *cause), (short.id, short.id));
    assert!(
        snapshot.tasks.contains_key(task),
        "the task it names is open"
    );

    let count = events.make(
        2,
        2_000,
        0,
        counted(&bin, 0, 0, CountDecision::SelfApproved),
    );
    let (_, recorded) = ingest([&count, &short]);
    assert!(
        recorded.is_empty(),
        "a count after the short pick arrived first: no task, so nothing was decided: {recorded:?}"
    );
}

#[test]
fn a_count_outside_tolerance_waits_for_review_and_a_rejection_raises_a_recount() {
    let mut events = Events::default();
    let bin = key(1, 2, None);
    let receipt = events.make(1, 1_000, 0, received(&bin, 10));
    let count = events.make(
        2,
        2_000,
        0,
        counted(&bin, 7, 10, CountDecision::NeedsReview),
    );
    let reject = events.make(3, 3_000, 0, reviewed(count.id, ReviewDecision::Rejected));
    let floor = [receipt, count.clone(), reject.clone()];
    let (projection, recorded) = ingest(&floor);
    let snapshot = assert_neutral(&floor, &projection, &recorded);
    let resolved = resolutions(&recorded);
    assert!(
        matches!(
            resolved[..],
            [
                Resolution::CountVariance { counted: variance_of, counted_qty: 7, system_qty: 10, .. },
                Resolution::Recount { counted: recount_of, cause, task, .. },
            ] if *variance_of == count.id && *recount_of == count.id && *cause == reject.id
                && snapshot.tasks.contains_key(task)
        ),
        "first the variance, then the recount the rejection raised: {resolved:?}"
    );
}

#[test]
fn a_short_pick_task_reopened_by_rejecting_the_count_that_covered_it_is_resolved_again() {
    let mut events = Events::default();
    let bin = key(3, 1, None);
    let short = events.make(1, 1_000, 0, short_picked(&bin, pick_list(1), 1));
    let count = events.make(2, 2_000, 0, counted(&bin, 4, 0, CountDecision::NeedsReview));
    let reject = events.make(3, 3_000, 0, reviewed(count.id, ReviewDecision::Rejected));
    let floor = [short.clone(), count, reject.clone()];
    let (projection, recorded) = ingest(&floor);
    assert_neutral(&floor, &projection, &recorded);
    let short_pick_causes: Vec<EventId> = resolutions(&recorded)
        .into_iter()
        .filter_map(|resolution| match resolution {
            Resolution::ShortPick { cause, .. } => Some(*cause),
            _ => None,
        })
        .collect();
    assert_eq!(
        short_pick_causes,
        vec![short.id, reject.id],
        "raised by the short pick, raised again by the rejection"
    );
}

#[test]
fn the_incremental_rules_and_the_reference_agree_with_resolutions_in_the_log() {
    // Devices pull the server's resolutions and replay them with everything else, in any
    // order: the outcome is still that of the floor events alone.
    let mut events = Events::default();
    let bin = key(1, 1, None);
    let floor = [
        events.make(1, 1_000, 0, picked(&bin, 1)),
        events.make(2, 1_000, 0, claimed(pick_list(1))),
        events.make(1, 1_001, 0, claimed(pick_list(1))),
    ];
    let (_, recorded) = ingest(&floor);
    assert_eq!(recorded.len(), 2, "negative stock and a claim conflict");
    let expected = reference::evaluate(&floor);
    let mut replay: Vec<&Event> = floor.iter().chain(&recorded).collect();
    replay.reverse();
    let mut device_side = Projection::new();
    for event in replay {
        let applied = device_side.apply_with_resolutions(event).expect("apply");
        if matches!(event.body, EventBody::Resolved { .. }) {
            assert_eq!(applied, Default::default(), "a resolution yields nothing");
        }
    }
    assert_eq!(device_side.snapshot(), expected);
}

/// The id of the discrepancy a resolution is about, if it is about one.
pub fn discrepancy_of(resolution: &Resolution) -> Option<String> {
    let key_name = |location: &LocationId, item: &ItemId, lot: &Option<Lot>| {
        format!(
            "{}/{location}/{item}/{}",
            warehouse(),
            lot.as_ref().map_or("", |lot| lot.as_str())
        )
    };
    match resolution {
        Resolution::NegativeStock {
            location,
            item,
            lot,
            ..
        } => Some(format!("negative_stock/{}", key_name(location, item, lot))),
        Resolution::OverPick {
            pick_list, line, ..
        } => Some(format!("over_pick/{pick_list}/{line}")),
        Resolution::CountVariance { counted, .. } => Some(format!("count_variance/{counted}")),
        Resolution::ClaimConflict { pick_list, .. } => {
            Some(format!("pick_list_contested/{pick_list}"))
        }
        Resolution::ShortPick { .. } | Resolution::Recount { .. } => None,
    }
}

/// Every open task and discrepancy in `snapshot` has a recorded resolution that raised it;
/// a contested list has one naming its current winner for each losing device. A task a
/// manager requested has none: the request is its record, not a decision of the rules.
pub fn assert_every_open_thing_was_resolved(snapshot: &Snapshot, recorded: &[Event]) {
    let resolved = resolutions(recorded);
    for (task, open) in &snapshot.tasks {
        if let CountTaskReason::Requested { .. } = open.reason {
            assert!(
                !resolved
                    .iter()
                    .any(|resolution| resolution.task() == Some(*task)),
                "requested task {task} is not recorded as a decision: {resolved:?}"
            );
            continue;
        }
        assert!(
            resolved
                .iter()
                .any(|resolution| resolution.task() == Some(*task)),
            "open task {task} has a resolution: {resolved:?}"
        );
    }
    for (id, discrepancy) in &snapshot.discrepancies {
        if let DiscrepancyKind::PickListContested { winner, losers, .. } = &discrepancy.kind {
            for loser in losers {
                assert!(
                    resolved.iter().any(|resolution| matches!(resolution,
                        Resolution::ClaimConflict { winner: named, loser: lost, .. }
                            if named.event == winner.order.id && lost.device == loser.order.device)),
                    "device {} was told {} won: {resolved:?}",
                    loser.order.device,
                    winner.order.device
                );
            }
        } else {
            assert!(
                resolved
                    .iter()
                    .any(|resolution| discrepancy_of(resolution).as_ref() == Some(id)),
                "open discrepancy {id} has a resolution: {resolved:?}"
            );
        }
    }
}

/// A manager's request is an event with an author already: applying it opens a task but
/// takes no decision, so the server records nothing for it.
#[test]
fn a_count_request_opens_a_task_and_records_no_decision() {
    let mut events = Events::default();
    let bin = key(1, 1, None);
    let request = events.make(3, 1_000, 0, count_requested(&bin, "cycle count"));
    let (projection, recorded) = ingest([&request]);
    assert!(
        recorded.is_empty(),
        "nothing decided automatically: {recorded:?}"
    );
    let snapshot = assert_neutral(std::slice::from_ref(&request), &projection, &recorded);
    assert!(
        snapshot
            .tasks
            .values()
            .any(|task| matches!(task.reason, CountTaskReason::Requested { .. })),
        "the request's task is open: {:?}",
        snapshot.tasks
    );
    assert_every_open_thing_was_resolved(&snapshot, &recorded);
}
