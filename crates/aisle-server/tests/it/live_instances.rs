//! Live sync across server instances on PostgreSQL (issue 15, "Server fan-out"): a pull
//! waiting on one instance wakes for a push taken by another, through `LISTEN/NOTIFY` in the
//! shared registry database, and keeps doing so after its listener's connection is cut.

use crate::instances::{enrolled, Fleet, Instance};
use crate::live::{live_pull, seqs};
use crate::support::{push_to, receipts, Device};
use std::time::Duration;

/// Waits (within a generous deadline) until `n` server instances hold a `LISTEN` on the
/// registry database: before that, a push's notification could reach nobody.
fn until_listening(fleet: &Fleet, n: usize) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let listening = fleet
            .cluster
            .psql(
                "aisle_registry",
                "SELECT count(*) FROM pg_stat_activity WHERE query = 'LISTEN aisle_live'",
            )
            .expect("pg_stat_activity");
        if listening.trim() == n.to_string() {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{n} instances should listen, {listening} do"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Until `n` pulls wait on `instance`.
async fn until_waiting(instance: &Instance, n: usize) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while instance.server.live.waiting() != n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{n} pulls should wait, {} do",
            instance.server.live.waiting()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Starts a pull by `watcher` on `on` that waits up to 25 s, waits until it waits, then
/// runs `meanwhile`: the pull's `Aisle-Live` answer and page.
async fn wait_on<F: std::future::Future<Output = ()>>(
    http: &reqwest::Client,
    on: &Instance,
    watcher: &Device,
    after: u64,
    meanwhile: F,
) -> (String, serde_json::Value) {
    let waiting = tokio::spawn({
        let (http, base, watcher) = (http.clone(), on.base(), watcher.clone());
        async move { live_pull(&http, &base, &watcher, after, 25).await }
    });
    until_waiting(on, 1).await;
    // The pull subscribes before it reads the store, so `waiting` can count it before its
    // first read is done; a push that lands in between is answered `data`, not `pushed`.
    // Give the read time to finish (ordering only: the callers accept a `data` answer as
    // inconclusive and try again).
    tokio::time::sleep(Duration::from_millis(200)).await;
    meanwhile.await;
    waiting.await.expect("the waiting pull is answered")
}

/// Pushes serials `first..` one at a time through `via` while `watcher` waits on `on`, until
/// a waiting pull is woken by the push (`pushed`), at most three tries; every answer must
/// carry the pushed event, and none may be a timeout.
async fn woken_across(
    http: &reqwest::Client,
    via: &Instance,
    pusher: &Device,
    on: &Instance,
    watcher: &Device,
    first: u64,
) {
    let mut whys = Vec::new();
    for round in 0..3u64 {
        // Where the log stands now: an earlier round's push may have been answered late.
        let before = pull_count(http, on, watcher).await;
        let (why, page) = wait_on(
            http,
            on,
            watcher,
            before,
            push_one(http, via, pusher, first + round),
        )
        .await;
        whys.push(why.clone());
        if why == "master" && seqs(&page).is_empty() {
            // Another instance's master-data note (a PC's enrolment) woke it first: inconclusive.
            continue;
        }
        assert_eq!(
            seqs(&page),
            vec![before + 1],
            "the answer carries the push: {page}"
        );
        if why == "pushed" {
            return;
        }
        assert_eq!(why, "data", "never left to the timeout: {whys:?}");
    }
    panic!("no waiting pull was woken across instances in three tries: {whys:?}");
}

/// How many events the tenant's log holds, as `device` pulls it from `on`.
async fn pull_count(http: &reqwest::Client, on: &Instance, device: &Device) -> u64 {
    crate::support::pull_all_from(http, &on.base(), device)
        .await
        .len() as u64
}

async fn push_one(http: &reqwest::Client, via: &Instance, device: &Device, serial: u64) {
    let (status, body) = push_to(
        http,
        &via.base(),
        device,
        device.tenant,
        &receipts(device, serial, 1),
    )
    .await;
    assert_eq!(status, 200, "the push is taken: {body}");
}

#[test]
fn a_push_on_one_instance_wakes_a_pull_waiting_on_another() {
    let fleet = Fleet::start();
    let (a, b) = (fleet.instance(), fleet.instance());
    fleet.tenant(&a.registry, "acme");
    until_listening(&fleet, 2);
    let http = reqwest::Client::new();
    fleet.server.block_on(async {
        let picker = enrolled(&http, &a, "dock-1").await;
        let watcher = enrolled(&http, &b, "dock-2").await;
        // A's pushes wake a pull waiting on B, then B's pushes one waiting on A.
        woken_across(&http, &a, &picker, &b, &watcher, 1).await;
        woken_across(&http, &b, &watcher, &a, &picker, 100).await;
    });
}

#[test]
fn a_listener_whose_connection_is_cut_reconnects_and_wakes_its_waiters() {
    let fleet = Fleet::start();
    let (a, b) = (fleet.instance(), fleet.instance());
    fleet.tenant(&a.registry, "acme");
    until_listening(&fleet, 2);
    let http = reqwest::Client::new();
    let cut = || {
        fleet
            .cluster
            .psql(
                "aisle_registry",
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
                 WHERE query = 'LISTEN aisle_live'",
            )
            .expect("the listeners' connections are terminated")
    };
    fleet.server.block_on(async {
        let picker = enrolled(&http, &a, "dock-1").await;
        let watcher = enrolled(&http, &b, "dock-2").await;
        // Cut while B's pull waits, and push at once: the notification may be lost to B,
        // whose listener then wakes every waiter when it is back (possibly before the push
        // commits, an empty wake-up). The watcher pulls again after each answer, as the
        // engine does; no answer may be a timeout.
        let following = tokio::spawn({
            let (http, base, watcher) = (http.clone(), b.base(), watcher.clone());
            async move {
                let mut whys = Vec::new();
                loop {
                    let (why, page) = live_pull(&http, &base, &watcher, 0, 25).await;
                    whys.push(why);
                    if !seqs(&page).is_empty() {
                        return (whys, seqs(&page));
                    }
                }
            }
        });
        until_waiting(&b, 1).await;
        assert_eq!(cut().trim(), "2", "both listeners were cut");
        push_one(&http, &a, &picker, 1).await;
        let (whys, pulled) = following.await.expect("the watcher's pulls are answered");
        assert_eq!(pulled, vec![1], "the watcher gets the push");
        assert!(
            !whys.iter().any(|why| why == "timeout") && whys.len() <= 2,
            "a cut listener leaves no waiter to its timeout: {whys:?}"
        );
    });
    until_listening(&fleet, 2);
    fleet.server.block_on(async {
        let picker = enrolled(&http, &a, "dock-3").await;
        let watcher = enrolled(&http, &b, "dock-4").await;
        // After reconnecting, A's pushes wake B's waiters again.
        woken_across(&http, &a, &picker, &b, &watcher, 2).await;
    });
}
