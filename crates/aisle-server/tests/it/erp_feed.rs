//! The ERP's pull feed over HTTP (issue 16): a device's receipt, adjustment and counts
//! reach the feed as business messages, in order, readable with a `feed:read` key only,
//! page by page, each shaped as the OpenAPI document's `ErpMessage` (the schema the
//! webhooks section names too).

use crate::erp::api_key;
use crate::support::{event, push_to, World};
use aisle_core::event::CountDecision;
use aisle_core::testkit;
use aisle_server::auth::Scope;
use serde_json::Value;

async fn get(world: &World, path: &str, key: Option<&str>) -> (u16, Value) {
    let mut request = world.http.get(world.url(path));
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    let response = request.send().await.expect("answered");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json"))
}

#[tokio::test]
async fn a_devices_floor_work_reaches_the_erp_feed_in_order_with_a_feed_key_only() {
    let world = World::start(4).await;
    let (tenant, warehouse) = world.tenant("acme");
    let device = world.enroll(tenant, warehouse, "dock-1").await;
    let bin = testkit::key(1, 1, None);
    let now = aisle_server::now_ms() as u64;
    let events = vec![
        event(&device, 1, now, testkit::received(&bin, 12)),
        event(&device, 2, now + 1, testkit::adjusted(&bin, -2)),
        event(
            &device,
            3,
            now + 2,
            testkit::counted(&bin, 9, 10, CountDecision::SelfApproved),
        ),
        event(&device, 4, now + 3, testkit::picked(&bin, 1)),
    ];
    let (status, body) = push_to(&world.http, &world.url(""), &device, tenant, &events).await;
    assert_eq!(status, 200, "{body}");

    let feed_key = api_key(&world, tenant, &[Scope::FeedRead]);
    let (status, page) = get(&world, &format!("/v1/t/{tenant}/erp/feed"), Some(&feed_key)).await;
    assert_eq!(status, 200, "{page}");
    let messages = page["messages"].as_array().expect("messages");
    let types: Vec<&str> = messages
        .iter()
        .map(|entry| entry["message"]["type"].as_str().expect("type"))
        .collect();
    assert_eq!(
        types,
        ["goods.received", "stock.adjusted", "stock.adjusted"],
        "a pick tells the ERP nothing on its own: {page}"
    );
    let adjustment = &messages[1]["message"];
    assert_eq!(
        (
            adjustment["data"]["before"].as_i64(),
            adjustment["data"]["after"].as_i64(),
            adjustment["data"]["reason"].as_str(),
            adjustment["data"]["cause"].as_str(),
        ),
        (Some(12), Some(10), Some("damaged"), Some("adjustment"))
    );
    assert_eq!(
        adjustment["tenant"].as_str(),
        Some(tenant.to_string().as_str())
    );
    assert_eq!(
        page["next"], messages[2]["position"],
        "the cursor is the last position"
    );

    // Page by page with the cursor.
    let first = messages[0]["position"].as_u64().expect("position");
    let (_, next_page) = get(
        &world,
        &format!("/v1/t/{tenant}/erp/feed?after={first}&limit=1"),
        Some(&feed_key),
    )
    .await;
    assert_eq!(
        next_page["messages"].as_array().expect("messages"),
        &messages[1..2]
    );

    // Every message has the fields the OpenAPI document's ErpMessage requires.
    let (_, document) = get(&world, "/v1/openapi.json", None).await;
    let schema = &document["components"]["schemas"]["ErpMessage"];
    assert_eq!(
        document["webhooks"]["erp-message"]["post"]["requestBody"]["content"]["application/json"]
            ["schema"]["$ref"],
        "#/components/schemas/ErpMessage",
        "the webhooks section sends the feed's message"
    );
    // The message is `allOf` its own fields and its body (`type` and `data`).
    let parts = schema["allOf"]
        .as_array()
        .unwrap_or_else(|| panic!("ErpMessage is its fields and its body: {schema}"));
    let required: Vec<&str> = parts
        .iter()
        .filter_map(|part| part["required"].as_array())
        .flatten()
        .map(|name| name.as_str().expect("name"))
        .chain(["type", "data"])
        .collect();
    assert!(
        required.contains(&"id") && required.contains(&"version"),
        "{required:?}"
    );
    for entry in messages {
        for field in &required {
            assert!(!entry["message"][field].is_null(), "{field} in {entry}");
        }
    }

    // Without the scope, without a key, with a bad query.
    let stock_key = api_key(&world, tenant, &[Scope::StockRead]);
    let (status, body) = get(
        &world,
        &format!("/v1/t/{tenant}/erp/feed"),
        Some(&stock_key),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("missing_scope")),
        "{body}"
    );
    let (status, _) = get(&world, &format!("/v1/t/{tenant}/erp/feed"), None).await;
    assert_eq!(status, 401);
    for query in ["limit=0", "limit=1001", "after=-1", "after=abc"] {
        let (status, body) = get(
            &world,
            &format!("/v1/t/{tenant}/erp/feed?{query}"),
            Some(&feed_key),
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("bad_query")),
            "{query}: {body}"
        );
    }
    // Another tenant's key reads its own, empty feed, and cannot name this tenant.
    let (other, _) = world.tenant("globex");
    let other_key = api_key(&world, other, &[Scope::FeedRead]);
    let (status, _) = get(
        &world,
        &format!("/v1/t/{tenant}/erp/feed"),
        Some(&other_key),
    )
    .await;
    assert_eq!(status, 403, "a key names its own tenant only");
    let (status, page) = get(&world, &format!("/v1/t/{other}/erp/feed"), Some(&other_key)).await;
    assert_eq!(
        (status, page["messages"].as_array().map(Vec::len)),
        (200, Some(0))
    );
}
