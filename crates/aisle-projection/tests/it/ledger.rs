//! The ledger's semantics on every backend: whatever the arrival order and however the
//! events are split into transactions, the projection is the core's reference evaluation of
//! the log.

use crate::backend::{both, Backend};
use crate::scenario::everything;
use aisle_core::event::{CountDecision, ReviewDecision};
use aisle_core::stock::reference;
use aisle_core::testkit::*;
use aisle_core::Event;

both!(
    one_transaction_in_reverse_order_gives_the_reference,
    one_transaction_per_event_gives_the_reference,
    duplicates_and_replayed_batches_change_nothing,
    late_movements_with_the_counts_hlc_are_placed_by_device_and_id,
    movements_after_a_count_with_its_hlc_are_placed_by_device_and_id,
    a_task_closed_and_reopened_in_one_transaction_ends_open,
    a_count_closes_the_task_an_earlier_transaction_stored,
);

/// Everything in one transaction, newest first: every count arrives before the movements
/// it must absorb, which are then still pending in the ledger's write-behind cache.
fn one_transaction_in_reverse_order_gives_the_reference(backend: &mut dyn Backend) {
    let log = everything();
    let arrival: Vec<&Event> = log.iter().rev().collect();
    backend.ingest(&arrival);
    assert_eq!(
        backend.snapshot(),
        reference::evaluate(&log),
        "the projection is the reference evaluation of the log"
    );
}

/// One transaction per event in an interleaved order: what a count re-adds is read back
/// from the tables, not from the cache.
fn one_transaction_per_event_gives_the_reference(backend: &mut dyn Backend) {
    let log = everything();
    let (even, odd): (Vec<_>, Vec<_>) = log
        .iter()
        .enumerate()
        .partition(|(index, _)| index % 2 == 0);
    for (_, event) in odd.into_iter().rev().chain(even) {
        backend.ingest(&[event]);
    }
    assert_eq!(backend.snapshot(), reference::evaluate(&log));
}

fn duplicates_and_replayed_batches_change_nothing(backend: &mut dyn Backend) {
    let log = everything();
    let all: Vec<&Event> = log.iter().collect();
    backend.ingest(&all[..7]);
    backend.ingest(&all);
    let once = backend.snapshot();
    backend.ingest(&all);
    assert_eq!(
        backend.snapshot(),
        once,
        "a known event is not applied twice"
    );
    assert_eq!(once, reference::evaluate(&log));
}

/// The count and two picks share an hlc. First the picks arrive after the count, then
/// (on a second key's worth of the same log) before it, each in a transaction of its own, so
/// the ledger compares (device, id) in SQL to place stored deltas around the count.
fn late_movements_with_the_counts_hlc_are_placed_by_device_and_id(backend: &mut dyn Backend) {
    let log = everything();
    let tied: Vec<&Event> = log
        .iter()
        .filter(|event| event.hlc.wall_ms == 3_000)
        .collect();
    assert_eq!(tied.len(), 3, "sanity: two picks and a count share an hlc");
    assert_eq!(
        tied[1].kind(),
        "counted",
        "sanity: the count is the middle one"
    );
    let first = &log[..3];
    backend.ingest(&first.iter().collect::<Vec<_>>());
    backend.ingest(&[tied[2]]);
    backend.ingest(&[tied[0]]);
    backend.ingest(&[tied[1]]);
    let mut seen: Vec<Event> = first.to_vec();
    seen.extend(tied.iter().map(|event| (*event).clone()));
    assert_eq!(backend.snapshot(), reference::evaluate(&seen));
    let later: Vec<&Event> = log[6..].iter().collect();
    backend.ingest(&later);
    assert_eq!(backend.snapshot(), reference::evaluate(&log));
}

/// The same with the count first: the picks are compared with the baseline in memory.
fn movements_after_a_count_with_its_hlc_are_placed_by_device_and_id(backend: &mut dyn Backend) {
    let log = everything();
    let tied: Vec<&Event> = log
        .iter()
        .filter(|event| event.hlc.wall_ms == 3_000)
        .collect();
    let first = &log[..3];
    backend.ingest(&first.iter().collect::<Vec<_>>());
    backend.ingest(&[tied[1]]);
    backend.ingest(&[tied[2]]);
    backend.ingest(&[tied[0]]);
    let mut seen: Vec<Event> = first.to_vec();
    seen.extend(tied.iter().map(|event| (*event).clone()));
    assert_eq!(backend.snapshot(), reference::evaluate(&seen));
}

/// A requested count is logged; later, in one transaction, a count covers it (closing the
/// task) and a review rejects that count (reopening it): what the ledger reads back within
/// the transaction must be the task as it was just put, not as it is stored.
fn a_task_closed_and_reopened_in_one_transaction_ends_open(backend: &mut dyn Backend) {
    let mut events = Events::default();
    let bin = key(1, 1, None);
    let request = events.make(1, 1_000, 0, count_requested(&bin, "count it"));
    let count = events.make(2, 2_000, 0, counted(&bin, 4, 0, CountDecision::NeedsReview));
    let rejection = events.make(1, 3_000, 0, reviewed(count.id, ReviewDecision::Rejected));
    backend.ingest(&[&request]);
    backend.ingest(&[&count, &rejection]);
    let log = [request, count, rejection];
    let expected = reference::evaluate(&log);
    assert!(
        expected.tasks.values().any(|task| task.open),
        "sanity: the requested count is open again"
    );
    assert_eq!(backend.snapshot(), expected);
}

/// A requested count and a short pick are logged; a later transaction counts the key, which
/// closes both tasks the earlier one stored.
fn a_count_closes_the_task_an_earlier_transaction_stored(backend: &mut dyn Backend) {
    let mut events = Events::default();
    let bin = key(1, 1, Some("L"));
    let receipt = events.make(1, 500, 0, received(&bin, 9));
    let request = events.make(1, 1_000, 0, count_requested(&bin, "count it"));
    let short = events.make(2, 1_100, 0, short_picked(&bin, pick_list(1), 1));
    let count = events.make(
        2,
        2_000,
        0,
        counted(&bin, 4, 9, CountDecision::SelfApproved),
    );
    backend.ingest(&[&receipt, &request, &short]);
    let before = backend.snapshot();
    assert_eq!(before.tasks.len(), 2, "sanity: two open tasks");
    backend.ingest(&[&count]);
    let log = [receipt, request, short, count];
    let expected = reference::evaluate(&log);
    assert!(expected.tasks.is_empty(), "sanity: the count covers both");
    assert_eq!(backend.snapshot(), expected);
}
