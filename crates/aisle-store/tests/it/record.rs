//! record(): one transaction for event, outbox row and projection; idempotent by id.

use crate::fresh_store;
use aisle_core::ids::TenantId;
use aisle_core::stock::{DiscrepancyKind, Notice};
use aisle_core::testkit::*;
use aisle_store::{Recorded, StoreError};

#[test]
fn record_writes_event_outbox_and_projection_together() {
    let (_dir, mut store) = fresh_store();
    let mut events = Events::default();
    let bin = key(1, 1, None);
    let recorded = store
        .record(&events.make(1, 1_000, 0, received(&bin, 10)))
        .expect("record");
    assert_eq!(recorded, Recorded::New { notices: vec![] });
    assert_eq!(store.event_count().expect("count"), 1);
    assert_eq!(
        store.pending_outbox_count().expect("outbox"),
        1,
        "a local event is queued for push"
    );
    assert_eq!(store.on_hand(&bin).expect("on hand"), 10);
}

#[test]
fn recording_the_same_event_twice_does_nothing_the_second_time() {
    let (_dir, mut store) = fresh_store();
    let mut events = Events::default();
    let bin = key(1, 1, None);
    let event = events.make(1, 1_000, 0, received(&bin, 10));
    store.record(&event).expect("first");
    assert_eq!(store.record(&event).expect("second"), Recorded::Duplicate);
    assert_eq!(
        store.on_hand(&bin).expect("on hand"),
        10,
        "stock is not doubled"
    );
    assert_eq!(
        store.pending_outbox_count().expect("outbox"),
        1,
        "and it is queued once"
    );
}

#[test]
fn same_id_with_a_different_payload_is_an_error_and_changes_nothing() {
    let (_dir, mut store) = fresh_store();
    let mut events = Events::default();
    let bin = key(1, 1, None);
    let event = events.make(1, 1_000, 0, received(&bin, 10));
    store.record(&event).expect("first");
    let mut forged = event.clone();
    forged.body = received(&bin, 99);
    let err = store.record(&forged).expect_err("payload mismatch");
    assert!(
        matches!(err, StoreError::PayloadMismatch(id) if id == event.id),
        "{err}"
    );
    assert_eq!(store.on_hand(&bin).expect("on hand"), 10);
}

#[test]
fn invalid_or_foreign_events_are_refused_with_a_specific_error() {
    let (_dir, mut store) = fresh_store();
    let mut events = Events::default();
    let bin = key(1, 1, None);
    let good = events.make(1, 1_000, 0, received(&bin, 5));
    store.record(&good).expect("good event");

    let zero = events.make(1, 1_001, 0, received(&bin, 0));
    let err = store.record(&zero).expect_err("zero quantity");
    assert!(
        err.to_string().contains("quantity must be positive"),
        "{err}"
    );

    let mut foreign = events.make(1, 1_002, 0, received(&bin, 5));
    foreign.tenant = TenantId::new_v7(1, [0x11; 10]);
    assert!(matches!(
        store.record(&foreign),
        Err(StoreError::ForeignEvent {
            field: "tenant",
            ..
        })
    ));

    // A batch with one bad event is refused whole: nothing of it is recorded.
    let batch = [
        events.make(1, 1_003, 0, received(&bin, 1)),
        events.make(1, 1_004, 0, picked(&bin, -1)),
    ];
    assert!(store.record_batch(&batch).is_err());
    assert_eq!(
        store.event_count().expect("count"),
        1,
        "only the first good event is in the log"
    );
    assert_eq!(
        store.on_hand(&bin).expect("on hand"),
        5,
        "what was recorded before is intact"
    );
}

#[test]
fn the_event_log_is_append_only() {
    let (dir, mut store) = fresh_store();
    let mut events = Events::default();
    store
        .record(&events.make(1, 1_000, 0, received(&key(1, 1, None), 1)))
        .expect("record");
    let conn = crate::raw_open(&crate::profile().database_path(dir.path()));
    let update = conn.execute("UPDATE events SET payload = '{}'", []);
    assert!(
        update.is_err_and(|e| e.to_string().contains("append-only")),
        "updates are refused by a trigger"
    );
    let delete = conn.execute("DELETE FROM events", []);
    assert!(
        delete.is_err_and(|e| e.to_string().contains("append-only")),
        "deletes too"
    );
}

#[test]
fn apply_remote_applies_without_outbox_and_moves_the_cursor_atomically() {
    let (_dir, mut store) = fresh_store();
    let mut events = Events::default();
    let bin = key(1, 1, None);
    let remote = [
        events.make(2, 1_000, 0, received(&bin, 4)),
        events.make(3, 1_100, 0, picked(&bin, 1)),
    ];
    store
        .apply_remote(&remote, Some(("pull", "2")))
        .expect("apply");
    assert_eq!(store.on_hand(&bin).expect("on hand"), 3);
    assert_eq!(
        store.pending_outbox_count().expect("outbox"),
        0,
        "pulled events are not pushed back"
    );
    assert_eq!(store.cursor("pull").expect("cursor").as_deref(), Some("2"));

    // A failing batch leaves neither events nor the cursor behind.
    let bad = [
        events.make(2, 1_200, 0, received(&bin, 1)),
        events.make(2, 1_300, 0, received(&bin, 0)),
    ];
    assert!(store.apply_remote(&bad, Some(("pull", "4"))).is_err());
    assert_eq!(
        store.cursor("pull").expect("cursor").as_deref(),
        Some("2"),
        "the cursor did not move"
    );
    assert_eq!(store.on_hand(&bin).expect("on hand"), 3);
}

#[test]
fn a_lost_claim_is_reported_to_the_recording_device() {
    let (_dir, mut store) = fresh_store();
    let mut events = Events::default();
    let list = pick_list(1);
    // Device 2 claimed first (pulled from the server); device 1 claims later, locally.
    store
        .apply_remote(&[events.make(2, 1_000, 0, claimed(list))], None)
        .expect("remote claim");
    let Recorded::New { notices } = store
        .record(&events.make(1, 2_000, 0, claimed(list)))
        .expect("local claim")
    else {
        panic!("a new event");
    };
    assert!(
        matches!(&notices[..], [Notice::ClaimLost { loser, winner, .. }] if *loser == device(1) && winner.order.device == device(2)),
        "device 1 is told device 2 won: {notices:?}"
    );
    let open = store.open_discrepancies().expect("discrepancies");
    assert!(open
        .iter()
        .any(|d| matches!(d.kind, DiscrepancyKind::PickListContested { .. })));
}
