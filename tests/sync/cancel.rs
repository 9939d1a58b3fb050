//! The ERP cancels a pick list while one picker is offline in the middle of it, through the
//! real engines and a real server: the offline PC's picks reach the server after the
//! cancellation and are absorbed into the put-back, both PCs show the same put-back work and
//! refuse to pick more, another PC puts the goods back, and the ERP hears
//! `pick_list.cancelled` with what was picked and where it went back.

use crate::support::{fast_config, World};
use aisle_core::event::{EventBody, PickLineRef};
use aisle_core::stock::StockKey;
use aisle_server::auth::Scope;
use aisle_server::Registry as _;
use aisle_sync::SyncConfig;
use serde_json::{json, Value};

pub(crate) async fn erp(
    http: &reqwest::Client,
    method: &str,
    url: &str,
    key: &str,
    body: Value,
) -> Value {
    let request = match method {
        "PUT" => http.put(url).json(&body),
        "POST" => http.post(url).json(&body),
        _ => http.get(url),
    };
    let response = request.bearer_auth(key).send().await.expect("answered");
    let status = response.status();
    let body: Value = response.json().await.expect("json");
    assert!(status.is_success(), "{method} {url}: {status} {body}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancellation_absorbs_an_offline_pickers_picks_into_the_put_back() {
    let world = World::start().await;
    let http = reqwest::Client::new();
    let (master_key, feed_key) = so_7(&world, &http).await;
    let tenant = world.tenant;
    let url = |path: &str| world.server.url(&format!("/v1/t/{tenant}/erp/{path}"));
    let config = SyncConfig {
        pull_master: true,
        ..fast_config()
    };
    let mut a = world.device("dock-1", None, config.clone()).await;
    let mut b = world.device("dock-2", None, config).await;
    a.engine().sync_once().await.expect("A pulls master data");
    b.engine().sync_once().await.expect("B pulls master data");
    let list = a.recorder.pick_list_summaries().expect("lists")[0].clone();
    let line = a
        .recorder
        .pick_list(list.id)
        .expect("read")
        .expect("SO-7")
        .lines[0]
        .clone();
    let slot = StockKey {
        warehouse: world.warehouse,
        location: line.location,
        item: line.item,
        lot: None,
    };
    let pick = |qty| EventBody::Picked {
        pick_line: Some(PickLineRef {
            pick_list: list.id,
            line: 1,
            line_qty: 5,
        }),
        location: slot.location,
        item: slot.item,
        lot: None,
        qty,
    };
    a.record(aisle_core::testkit::received(&slot, 10));
    a.record(pick(1));
    a.engine()
        .sync_once()
        .await
        .expect("A syncs its first pick");
    // A goes on picking without the network: 2 more units, not synced.
    a.record(pick(2));

    let cancelled = erp(
        &http,
        "POST",
        &url("pick_lists/SO-7/cancel"),
        &master_key,
        json!({}),
    )
    .await;
    assert_eq!(cancelled["already_cancelled"], false, "{cancelled}");

    b.engine()
        .sync_once()
        .await
        .expect("B pulls the cancellation");
    let due = |store: &aisle_store::Store| -> i64 {
        store
            .put_back_tally(list.id)
            .expect("tally")
            .iter()
            .map(|d| d.due)
            .sum()
    };
    let status = |store: &aisle_store::Store| {
        store
            .pick_list(list.id)
            .expect("read")
            .expect("list")
            .status
    };
    assert_eq!(status(&b.recorder), "cancelled");
    assert_eq!(due(&b.recorder), 1, "B knows of A's synced pick only");

    // A comes back: its offline picks go up, the cancellation comes down.
    a.engine()
        .sync_once()
        .await
        .expect("A syncs after the cancellation");
    assert_eq!(status(&a.recorder), "cancelled");
    assert_eq!(
        due(&a.recorder),
        3,
        "A's offline picks are absorbed into the put-back"
    );
    b.engine().sync_once().await.expect("B pulls A's picks");
    assert_eq!(due(&b.recorder), 3, "both PCs show the same work");
    let feed = |feed_key: &str| {
        let url = url("feed");
        let http = http.clone();
        let feed_key = feed_key.to_owned();
        async move {
            let page = erp(&http, "GET", &url, &feed_key, Value::Null).await;
            page["messages"]
                .as_array()
                .expect("messages")
                .iter()
                .filter(|entry| entry["message"]["type"] == "pick_list.cancelled")
                .map(|entry| entry["message"]["data"].clone())
                .collect::<Vec<Value>>()
        }
    };
    assert!(feed(&feed_key).await.is_empty(), "3 units are still out");

    // B puts them back, in two goes; the second settles the list.
    for qty in [2, 1] {
        b.record(EventBody::PutBack {
            pick_list: list.id,
            line: 1,
            location: slot.location,
            item: slot.item,
            lot: None,
            qty,
        });
    }
    b.engine()
        .sync_once()
        .await
        .expect("B pushes the put-backs");
    a.engine().sync_once().await.expect("A pulls them");
    assert_eq!((due(&a.recorder), due(&b.recorder)), (0, 0));
    assert_eq!(a.on_hand(&slot), 10, "every unit is back on the shelf");
    assert_eq!(a.view(), b.view(), "both PCs agree");
    let messages = feed(&feed_key).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0]["reference"], "SO-7");
    assert_eq!(messages[0]["lines"][0]["picked"], 3, "{messages:?}");
    let back: Vec<i64> = messages[0]["lines"][0]["put_back"]
        .as_array()
        .expect("put_back")
        .iter()
        .map(|put| put["qty"].as_i64().expect("qty"))
        .collect();
    assert_eq!(back, [2, 1], "where and how much went back");
}

