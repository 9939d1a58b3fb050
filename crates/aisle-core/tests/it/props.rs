//! Property tests: random event sets across 2-5 devices, applied in random orders, with
//! duplicates and partitions, give the same projection and discrepancies everywhere, and
//! the same as the reference evaluation of the set. Managers' count requests are among the
//! events, so the tasks they open converge too.

use crate::fixture::*;
use crate::resolutions::{assert_every_open_thing_was_resolved, ingest};
use aisle_core::event::{CountDecision, Event, EventBody, ReviewDecision, MAX_EVENT_QTY};
use aisle_core::stock::memory::Projection;
use aisle_core::stock::reference;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Receive(u16, u16, bool, i64),
    Pick(u16, u16, bool, i64, Option<(u16, i64)>),
    Move(u16, u16, bool, u16, i64),
    Adjust(u16, u16, bool, i64),
    Count(u16, u16, bool, i64, i64, bool),
    Review(usize, bool),
    Short(u16, u16, bool, i64),
    Claim(u16),
    Request(u16, u16, bool),
    PutBack(u16, u16, bool, i64),
}

fn op() -> impl Strategy<Value = Op> {
    op_with(
        (1i64..10).boxed(),
        (1i64..6).boxed(),
        prop_oneof![-5i64..0, 1i64..5].boxed(),
        (0i64..12).boxed(),
    )
}

/// Quantities at and far beyond the per-event bound, as a buggy or hostile client (or a file
/// written before the bound) could put in front of the rules: they must neither panic nor
/// wrap, and the incremental rules must still agree with the reference.
fn extreme_qty() -> BoxedStrategy<i64> {
    prop_oneof![
        Just(i64::MAX),
        Just(i64::MIN),
        Just(i64::MAX - 1),
        Just(MAX_EVENT_QTY),
        Just(-MAX_EVENT_QTY),
        Just(MAX_EVENT_QTY + 1),
        any::<i64>(),
        -3i64..12,
    ]
    .boxed()
}

/// A put-back's quantity: small, and now and then one beyond the bound.
fn received_back() -> BoxedStrategy<i64> {
    prop_oneof![4 => 1i64..6, 1 => Just(i64::MAX)].boxed()
}

fn extreme_op() -> impl Strategy<Value = Op> {
    op_with(extreme_qty(), extreme_qty(), extreme_qty(), extreme_qty())
}

fn op_with(
    received: BoxedStrategy<i64>,
    picked: BoxedStrategy<i64>,
    adjusted: BoxedStrategy<i64>,
    counted: BoxedStrategy<i64>,
) -> impl Strategy<Value = Op> {
    let loc = 1u16..=3;
    let item = 1u16..=2;
    prop_oneof![
        4 => (loc.clone(), item.clone(), any::<bool>(), received).prop_map(|(l, i, lot, q)| Op::Receive(l, i, lot, q)),
        4 => (loc.clone(), item.clone(), any::<bool>(), picked.clone(), proptest::option::of((1u16..=2, picked.clone())))
            .prop_map(|(l, i, lot, q, line)| Op::Pick(l, i, lot, q, line)),
        2 => (loc.clone(), item.clone(), any::<bool>(), 1u16..=3, picked).prop_map(|(l, i, lot, to, q)| Op::Move(l, i, lot, to, q)),
        1 => (loc.clone(), item.clone(), any::<bool>(), adjusted).prop_map(|(l, i, lot, d)| Op::Adjust(l, i, lot, d)),
        3 => (loc.clone(), item.clone(), any::<bool>(), counted.clone(), counted, any::<bool>())
            .prop_map(|(l, i, lot, c, s, ok)| Op::Count(l, i, lot, c, s, ok)),
        2 => (any::<usize>(), any::<bool>()).prop_map(|(target, ok)| Op::Review(target, ok)),
        1 => (loc.clone(), item.clone(), any::<bool>(), 1i64..4).prop_map(|(l, i, lot, q)| Op::Short(l, i, lot, q)),
        1 => (1u16..=2).prop_map(Op::Claim),
        1 => (loc.clone(), item.clone(), any::<bool>()).prop_map(|(l, i, lot)| Op::Request(l, i, lot)),
        1 => (loc.clone(), item.clone(), any::<bool>(), received_back()).prop_map(|(l, i, lot, q)| Op::PutBack(l, i, lot, q)),
    ]
}

