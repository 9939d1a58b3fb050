//! Event logs the bodies share: one that touches every part of the ledger, and random ones.

use aisle_core::event::{CountDecision, ReviewDecision};
use aisle_core::testkit::*;
use aisle_core::Event;

/// A log that uses every ledger method: movements and moves, counts (self-approved and
/// reviewed, one rejected), picks on lines with a short pick over the line, claims by two
/// devices, a count request, and events on two devices with the same hlc, so ties are broken
/// by device and id.
pub fn everything() -> Vec<Event> {
    let mut events = Events::default();
    let bin = key(1, 1, None);
    let lotted = key(2, 1, Some("LOT-7"));
    let other = key(3, 2, Some("Ä-ß-lot"));
    let mut log = vec![
        events.make(1, 1_000, 0, received(&bin, 10)),
        events.make(2, 1_000, 0, received(&lotted, 5)),
        events.make(1, 2_000, 0, picked_on_line(&bin, 3, pick_list(1), 1, 4)),
        // Same hlc on three devices: the count sits between the two picks in event order.
        events.make(1, 3_000, 0, picked(&bin, 1)),
        events.make(
            2,
            3_000,
            0,
            counted(&bin, 6, 6, CountDecision::SelfApproved),
        ),
        events.make(3, 3_000, 0, picked(&bin, 2)),
        events.make(2, 3_500, 0, moved(&lotted, 3, 2)),
        events.make(
            3,
            4_000,
            0,
            counted(&lotted, 9, 3, CountDecision::NeedsReview),
        ),
        events.make(1, 4_100, 0, adjusted(&other, -4)),
        events.make(2, 4_200, 0, short_picked(&bin, pick_list(1), 2)),
        events.make(1, 4_300, 0, picked_on_line(&bin, 5, pick_list(1), 1, 4)),
        events.make(1, 4_400, 0, claimed(pick_list(2))),
        events.make(2, 4_400, 1, claimed(pick_list(2))),
        events.make(3, 4_500, 0, count_requested(&other, "check the bin")),
        events.make(
            2,
            4_600,
            0,
            counted(&other, 1, -4, CountDecision::NeedsReview),
        ),
    ];
    let needs_review: Vec<_> = log
        .iter()
        .filter(|event| {
            matches!(
                &event.body,
                aisle_core::event::EventBody::Counted {
                    decision: CountDecision::NeedsReview,
                    ..
                }
            )
        })
        .map(|event| event.id)
        .collect();
    log.push(events.make(
        1,
        5_000,
        0,
        reviewed(needs_review[0], ReviewDecision::Approved),
    ));
    log.push(events.make(
        1,
        5_100,
        0,
        reviewed(needs_review[1], ReviewDecision::Rejected),
    ));
    // A later count on the first bin, arriving among the rest.
    log.push(events.make(
        3,
        5_200,
        0,
        counted(&bin, 2, 0, CountDecision::SelfApproved),
    ));
    log.push(events.make(2, 5_300, 0, picked(&bin, 1)));
    log
}

/// A random log (for the comparison of the backends): (kind, device, location, item, wall time, quantity) per event, with small
/// ranges so keys repeat and hlc ties between devices are common.
#[cfg(feature = "pg")]
pub fn random_log() -> impl proptest::strategy::Strategy<Value = Vec<Event>> {
    use proptest::prelude::*;
    proptest::collection::vec(
        (
            0u8..10,
            1u16..=4,
            1u16..=3,
            1u16..=2,
            1_000u64..1_030,
            1i64..6,
        ),
        1..40,
    )
    .prop_map(|spec| {
        let mut events = Events::default();
        let mut built: Vec<Event> = Vec::new();
        for (kind, device_n, location_n, item_n, wall, qty) in spec {
            let bin = key(location_n, item_n, (qty % 2 == 0).then_some("LOT-7"));
            let body = match kind {
                0 | 1 => received(&bin, qty),
                2 => picked(&bin, qty),
                3 => picked_on_line(&bin, qty, pick_list(1), u32::from(location_n % 2), 4),
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
                8 => adjusted(&bin, 3 - qty),
                _ => count_requested(&bin, "please count"),
            };
            built.push(events.make(device_n, wall, 0, body));
        }
        built
    })
}
