//! The pull checksum on every backend is the crate's definition over the projection's rows.

use crate::backend::{both, Backend};
use crate::scenario::everything;
use aisle_core::event::EventBody;
use aisle_core::stock::{reference, StockKey};
use aisle_core::Event;
use aisle_projection::checksum::{event_keys, stock_checksum};
use std::collections::BTreeSet;

both!(
    a_page_checksum_is_the_definition_over_the_projection,
    keys_the_projection_never_saw_count_as_zero,
);

fn a_page_checksum_is_the_definition_over_the_projection(backend: &mut dyn Backend) {
    let log = everything();
    backend.ingest(&log.iter().collect::<Vec<_>>());
    let on_hand = reference::evaluate(&log).on_hand;
    // A page with both reviews: their keys come from the counts they name.
    let page: Vec<Event> = log[12..].to_vec();
    let mut expected_keys: BTreeSet<StockKey> = page.iter().flat_map(event_keys).collect();
    for event in &page {
        if let EventBody::CountReviewed { counted, .. } = &event.body {
            let count = log
                .iter()
                .find(|e| e.id == *counted)
                .expect("the count is logged");
            expected_keys.extend(event_keys(count));
        }
    }
    let (keys, checksum) = backend.page_checksum(&page);
    assert_eq!(keys, expected_keys, "a review's key is its count's");
    let rows: Vec<(StockKey, i64)> = keys
        .iter()
        .map(|key| (key.clone(), on_hand.get(key).copied().unwrap_or(0)))
        .collect();
    assert_eq!(
        checksum,
        stock_checksum(&rows),
        "the digest of the projection's rows"
    );
    assert_ne!(
        checksum,
        stock_checksum(
            &rows
                .iter()
                .map(|(key, _)| (key.clone(), 0))
                .collect::<Vec<_>>()
        ),
        "sanity: the page's keys hold stock"
    );
}

fn keys_the_projection_never_saw_count_as_zero(backend: &mut dyn Backend) {
    let log = everything();
    let (keys, checksum) = backend.page_checksum(&log);
    let zeros: Vec<(StockKey, i64)> = keys.iter().map(|key| (key.clone(), 0)).collect();
    assert!(!keys.is_empty(), "sanity: the log touches keys");
    assert_eq!(checksum, stock_checksum(&zeros));
    assert_eq!(
        backend.page_checksum(&[]).1,
        stock_checksum(&[]),
        "an empty page"
    );
}
