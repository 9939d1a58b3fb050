//! The store's incremental projection equals the core's reference evaluation of its log,
//! and a rebuild from the log, for random event sets in random arrival orders.

use crate::fresh_store;
use aisle_core::event::{CountDecision, ReviewDecision};
use aisle_core::stock::reference;
use aisle_core::testkit::*;
use aisle_core::Event;
use proptest::prelude::*;

fn random_events(spec: &[(u8, u16, u16, u16, u64, i64)]) -> Vec<Event> {
    let mut events = Events::default();
    let mut built: Vec<Event> = Vec::new();
    for &(kind, device_n, location_n, item_n, wall, qty) in spec {
        let bin = key(
            location_n,
            item_n,
            if qty % 2 == 0 { Some("LOT-7") } else { None },
        );
        let body = match kind % 9 {
            0 | 1 => received(&bin, qty),
            2 | 3 => picked_on_line(&bin, qty, pick_list(1), (location_n % 2) as u32, 4),
            4 => moved(
                &bin,
                location_n % 3 + 1 + u16::from(location_n % 3 + 1 == location_n),
                qty,
            ),
            5 => counted(
                &bin,
                qty,
                qty + 1,
                if qty > 3 {
                    CountDecision::NeedsReview
                } else {
                    CountDecision::SelfApproved
                },
            ),
            6 => match built.iter().rev().find(|e| e.kind() == "counted") {
                Some(count) => reviewed(
                    count.id,
                    if qty % 3 == 0 {
                        ReviewDecision::Rejected
                    } else {
                        ReviewDecision::Approved
                    },
                ),
                None => short_picked(&bin, pick_list(2), qty),
            },
            7 => claimed(pick_list(location_n % 2)),
            _ => count_requested(&bin, "please count"),
        };
        built.push(events.make(device_n, wall, 0, body));
    }
    built
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn store_projection_matches_reference_and_rebuild(
        spec in proptest::collection::vec((0u8..9, 1u16..=4, 1u16..=3, 1u16..=2, 1_000u64..1_030, 1i64..6), 1..40),
        split in 0usize..40,
    ) {
        let events = random_events(&spec);
        let expected = reference::evaluate(&events);
        let (_dir, mut store) = fresh_store();
        // Reverse order, half local and half pulled, then everything again as pulled.
        let (local, remote): (Vec<_>, Vec<_>) = events.iter().rev().cloned().enumerate().partition(|(index, _)| *index < split);
        for (_, event) in &local {
            store.record(event).expect("record");
        }
        let remote: Vec<Event> = remote.into_iter().map(|(_, event)| event).collect();
        store.apply_remote(&remote, None).expect("apply remote");
        store.apply_remote(&events, None).expect("duplicates are no-ops");
        let snapshot = store.snapshot().expect("snapshot");
        prop_assert_eq!(&snapshot, &expected, "incremental store projection vs reference");
        let report = store.rebuild_projection().expect("rebuild");
        prop_assert!(report.differences.is_empty(), "rebuild differs: {:?}", report.differences);
        prop_assert_eq!(report.n_events, events.len() as u64);
        prop_assert_eq!(store.snapshot().expect("snapshot"), expected);
    }
}

#[test]
fn rebuild_detects_and_repairs_a_tampered_projection() {
    let (dir, mut store) = fresh_store();
    let mut events = Events::default();
    let bin = key(1, 1, None);
    store
        .record(&events.make(1, 1_000, 0, received(&bin, 10)))
        .expect("record");
    let conn = crate::raw_open(&crate::profile().database_path(dir.path()));
    conn.execute("UPDATE key_states SET on_hand = 999", [])
        .expect("tamper");
    let report = store.rebuild_projection().expect("rebuild");
    assert_eq!(
        report.differences.len(),
        1,
        "the tampered key is reported: {:?}",
        report.differences
    );
    assert_eq!(
        store.on_hand(&bin).expect("on hand"),
        10,
        "and repaired from the log"
    );
}