/// Two ERP API keys of the world's tenant: `master:write` and `feed:read`.
pub(crate) fn erp_keys(world: &World) -> (String, String) {
    let now = aisle_server::now_ms();
    let key = |scope| {
        world
            .registry
            .add_api_key(world.tenant, "erp", &[scope], now)
            .expect("api key")
            .key
    };
    (key(Scope::MasterWrite), key(Scope::FeedRead))
}

/// The ERP's item BOLT at A-01 and its pick list SO-7 (line 1: 5 x BOLT at A-01), written
/// over HTTP with a `master:write` key; that key and a `feed:read` one.
async fn so_7(world: &World, http: &reqwest::Client) -> (String, String) {
    let (master_key, feed_key) = erp_keys(world);
    let tenant = world.tenant;
    let url = |path: &str| world.server.url(&format!("/v1/t/{tenant}/erp/{path}"));
    erp(
        http,
        "PUT",
        &url("items"),
        &master_key,
        json!({ "items": [
        { "sku": "BOLT", "name": "Bolt", "base_unit": "each" } ] }),
    )
    .await;
    erp(
        http,
        "PUT",
        &url("locations"),
        &master_key,
        json!({ "locations": [
        { "warehouse": "main", "code": "A-01", "name": "A-01", "walk_order": 1 } ] }),
    )
    .await;
    erp(
        http,
        "PUT",
        &url("pick_lists"),
        &master_key,
        json!({ "pick_lists": [
        { "warehouse": "main", "reference": "SO-7", "lines": [
            { "line": 1, "sku": "BOLT", "location": "A-01", "qty": 5 } ] } ] }),
    )
    .await;

    (master_key, feed_key)
}

/// A picker's PC waits on the live channel (its round is an hour away) with SO-7 on screen;
/// the ERP cancels SO-7 and the PC's store says so through the live pull alone. The time from
/// the ERP's answer to the PC's store is printed (the live benchmark measures the spread).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancellation_reaches_a_waiting_picker_through_the_live_channel() {
    let world = World::start().await;
    let http = reqwest::Client::new();
    let (master_key, _) = so_7(&world, &http).await;
    let config = SyncConfig {
        pull_master: true,
        live: true,
        interval: std::time::Duration::from_secs(3_600),
        ..fast_config()
    };
    let b = world.device("dock-2", None, config).await;
    let mut b = b;
    let handle = b.engine.take().expect("engine").spawn();
    crate::support::eventually("B has SO-7", || {
        b.recorder
            .pick_list_summaries()
            .is_ok_and(|lists| lists.len() == 1)
    })
    .await;
    crate::support::eventually("B waits on the server", || world.server.live.waiting() == 1).await;
    let list = b.recorder.pick_list_summaries().expect("lists")[0].id;
    let tenant = world.tenant;
    // A waiter of our own on the server's hub: the cancellation must wake the warehouse's
    // waiting pulls when it commits, not leave them to their 25 s timeout.
    let mut waiter = world
        .server
        .live
        .subscribe(tenant, world.warehouse)
        .expect("a place among the waiters");
    let url = world
        .server
        .url(&format!("/v1/t/{tenant}/erp/pick_lists/SO-7/cancel"));
    erp(&http, "POST", &url, &master_key, json!({})).await;
    let answered = std::time::Instant::now();
    assert_eq!(
        waiter.wait(std::time::Duration::ZERO).await,
        aisle_server::live::Wake::Pushed,
        "the cancellation woke the warehouse's waiting pulls as it committed"
    );
    drop(waiter);
    crate::support::eventually("B's store says SO-7 is cancelled", || {
        b.recorder
            .pick_list(list)
            .ok()
            .flatten()
            .is_some_and(|list| list.status == "cancelled")
    })
    .await;
    println!(
        "cancellation: ERP answered -> picker's store cancelled in {} ms",
        answered.elapsed().as_millis()
    );
    handle.stop().await.expect("B stops");
}