/// Turns ops into events: device, wall time and counter are drawn per event from small
/// ranges so ties in hlc (broken by device and id) are common.
fn build(ops: Vec<(Op, u16, u64, u16)>) -> Vec<Event> {
    let mut events = Events::default();
    let mut built: Vec<Event> = Vec::new();
    for (op, device_n, wall, counter) in ops {
        let lot = |yes: bool| if yes { Some("LOT-A") } else { None };
        let body = match op {
            Op::Receive(l, i, lotted, q) => received(&key(l, i, lot(lotted)), q),
            Op::Pick(l, i, lotted, q, None) => picked(&key(l, i, lot(lotted)), q),
            Op::Pick(l, i, lotted, q, Some((list, line_qty))) => {
                picked_on_line(&key(l, i, lot(lotted)), q, pick_list(list), 1, line_qty)
            }
            Op::PutBack(l, i, lotted, q) => {
                let key = key(l, i, lot(lotted));
                EventBody::PutBack {
                    pick_list: pick_list(1),
                    line: 1,
                    location: key.location,
                    item: key.item,
                    lot: key.lot,
                    qty: q,
                }
            }
            Op::Move(l, i, lotted, to, q) if to != l => moved(&key(l, i, lot(lotted)), to, q),
            Op::Move(l, i, lotted, _, q) => picked(&key(l, i, lot(lotted)), q),
            Op::Adjust(l, i, lotted, d) => adjusted(&key(l, i, lot(lotted)), d),
            Op::Count(l, i, lotted, c, s, ok) => counted(
                &key(l, i, lot(lotted)),
                c,
                s,
                if ok {
                    CountDecision::SelfApproved
                } else {
                    CountDecision::NeedsReview
                },
            ),
            Op::Review(target, ok) => {
                let counts: Vec<_> = built
                    .iter()
                    .filter(|e| matches!(e.body, EventBody::Counted { .. }))
                    .collect();
                let Some(count) = counts.get(target % counts.len().max(1)) else {
                    continue;
                };
                reviewed(
                    count.id,
                    if ok {
                        ReviewDecision::Approved
                    } else {
                        ReviewDecision::Rejected
                    },
                )
            }
            Op::Short(l, i, lotted, q) => short_picked(&key(l, i, lot(lotted)), pick_list(1), q),
            Op::Claim(list) => claimed(pick_list(list)),
            Op::Request(l, i, lotted) => count_requested(&key(l, i, lot(lotted)), "recount please"),
        };
        built.push(events.make(device_n, wall, counter, body));
    }
    built
}

fn scenario() -> impl Strategy<Value = (usize, Vec<Event>)> {
    scenario_of(|| op().boxed())
}

fn scenario_of(
    op: impl Fn() -> BoxedStrategy<Op> + Clone + 'static,
) -> impl Strategy<Value = (usize, Vec<Event>)> {
    (2usize..=5).prop_flat_map(move |n_devices| {
        let step = (op(), 1..=n_devices as u16, 1_000u64..1_020, 0u16..3);
        (
            Just(n_devices),
            proptest::collection::vec(step, 1..40).prop_map(build),
        )
    })
}

