//! The stock checksum of protocol v1: a digest of the on-hand quantities of a set of stock
//! keys, which a device and the server compute alike to check that their projections agree.
//!
//! The server sends, with every pulled page, the checksum of the keys that the page's
//! events touch, taken from its own projection (`docs/protocol.md`, "Pull checksum"). A
//! device that has applied exactly the same events computes the same checksum over its own
//! projection with a backend's `page_checksum` ([`crate::sqlite::checksum::page_checksum`],
//! and `pg::checksum::page_checksum` on PostgreSQL); a difference means the two projections
//! diverged and a rebuild is due.
//!
//! Which keys a page touches and how their rows are hashed is defined here once, for every
//! backend ([`page_checksum`] over a backend's [`ProjectionRows`]); a backend only answers
//! two lookups. The digest is a pure function of rows ([`stock_checksum`]), so any other
//! implementation can be checked against it:
//!
//! ```text
//! SHA-256( "aisle-stock-checksum-v1\n"
//!          ‖ for each row, in ascending (location, item, lot) byte order, one row per key:
//!              location (16 UUID bytes) ‖ item (16 UUID bytes)
//!              ‖ len(lot) (u32 big-endian) ‖ lot (UTF-8; empty when the key has no lot)
//!              ‖ on_hand (i64 big-endian) )
//! ```
//!
//! as 64 lowercase hex digits. The warehouse is not part of a row: a page is one warehouse's.

use crate::ProjectionError;
use aisle_core::event::{Event, EventBody};
use aisle_core::ids::{EventId, WarehouseId};
use aisle_core::stock::StockKey;
use sha2::{Digest as _, Sha256};
use std::collections::BTreeSet;

/// The domain tag that starts every checksum's input, so a digest of other data is never
/// mistaken for one.
const DOMAIN_TAG: &[u8] = b"aisle-stock-checksum-v1\n";

/// The keys an event touches directly: the keys of its movement deltas and the key a count
/// or short pick is about. A count review names a count, not a key; a backend's `page_keys` resolves it through its projection.
pub fn event_keys(event: &Event) -> Vec<StockKey> {
    let mut keys: Vec<StockKey> = event.deltas().into_iter().map(|(key, _)| key).collect();
    keys.extend(event.subject_key());
    keys
}

/// The two lookups a checksum needs from a backend's projection.
pub trait ProjectionRows {
    /// The key of each count in `counts` (a counted event's id and the warehouse of the
    /// review that names it) that this projection has in that warehouse; a count it does not
    /// have is left out.
    fn count_keys(
        &self,
        counts: &[(EventId, WarehouseId)],
    ) -> Result<Vec<StockKey>, ProjectionError>;

    /// The on-hand quantity of each key, in the order of `keys`; a key the projection has
    /// never seen is on hand 0.
    fn on_hand(&self, keys: &BTreeSet<StockKey>) -> Result<Vec<(StockKey, i64)>, ProjectionError>;
}

/// The keys a page of events touches, as the projection behind `rows` knows them: every
/// [`event_keys`], plus, for a count review, the key of the reviewed count when this
/// projection has that count (a replica that has applied the same events has it too).
pub fn page_keys<'e>(
    rows: &impl ProjectionRows,
    events: impl IntoIterator<Item = &'e Event>,
) -> Result<BTreeSet<StockKey>, ProjectionError> {
    let mut keys = BTreeSet::new();
    let mut reviewed = Vec::new();
    for event in events {
        keys.extend(event_keys(event));
        if let EventBody::CountReviewed { counted, .. } = &event.body {
            reviewed.push((*counted, event.warehouse));
        }
    }
    if !reviewed.is_empty() {
        keys.extend(rows.count_keys(&reviewed)?);
    }
    Ok(keys)
}

/// The checksum of the keys `events` touch, over the projection behind `rows`: what the
/// server sends with a pulled page, and what a device computes to compare with it. Run it
/// inside one read transaction so the keys and quantities come from the same snapshot.
pub fn page_checksum<'e>(
    rows: &impl ProjectionRows,
    events: impl IntoIterator<Item = &'e Event>,
) -> Result<String, ProjectionError> {
    let keys = page_keys(rows, events)?;
    Ok(stock_checksum(&rows.on_hand(&keys)?))
}

