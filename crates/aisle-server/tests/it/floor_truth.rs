//! Events that once corrupted a key for good are refused or flagged, one by one: a
//! quantity near `i64::MAX`, a clock years ahead, a lot-tracked item without its lot, and
//! two managers' conflicting reviews of one count.

use crate::erp::{api_key, catalogue};
use crate::support::{event, get_json, result_statuses, World};
use aisle_core::event::{CountDecision, EventBody, ReviewDecision};
use aisle_core::ids::ItemId;
use aisle_core::testkit::{counted, key, location, received, reviewed};
use aisle_server::auth::Scope;
use serde_json::Value;

fn results(body: &Value) -> &Vec<Value> {
    body["results"].as_array().expect("results")
}

/// On-hand of location 1, item 1, no lot, as the server's `GET /stock` answers it.
async fn on_hand(world: &World, device: &crate::support::Device) -> i64 {
    let (status, body) = get_json(
        &world.http,
        &world.url(&format!("/v1/t/{}/stock", device.tenant)),
        &device.token,
    )
    .await;
    assert_eq!(status, 200, "stock read: {body}");
    let bin = key(1, 1, None);
    body["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|row| {
            row["location"] == bin.location.to_string()
                && row["item"] == bin.item.to_string()
                && row["lot"].is_null()
        })
        .map_or(0, |row| row["on_hand"].as_i64().expect("on_hand"))
}

/// Regression: a receipt of `i64::MAX` was accepted, then every later push touching its
/// key answered 500 (an overflow panic in the rules), stalling every device.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_quantity_is_refused_per_event_and_the_key_keeps_working() {
    let world = World::start(4).await;
    let (tenant, warehouse) = world.tenant("t");
    let device = world.enroll(tenant, warehouse, "pc").await;
    let bin = key(1, 1, None);
    let now = aisle_server::now_ms() as u64;
    let huge = event(&device, 1, now, received(&bin, i64::MAX));
    let fine = event(&device, 2, now + 1, received(&bin, 5));
    let (status, body) = world.push(&device, &[huge, fine]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(result_statuses(&body), ["rejected", "applied"], "{body}");
    assert_eq!(results(&body)[0]["reason"], "invalid_event", "{body}");
    let then = event(&device, 3, now + 2, received(&bin, 1_000_000_000));
    let (status, body) = world.push(&device, &[then]).await;
    assert_eq!(status, 200, "a later push on the key is answered: {body}");
    assert_eq!(result_statuses(&body), ["applied"], "{body}");
    assert_eq!(on_hand(&world, &device).await, 1_000_000_005);
}

/// Regression: a count stamped in the year 6429 (`wall_ms = 2^47 - 1`) became its key's
/// baseline forever, absorbing every later receipt, pick and count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_stamped_far_ahead_of_the_server_is_refused_as_clock_ahead() {
    let world = World::start(4).await;
    let (tenant, warehouse) = world.tenant("t");
    let device = world.enroll(tenant, warehouse, "pc").await;
    let bin = key(1, 1, None);
    let now = aisle_server::now_ms() as u64;
    let year_6429 = event(
        &device,
        1,
        (1 << 47) - 1,
        counted(&bin, 7, 0, CountDecision::SelfApproved),
    );
    let eleven_minutes = event(&device, 2, now + 11 * 60_000, received(&bin, 3));
    let five_minutes = event(&device, 3, now + 5 * 60_000, received(&bin, 4));
    let (status, body) = world
        .push(&device, &[year_6429, eleven_minutes, five_minutes])
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        result_statuses(&body),
        ["rejected", "rejected", "applied"],
        "beyond the 10-minute bound is refused, within it is a fact: {body}"
    );
    for refused in &results(&body)[..2] {
        assert_eq!(refused["reason"], "clock_ahead", "{body}");
        assert!(
            refused["message"]
                .as_str()
                .is_some_and(|message| message.contains("ahead of the server's clock")),
            "the message says what is wrong: {body}"
        );
    }
    let later = event(&device, 4, now + 6 * 60_000, received(&bin, 1));
    world.push(&device, &[later]).await;
    assert_eq!(
        on_hand(&world, &device).await,
        5,
        "the key follows the floor, not a count from the future"
    );
}

