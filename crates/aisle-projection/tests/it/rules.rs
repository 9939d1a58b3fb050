//! The rules' version and the replay on every backend.

use crate::backend::{both, Backend};
use crate::scenario::everything;
use aisle_core::event::EventBody;
use aisle_core::stock::{reference, Discrepancy, DiscrepancyKind, RULES_VERSION};
use aisle_core::Event;

both!(
    a_projection_without_a_version_is_version_one_and_behind,
    replay_rebuilds_a_damaged_projection_from_the_log,
);

fn a_projection_without_a_version_is_version_one_and_behind(backend: &mut dyn Backend) {
    assert_eq!(backend.rules_version(), (1, true), "no row means version 1");
    backend.record_current();
    backend.record_current();
    assert_eq!(backend.rules_version(), (i64::from(RULES_VERSION), false));
}

/// What a store derives beside the rules, here a `lot_missing` for every receipt without a
/// lot, opened through the ledger during the replay.
fn lot_missing(event: &Event) -> Option<Discrepancy> {
    let EventBody::Received {
        location,
        item,
        lot: None,
        ..
    } = &event.body
    else {
        return None;
    };
    let key = aisle_core::stock::StockKey {
        warehouse: event.warehouse,
        location: *location,
        item: *item,
        lot: None,
    };
    Some(Discrepancy {
        id: format!("lot_missing/{}", event.id),
        warehouse: event.warehouse,
        kind: DiscrepancyKind::LotMissing {
            key,
            event: event.id,
            event_kind: event.kind().to_owned(),
        },
    })
}

fn replay_rebuilds_a_damaged_projection_from_the_log(backend: &mut dyn Backend) {
    let log = everything();
    backend.ingest(&log.iter().collect::<Vec<_>>());
    let expected = reference::evaluate(&log);
    assert_eq!(backend.snapshot(), expected);
    backend.execute("UPDATE key_states SET on_hand = on_hand + 5; DELETE FROM tasks;");
    assert_ne!(backend.snapshot(), expected, "sanity: the damage shows");
    assert_eq!(
        backend.replay(&lot_missing),
        log.len() as u64,
        "every event is replayed once"
    );
    let mut with_derived = expected.clone();
    for discrepancy in log.iter().filter_map(lot_missing) {
        with_derived
            .discrepancies
            .insert(discrepancy.id.clone(), discrepancy);
    }
    assert!(
        with_derived.discrepancies.len() > expected.discrepancies.len(),
        "sanity: derived some"
    );
    assert_eq!(
        backend.snapshot(),
        with_derived,
        "the rebuild is the log's projection plus what `also` opened"
    );
    // And what arrives after a replay applies on top of it.
    backend.replay(&|_| None);
    backend.ingest(&log.iter().collect::<Vec<_>>());
    assert_eq!(backend.snapshot(), expected);
}
