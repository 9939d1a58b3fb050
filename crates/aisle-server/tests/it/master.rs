//! The master-data download: a device pulls only what changed after the version it last
//! saw, page by page, and only its own tenant's items and users and its own warehouse's
//! locations and pick lists.

use crate::erp::{api_key, catalogue, upsert};
use crate::support::{get_json, Device, World};
use aisle_server::auth::Scope;
use aisle_server::Registry as _;
use serde_json::{json, Value};

async fn pull(world: &World, device: &Device, query: &str) -> Value {
    let (status, page) = get_json(
        &world.http,
        &world.url(&format!("/v1/t/{}/master?{query}", device.tenant)),
        &device.token,
    )
    .await;
    assert_eq!(status, 200, "the pull succeeds: {page}");
    page
}

fn names(page: &Value, collection: &str, field: &str) -> Vec<String> {
    page[collection]
        .as_array()
        .expect(collection)
        .iter()
        .map(|row| row[field].as_str().expect(field).to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_pulls_only_the_changes_after_its_version() {
    let world = World::start(8).await;
    let (tenant, warehouse) = world.tenant("acme");
    let device = world.enroll(tenant, warehouse, "pc-1").await;
    let key = api_key(&world, tenant, &[Scope::MasterWrite]);
    let seen = catalogue(&world, tenant, &key).await;
    let first = pull(&world, &device, "after=0").await;
    assert_eq!(first["next"].as_u64(), Some(seen));
    let old_id = first["items"][0]["id"].clone();

    // One item renamed, one location added: the next pull holds exactly those two.
    upsert(
        &world,
        tenant,
        &key,
        "items",
        json!({ "items": [
        { "sku": "SKU-1", "name": "Blue widget, new box" } ]}),
    )
    .await;
    let last = upsert(
        &world,
        tenant,
        &key,
        "locations",
        json!({ "locations": [
        { "warehouse": "main", "code": "B-01", "walk_order": 30 } ]}),
    )
    .await;
    let changes = pull(&world, &device, &format!("after={seen}")).await;
    assert_eq!(
        names(&changes, "items", "name"),
        ["Blue widget, new box"],
        "{changes}"
    );
    assert_eq!(
        changes["items"][0]["id"], old_id,
        "an upsert keeps the item's id"
    );
    assert_eq!(
        changes["items"][0]["barcodes"],
        json!([]),
        "an upsert replaces the barcodes with the ones sent"
    );
    assert_eq!(names(&changes, "locations", "code"), ["B-01"], "{changes}");
    assert_eq!(
        (
            changes["users"].as_array().map(Vec::len),
            changes["pick_lists"].as_array().map(Vec::len)
        ),
        (Some(0), Some(0)),
        "nothing unchanged comes again: {changes}"
    );
    assert_eq!(changes["next"].as_u64(), Some(last));

    let idle = pull(&world, &device, &format!("after={last}")).await;
    assert_eq!(
        idle["next"].as_u64(),
        Some(last),
        "an empty page keeps the cursor: {idle}"
    );
    assert_eq!(idle["items"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_walks_every_version_once_in_order() {
    let world = World::start(8).await;
    let (tenant, warehouse) = world.tenant("acme");
    let device = world.enroll(tenant, warehouse, "pc-1").await;
    let key = api_key(&world, tenant, &[Scope::MasterWrite]);
    let items: Vec<Value> = (0..7)
        .map(|n| json!({ "sku": format!("SKU-{n}"), "name": format!("item {n}") }))
        .collect();
    let last = upsert(&world, tenant, &key, "items", json!({ "items": items })).await;
    let mut after = 0;
    let mut skus = Vec::new();
    let mut n_pages = 0;
    loop {
        let page = pull(&world, &device, &format!("after={after}&limit=3")).await;
        let page_skus = names(&page, "items", "sku");
        if page_skus.is_empty() {
            break;
        }
        assert!(
            page_skus.len() <= 3,
            "a page holds at most `limit` rows: {page}"
        );
        skus.extend(page_skus);
        after = page["next"].as_u64().expect("next");
        n_pages += 1;
        assert!(n_pages <= 7, "paging terminates");
    }
    let expected: Vec<String> = (0..7).map(|n| format!("SKU-{n}")).collect();
    assert_eq!(skus, expected, "every item once, in version order");
    assert_eq!(after, last);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locations_and_pick_lists_stay_in_their_warehouse_and_tenant() {
    let world = World::start(8).await;
    let (tenant, warehouse) = world.tenant("acme");
    world
        .registry
        .add_warehouse(tenant, "south", 1)
        .expect("second warehouse");
    let (other_tenant, other_warehouse) = world.tenant("globex");
    let device = world.enroll(tenant, warehouse, "pc-1").await;
    let outsider = world.enroll(other_tenant, other_warehouse, "pc-x").await;
    let key = api_key(&world, tenant, &[Scope::MasterWrite]);
    upsert(
        &world,
        tenant,
        &key,
        "items",
        json!({ "items": [{ "sku": "S", "name": "s" }] }),
    )
    .await;
    upsert(
        &world,
        tenant,
        &key,
        "locations",
        json!({ "locations": [
        { "warehouse": "main", "code": "MAIN-1" },
        { "warehouse": "south", "code": "SOUTH-1" } ]}),
    )
    .await;
    upsert(
        &world,
        tenant,
        &key,
        "pick_lists",
        json!({ "pick_lists": [
        { "warehouse": "south", "reference": "SO-SOUTH", "lines": [
            { "line": 1, "sku": "S", "location": "SOUTH-1", "qty": 1 } ] } ]}),
    )
    .await;

    let page = pull(&world, &device, "after=0").await;
    assert_eq!(names(&page, "locations", "code"), ["MAIN-1"], "{page}");
    assert_eq!(
        page["pick_lists"],
        json!([]),
        "the other warehouse's list is not sent"
    );
    assert_eq!(
        names(&page, "items", "sku"),
        ["S"],
        "items are the tenant's, for every warehouse"
    );

    let outsiders = pull(&world, &outsider, "after=0").await;
    assert_eq!(
        outsiders["items"],
        json!([]),
        "another tenant sees none of it: {outsiders}"
    );
    let (status, body) = get_json(
        &world.http,
        &world.url(&format!("/v1/t/{tenant}/master?after=0")),
        &outsider.token,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("tenant_mismatch")),
        "{body}"
    );
    assert!(body.get("items").is_none(), "nothing of acme is returned");
}

/// The master data names the PCs of the device's own warehouse, so its audit trail shows
/// "Dock PC 1" instead of a device id, and never a PC of another warehouse or tenant.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn master_data_names_the_pcs_of_the_devices_own_warehouse_only() {
    let world = crate::support::World::start(4).await;
    let (tenant, warehouse) = world.tenant("acme");
    let other_warehouse = world
        .registry
        .add_warehouse(tenant, "south", 1)
        .expect("second warehouse");
    let (other_tenant, other_tenants_warehouse) = world.tenant("globex");
    let dock = world.enroll(tenant, warehouse, "Dock PC 1").await;
    let packing = world.enroll(tenant, warehouse, "Packing PC").await;
    world.enroll(tenant, other_warehouse, "South PC").await;
    world
        .enroll(other_tenant, other_tenants_warehouse, "Globex PC")
        .await;
    let (status, body) = crate::support::get_json(
        &world.http,
        &world.url(&format!("/v1/t/{tenant}/master?after=0")),
        &dock.token,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let devices: Vec<(String, String)> = body["devices"]
        .as_array()
        .expect("a devices section")
        .iter()
        .map(|device| {
            (
                device["id"].as_str().expect("id").to_owned(),
                device["name"].as_str().expect("name").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        devices,
        [
            (dock.device.to_string(), "Dock PC 1".to_owned()),
            (packing.device.to_string(), "Packing PC".to_owned()),
        ],
        "only the PCs of the device's own warehouse"
    );
}
