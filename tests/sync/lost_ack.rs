//! The server commits a push but its answer is lost: the device retries and the effect is
//! exactly once.

use crate::support::{fast_config, key, Fault, Proxy, World};
use aisle_core::testkit::received;
use aisle_store::outbox::OutboxState;
use std::collections::BTreeSet;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_acknowledgement_is_retried_and_applied_once() {
    let world = World::start().await;
    let proxy = Proxy::start(world.server.addr).await;
    let mut device = world
        .device("dock", Some(&proxy.url()), fast_config())
        .await;
    let bin = key(&world, 1, 1);
    let recorded: BTreeSet<_> = (0..20)
        .map(|_| device.record(received(&bin, 1)).id)
        .collect();

    proxy.script([Fault::DropResponse]);
    let error = device
        .engine()
        .sync_once()
        .await
        .expect_err("the answer was dropped");
    assert!(
        error.is_retryable(),
        "a lost answer is worth retrying: {error}"
    );
    assert_eq!(
        world.server_events(&device).await.len(),
        20,
        "the server committed before the answer was lost"
    );
    let rows = device.recorder.outbox_rows().expect("outbox");
    assert!(
        rows.iter().all(|row| row.state == OutboxState::Pending
            && row.attempts == 1
            && row.last_error.is_some()),
        "the device does not know, so it keeps them pending with the failed attempt: {rows:?}"
    );

    let report = device
        .engine()
        .sync_now()
        .await
        .expect("the retry succeeds");
    assert_eq!(
        report.n_sent, 20,
        "the server answers duplicate, which settles them"
    );
    let on_server = world.server_events(&device).await;
    let ids: BTreeSet<_> = on_server.iter().map(|event| event.id).collect();
    assert_eq!(on_server.len(), 20, "exactly once on the server");
    assert_eq!(ids, recorded, "and exactly the recorded events");
    let rows = device.recorder.outbox_rows().expect("outbox");
    assert!(
        rows.iter().all(|row| row.state == OutboxState::Sent),
        "{rows:?}"
    );
    assert_eq!(device.on_hand(&bin), 20);
    let server = world.server_view(&device).await;
    assert_eq!(
        server.on_hand.get(&bin),
        Some(&20),
        "the server's stock counts each receipt once"
    );
}