/// The SHA-256 of `rows` (stock key and on-hand quantity), as defined in the module docs.
/// The order of `rows` does not matter; a key given twice (or once without a lot and once
/// with an empty lot, which storage treats as the same key) counts once, with the first
/// quantity given for it.
pub fn stock_checksum(rows: &[(StockKey, i64)]) -> String {
    let mut sorted: Vec<(&[u8; 16], &[u8; 16], &str, i64)> = rows
        .iter()
        .map(|(key, on_hand)| {
            (
                key.location.as_bytes(),
                key.item.as_bytes(),
                key.lot.as_ref().map_or("", |lot| lot.as_str()),
                *on_hand,
            )
        })
        .collect();
    // A stable sort keeps the first quantity given for a key first among its duplicates.
    sorted.sort_by(|a, b| (a.0, a.1, a.2).cmp(&(b.0, b.1, b.2)));
    sorted.dedup_by(|later, earlier| {
        (later.0, later.1, later.2) == (earlier.0, earlier.1, earlier.2)
    });
    let mut hasher = Sha256::new();
    hasher.update(DOMAIN_TAG);
    for (location, item, lot, on_hand) in sorted {
        hasher.update(location);
        hasher.update(item);
        let lot_len = u32::try_from(lot.len()).expect("a lot is shorter than 4 GiB");
        hasher.update(lot_len.to_be_bytes());
        hasher.update(lot.as_bytes());
        hasher.update(on_hand.to_be_bytes());
    }
    hex_lower(&hasher.finalize())
}

fn hex_lower(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use aisle_core::testkit::key;

    #[test]
    fn the_checksum_of_no_rows_is_the_digest_of_the_tag_alone() {
        assert_eq!(
            stock_checksum(&[]),
            hex_lower(&Sha256::digest(DOMAIN_TAG)),
            "an empty page has a well-defined checksum"
        );
    }

    #[test]
    fn the_checksum_ignores_row_order_and_sees_every_quantity() {
        let a = key(1, 1, None);
        let b = key(1, 2, Some("L1"));
        let forward = stock_checksum(&[(a.clone(), 5), (b.clone(), -2)]);
        let backward = stock_checksum(&[(b.clone(), -2), (a.clone(), 5)]);
        assert_eq!(forward, backward, "rows are sorted before hashing");
        assert_ne!(
            forward,
            stock_checksum(&[(a.clone(), 5), (b.clone(), -1)]),
            "a different quantity is a different checksum"
        );
        assert_ne!(
            forward,
            stock_checksum(&[(a, 5)]),
            "a missing row is a different checksum"
        );
        assert_eq!(forward.len(), 64, "sha-256 in hex");
    }

    #[test]
    fn lots_are_length_prefixed_so_they_cannot_run_into_the_quantity() {
        let short = key(1, 1, Some("A"));
        let long = key(1, 1, Some("A\0\0\0\0\0\0\0"));
        assert_ne!(
            stock_checksum(&[(short, 0)]),
            stock_checksum(&[(long, 0)]),
            "the lot's length is part of the input"
        );
    }

    /// Pins the definition in the module docs: a device or another implementation must get
    /// exactly this digest for these rows.
    #[test]
    fn the_checksum_matches_its_written_definition() {
        let row_key = key(3, 4, Some("LOT-9"));
        let mut input = DOMAIN_TAG.to_vec();
        input.extend_from_slice(row_key.location.as_bytes());
        input.extend_from_slice(row_key.item.as_bytes());
        input.extend_from_slice(&5u32.to_be_bytes());
        input.extend_from_slice(b"LOT-9");
        input.extend_from_slice(&(-7i64).to_be_bytes());
        assert_eq!(
            stock_checksum(&[(row_key, -7)]),
            hex_lower(&Sha256::digest(&input))
        );
    }
}
