//! The ERP integration API: batch upserts with per-tenant API keys that a device then pulls,
//! the stock read, and the key's boundaries (tenant, scope, revocation), each refusal with
//! its documented status and code, nothing written, and the refusal in the audit log.

use crate::support::{event, get_json, World};
use aisle_core::ids::TenantId;
use aisle_server::auth::Scope;
use aisle_server::Registry as _;
use serde_json::{json, Value};

pub async fn put_json(http: &reqwest::Client, url: &str, key: &str, body: &Value) -> (u16, Value) {
    let response = http
        .put(url)
        .bearer_auth(key)
        .json(body)
        .send()
        .await
        .expect("request is answered");
    let status = response.status().as_u16();
    (status, response.json().await.expect("answers are json"))
}

/// A fresh API key of `tenant` with `scopes`, as the admin CLI makes it.
pub fn api_key(world: &World, tenant: TenantId, scopes: &[Scope]) -> String {
    world
        .registry
        .add_api_key(tenant, "erp", scopes, aisle_server::now_ms())
        .expect("api key")
        .key
}

pub fn pin_hash(pin: &str) -> String {
    aisle_pin::PinHash::new(pin)
        .expect("a valid PIN")
        .as_phc()
        .to_owned()
}

/// Upserts `body` to `/v1/t/{tenant}/erp/{collection}` and expects success.
pub async fn upsert(
    world: &World,
    tenant: TenantId,
    key: &str,
    collection: &str,
    body: Value,
) -> u64 {
    let url = world.url(&format!("/v1/t/{tenant}/erp/{collection}"));
    let (status, answer) = put_json(&world.http, &url, key, &body).await;
    assert_eq!(status, 200, "the {collection} upsert succeeds: {answer}");
    answer["version"].as_u64().expect("version")
}

/// A catalogue: two items, two locations in the warehouse named "main", a user and a pick
/// list naming both items.
pub async fn catalogue(world: &World, tenant: TenantId, key: &str) -> u64 {
    upsert(
        world,
        tenant,
        key,
        "items",
        json!({ "items": [
            { "sku": "SKU-1", "name": "Blue widget", "barcodes": [
                { "code": "4006381333931", "pack_qty": 1 },
                { "code": "4006381333948", "pack_qty": 12 } ] },
            { "sku": "SKU-2", "name": "Red widget", "lot_tracked": true },
        ]}),
    )
    .await;
    upsert(
        world,
        tenant,
        key,
        "locations",
        json!({ "locations": [
            { "warehouse": "main", "code": "A-01", "walk_order": 20 },
            { "warehouse": "main", "code": "A-02", "name": "Aisle A bay 2", "walk_order": 10 },
        ]}),
    )
    .await;
    upsert(
        world,
        tenant,
        key,
        "users",
        json!({ "users": [
            { "badge": "B-1", "name": "Ana", "role": "picker", "pin_hash": pin_hash("4821"),
              "warehouses": ["main"] },
        ]}),
    )
    .await;
    upsert(
        world,
        tenant,
        key,
        "pick_lists",
        json!({ "pick_lists": [
            { "warehouse": "main", "reference": "SO-1", "lines": [
                { "line": 1, "sku": "SKU-1", "location": "A-01", "qty": 12 },
                { "line": 2, "sku": "SKU-2", "location": "A-02", "qty": 3, "lot": "L1" } ] },
        ]}),
    )
    .await
}

/// How many rows a table of a tenant's database holds, read from the file directly.
pub fn count_rows(world: &World, tenant: TenantId, table: &str) -> i64 {
    let path = aisle_server::tenant_db_path(world.dir.path(), tenant);
    if !path.exists() {
        return 0;
    }
    let conn = rusqlite::Connection::open(path).expect("open tenant db");
    let exists: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [table],
            |row| row.get(0),
        )
        .expect("schema");
    if exists == 0 {
        return 0;
    }
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |row| {
        row.get(0)
    })
    .expect("count")
}