/// Before and after picking, through a real engine: the ERP cancels SO-7 while the PC that
/// would pick it is offline and has picked nothing (it learns on its next round: the list is
/// gone from the floor with nothing to put back, and the ERP heard at once); a second list
/// picked in full and synced is not cancelled (`409 pick_list_complete`) and stays as it is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_not_picked_yet_goes_at_once_and_a_finished_one_is_refused() {
    let world = World::start().await;
    let http = reqwest::Client::new();
    let (master_key, feed_key) = so_7(&world, &http).await;
    let tenant = world.tenant;
    let url = |path: &str| world.server.url(&format!("/v1/t/{tenant}/erp/{path}"));
    erp(
        &http,
        "PUT",
        &url("pick_lists"),
        &master_key,
        json!({ "pick_lists": [
        { "warehouse": "main", "reference": "SO-8", "lines": [
            { "line": 1, "sku": "BOLT", "location": "A-01", "qty": 2 } ] } ] }),
    )
    .await;
    let config = SyncConfig {
        pull_master: true,
        ..fast_config()
    };
    let mut pc = world.device("dock-1", None, config).await;
    pc.engine()
        .sync_once()
        .await
        .expect("the PC pulls master data");
    let lists = pc.recorder.pick_list_summaries().expect("lists");
    let id_of = |reference: &str| {
        lists
            .iter()
            .find(|list| list.reference == reference)
            .expect("the list")
            .id
    };
    let (so_7_id, so_8_id) = (id_of("SO-7"), id_of("SO-8"));
    let line = pc
        .recorder
        .pick_list(so_8_id)
        .expect("read")
        .expect("SO-8")
        .lines[0]
        .clone();
    let slot = StockKey {
        warehouse: world.warehouse,
        location: line.location,
        item: line.item,
        lot: None,
    };
    pc.record(aisle_core::testkit::received(&slot, 5));
    pc.record(EventBody::Picked {
        pick_line: Some(PickLineRef {
            pick_list: so_8_id,
            line: 1,
            line_qty: 2,
        }),
        location: slot.location,
        item: slot.item,
        lot: None,
        qty: 2,
    });
    pc.engine()
        .sync_once()
        .await
        .expect("SO-8 picked in full reaches the server");

    // The PC goes offline (no rounds); the ERP cancels SO-7, not picked yet, and tries SO-8.
    let cancelled = erp(
        &http,
        "POST",
        &url("pick_lists/SO-7/cancel"),
        &master_key,
        json!({}),
    )
    .await;
    assert_eq!(cancelled["already_cancelled"], false, "{cancelled}");
    let refused = http
        .post(url("pick_lists/SO-8/cancel"))
        .bearer_auth(&master_key)
        .send()
        .await
        .expect("answered");
    assert_eq!(refused.status().as_u16(), 409);
    let body: Value = refused.json().await.expect("json");
    assert_eq!(body["code"], "pick_list_complete", "{body}");
    let page = erp(&http, "GET", &url("feed"), &feed_key, Value::Null).await;
    let types: Vec<&str> = page["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|entry| entry["message"]["type"].as_str())
        .filter(|kind| kind.starts_with("pick_list."))
        .collect();
    assert_eq!(
        types,
        ["pick_list.completed", "pick_list.cancelled"],
        "SO-8 completed; SO-7 settled at once, nothing picked"
    );

    pc.engine().sync_once().await.expect("the PC comes back");
    let lists: Vec<(String, bool, i64)> = pc
        .recorder
        .pick_list_summaries()
        .expect("lists")
        .into_iter()
        .map(|list| {
            (
                list.reference,
                list.status == "cancelled",
                list.put_back_due,
            )
        })
        .collect();
    assert_eq!(
        lists,
        [("SO-8".to_owned(), false, 0)],
        "SO-7 left the floor with nothing to put back; SO-8 is as it was"
    );
    assert_eq!(
        pc.recorder
            .pick_list(so_7_id)
            .expect("read")
            .expect("SO-7")
            .status,
        "cancelled"
    );
}
