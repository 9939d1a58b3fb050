//! Many pushes of one tenant at once. The PostgreSQL backend runs the pushes that queued
//! behind a running one as one transaction (`pg::storage::coalesce`); each push must still
//! get exactly the answers it would have got alone, and one that fails must not take the
//! others with it. SQLite, one writer at a time, must answer the same.

use super::{context, event, Backend, NOW_MS};
use crate::storage::StockFilter;
use aisle_core::ids::{EventId, LocationId};
use aisle_core::testkit::{self, key, received};
use aisle_core::Event;
use aisle_protocol::{PushResult, PushStatus};
use std::collections::{BTreeMap, HashMap};

const THREADS: u64 = 8;
const PUSHES: u64 = 8;
/// Each push's events of its own, at its thread's bin.
const OWN: u64 = 5;
/// The push that fails at its last write (an adjustment, whose `stock.adjusted` message the
/// outbox refuses): thread 0's fourth.
const FAILING: (u64, u64) = (0, 3);

/// A push of the test: (thread, push), its events, and its answer.
type Pushed = ((u64, u64), Vec<Event>, Result<Vec<PushResult>, String>);

pub(crate) fn concurrent_pushes_get_the_answers_they_would_get_alone(backend: &dyn Backend) {
    let storage = backend.storage();
    let tenant = backend.add_tenant();
    let context = context(tenant);
    storage
        .push(
            &context,
            &[event(tenant, 1, received(&key(30, 30, None), 1))],
            NOW_MS,
        )
        .expect("the first push makes the database");
    backend.refuse_outbox_type(tenant, "stock.adjusted");
    // Every thread pushes the same two shared events in each round, so the same event is
    // often in several pushes queued at once (and so in one group).
    let shared_bin = key(20, 20, None);
    let shared = |round: u64| event(tenant, 200_000 + round, received(&shared_bin, 1));
    let batch = |thread: u64, push: u64| -> Vec<Event> {
        let bin = key(1 + thread as u16, 1, None);
        let first = 10_000 + (thread * PUSHES + push) * OWN;
        let mut batch: Vec<Event> = (first..first + OWN)
            .map(|serial| event(tenant, serial, received(&bin, 1)))
            .collect();
        batch.insert(2, shared(push));
        batch.push(shared(push + 1));
        // Refused on its own: a receipt of nothing.
        batch.push(event(
            tenant,
            300_000 + thread * PUSHES + push,
            received(&bin, 0),
        ));
        if (thread, push) == FAILING {
            batch.push(event(tenant, 400_000, testkit::adjusted(&bin, -1)));
        }
        batch
    };
    let answers: Vec<Pushed> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..THREADS)
            .map(|thread| {
                let (context, batch) = (&context, &batch);
                scope.spawn(move || {
                    (0..PUSHES)
                        .map(|push| {
                            let events = batch(thread, push);
                            let answer = storage
                                .push(context, &events, NOW_MS)
                                .map_err(|error| error.to_string());
                            ((thread, push), events, answer)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        threads
            .into_iter()
            .flat_map(|thread| thread.join().expect("pusher"))
            .collect()
    });

    let mut applied: HashMap<EventId, u64> = HashMap::new();
    let mut repeated: Vec<(EventId, u64)> = Vec::new();
    let mut own_applied: BTreeMap<u16, i64> = BTreeMap::new();
    for ((thread, push), events, answer) in &answers {
        if (*thread, *push) == FAILING {
            assert!(
                answer.is_err(),
                "the adjustment's outbox row fails its push"
            );
            continue;
        }
        let results = answer
            .as_ref()
            .unwrap_or_else(|error| panic!("push {thread}/{push} failed: {error}"));
        assert_eq!(
            results.iter().map(|result| result.id).collect::<Vec<_>>(),
            events.iter().map(|event| event.id).collect::<Vec<_>>(),
            "one result per event, in the push's order"
        );
        for (event, result) in events.iter().zip(results) {
            let is_own = !matches!(&event.body, aisle_core::event::EventBody::Received { location, .. } if *location == shared_bin.location);
            match result.status {
                PushStatus::Rejected => {
                    assert_eq!(
                        result.reason.as_deref(),
                        Some("invalid_event"),
                        "{result:?}"
                    );
                    assert!(is_own);
                }
                PushStatus::Applied => {
                    let seq = result.seq.expect("an applied event's seq");
                    assert_eq!(
                        applied.insert(event.id, seq),
                        None,
                        "applied twice: {result:?}"
                    );
                    if is_own {
                        *own_applied.entry(1 + *thread as u16).or_default() += 1;
                    }
                }
                PushStatus::Duplicate => {
                    assert!(!is_own, "only shared events repeat: {result:?}");
                    repeated.push((event.id, result.seq.expect("a duplicate's seq")));
                }
            }
        }
    }
    for (id, seq) in &repeated {
        assert_eq!(
            applied.get(id),
            Some(seq),
            "a duplicate answers the seq its event was applied at"
        );
    }
    for round in 0..=PUSHES {
        assert!(
            applied.contains_key(&shared(round).id),
            "shared event {round} applied"
        );
    }
    // The log: the first push's event and every applied one, numbered 1..=N without a hole;
    // nothing of the failed push but what other pushes carried too.
    let log = super::pull_all(storage, &context, 1000);
    assert_eq!(
        log.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(),
        (1..=applied.len() as u64 + 1).collect::<Vec<_>>()
    );
    for (seq, event) in &log[1..] {
        assert_eq!(applied.get(&event.id), Some(seq), "{event:?}");
    }
    // The stock: each thread's bin holds its applied receipts; the shared bin one per round.
    let stock: BTreeMap<LocationId, i64> = storage
        .stock(&context, StockFilter::default())
        .expect("stock")
        .rows
        .iter()
        .map(|row| (row.location, row.on_hand))
        .collect();
    let mut expected: BTreeMap<LocationId, i64> = own_applied
        .iter()
        .map(|(bin, n)| (key(*bin, 1, None).location, *n))
        .collect();
    expected.insert(shared_bin.location, PUSHES as i64 + 1);
    expected.insert(key(30, 30, None).location, 1);
    assert_eq!(stock, expected);
    assert_eq!(
        own_applied[&1],
        ((PUSHES - 1) * OWN) as i64,
        "thread 0's failed push applied none of its own events"
    );
}
