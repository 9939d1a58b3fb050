//! Re-sent events are applied once and keep their seqs, sequentially and concurrently; the
//! same id with another payload, and invalid events, are rejected one by one.

use crate::support::{receipts, result_seqs, result_statuses, stored_events, World};
use aisle_core::testkit::{key, received};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_batch_three_times_is_applied_once() {
    let world = World::start(8).await;
    let (tenant, warehouse) = world.tenant("t");
    let device = world.enroll(tenant, warehouse, "pc").await;
    let batch = receipts(&device, 1, 10);
    let (status, first) = world.push(&device, &batch).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(result_statuses(&first), vec!["applied"; 10]);
    let seqs = result_seqs(&first);
    assert!(
        seqs.iter().all(Option::is_some),
        "applied events carry a seq"
    );
    for attempt in 2..=3 {
        let (status, again) = world.push(&device, &batch).await;
        assert_eq!(status, 200, "{again}");
        assert_eq!(
            result_statuses(&again),
            vec!["duplicate"; 10],
            "attempt {attempt}"
        );
        assert_eq!(
            result_seqs(&again),
            seqs,
            "duplicates carry their original seq"
        );
    }
    assert_eq!(stored_events(world.dir.path(), tenant).len(), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_batch_over_two_connections_at_once_is_applied_once() {
    let world = World::start(8).await;
    let (tenant, warehouse) = world.tenant("t");
    let device = world.enroll(tenant, warehouse, "pc").await;
    let batch = receipts(&device, 1, 50);
    // Two clients, so two separate TCP connections.
    let (http_1, http_2) = (reqwest::Client::new(), reqwest::Client::new());
    let base = world.url("");
    let ((status_1, body_1), (status_2, body_2)) = tokio::join!(
        crate::support::push_to(&http_1, &base, &device, tenant, &batch),
        crate::support::push_to(&http_2, &base, &device, tenant, &batch),
    );
    assert_eq!((status_1, status_2), (200, 200), "{body_1} {body_2}");
    let (statuses_1, statuses_2) = (result_statuses(&body_1), result_statuses(&body_2));
    for event_idx in 0..batch.len() {
        let mut pair = [
            statuses_1[event_idx].as_str(),
            statuses_2[event_idx].as_str(),
        ];
        pair.sort();
        assert_eq!(
            pair,
            ["applied", "duplicate"],
            "event {event_idx} applied exactly once"
        );
    }
    assert_eq!(
        result_seqs(&body_1),
        result_seqs(&body_2),
        "both answers give each event the same seq"
    );
    let (_, third) = world.push(&device, &batch).await;
    assert_eq!(
        result_seqs(&third),
        result_seqs(&body_1),
        "seqs never change"
    );
    assert_eq!(stored_events(world.dir.path(), tenant).len(), 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_payload_and_an_invalid_event_are_rejected_alone() {
    let world = World::start(8).await;
    let (tenant, warehouse) = world.tenant("t");
    let device = world.enroll(tenant, warehouse, "pc").await;
    let original = receipts(&device, 1, 1);
    let (status, _) = world.push(&device, &original).await;
    assert_eq!(status, 200);
    let mut changed = original[0].clone();
    changed.clock_correction_ms += 1;
    let invalid =
        crate::support::event(&device, 2, 1_700_000_000_002, received(&key(1, 1, None), 0));
    let fine = receipts(&device, 3, 1).remove(0);
    let (status, body) = world.push(&device, &[changed, invalid, fine]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        result_statuses(&body),
        ["rejected", "rejected", "applied"],
        "{body}"
    );
    assert_eq!(body["results"][0]["reason"], "payload_mismatch");
    assert_eq!(body["results"][1]["reason"], "invalid_event");
    assert!(
        body["results"][1]["message"]
            .as_str()
            .is_some_and(|message| message.contains("positive")),
        "the message says what is wrong: {body}"
    );
    let stored = stored_events(world.dir.path(), tenant);
    assert_eq!(stored.len(), 2, "the original and the fine event");
    assert_eq!(stored[0], original[0], "the first payload stays");
}
