//! `POST /v1/t/{tenant}/events/touching`: the events of the device's warehouse that touch
//! given stock keys, which a device re-fetches when a pulled checksum differs. It returns
//! exactly the events the pull checksum counts as touching a key, pages by seq, is bounded,
//! and follows the events endpoints' tenant and warehouse rules (refusals are audited).

use crate::support::{event, post_json, Device, World};
use aisle_core::event::{CountDecision, ReviewDecision};
use aisle_core::ids::EventId;
use aisle_core::stock::StockKey;
use aisle_core::testkit::{
    adjusted, claimed, count_requested, counted, key, moved, pick_list, picked, received, reviewed,
    short_picked,
};
use aisle_core::Event;
use aisle_server::Registry as _;
use serde_json::{json, Value};
use std::collections::BTreeSet;

fn key_json(key: &StockKey) -> Value {
    match &key.lot {
        Some(lot) => json!({ "location": key.location, "item": key.item, "lot": lot.as_str() }),
        None => json!({ "location": key.location, "item": key.item }),
    }
}

async fn touching(world: &World, device: &Device, url_tenant: &str, body: &Value) -> (u16, Value) {
    post_json(
        &world.http,
        &world.url(&format!("/v1/t/{url_tenant}/events/touching")),
        Some(&device.token),
        body,
    )
    .await
}

