//! The ledger's semantics on every backend: whatever the arrival order and however the
//! events are split into transactions, the projection is the core's reference evaluation of
//! the log.

use crate::backend::{both, Backend};
use crate::scenario::everything;
use aisle_core::stock::reference;
use aisle_core::Event;

both!(
    one_transaction_in_reverse_order_gives_the_reference,
    one_transaction_per_event_gives_the_reference,
    duplicates_and_replayed_batches_change_nothing,
    late_movements_with_the_counts_hlc_are_placed_by_device_and_id,
    movements_after_a_count_with_its_hlc_are_placed_by_device_and_id,
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
