//! Expected receipts: what a supplier's delivery should hold (the ERP's inbound ASN) against
//! what the floor received for it.
//!
//! A `received` event names the receipt it was received against by the ERP's reference
//! (`EventBody::Received::receipt`). [`progress`] sets the receipts' events against its
//! expected lines, the same way on the device (the Receive screen's expected against received)
//! and on the server (`goods.received`'s per-line differences): a function of the set of
//! events, so every replica says the same once it has them.
//!
//! Matching: a line that names a lot takes the receipts of its item in that lot; the lines of
//! an item without a lot share what is left of the item, filled in line order up to each
//! line's quantity, the last of them taking any excess. What matches no line (an item the
//! ERP did not announce, or a lot no line names while every line of the item names one) is
//! listed as unexpected.

use crate::event::{Event, EventBody, Lot};
use crate::ids::ItemId;
use crate::stock::{bounded_qty, saturating_sum};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One line of an expected receipt, as master data has it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpectedLine {
    pub line: u32,
    pub item: ItemId,
    pub lot: Option<Lot>,
    pub qty: i64,
}

/// Expected against received for one line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineProgress {
    pub line: u32,
    pub item: ItemId,
    pub lot: Option<Lot>,
    pub expected: i64,
    pub received: i64,
    /// `received - expected`: above zero an over-receipt, below zero an under-receipt.
    pub difference: i64,
}

/// Units received against the receipt that no line expects.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unexpected {
    pub item: ItemId,
    pub lot: Option<Lot>,
    pub received: i64,
}

/// A receipt's lines with what was received for each, and what came unannounced.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    pub lines: Vec<LineProgress>,
    pub unexpected: Vec<Unexpected>,
}

/// `lines` (in any order) against the `received` events of `events` that name `reference`
/// (others are skipped); lines come back in line order.
pub fn progress<'a>(
    reference: &str,
    lines: &[ExpectedLine],
    events: impl IntoIterator<Item = &'a Event>,
) -> Progress {
    let mut received: BTreeMap<(ItemId, Option<Lot>), Vec<i64>> = BTreeMap::new();
    for event in events {
        if let EventBody::Received {
            item,
            lot,
            qty,
            receipt: Some(named),
            ..
        } = &event.body
        {
            if named == reference {
                received
                    .entry((*item, lot.clone()))
                    .or_default()
                    .push(bounded_qty(*qty));
            }
        }
    }
    let mut left: BTreeMap<(ItemId, Option<Lot>), i64> = received
        .into_iter()
        .map(|(key, quantities)| (key, saturating_sum(quantities)))
        .collect();
    let mut ordered: Vec<&ExpectedLine> = lines.iter().collect();
    ordered.sort_by_key(|line| line.line);
    let mut got: BTreeMap<u32, i64> = BTreeMap::new();
    // Lines with a lot take their item in that lot.
    for line in ordered.iter().filter(|line| line.lot.is_some()) {
        let taken = left.remove(&(line.item, line.lot.clone())).unwrap_or(0);
        *got.entry(line.line).or_default() += taken;
    }
    // Lines without a lot share the rest of their item, in line order.
    let mut items: Vec<ItemId> = ordered
        .iter()
        .filter(|line| line.lot.is_none())
        .map(|line| line.item)
        .collect();
    items.sort_unstable();
    items.dedup();
    for item in items {
        let keys: Vec<(ItemId, Option<Lot>)> =
            left.keys().filter(|(of, _)| *of == item).cloned().collect();
        let mut pool = saturating_sum(keys.iter().map(|key| left.remove(key).unwrap_or(0)));
        let of_item: Vec<&&ExpectedLine> = ordered
            .iter()
            .filter(|line| line.lot.is_none() && line.item == item)
            .collect();
        for (n, line) in of_item.iter().enumerate() {
            let take = if n + 1 == of_item.len() {
                pool
            } else {
                pool.min(line.qty).max(0)
            };
            pool = pool.saturating_sub(take);
            got.insert(line.line, take);
        }
    }
    Progress {
        lines: ordered
            .iter()
            .map(|line| {
                let received = got.get(&line.line).copied().unwrap_or(0);
                LineProgress {
                    line: line.line,
                    item: line.item,
                    lot: line.lot.clone(),
                    expected: line.qty,
                    received,
                    difference: received.saturating_sub(line.qty),
                }
            })
            .collect(),
        unexpected: left
            .into_iter()
            .filter(|(_, qty)| *qty != 0)
            .map(|((item, lot), received)| Unexpected {
                item,
                lot,
                received,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit;

    fn against(reference: &str, item_n: u16, lot: Option<&str>, qty: i64) -> EventBody {
        let mut body = testkit::received(&testkit::key(1, item_n, lot), qty);
        if let EventBody::Received { receipt, .. } = &mut body {
            *receipt = Some(reference.to_owned());
        }
        body
    }

    #[test]
    fn lines_show_expected_against_received_with_over_under_and_unexpected() {
        let line = |line, item_n, lot: Option<&str>, qty| ExpectedLine {
            line,
            item: testkit::item(item_n),
            lot: lot.map(Lot::new),
            qty,
        };
        let lines = [
            line(3, 2, None, 4),
            line(1, 1, Some("L1"), 10),
            line(2, 1, None, 5),
        ];
        let mut events = testkit::Events::default();
        let made = [
            events.make(1, 1, 0, against("ASN-1", 1, Some("L1"), 6)),
            events.make(1, 2, 0, against("ASN-1", 1, Some("L2"), 7)),
            events.make(2, 3, 0, against("ASN-1", 2, None, 3)),
            events.make(2, 4, 0, against("ASN-1", 3, None, 1)),
            events.make(2, 5, 0, against("ASN-2", 2, None, 9)),
            events.make(2, 6, 0, testkit::received(&testkit::key(1, 2, None), 9)),
        ];
        let progress = progress("ASN-1", &lines, made.iter());
        let summary: Vec<_> = progress
            .lines
            .iter()
            .map(|line| (line.line, line.expected, line.received, line.difference))
            .collect();
        assert_eq!(
            summary,
            [(1, 10, 6, -4), (2, 5, 7, 2), (3, 4, 3, -1)],
            "L1 under, the other lot of item 1 on the line without a lot (over), item 2 under; \
             other receipts and plain receipts count nowhere"
        );
        assert_eq!(
            progress.unexpected,
            [Unexpected {
                item: testkit::item(3),
                lot: None,
                received: 1
            }]
        );
        let mut reversed: Vec<&Event> = made.iter().collect();
        reversed.reverse();
        assert_eq!(super::progress("ASN-1", &lines, reversed), progress);
    }
}
