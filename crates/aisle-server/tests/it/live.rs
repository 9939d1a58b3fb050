//! Live sync on one server: a pull with `wait` answers when a push to its warehouse lands
//! (or the tenant's master data changes), answers an empty page at its timeout, answers at
//! once beyond the budget of waiting pulls, and ends when the server shuts down. The
//! `Aisle-Live` header says which; the body is the ordinary pull page.

use crate::erp::{api_key, upsert};
use crate::support::{receipts, Device, World};
use aisle_server::auth::Scope;
use serde_json::{json, Value};
use std::time::Duration;

/// A pull of `device`'s warehouse after `after` that may wait `wait` seconds: the
/// `Aisle-Live` header and the page.
pub(crate) async fn live_pull(
    http: &reqwest::Client,
    base: &str,
    device: &Device,
    after: u64,
    wait: u32,
) -> (String, Value) {
    let url = format!(
        "{base}/v1/t/{}/events?after={after}&wait={wait}",
        device.tenant
    );
    let response = http
        .get(url)
        .bearer_auth(&device.token)
        .send()
        .await
        .expect("the pull is answered");
    assert_eq!(response.status().as_u16(), 200);
    let why = response
        .headers()
        .get(aisle_protocol::LIVE_HEADER)
        .expect("a pull with wait says why it answered")
        .to_str()
        .expect("ascii")
        .to_owned();
    (why, response.json().await.expect("json"))
}

/// Waits (within a generous deadline) until `n` pulls wait on the server.
async fn until_waiting(world: &World, n: usize) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while world.server.live.waiting() != n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{n} pulls should be waiting, {} are",
            world.server.live.waiting()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// `device`'s pull from the start, waiting up to 25 s, once it is the one pull waiting.
async fn the_only_waiting_pull(
    world: &World,
    device: &Device,
) -> tokio::task::JoinHandle<(String, Value)> {
    let waiting = tokio::spawn({
        let (http, base, device) = (world.http.clone(), world.url(""), device.clone());
        async move { live_pull(&http, &base, &device, 0, 25).await }
    });
    until_waiting(world, 1).await;
    waiting
}

