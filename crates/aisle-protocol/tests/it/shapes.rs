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
        unread: Vec::new(),
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

/// A device reads a page with an event of a kind it does not know, in an envelope, and keeps
/// that event's JSON byte for byte; without the envelope the same event fails the page.
#[test]
fn an_envelope_carries_an_event_of_an_unknown_kind_through_a_device_that_cannot_read_it() {
    let event = testkit::Events::default().make(
        1,
        1_000,
        0,
        testkit::received(&testkit::key(1, 1, None), 5),
    );
    let mut future = serde_json::to_value(&event).expect("json");
    future["body"] = json!({ "type": "relabelled", "location": event.warehouse, "label": "X" });
    let page = json!({
        "events": [{ "seq": 7, "event": event }],
        "unread": [{ "seq": 8, "kind": "relabelled", "needs": "0.3.0",
                     "keys": [{ "location": LocationId::new_v7(1, [2; 10]), "item": ItemId::new_v7(1, [1; 10]) }],
                     "event": future }],
        "next": 8, "checksum": "ab", "checksum_seq": 8, "server_time_ms": 1
    });
    let read: PullResponse<aisle_core::Event, Box<serde_json::value::RawValue>> =
        serde_json::from_value(page.clone()).expect("the page reads");
    assert_eq!(read.events[0].event, event);
    let [unread] = read.unread.as_slice() else {
        panic!("one envelope: {:?}", read.unread)
    };
    assert_eq!(
        (unread.seq, unread.kind.as_str(), unread.needs.as_str()),
        (8, "relabelled", "0.3.0")
    );
    assert_eq!(unread.keys[0].lot, None);
    let kept: serde_json::Value = serde_json::from_str(unread.event.get()).expect("json");
    assert_eq!(kept, future, "the event as the server sent it");
    let mut inline = page;
    inline["events"] = json!([{ "seq": 7, "event": event }, { "seq": 8, "event": future }]);
    inline["unread"] = json!([]);
    assert!(
        serde_json::from_value::<PullResponse>(inline).is_err(),
        "the same event outside its envelope does not read"
    );
}

#[test]
fn a_reads_header_names_kinds_and_every_required_one() {
    let all: Vec<&str> = aisle_core::event::EVENT_KINDS
        .iter()
        .map(|(kind, _)| *kind)
        .collect();
    let reads = aisle_protocol::parse_reads(&all.join(", ")).expect("every kind");
    assert_eq!(reads.len(), all.len());
    let newer = aisle_protocol::parse_reads(&format!("{},relabelled", all.join(",")))
        .expect("a kind this side does not know is kept");
    assert!(newer.contains("relabelled"));
    let missing = aisle_protocol::parse_reads("received,picked,moved").expect_err("refused");
    assert!(
        missing.contains("missing adjusted, counted, count_reviewed"),
        "{missing}"
    );
    let junk = aisle_protocol::parse_reads("received,picked;x").expect_err("refused");
    assert!(junk.contains("\"picked;x\""), "{junk}");
    let long = aisle_protocol::parse_reads(&"a,".repeat(2_000)).expect_err("refused");
    assert!(long.contains("longer than 2048 bytes"), "{long}");
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
