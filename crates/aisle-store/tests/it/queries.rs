//! Read-side queries: stock by item and location, audit trail paging, open work.

use crate::fresh_store;
use aisle_core::event::CountDecision;
use aisle_core::stock::{CountTaskReason, DiscrepancyKind};
use aisle_core::testkit::*;

#[test]
fn on_hand_by_item_sums_locations_and_lots() {
    let (_dir, mut store) = fresh_store();
    let mut events = Events::default();
    let batch = [
        events.make(1, 1_000, 0, received(&key(1, 1, Some("A")), 5)),
        events.make(1, 1_001, 0, received(&key(1, 1, Some("B")), 3)),
        events.make(1, 1_002, 0, received(&key(2, 1, None), 4)),
        events.make(1, 1_003, 0, received(&key(2, 2, None), 100)),
        events.make(1, 1_004, 0, moved(&key(2, 1, None), 3, 4)),
    ];
    store.record_batch(&batch).expect("record");
    let stock = store.on_hand_by_item(item(1)).expect("by item");
    assert_eq!(stock.total, 12, "5 + 3 + 4, wherever it now is");
    assert_eq!(
        stock.rows.len(),
        3,
        "bin 2 is empty after the move and is not listed: {:?}",
        stock.rows
    );
    let at_two = store.on_hand_by_location(location(2)).expect("by location");
    assert_eq!(at_two.len(), 1, "only item 2 is left at location 2");
    assert_eq!(at_two[0].on_hand, 100);
}

#[test]
fn key_history_is_newest_first_and_paged() {
    let (_dir, mut store) = fresh_store();
    let mut events = Events::default();
    let bin = key(1, 1, None);
    let mut recorded = Vec::new();
    for n in 0..7u64 {
        let event = events.make(
            1,
            1_000 + n,
            0,
            if n % 2 == 0 {
                received(&bin, 2)
            } else {
                picked(&bin, 1)
            },
        );
        store.record(&event).expect("record");
        recorded.push(event.id);
    }
    store
        .record(&events.make(1, 2_000, 0, received(&key(2, 1, None), 1)))
        .expect("another key");
    let first = store.key_history(&bin, None, 3).expect("page 1");
    assert_eq!(
        first.events.iter().map(|e| e.id).collect::<Vec<_>>(),
        recorded.iter().rev().take(3).copied().collect::<Vec<_>>()
    );
    let second = store
        .key_history(&bin, first.next_before.as_ref(), 3)
        .expect("page 2");
    let third = store
        .key_history(&bin, second.next_before.as_ref(), 3)
        .expect("page 3");
    assert_eq!(third.events.len(), 1, "7 events in pages of 3");
    assert_eq!(third.next_before, None, "the last page says so");
    assert_eq!(third.events[0].id, recorded[0]);
}

#[test]
fn open_work_lists_discrepancies_and_tasks() {
    let (_dir, mut store) = fresh_store();
    let mut events = Events::default();
    let bin = key(1, 1, None);
    store
        .record(&events.make(1, 1_000, 0, picked(&bin, 2)))
        .expect("pick from empty");
    store
        .record(&events.make(
            1,
            1_001,
            0,
            counted(&key(2, 1, None), 3, 9, CountDecision::NeedsReview),
        ))
        .expect("count");
    let discrepancies = store.open_discrepancies().expect("discrepancies");
    assert!(discrepancies
        .iter()
        .any(|d| matches!(d.kind, DiscrepancyKind::NegativeStock { on_hand: -2, .. })));
    assert!(discrepancies.iter().any(|d| matches!(
        d.kind,
        DiscrepancyKind::CountVariance { counted_qty: 3, .. }
    )));
    let tasks = store.open_tasks().expect("tasks");
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].reason, CountTaskReason::NegativeStock);
    assert_eq!(tasks[0].key, bin);
}
