//! Protocol v1's JSON is fixed: these pin the forms the typed shapes write and read.

use aisle_core::ids::{ItemId, LocationId, WarehouseId};
use aisle_core::testkit;
use aisle_protocol::{
    EnrollResponse, ErpUser, ErrorBody, KeyRef, MasterResponse, PayloadLimit, PullResponse,
    PulledEvent,
};
use serde_json::json;

#[test]
fn typed_ids_are_plain_uuid_strings_on_the_wire() {
    let answer = json!({
        "tenant": "0193a5c2-7d4e-7a10-8f3b-2c9d1e0f4a51",
        "warehouse": "0193a5c2-7d4e-7a10-8f3b-2c9d1e0f4a52",
        "device": "0193a5c2-7d4e-7a10-8f3b-2c9d1e0f4a53",
        "token": "aisle_dev_x"
    });
    let enrolled: EnrollResponse = serde_json::from_value(answer.clone()).expect("decodes");
    assert_eq!(
        enrolled.warehouse.to_string(),
        "0193a5c2-7d4e-7a10-8f3b-2c9d1e0f4a52"
    );
    assert_eq!(
        serde_json::to_value(&enrolled).expect("encodes"),
        answer,
        "the same JSON comes back out"
    );
    let not_an_id = json!({ "tenant": "x", "warehouse": "x", "device": "x", "token": "t" });
    assert!(
        serde_json::from_value::<EnrollResponse>(not_an_id).is_err(),
        "an id that is not a uuid is refused when decoding, not later"
    );
}

#[test]
fn a_key_without_a_lot_omits_it_and_an_empty_lot_is_no_lot() {
    let key = testkit::key(1, 2, None);
    let wire = KeyRef::new(&key);
    assert_eq!(
        serde_json::to_value(&wire).expect("encodes"),
        json!({ "location": key.location.to_string(), "item": key.item.to_string() })
    );
    let empty_lot = KeyRef {
        lot: Some(String::new()),
        ..wire
    };
    assert_eq!(empty_lot.to_stock_key(key.warehouse), key);
    let lotted = testkit::key(1, 2, Some("L7"));
    assert_eq!(KeyRef::new(&lotted).to_stock_key(lotted.warehouse), lotted);
}

#[test]
fn error_bodies_carry_details_only_where_a_code_has_them() {
    assert_eq!(
        serde_json::to_value(ErrorBody::new("bad_token", "no")).expect("encodes"),
        json!({ "code": "bad_token", "message": "no" })
    );
    let mut too_large = ErrorBody::new("payload_too_large", "too large");
    too_large.limit = Some(PayloadLimit::V1);
    assert_eq!(
        serde_json::to_value(&too_large).expect("encodes")["limit"],
        json!({ "events": 1_000, "bytes": 4 * 1024 * 1024 })
    );
    let bad_event: ErrorBody = serde_json::from_value(json!({
        "code": "bad_json", "message": "events[3]: missing field `id`", "event_index": 3
    }))
    .expect("decodes");
    assert_eq!(bad_event.event_index, Some(3));
    let foreign: ErrorBody = serde_json::from_value(json!({ "code": "x" })).expect("decodes");
    assert_eq!(foreign.message, "", "a body without a message still reads");
}

#[test]
fn a_pulled_page_is_the_same_json_whether_its_events_are_decoded_or_passed_through() {
    let event = testkit::Events::default().make(
        1,
        1_000,
        0,
        testkit::received(&testkit::key(1, 1, None), 5),
    );
    let decoded = PullResponse {
        events: vec![PulledEvent { seq: 7, event }],
        next: 7,
        checksum: Some("ab".into()),
        checksum_seq: Some(7),
        server_time_ms: 1,
    };
    let json = serde_json::to_value(&decoded).expect("encodes");
    let passed_through: PullResponse<serde_json::Value> =
        serde_json::from_value(json.clone()).expect("decodes with raw events");
    assert_eq!(
        serde_json::to_value(&passed_through).expect("encodes"),
        json
    );
    let read: PullResponse = serde_json::from_value(json).expect("decodes with events");
    assert_eq!(read, decoded);
    let older: PullResponse = serde_json::from_value(json!({
        "events": [], "next": 0, "server_time_ms": 1
    }))
    .expect("a page without a checksum still reads");
    assert_eq!((older.checksum, older.checksum_seq), (None, None));
}

#[test]
fn a_master_page_counts_versioned_rows_only() {
    let page: MasterResponse = serde_json::from_value(json!({
        "items": [{ "id": ItemId::new_v7(1, [1; 10]), "sku": "S", "name": "N", "base_unit": "each",
                    "lot_tracked": false, "barcodes": [], "version": 1 }],
        "locations": [{ "id": LocationId::new_v7(1, [2; 10]), "warehouse": WarehouseId::new_v7(1, [3; 10]),
                        "code": "A", "name": "", "walk_order": 0, "version": 2 }],
        "users": [], "pick_lists": [],
        "devices": [{ "id": "0193a5c2-7d4e-7a10-8f3b-2c9d1e0f4a53", "name": "dock" }],
        "next": 2, "server_time_ms": 0
    }))
    .expect("decodes");
    assert_eq!(
        page.n_rows(),
        2,
        "devices come whole on every page and are not counted"
    );
    assert_eq!(page.pin_policy, None, "absent from an older server");
}

#[test]
fn an_erp_user_never_shows_its_pin_in_debug_output() {
    let user: ErpUser = serde_json::from_value(json!({
        "badge": "B-1", "name": "Bo", "role": "picker", "pin": "482913", "warehouses": ["main"]
    }))
    .expect("decodes");
    let debug = format!("{user:?}");
    assert!(!debug.contains("482913"), "{debug}");
    assert_eq!(
        serde_json::to_value(&user).expect("encodes"),
        json!({ "badge": "B-1", "name": "Bo", "role": "picker", "pin": "482913",
                "active": true, "warehouses": ["main"] }),
        "an absent pin_hash is not sent as null"
    );
}
