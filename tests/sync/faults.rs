//! Server faults between device and server: 500, 503 with Retry-After, connection resets
//! and answers slower than the request timeout. Nothing is lost, nothing is duplicated, and
//! the backoff shows in the recorded attempts and in when the proxy saw the retries.

use crate::support::{eventually, fast_config, key, Fault, Proxy, World};
use aisle_core::testkit::received;
use aisle_store::outbox::OutboxState;
use std::collections::BTreeSet;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_lose_nothing_duplicate_nothing_and_back_off() {
    let world = World::start().await;
    let proxy = Proxy::start(world.server.addr).await;
    let mut device = world
        .device("dock", Some(&proxy.url()), fast_config())
        .await;
    let bin = key(&world, 3, 4);
    let mut recorded: BTreeSet<_> = (0..120)
        .map(|_| device.record(received(&bin, 1)).id)
        .collect();
    proxy.script([
        Fault::Status {
            status: 500,
            retry_after_s: None,
        },
        Fault::Status {
            status: 503,
            retry_after_s: Some(1),
        },
        Fault::Reset,
        // Longer than the 2 s request timeout: the device gives up, the server commits.
        Fault::Slow(Duration::from_secs(3)),
        Fault::Pass,
        Fault::Reset,
    ]);

    let handle = device.engine.take().expect("engine").spawn();
    handle.local_event();
    tokio::time::sleep(Duration::from_millis(300)).await;
    recorded.extend((0..30).map(|_| device.record(received(&bin, 1)).id));
    handle.local_event();
    let status = handle.status();
    eventually("every event acknowledged", || {
        device.recorder.pending_outbox_count().expect("count") == 0 && status.borrow().pending == 0
    })
    .await;
    let engine = handle.stop().await.expect("the engine stops");

    let on_server = world.server_events(&device).await;
    let ids: BTreeSet<_> = on_server.iter().map(|event| event.id).collect();
    assert_eq!(on_server.len(), ids.len(), "no event is stored twice");
    assert_eq!(ids, recorded, "every recorded event reached the server");
    assert_eq!(
        world.server_view(&device).await.on_hand.get(&bin),
        Some(&150)
    );

    let rows = device.recorder.outbox_rows().expect("outbox");
    assert!(
        rows.iter().all(|row| row.state == OutboxState::Sent),
        "all settled"
    );
    assert!(
        rows[0].attempts >= 4,
        "the first batch failed at least four times (500, 503, reset, timeout): {:?}",
        rows[0]
    );
    let pushes: Vec<_> = proxy
        .seen()
        .into_iter()
        .filter(|seen| seen.method == "POST" && seen.path.ends_with("/events"))
        .collect();
    let after_503 = pushes
        .iter()
        .position(|seen| matches!(seen.fault, Fault::Status { status: 503, .. }))
        .expect("the 503 was served");
    let waited = pushes[after_503 + 1].at - pushes[after_503].at;
    assert!(
        waited >= Duration::from_secs(1),
        "Retry-After: 1 is honoured, the next push came {waited:?} later"
    );
    let status = engine.status().borrow().clone();
    assert!(
        status.last_error.is_some(),
        "the failures were reported: {status:?}"
    );
    assert_eq!(status.consecutive_failures, 0, "and cleared by the success");
}