fn by_field<'a>(rows: &'a Value, field: &str, value: &str) -> &'a Value {
    rows.as_array()
        .expect("an array")
        .iter()
        .find(|row| row[field] == value)
        .unwrap_or_else(|| panic!("a row with {field} = {value}: {rows}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erp_upsert_is_what_the_device_pulls() {
    let world = World::start(8).await;
    let (tenant, warehouse) = world.tenant("acme");
    let device = world.enroll(tenant, warehouse, "pc-1").await;
    let key = api_key(&world, tenant, &[Scope::MasterWrite]);
    let version = catalogue(&world, tenant, &key).await;
    assert_eq!(version, 6, "six records, each with the next version");

    let (status, page) = get_json(
        &world.http,
        &world.url(&format!("/v1/t/{tenant}/master?after=0")),
        &device.token,
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["next"], 6, "the page runs to the last version: {page}");
    let blue = by_field(&page["items"], "sku", "SKU-1");
    assert_eq!(
        blue["barcodes"],
        json!([{ "code": "4006381333931", "pack_qty": 1 }, { "code": "4006381333948", "pack_qty": 12 }]),
        "barcodes and pack sizes travel with the item"
    );
    let bay_2 = by_field(&page["locations"], "code", "A-02");
    assert_eq!(
        (bay_2["walk_order"].as_i64(), bay_2["warehouse"].as_str()),
        (Some(10), Some(warehouse.to_string().as_str()))
    );
    let ana = by_field(&page["users"], "badge", "B-1");
    let phc = ana["pin_hash"].as_str().expect("pin_hash");
    assert!(
        aisle_pin::PinHash::from_phc(phc)
            .expect("argon2id")
            .verify("4821"),
        "the device can check the PIN offline against the pulled hash"
    );
    let list = by_field(&page["pick_lists"], "reference", "SO-1");
    assert_eq!(list["status"], "open");
    let lines = list["lines"].as_array().expect("lines");
    assert_eq!(lines.len(), 2, "{list}");
    assert_eq!(
        (&lines[0]["item"], &lines[0]["location"]),
        (
            &blue["id"],
            &by_field(&page["locations"], "code", "A-01")["id"]
        ),
        "pick lines name the item and location by the ids the device stores"
    );
    assert_eq!(lines[1]["lot"], "L1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_record_is_named_and_nothing_of_the_batch_is_written() {
    let world = World::start(8).await;
    let (tenant, _) = world.tenant("acme");
    let key = api_key(&world, tenant, &[Scope::MasterWrite]);
    let version = catalogue(&world, tenant, &key).await;
    let url = world.url(&format!("/v1/t/{tenant}/erp/pick_lists"));
    let (status, body) = put_json(
        &world.http,
        &url,
        &key,
        &json!({ "pick_lists": [
            { "warehouse": "main", "reference": "SO-2", "lines": [
                { "line": 1, "sku": "SKU-1", "location": "A-01", "qty": 1 } ] },
            { "warehouse": "main", "reference": "SO-3", "lines": [
                { "line": 1, "sku": "SKU-1", "location": "A-01", "qty": 1 },
                { "line": 2, "sku": "NO-SUCH", "location": "A-01", "qty": 1 } ] },
        ]}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("invalid_record")),
        "{body}"
    );
    let message = body["message"].as_str().expect("message");
    assert!(
        message.contains("pick_lists[1].lines[1].sku") && message.contains("NO-SUCH"),
        "the message names the record, the line and the field: {message}"
    );
    assert_eq!(
        count_rows(&world, tenant, "pick_lists"),
        1,
        "SO-2 was rolled back with SO-3"
    );

    let url = world.url(&format!("/v1/t/{tenant}/erp/users"));
    let (status, body) = put_json(
        &world.http,
        &url,
        &key,
        &json!({ "users": [
        { "badge": "B-2", "name": "Bo", "role": "picker", "pin_hash": "123456", "warehouses": ["main"] } ]}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("invalid_record")),
        "{body}"
    );
    assert!(
        !body["message"]
            .as_str()
            .expect("message")
            .contains("123456"),
        "a plain PIN sent by mistake is not echoed: {body}"
    );
    let url = world.url(&format!("/v1/t/{tenant}/erp/items"));
    let (status, body) =
        put_json(&world.http, &url, &key, &json!({ "items": [{ "sku": 7 }] })).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("bad_json")),
        "{body}"
    );
    let after = upsert(&world, tenant, &key, "items", json!({ "items": [] })).await;
    assert_eq!(after, version, "no refused batch moved the master version");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_of_tenant_a_forging_tenant_b_is_refused_and_audited() {
    let world = World::start(8).await;
    let (tenant_a, _) = world.tenant("a");
    let (tenant_b, _) = world.tenant("b");
    let key_a = api_key(&world, tenant_a, &[Scope::MasterWrite, Scope::StockRead]);
    let key_b = api_key(&world, tenant_b, &[Scope::MasterWrite]);
    upsert(
        &world,
        tenant_b,
        &key_b,
        "items",
        json!({ "items": [{ "sku": "B-1", "name": "b" }] }),
    )
    .await;

    let url = world.url(&format!("/v1/t/{tenant_b}/erp/items"));
    let (status, body) = put_json(
        &world.http,
        &url,
        &key_a,
        &json!({ "items": [
        { "sku": "FORGED", "name": "from a" } ]}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("tenant_mismatch")),
        "{body}"
    );
    let (status, body) = get_json(
        &world.http,
        &world.url(&format!("/v1/t/{tenant_b}/erp/stock")),
        &key_a,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("tenant_mismatch")),
        "{body}"
    );
    assert!(body.get("rows").is_none(), "no stock of B is returned");
    assert_eq!(
        count_rows(&world, tenant_b, "items"),
        1,
        "B holds only its own item"
    );
    assert_eq!(
        count_rows(&world, tenant_a, "items"),
        0,
        "nor did the write land in A"
    );

    let log = world.registry.audit_entries(None).expect("audit log");
    let refusals: Vec<_> = log
        .iter()
        .filter(|row| row.tenant == Some(tenant_a) && row.reason == "tenant_mismatch")
        .collect();
    assert_eq!(
        refusals.iter().map(|row| row.count).sum::<i64>(),
        2,
        "both attempts are audited under A (repeats within a minute share a row): {log:?}"
    );
    assert!(
        refusals[0].detail.contains(&tenant_b.to_string()),
        "the audit row names the forged tenant: {refusals:?}"
    );
    assert!(
        !format!("{log:?}").contains(&key_a),
        "the audit log never holds a key"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_without_the_scope_is_refused_and_writes_nothing() {
    let world = World::start(8).await;
    let (tenant, _) = world.tenant("acme");
    let reader = api_key(&world, tenant, &[Scope::StockRead]);
    let writer = api_key(&world, tenant, &[Scope::MasterWrite]);
    let url = world.url(&format!("/v1/t/{tenant}/erp/items"));
    let (status, body) = put_json(
        &world.http,
        &url,
        &reader,
        &json!({ "items": [
        { "sku": "S", "name": "s" } ]}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("missing_scope")),
        "{body}"
    );
    assert_eq!(
        count_rows(&world, tenant, "items"),
        0,
        "nothing was written"
    );
    let (status, body) = get_json(
        &world.http,
        &world.url(&format!("/v1/t/{tenant}/erp/stock")),
        &writer,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("missing_scope")),
        "master:write does not imply stock:read: {body}"
    );
    let log = world.registry.audit_log().expect("audit log");
    assert!(
        log.iter()
            .any(|row| row.reason == "missing_scope" && row.tenant == Some(tenant)),
        "{log:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_key_is_refused_and_other_credentials_do_not_cross_over() {
    let world = World::start(8).await;
    let (tenant, warehouse) = world.tenant("acme");
    let device = world.enroll(tenant, warehouse, "pc-1").await;
    let made = world
        .registry
        .add_api_key(tenant, "erp", &[Scope::MasterWrite, Scope::StockRead], 1)
        .expect("key");
    let url = world.url(&format!("/v1/t/{tenant}/erp/items"));
    let items = json!({ "items": [{ "sku": "S", "name": "s" }] });
    let (status, body) = put_json(&world.http, &url, &made.key, &items).await;
    assert_eq!(status, 200, "the key works before it is revoked: {body}");
    assert!(world.registry.revoke_api_key(made.id, 2).expect("revoke"));
    let (status, body) = put_json(&world.http, &url, &made.key, &items).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("revoked_key")),
        "{body}"
    );
    let log = world.registry.audit_log().expect("audit log");
    assert!(
        log.iter()
            .any(|row| row.reason == "revoked_key" && row.detail.contains(&made.id.to_string())),
        "the use of a revoked key is audited with its id: {log:?}"
    );

    let (status, body) = put_json(&world.http, &url, &device.token, &items).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("bad_token")),
        "a device token is not an api key: {body}"
    );
    let fresh = api_key(&world, tenant, &[Scope::MasterWrite]);
    let (status, body) = get_json(
        &world.http,
        &world.url(&format!("/v1/t/{tenant}/master")),
        &fresh,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("bad_token")),
        "an api key is not a device token: {body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_erp_reads_stock_with_skus_and_location_codes() {
    let world = World::start(8).await;
    let (tenant, warehouse) = world.tenant("acme");
    let other = world
        .registry
        .add_warehouse(tenant, "south", 1)
        .expect("second warehouse");
    let device = world.enroll(tenant, warehouse, "pc-1").await;
    let key = api_key(&world, tenant, &[Scope::MasterWrite, Scope::StockRead]);
    catalogue(&world, tenant, &key).await;
    let (_, page) = get_json(
        &world.http,
        &world.url(&format!("/v1/t/{tenant}/master")),
        &device.token,
    )
    .await;
    let item = by_field(&page["items"], "sku", "SKU-1")["id"]
        .as_str()
        .expect("id")
        .parse()
        .expect("uuid");
    let location = by_field(&page["locations"], "code", "A-01")["id"]
        .as_str()
        .expect("id")
        .parse()
        .expect("uuid");
    let stock_key = aisle_core::stock::StockKey {
        warehouse,
        location: aisle_core::ids::LocationId::from_uuid(location),
        item: aisle_core::ids::ItemId::from_uuid(item),
        lot: None,
    };
    let receipt = event(
        &device,
        1,
        1_700_000_000_000,
        aisle_core::testkit::received(&stock_key, 24),
    );
    let (status, body) = world.push(&device, &[receipt]).await;
    assert_eq!(status, 200, "{body}");

    let (status, body) = get_json(
        &world.http,
        &world.url(&format!("/v1/t/{tenant}/erp/stock?warehouse=main")),
        &key,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let rows = body["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 1, "{body}");
    assert_eq!(
        (
            rows[0]["sku"].as_str(),
            rows[0]["location_code"].as_str(),
            rows[0]["on_hand"].as_i64()
        ),
        (Some("SKU-1"), Some("A-01"), Some(24))
    );
    let (status, body) = get_json(
        &world.http,
        &world.url(&format!("/v1/t/{tenant}/erp/stock?warehouse={other}")),
        &key,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["rows"], json!([]), "the other warehouse has no stock");
    let (status, body) = get_json(
        &world.http,
        &world.url(&format!("/v1/t/{tenant}/erp/stock?warehouse=nowhere")),
        &key,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("bad_query")),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_describes_the_erp_api_and_the_master_pull() {
    let world = World::start(4).await;
    let response = world
        .http
        .get(world.url("/v1/openapi.json"))
        .send()
        .await
        .expect("answered");
    let document: Value = response.json().await.expect("json");
    let paths = &document["paths"];
    for (path, method) in [
        ("/v1/t/{tenant}/master", "get"),
        ("/v1/t/{tenant}/erp/items", "put"),
        ("/v1/t/{tenant}/erp/locations", "put"),
        ("/v1/t/{tenant}/erp/users", "put"),
        ("/v1/t/{tenant}/erp/pick_lists", "put"),
        ("/v1/t/{tenant}/erp/pick_lists/{reference}/cancel", "post"),
        ("/v1/t/{tenant}/erp/expected_receipts", "put"),
        ("/v1/t/{tenant}/erp/stock", "get"),
    ] {
        assert!(
            paths[path][method].is_object(),
            "{method} {path} is described: {:?}",
            paths
                .as_object()
                .map(|paths| paths.keys().collect::<Vec<_>>())
        );
    }
    assert!(
        document["components"]["securitySchemes"]["api_key"].is_object(),
        "the api-key scheme is declared"
    );
}

/// The ERP cancels SO-1 over HTTP with a `master:write` key: 200 with the event devices
/// pull; again, the same answer marked `already_cancelled`; the feed then holds one
/// `pick_list.cancelled` (nothing was picked, so it is settled at once); an unknown
/// reference is 404 `pick_list_not_found`, and a key without the scope is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_erp_cancels_a_pick_list_once_and_hears_it_is_settled() {
    let world = World::start(8).await;
    let (tenant, _) = world.tenant("acme");
    let key = api_key(&world, tenant, &[Scope::MasterWrite]);
    let feed_key = api_key(&world, tenant, &[Scope::FeedRead]);
    catalogue(&world, tenant, &key).await;
    let world = &world;
    let cancel = |reference: &str, key: &str| {
        let url = world.url(&format!("/v1/t/{tenant}/erp/pick_lists/{reference}/cancel"));
        let key = key.to_owned();
        async move { crate::support::post_json(&world.http, &url, Some(&key), &json!({})).await }
    };
    let (status, first) = cancel("SO-1", &key).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(
        (
            first["reference"].as_str(),
            first["already_cancelled"].as_bool()
        ),
        (Some("SO-1"), Some(false)),
        "{first}"
    );
    let (status, again) = cancel("SO-1", &key).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["already_cancelled"], true, "{again}");
    assert_eq!(
        (&again["cancellation"], &again["seq"]),
        (&first["cancellation"], &first["seq"]),
        "the same event"
    );

    let (status, feed) = get_json(
        &world.http,
        &world.url(&format!("/v1/t/{tenant}/erp/feed")),
        &feed_key,
    )
    .await;
    assert_eq!(status, 200, "{feed}");
    let cancelled: Vec<&Value> = feed["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|entry| entry["message"]["type"] == "pick_list.cancelled")
        .collect();
    assert_eq!(cancelled.len(), 1, "{feed}");
    let data = &cancelled[0]["message"]["data"];
    assert_eq!(data["reference"], "SO-1", "{data}");
    assert_eq!(data["cancellation"], first["cancellation"], "{data}");
    assert_eq!(data["lines"][0]["picked"], 0, "{data}");

    let (status, body) = cancel("SO-404", &key).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("pick_list_not_found")),
        "{body}"
    );
    let (status, body) = cancel("SO-1", &feed_key).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("missing_scope")),
        "{body}"
    );
}