/// A lot-tracked item's event without a lot is a fact: kept, and a `lot_missing`
/// discrepancy for a manager. With its lot it opens none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lot_tracked_item_without_its_lot_is_kept_and_flagged() {
    let world = World::start(4).await;
    let (tenant, warehouse) = world.tenant("t");
    let key_for_erp = api_key(&world, tenant, &[Scope::MasterWrite]);
    catalogue(&world, tenant, &key_for_erp).await;
    let device = world.enroll(tenant, warehouse, "pc").await;
    let item_id = |sku: &str| -> ItemId {
        let path = aisle_server::tenant_db_path(world.dir.path(), tenant);
        let conn = rusqlite::Connection::open(path).expect("tenant db");
        let bytes: [u8; 16] = conn
            .query_row("SELECT id FROM items WHERE sku = ?1", [sku], |row| {
                row.get(0)
            })
            .expect("the catalogue's item");
        ItemId::from_uuid(uuid::Uuid::from_bytes(bytes))
    };
    let (lot_tracked, plain) = (item_id("SKU-2"), item_id("SKU-1"));
    let receipt = |item: ItemId, lot: Option<&str>| EventBody::Received {
        location: location(1),
        item,
        lot: lot.map(aisle_core::Lot::new),
        expiry: None,
        qty: 12,
        receipt: None,
    };
    let now = aisle_server::now_ms() as u64;
    let without_lot = event(&device, 1, now, receipt(lot_tracked, None));
    let with_lot = event(&device, 2, now + 1, receipt(lot_tracked, Some("L2405A")));
    let not_tracked = event(&device, 3, now + 2, receipt(plain, None));
    let (status, body) = world
        .push(&device, &[without_lot.clone(), with_lot, not_tracked])
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        result_statuses(&body),
        ["applied", "applied", "applied"],
        "every receipt is a fact and is kept: {body}"
    );
    let (status, stock) = get_json(
        &world.http,
        &world.url(&format!("/v1/t/{tenant}/stock")),
        &device.token,
    )
    .await;
    assert_eq!(status, 200, "{stock}");
    let lot_missing: Vec<&Value> = stock["discrepancies"]
        .as_array()
        .expect("discrepancies")
        .iter()
        .filter(|discrepancy| discrepancy["kind"]["type"] == "lot_missing")
        .collect();
    assert_eq!(
        lot_missing.len(),
        1,
        "exactly the receipt without a lot is flagged: {stock}"
    );
    assert_eq!(lot_missing[0]["kind"]["event"], without_lot.id.to_string());
    assert_eq!(
        lot_missing[0]["kind"]["key"]["item"],
        lot_tracked.to_string()
    );
}

/// The latest review of a count, in event order, decides it, whichever arrives first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_latest_review_decides_a_count_on_the_server() {
    let world = World::start(4).await;
    let (tenant, warehouse) = world.tenant("t");
    let device = world.enroll(tenant, warehouse, "pc").await;
    let bin = key(1, 1, None);
    let now = aisle_server::now_ms() as u64 - 60_000;
    let receipt = event(&device, 1, now, received(&bin, 10));
    let count = event(
        &device,
        2,
        now + 1_000,
        counted(&bin, 4, 10, CountDecision::NeedsReview),
    );
    let approve = event(
        &device,
        3,
        now + 2_000,
        reviewed(count.id, ReviewDecision::Approved),
    );
    let reject = event(
        &device,
        4,
        now + 3_000,
        reviewed(count.id, ReviewDecision::Rejected),
    );
    // The later rejection arrives first; the older approval, synced late, cannot override it.
    let (status, body) = world.push(&device, &[receipt, count, reject]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        on_hand(&world, &device).await,
        10,
        "rejected: not a baseline"
    );
    world.push(&device, &[approve]).await;
    assert_eq!(
        on_hand(&world, &device).await,
        10,
        "the rejection is the latest review and still decides"
    );
}
