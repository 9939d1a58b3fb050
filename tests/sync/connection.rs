//! The connection coming back: a running engine that is backing off for minutes syncs at
//! once when told the network changed (what the OS network watch does), and a probe that
//! reaches the server shows the device online at once, even when the server's answer is an
//! error.

use crate::support::{eventually, fast_config, key, Fault, Proxy, World};
use aisle_core::testkit::received;
use aisle_sync::{system_now_ms, SyncConfig, SyncError};
use std::time::Duration;

/// Long delays everywhere, so nothing but the trigger can start the next round within the
/// tests' 60 s liveness limit.
fn patient_config() -> SyncConfig {
    SyncConfig {
        interval: Duration::from_secs(3_600),
        backoff_base: Duration::from_secs(600),
        backoff_cap: Duration::from_secs(600),
        // The test plays the OS watch's part.
        watch_network: false,
        ..fast_config()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_coming_back_ends_a_long_backoff_at_once() {
    let world = World::start().await;
    let proxy = Proxy::start(world.server.addr).await;
    let mut device = world
        .device("dock", Some(&proxy.url()), patient_config())
        .await;
    let bin = key(&world, 1, 1);
    device.record(received(&bin, 4));

    proxy.set_offline(true);
    let handle = device.engine.take().expect("engine").spawn();
    let status = handle.status();
    handle.local_event();
    // Full jitter may pick a short delay; wait (failing again each time) until the engine
    // has settled on one that outlasts the liveness limit below by a wide margin.
    eventually("a backoff of more than two minutes", || {
        let status = status.borrow();
        let long = status
            .next_retry_ms
            .is_some_and(|retry_ms| retry_ms > system_now_ms() + 120_000);
        if !long && status.consecutive_failures > 0 {
            handle.sync_now();
        }
        long && !status.online
    })
    .await;
    let failures = status.borrow().consecutive_failures;

    proxy.set_offline(false);
    handle.connection_changed();
    eventually(
        "the event is acknowledged after the connection came back",
        || {
            let status = status.borrow();
            status.pending == 0 && status.online
        },
    )
    .await;
    assert_eq!(
        device.recorder.pending_outbox_count().expect("count"),
        0,
        "settled in the store too"
    );
    let engine = handle.stop().await.expect("stops");
    let status = engine.status().borrow().clone();
    assert!(failures >= 1, "it had failed while offline");
    assert_eq!(
        (status.consecutive_failures, status.next_retry_ms),
        (0, None),
        "the backoff is over: {status:?}"
    );
    assert_eq!(
        world.server_view(&device).await.on_hand.get(&bin),
        Some(&4),
        "the receipt reached the server"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_probe_the_server_answers_shows_the_device_online_even_with_an_error() {
    let world = World::start().await;
    let proxy = Proxy::start(world.server.addr).await;
    let mut device = world
        .device("dock", Some(&proxy.url()), fast_config())
        .await;
    device.record(received(&key(&world, 1, 1), 1));

    proxy.set_offline(true);
    let error = device.engine().sync_once().await.expect_err("offline");
    assert!(error.is_offline(), "{error}");
    assert!(!device.engine().status().borrow().online, "offline");

    proxy.set_offline(false);
    proxy.script([Fault::Status {
        status: 500,
        retry_after_s: None,
    }]);
    match device.engine().sync_now().await {
        Err(SyncError::Server { status: 500, .. }) => {}
        other => panic!("the probe gets the server's 500: {other:?}"),
    }
    let status = device.engine().status().borrow().clone();
    assert!(
        status.online,
        "the server answered, so the network is back, even though the push failed: {status:?}"
    );
    assert_eq!(
        (
            status.consecutive_failures,
            status.last_error.as_ref().map(|error| error.code.as_str())
        ),
        (1, Some("internal")),
        "it still counts as a failure, with the server's code"
    );

    device
        .engine()
        .sync_now()
        .await
        .expect("the next probe succeeds");
    assert!(device.engine().status().borrow().online);
}