/// Follows `next` with pages of `limit` until a short page; returns (seq, id) in order.
async fn all_touching(
    world: &World,
    device: &Device,
    keys: &[&StockKey],
    limit: u32,
) -> Vec<(u64, EventId)> {
    let keys: Vec<Value> = keys.iter().map(|key| key_json(key)).collect();
    let (mut after, mut found) = (0u64, Vec::new());
    loop {
        let (status, body) = touching(
            world,
            device,
            &device.tenant.to_string(),
            &json!({ "keys": keys, "after": after, "limit": limit }),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let page = body["events"].as_array().expect("events");
        for entry in page {
            let event: Event = serde_json::from_value(entry["event"].clone()).expect("event");
            found.push((entry["seq"].as_u64().expect("seq"), event.id));
        }
        let next = body["next"].as_u64().expect("next");
        assert_eq!(
            next,
            found.last().map_or(after, |(seq, _)| *seq),
            "next is the last seq returned, or the request's after"
        );
        if page.len() < limit as usize {
            return found;
        }
        after = next;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_events_touching_keys_are_those_the_checksum_counts() {
    let world = World::start(4).await;
    let (tenant, warehouse) = world.tenant("acme");
    let device = world.enroll(tenant, warehouse, "dock").await;
    let (k1, k2, k3, k4) = (
        key(1, 1, None),
        key(2, 1, None),
        key(3, 2, Some("LOT-7")),
        key(4, 4, None),
    );
    let mut serial = 0;
    let mut make = |body| {
        serial += 1;
        event(&device, serial, 1_700_000_000_000 + serial, body)
    };
    let receipt_k1 = make(received(&k1, 10));
    let move_k1_to_k2 = make(moved(&k1, 2, 3));
    let count_k1 = make(counted(&k1, 6, 7, CountDecision::NeedsReview));
    let review_k1 = make(reviewed(count_k1.id, ReviewDecision::Approved));
    let receipt_k3 = make(received(&k3, 4));
    let pick_k1 = make(picked(&k1, 1));
    let short_k3 = make(short_picked(&k3, pick_list(9), 2));
    let claim = make(claimed(pick_list(9)));
    let adjust_k4 = make(adjusted(&k4, 5));
    let request_k3 = make(count_requested(&k3, "looks short"));
    let k5 = key(5, 5, None);
    let request_k5 = make(count_requested(&k5, ""));
    let events = vec![
        receipt_k1.clone(),
        move_k1_to_k2.clone(),
        count_k1.clone(),
        review_k1.clone(),
        receipt_k3.clone(),
        pick_k1.clone(),
        short_k3.clone(),
        claim,
        adjust_k4,
        request_k3.clone(),
        request_k5.clone(),
    ];
    let (status, body) = world.push(&device, &events).await;
    assert_eq!(status, 200, "{body}");

    let ids = |found: &[(u64, EventId)]| found.iter().map(|(_, id)| *id).collect::<Vec<_>>();
    let found = all_touching(&world, &device, &[&k1], 500).await;
    assert_eq!(
        ids(&found),
        vec![
            receipt_k1.id,
            move_k1_to_k2.id,
            count_k1.id,
            review_k1.id,
            pick_k1.id
        ],
        "k1: its movements (the move's source too), its count and that count's review, in seq order"
    );
    assert!(
        found.windows(2).all(|pair| pair[0].0 < pair[1].0),
        "seqs increase: {found:?}"
    );
    assert_eq!(
        ids(&all_touching(&world, &device, &[&k2], 500).await),
        vec![move_k1_to_k2.id],
        "k2 is touched only by the move's destination"
    );
    assert_eq!(
        ids(&all_touching(&world, &device, &[&k3], 500).await),
        vec![receipt_k3.id, short_k3.id, request_k3.id],
        "k3 (with a lot): its receipt, the short pick and the count request about it; the claim touches no key"
    );
    assert_eq!(
        ids(&all_touching(&world, &device, &[&k5], 500).await),
        vec![request_k5.id],
        "a key only a manager's request is about (no stock row) is touched by the request"
    );
    assert!(
        all_touching(&world, &device, &[&key(9, 9, None)], 500)
            .await
            .is_empty(),
        "a key nobody touched has no events"
    );
    let union: BTreeSet<EventId> = ids(&all_touching(&world, &device, &[&k1, &k2, &k3], 500).await)
        .into_iter()
        .collect();
    assert_eq!(union.len(), 8, "an event touching two keys comes once");

    let paged = all_touching(&world, &device, &[&k1, &k3], 2).await;
    let whole = all_touching(&world, &device, &[&k1, &k3], 500).await;
    assert_eq!(
        paged, whole,
        "pages of 2 following next give the same events as one page"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_bounded_and_keys_must_parse() {
    let world = World::start(4).await;
    let (tenant, warehouse) = world.tenant("acme");
    let device = world.enroll(tenant, warehouse, "dock").await;
    let k1 = key_json(&key(1, 1, None));
    let cases = [
        (json!({ "keys": [] }), "no keys"),
        (
            json!({ "keys": vec![k1.clone(); aisle_protocol::MAX_TOUCHING_KEYS + 1] }),
            "more keys than the limit",
        ),
        (
            json!({ "keys": [{ "location": "x", "item": k1["item"] }] }),
            "a location that is not an id",
        ),
        (json!({ "keys": [k1], "surprise": 1 }), "an unknown field"),
    ];
    for (body, what) in cases {
        let (status, answer) = touching(&world, &device, &tenant.to_string(), &body).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (400, Some("bad_json")),
            "{what}: {answer}"
        );
    }
    let (status, answer) = touching(
        &world,
        &device,
        &tenant.to_string(),
        &json!({ "keys": vec![k1; aisle_protocol::MAX_TOUCHING_KEYS] }),
    )
    .await;
    assert_eq!(status, 200, "exactly the limit is fine: {answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_tenant_or_warehouse_is_refused_audited_and_never_answered() {
    let world = World::start(4).await;
    let (tenant_a, warehouse_a) = world.tenant("a");
    let (tenant_b, warehouse_b) = world.tenant("b");
    let device_a = world.enroll(tenant_a, warehouse_a, "a-1").await;
    let device_b = world.enroll(tenant_b, warehouse_b, "b-1").await;
    let shelf = key(1, 1, None);
    let b_receipt = event(&device_b, 1, 1_700_000_000_001, received(&shelf, 5));
    let (status, body) = world.push(&device_b, &[b_receipt]).await;
    assert_eq!(status, 200, "{body}");
    let keys = json!({ "keys": [key_json(&shelf)] });

    let (status, body) = touching(&world, &device_a, &tenant_b.to_string(), &keys).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("tenant_mismatch")),
        "{body}"
    );
    assert!(body.get("events").is_none(), "nothing of b is returned");
    let (status, body) = touching(
        &world,
        &device_a,
        &tenant_a.to_string(),
        &json!({ "keys": [key_json(&shelf)], "warehouse": warehouse_b.to_string() }),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("warehouse_mismatch")),
        "{body}"
    );
    let log = world.registry.audit_log().expect("audit log");
    for reason in ["tenant_mismatch", "warehouse_mismatch"] {
        assert!(
            log.iter()
                .any(|row| row.device == Some(device_a.device) && row.reason == reason),
            "a's {reason} is audited: {log:?}"
        );
    }

    // The same key ids in a's own tenant find nothing: keys are looked up in the token's
    // tenant and warehouse only.
    let (status, body) = touching(&world, &device_a, &tenant_a.to_string(), &keys).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["events"], json!([]), "b's receipt never reaches a");

    // A second warehouse of b sees nothing of b's first warehouse either.
    let other = world
        .registry
        .add_warehouse(tenant_b, "other", 1)
        .expect("warehouse");
    let device_other = world.enroll(tenant_b, other, "b-2").await;
    let (status, body) = touching(&world, &device_other, &tenant_b.to_string(), &keys).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["events"],
        json!([]),
        "another warehouse's events are not returned"
    );
    let (status, body) = touching(&world, &device_b, &tenant_b.to_string(), &keys).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["events"].as_array().map(Vec::len),
        Some(1),
        "b's own device finds it: {body}"
    );
}