pub(crate) fn seqs(page: &Value) -> Vec<u64> {
    page["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|pulled| pulled["seq"].as_u64().expect("seq"))
        .collect()
}

#[tokio::test]
async fn a_waiting_pull_answers_with_the_push_that_lands() {
    let world = World::start(8).await;
    let (tenant, warehouse) = world.tenant("acme");
    let (a, b) = (
        world.enroll(tenant, warehouse, "dock-1").await,
        world.enroll(tenant, warehouse, "dock-2").await,
    );
    let (other_tenant, other_warehouse) = world.tenant("other");
    let stranger = world
        .enroll(other_tenant, other_warehouse, "elsewhere")
        .await;
    let base = world.url("");
    let waiting = tokio::spawn({
        let (http, base, b) = (world.http.clone(), base.clone(), b.clone());
        async move { live_pull(&http, &base, &b, 0, 25).await }
    });
    until_waiting(&world, 1).await;
    // Another tenant's push wakes nothing here.
    let (status, _) = world.push(&stranger, &receipts(&stranger, 1, 1)).await;
    assert_eq!(status, 200);
    let (status, _) = world.push(&a, &receipts(&a, 1, 2)).await;
    assert_eq!(status, 200);
    let (why, page) = waiting.await.expect("the pull task");
    assert_eq!(why, "pushed", "woken by the push: {page}");
    assert_eq!(
        seqs(&page),
        vec![1, 2],
        "the pushed events, in the page: {page}"
    );
    assert_eq!(page["next"], 2);
    assert!(page["checksum"].is_string(), "with its checksum: {page}");
    // Nobody waits any more, and the warehouse's channel is gone with its last waiter.
    until_waiting(&world, 0).await;
    assert_eq!(world.server.live.channels(), 0);
    // With something after `after`, it answers at once, exactly as a pull without wait.
    let (why, at_once) = live_pull(&world.http, &base, &b, 1, 25).await;
    assert_eq!(why, "data");
    let (_, plain) = crate::support::get_json(
        &world.http,
        &format!("{base}/v1/t/{tenant}/events?after=1"),
        &b.token,
    )
    .await;
    assert_eq!(at_once["events"], plain["events"]);
    assert_eq!(at_once["checksum"], plain["checksum"]);
}

#[tokio::test]
async fn a_waiting_pull_answers_an_empty_page_at_its_timeout() {
    let world = World::start(8).await;
    let (tenant, warehouse) = world.tenant("acme");
    let a = world.enroll(tenant, warehouse, "dock-1").await;
    let (status, _) = world.push(&a, &receipts(&a, 1, 3)).await;
    assert_eq!(status, 200);
    let (why, page) = live_pull(&world.http, &world.url(""), &a, 3, 1).await;
    assert_eq!(why, "timeout");
    assert_eq!(seqs(&page), Vec::<u64>::new());
    assert_eq!(page["next"], 3, "next stays at after: {page}");
}

#[tokio::test]
async fn a_wait_stays_inside_the_idle_timeout_rather_than_losing_its_connection() {
    // The accept loop closes a connection on which nothing moved for 2 s; a pull asking
    // for 25 s waits less and answers.
    let world = World::start_with(8, |config| {
        config.limits.idle_timeout = Duration::from_secs(2);
    })
    .await;
    let (tenant, warehouse) = world.tenant("acme");
    let a = world.enroll(tenant, warehouse, "dock-1").await;
    let (why, page) = live_pull(&world.http, &world.url(""), &a, 0, 25).await;
    assert_eq!((why.as_str(), page["next"].as_u64()), ("timeout", Some(0)));
}

#[tokio::test]
async fn beyond_the_budget_a_pull_answers_at_once_and_the_waiting_one_still_wakes() {
    let world = World::start_with(8, |config| config.limits.max_live_waits = 1).await;
    let (tenant, warehouse) = world.tenant("acme");
    let (a, b) = (
        world.enroll(tenant, warehouse, "dock-1").await,
        world.enroll(tenant, warehouse, "dock-2").await,
    );
    let base = world.url("");
    let waiting = tokio::spawn({
        let (http, base, b) = (world.http.clone(), base.clone(), b.clone());
        async move { live_pull(&http, &base, &b, 0, 25).await }
    });
    until_waiting(&world, 1).await;
    let (why, page) = live_pull(&world.http, &base, &a, 0, 25).await;
    assert_eq!(why, "busy", "the second pull does not wait: {page}");
    assert_eq!(page["next"], 0);
    assert_eq!(world.push(&a, &receipts(&a, 1, 1)).await.0, 200);
    let (why, page) = waiting.await.expect("the pull task");
    assert_eq!((why.as_str(), seqs(&page)), ("pushed", vec![1]));
}

#[tokio::test]
async fn a_master_data_change_wakes_the_tenants_waiting_pulls() {
    let world = World::start(8).await;
    let (tenant, warehouse) = world.tenant("acme");
    let device = world.enroll(tenant, warehouse, "dock-1").await;
    let key = api_key(&world, tenant, &[Scope::MasterWrite]);
    let waiting = the_only_waiting_pull(&world, &device).await;
    upsert(
        &world,
        tenant,
        &key,
        "items",
        json!({ "items": [{ "sku": "SKU-1", "name": "Blue", "barcodes": [] }] }),
    )
    .await;
    let (why, page) = waiting.await.expect("the pull task");
    assert_eq!(why, "master", "{page}");
    assert_eq!(seqs(&page), Vec::<u64>::new(), "no events: {page}");
}

#[tokio::test]
async fn a_pc_enrolling_wakes_the_waiting_pulls_to_fetch_its_name() {
    let world = World::start(8).await;
    let (tenant, warehouse) = world.tenant("acme");
    let device = world.enroll(tenant, warehouse, "dock-1").await;
    let waiting = the_only_waiting_pull(&world, &device).await;
    let second = world.enroll(tenant, warehouse, "dock-2").await;
    let (why, page) = waiting.await.expect("the pull task");
    assert_eq!(why, "master", "a new PC is master data: {page}");
    let master: Value = world
        .http
        .get(world.url(&format!("/v1/t/{tenant}/master?after=0")))
        .bearer_auth(&device.token)
        .send()
        .await
        .expect("master data")
        .json()
        .await
        .expect("json");
    let named = master["devices"]
        .as_array()
        .expect("devices")
        .iter()
        .any(|named| {
            named["id"] == json!(second.device.to_string()) && named["name"] == json!("dock-2")
        });
    assert!(named, "the woken device learns the new PC's name: {master}");
}

#[tokio::test]
async fn a_waiting_pull_ends_when_the_server_shuts_down() {
    let world = World::start(8).await;
    let (tenant, warehouse) = world.tenant("acme");
    let device = world.enroll(tenant, warehouse, "dock-1").await;
    let waiting = the_only_waiting_pull(&world, &device).await;
    let World { server, dir, .. } = world;
    drop(server);
    let (why, page) = waiting.await.expect("the pull task");
    assert_eq!((why.as_str(), page["next"].as_u64()), ("closing", Some(0)));
    drop(dir);
}
