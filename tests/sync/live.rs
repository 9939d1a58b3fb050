//! Live sync end to end: two real engines and a real server over loopback. What one PC
//! records reaches the other through its live pull long before its round could run, and a
//! live pull cut mid-wait falls back to the round, still delivers, and applies nothing twice.

use crate::support::{eventually, fast_config, key, Proxy, World};
use aisle_core::testkit::received;
use aisle_sync::SyncConfig;
use std::collections::BTreeSet;
use std::time::Duration;

/// A device that relies on live sync: its round would run only once an hour.
fn live_config() -> SyncConfig {
    SyncConfig {
        live: true,
        interval: Duration::from_secs(3_600),
        ..fast_config()
    }
}

/// Waits until `n` pulls wait on the server.
async fn until_waiting(world: &World, n: usize) {
    eventually(&format!("{n} live pulls waiting on the server"), || {
        world.server.live.waiting() == n
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_a_records_reaches_b_through_its_live_pull_before_any_round() {
    let world = World::start().await;
    let mut a = world.device("dock-1", None, fast_config()).await;
    let mut b = world.device("dock-2", None, live_config()).await;
    let bin = key(&world, 1, 1);
    let b_handle = b.engine.take().expect("engine").spawn();
    let b_status = b_handle.status();
    // B's first round runs at once; after it B waits on the server.
    until_waiting(&world, 1).await;
    assert!(b_status.borrow().live, "the status says live sync is on");

    let recorded: BTreeSet<_> = (0..3).map(|_| a.record(received(&bin, 2)).id).collect();
    a.engine().sync_once().await.expect("A pushes");
    // B's next round is an hour away: only the live pull can bring this.
    eventually("B's store holds A's events", || b.on_hand(&bin) == 6).await;
    let in_b: BTreeSet<_> = b
        .recorder
        .load_events()
        .expect("events")
        .into_iter()
        .map(|event| event.id)
        .collect();
    assert_eq!(in_b, recorded, "exactly A's events, each once");
    // The UI learns of it from the status it watches.
    eventually("the status counts the pulled events", || {
        b_status.borrow().pulled_new == 3
    })
    .await;
    // And B is waiting again, for what comes next.
    until_waiting(&world, 1).await;
    a.record(received(&bin, 1));
    a.engine().sync_once().await.expect("A pushes again");
    eventually("B gets the next one too", || b.on_hand(&bin) == 7).await;
    b_handle.stop().await.expect("B stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_pull_cut_mid_wait_falls_back_to_the_round_and_applies_nothing_twice() {
    let world = World::start().await;
    let proxy = Proxy::start(world.server.addr).await;
    let mut a = world.device("dock-1", None, fast_config()).await;
    let mut b = world
        .device("dock-2", Some(&proxy.url()), live_config())
        .await;
    let bin = key(&world, 2, 2);
    let b_handle = b.engine.take().expect("engine").spawn();
    let b_status = b_handle.status();
    until_waiting(&world, 1).await;

    // The connection of B's waiting pull is cut while it waits, and A records meanwhile.
    let live_pulls_before = proxy
        .seen()
        .iter()
        .filter(|seen| seen.path.contains("wait="))
        .count();
    proxy.cut_live_waits();
    let recorded: BTreeSet<_> = (0..4).map(|_| a.record(received(&bin, 1)).id).collect();
    a.engine().sync_once().await.expect("A pushes");

    eventually("B's store holds A's events", || b.on_hand(&bin) == 4).await;
    let events = b.recorder.load_events().expect("events");
    let ids: BTreeSet<_> = events.iter().map(|event| event.id).collect();
    assert_eq!(events.len(), ids.len(), "no event is stored twice");
    assert_eq!(ids, recorded);
    // After the cut B ran its round (a plain pull, without wait) and then went live again.
    let seen = proxy.seen();
    let cut_at = seen
        .iter()
        .filter(|seen| seen.path.contains("wait="))
        .nth(live_pulls_before - 1)
        .expect("the cut live pull")
        .at;
    assert!(
        seen.iter().any(|seen| seen.at > cut_at
            && seen.method == "GET"
            && seen.path.contains("/events?")
            && !seen.path.contains("wait=")),
        "the round pulled after the cut: {seen:?}"
    );
    until_waiting(&world, 1).await;
    assert!(b_status.borrow().live, "live again after the round");
    eventually("the status counts each event once", || {
        b_status.borrow().pulled_new == 4
    })
    .await;
    // One more through the restored live channel, and still each event once.
    a.record(received(&bin, 1));
    a.engine().sync_once().await.expect("A pushes again");
    eventually("B gets it", || b.on_hand(&bin) == 5).await;
    assert_eq!(b.recorder.event_count().expect("count"), 5);
    b_handle.stop().await.expect("B stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_the_live_pull_works_the_round_waits_for_its_live_interval() {
    let world = World::start().await;
    let proxy = Proxy::start(world.server.addr).await;
    // A round every 100 ms without live sync; every hour while the live pull works.
    let config = SyncConfig {
        live: true,
        interval: Duration::from_millis(100),
        live_interval: Duration::from_secs(3_600),
        ..fast_config()
    };
    let mut b = world.device("dock-2", Some(&proxy.url()), config).await;
    let b_handle = b.engine.take().expect("engine").spawn();
    until_waiting(&world, 1).await;
    let plain_pulls = || {
        proxy
            .seen()
            .iter()
            .filter(|seen| {
                seen.method == "GET"
                    && seen.path.contains("/events?")
                    && !seen.path.contains("wait=")
            })
            .count()
    };
    // Fifteen of the round's intervals pass with the live pull waiting.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(
        plain_pulls(),
        1,
        "only the first round pulled; the live pull stands in for the rest: {:?}",
        proxy.seen()
    );
    assert!(b_handle.status().borrow().live);
    b_handle.stop().await.expect("B stops");
}

/// A PC enrolled after this PC's master data is current is named here by the next master
/// pull, although that pull has no versioned rows (items, locations, users, pick lists) to
/// bring: the warehouse's PC names come whole on every page. The status counts the change,
/// so the floor's screens read again and a claim shows "on PC dock-2".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pc_enrolled_after_this_pc_is_current_is_named_by_its_next_master_pull() {
    let world = World::start().await;
    let with_master = SyncConfig {
        pull_master: true,
        ..fast_config()
    };
    let mut a = world.device("dock-1", None, with_master).await;
    a.engine().sync_once().await.expect("A's first round");
    a.engine().sync_once().await.expect("A is current");
    let status = a.engine().status();
    let changed_before = status.borrow().master_changed;
    a.engine()
        .sync_once()
        .await
        .expect("a round with nothing new");
    assert_eq!(
        status.borrow().master_changed,
        changed_before,
        "a master pull that changed nothing is not counted"
    );

    let b = world.device("dock-2", None, fast_config()).await;
    assert_eq!(
        a.recorder.device_name(b.profile.device).expect("read"),
        None,
        "A has not heard of dock-2 yet"
    );
    a.engine().sync_once().await.expect("A's next round");
    assert_eq!(
        a.recorder.device_name(b.profile.device).expect("read"),
        Some("dock-2".to_owned()),
        "the next master pull names the new PC"
    );
    assert_eq!(
        status.borrow().master_changed,
        changed_before + 1,
        "the status says the store changed"
    );
}