/// A deterministic shuffle of `events` with `n_dups` duplicates, driven by the seed.
fn arrival_order(events: &[Event], seed: u64, n_dups: usize) -> Vec<&Event> {
    let mut arrival: Vec<&Event> = events.iter().collect();
    let mut state = seed | 1;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..if events.is_empty() { 0 } else { n_dups } {
        let pick = (next() as usize) % events.len();
        arrival.push(&events[pick]);
    }
    for index in (1..arrival.len()).rev() {
        arrival.swap(index, (next() as usize) % (index + 1));
    }
    arrival
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_order_and_duplication_gives_the_reference((_, events) in scenario(), seed in any::<u64>(), n_dups in 0usize..20) {
        let expected = reference::evaluate(&events);
        let arrival = arrival_order(&events, seed, n_dups);
        let mut projection = Projection::new();
        for event in arrival {
            projection.apply(event).expect("no payload mismatch");
        }
        prop_assert_eq!(projection.snapshot(), expected);
    }

    #[test]
    fn partitioned_devices_converge_after_exchanging_everything((n_devices, events) in scenario(), seed in any::<u64>()) {
        let expected = reference::evaluate(&events);
        let mut state = seed | 1;
        let mut next = || { state ^= state << 13; state ^= state >> 7; state ^= state << 17; state };
        // Phase 1: each device sees its own events plus a random share of the others'.
        let mut devices: Vec<Projection> = (0..n_devices).map(|_| Projection::new()).collect();
        for event in &events {
            for (index, projection) in devices.iter_mut().enumerate() {
                let own = event.device == device(index as u16 + 1);
                if own || next() % 3 == 0 {
                    projection.apply(event).expect("apply");
                }
            }
        }
        // Phase 2: full sync, each device in its own order and with repeats.
        for projection in devices.iter_mut() {
            let mut order: Vec<&Event> = events.iter().chain(events.iter()).collect();
            for index in (1..order.len()).rev() {
                order.swap(index, (next() as usize) % (index + 1));
            }
            for event in order {
                projection.apply(event).expect("apply");
            }
        }
        for (index, projection) in devices.iter().enumerate() {
            prop_assert_eq!(&projection.snapshot(), &expected, "device {} differs from the reference", index + 1);
        }
    }

    /// The server records a resolution for each decision as events arrive, in any order and
    /// with duplicates: every open task and discrepancy has one, none is recorded twice, and
    /// a device replaying the floor events and the resolutions in any order ends where the
    /// floor events alone lead.
    #[test]
    fn recorded_resolutions_cover_what_is_open_and_change_nothing((_, events) in scenario(), seed in any::<u64>(), n_dups in 0usize..20) {
        let expected = reference::evaluate(&events);
        let (server, recorded) = ingest(arrival_order(&events, seed, n_dups));
        prop_assert_eq!(&server.snapshot(), &expected, "the server's projection is the reference");
        assert_every_open_thing_was_resolved(&expected, &recorded);
        let ids: std::collections::BTreeSet<_> = recorded.iter().map(|event| event.id).collect();
        prop_assert_eq!(ids.len(), recorded.len(), "no decision is recorded twice");
        let everything: Vec<Event> = events.iter().chain(&recorded).cloned().collect();
        let mut device = Projection::new();
        for event in arrival_order(&everything, seed.rotate_left(17), n_dups) {
            device.apply(event).expect("apply");
        }
        prop_assert_eq!(device.snapshot(), expected, "a device with the resolutions in its log");
    }

    /// Regression: a receipt of `i64::MAX` and then any event on its key panicked in the
    /// rules (`on_hand += delta`), so the server answered 500 on every retry. Extreme
    /// quantities, in any order and with duplicates, neither panic nor wrap, and the
    /// incremental rules still agree with the reference.
    #[test]
    fn extreme_quantities_neither_panic_nor_wrap((_, events) in scenario_of(|| extreme_op().boxed()), seed in any::<u64>(), n_dups in 0usize..10) {
        let expected = reference::evaluate(&events);
        let mut projection = Projection::new();
        for event in arrival_order(&events, seed, n_dups) {
            projection.apply(event).expect("apply");
        }
        let snapshot = projection.snapshot();
        prop_assert_eq!(&snapshot, &expected);
        let bound = MAX_EVENT_QTY * 100;
        for (key, on_hand) in &snapshot.on_hand {
            prop_assert!(on_hand.abs() <= bound, "{key:?} holds {on_hand}: a bounded sum of under 100 events cannot exceed {bound}");
        }
    }
}
