//! Issue 12 §3 on the server: a device gets only its own warehouse's users (a user taken
//! out of a warehouse is pulled there once more, as inactive), and PINs follow the
//! tenant's policy and the server's PIN cost.

use crate::erp::{api_key, pin_hash, put_json};
use crate::support::{get_json, World};
use aisle_pin::{PinCost, PinHash};
use aisle_server::auth::Scope;
use aisle_server::Registry as _;
use serde_json::{json, Value};

fn badges(page: &Value) -> Vec<(String, bool)> {
    let mut badges: Vec<(String, bool)> = page["users"]
        .as_array()
        .expect("users")
        .iter()
        .map(|user| {
            (
                user["badge"].as_str().expect("badge").to_owned(),
                user["active"].as_bool().expect("active"),
            )
        })
        .collect();
    badges.sort();
    badges
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_pulls_only_its_warehouses_users_and_loses_one_moved_away() {
    let world = World::start(8).await;
    let (tenant, main) = world.tenant("acme");
    let south = world
        .registry
        .add_warehouse(tenant, "south", 1)
        .expect("add warehouse");
    let pc_main = world.enroll(tenant, main, "pc-main").await;
    let pc_south = world.enroll(tenant, south, "pc-south").await;
    let key = api_key(&world, tenant, &[Scope::MasterWrite]);
    let url = world.url(&format!("/v1/t/{tenant}/erp/users"));
    let (status, body) = put_json(
        &world.http,
        &url,
        &key,
        &json!({ "users": [
            { "badge": "B-1", "name": "Ana", "role": "picker", "pin_hash": pin_hash("4821"),
              "warehouses": ["main"] },
            { "badge": "B-2", "name": "Bo", "role": "manager", "pin": "906113",
              "warehouses": [south.to_string()] },
        ]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    let pull = |device_token: String, after: u64| {
        let url = world.url(&format!("/v1/t/{tenant}/master?after={after}"));
        let http = world.http.clone();
        async move {
            let (status, page) = get_json(&http, &url, &device_token).await;
            assert_eq!(status, 200, "{page}");
            page
        }
    };
    let page = pull(pc_main.token.clone(), 0).await;
    assert_eq!(
        badges(&page),
        vec![("B-1".to_owned(), true)],
        "main's PC gets Ana only, not Bo's hash"
    );
    let main_next = page["next"].as_u64().expect("next");
    assert_eq!(
        page["pin_policy"],
        json!({ "picker_min_digits": 4, "manager_min_digits": 6 }),
        "the tenant's PIN policy travels with master data"
    );
    let page = pull(pc_south.token.clone(), 0).await;
    assert_eq!(badges(&page), vec![("B-2".to_owned(), true)]);
    let bo = &page["users"][0];
    assert!(
        PinHash::from_phc(bo["pin_hash"].as_str().expect("hash"))
            .expect("phc")
            .verify("906113"),
        "a plain PIN from the ERP is hashed by the server"
    );

    // Ana moves to south: main's PC must stop signing her in.
    let (status, body) = put_json(
        &world.http,
        &url,
        &key,
        &json!({ "users": [
            { "badge": "B-1", "name": "Ana", "role": "picker", "pin_hash": pin_hash("4821"),
              "warehouses": ["south"] },
        ]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let page = pull(pc_main.token.clone(), main_next).await;
    assert_eq!(
        badges(&page),
        vec![("B-1".to_owned(), false)],
        "main's PC pulls Ana once more, as inactive"
    );
    let page = pull(pc_south.token.clone(), 0).await;
    assert_eq!(
        badges(&page),
        vec![("B-1".to_owned(), true), ("B-2".to_owned(), true)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_manager_pins_and_cheap_hashes_are_refused_with_their_own_codes() {
    let world = World::start(8).await;
    let (tenant, _main) = world.tenant("acme");
    let key = api_key(&world, tenant, &[Scope::MasterWrite]);
    let url = world.url(&format!("/v1/t/{tenant}/erp/users"));
    let refusal = |user: Value| {
        let (http, url, key) = (world.http.clone(), url.clone(), key.clone());
        async move {
            let (status, body) = put_json(&http, &url, &key, &json!({ "users": [user] })).await;
            assert_eq!(status, 422, "{body}");
            body
        }
    };
    let body = refusal(json!({ "badge": "B-9", "name": "Max", "role": "manager",
        "pin": "9090", "warehouses": ["main"] }))
    .await;
    assert_eq!(body["code"], "pin_too_short", "{body}");
    assert!(
        !body["message"].as_str().expect("message").contains("9090"),
        "the PIN is not echoed: {body}"
    );
    let cheap = PinHash::with_cost("906113", PinCost::new(8, 1, 1)).expect("hash");
    let body = refusal(json!({ "badge": "B-9", "name": "Max", "role": "manager",
        "pin_hash": cheap.as_phc(), "warehouses": ["main"] }))
    .await;
    assert_eq!(body["code"], "weak_pin_hash", "{body}");
    let body = refusal(json!({ "badge": "B-9", "name": "Max", "role": "manager",
        "pin": "906113", "pin_hash": pin_hash("906113"), "warehouses": ["main"] }))
    .await;
    assert_eq!(
        body["code"], "invalid_record",
        "one of pin and pin_hash: {body}"
    );
    let body = refusal(json!({ "badge": "B-9", "name": "Max", "role": "manager",
        "pin": "906113", "warehouses": ["nowhere"] }))
    .await;
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .contains("warehouses[0]"),
        "{body}"
    );
    // Hashing is slow on purpose, so one request carries at most 50 plain PINs.
    let many: Vec<Value> = (0..51)
        .map(|n| {
            json!({ "badge": format!("P-{n}"), "name": "P", "role": "picker",
            "pin": "4821", "warehouses": ["main"] })
        })
        .collect();
    let (status, body) = put_json(&world.http, &url, &key, &json!({ "users": many })).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("invalid_record")),
        "{body}"
    );
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .contains("at most 50"),
        "{body}"
    );
    assert_eq!(crate::erp::count_rows(&world, tenant, "users"), 0);
}

/// A lock on a PC is an event the server takes, stores and hands back to the warehouse's
/// other PCs, so managers there and on the server side see it; a bad badge is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_badge_locked_event_is_stored_and_pulled_by_the_warehouses_other_pcs() {
    use aisle_core::event::EventBody;
    let world = World::start(8).await;
    let (tenant, main) = world.tenant("acme");
    let pc_1 = world.enroll(tenant, main, "pc-1").await;
    let pc_2 = world.enroll(tenant, main, "pc-2").await;
    let locked = crate::support::event(
        &pc_1,
        1,
        1_790_000_000_000,
        EventBody::BadgeLocked {
            badge: "B-7".into(),
            failures: 5,
            locked_until_ms: 1_790_000_030_000,
        },
    );
    let (status, body) = world.push(&pc_1, std::slice::from_ref(&locked)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        crate::support::result_statuses(&body),
        vec!["applied"],
        "{body}"
    );
    let (status, page) = get_json(
        &world.http,
        &world.url(&format!("/v1/t/{tenant}/events?after=0")),
        &pc_2.token,
    )
    .await;
    assert_eq!(status, 200, "{page}");
    let pulled = &page["events"][0]["event"];
    assert_eq!(pulled["body"]["type"], "badge_locked", "{page}");
    assert_eq!(pulled["body"]["badge"], "B-7");
    assert_eq!(pulled["device"], pc_1.device.to_string(), "names the PC");

    let mut blank = locked;
    blank.id = crate::support::event(&pc_1, 2, 1_790_000_000_001, blank.body.clone()).id;
    blank.body = EventBody::BadgeLocked {
        badge: String::new(),
        failures: 5,
        locked_until_ms: 1_790_000_030_000,
    };
    let (_, body) = world.push(&pc_1, &[blank]).await;
    assert_ne!(
        crate::support::result_statuses(&body),
        vec!["applied"],
        "a lock of no badge is refused: {body}"
    );
}
