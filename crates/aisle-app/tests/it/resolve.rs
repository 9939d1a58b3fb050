//! Regression (demo): a typed `A-01-02` or `BOLT-M6` answered "unrecognised scan format at
//! position 0". Typed codes match location codes and SKUs without the labels' prefixes.

use crate::site;
use aisle_app::{resolve_scan, views::Resolved};
use aisle_core::event::Date;
use aisle_core::scan::ScanConfig;

fn today() -> Date {
    Date::new(2026, 6, 1).expect("date")
}

fn resolve(site: &crate::Site, raw: &str) -> Result<Resolved, aisle_app::AppError> {
    resolve_scan(site.floor.store(), raw, &ScanConfig::default(), today())
}

#[test]
fn a_typed_location_code_or_sku_resolves_without_its_prefix_in_any_case() {
    let site = site();
    for typed in ["A-01", "a-01", "  A-01 "] {
        match resolve(&site, typed) {
            Ok(Resolved::Location { location }) => assert_eq!(location.code, "A-01", "{typed:?}"),
            other => panic!("{typed:?} is the location A-01, got {other:?}"),
        }
    }
    for typed in ["BOLT-M6", "bolt-m6"] {
        match resolve(&site, typed) {
            Ok(Resolved::Item {
                item, pack_size, ..
            }) => {
                assert_eq!(item.sku, "BOLT-M6", "{typed:?}");
                assert_eq!(pack_size, 1, "a typed SKU is one unit");
            }
            other => panic!("{typed:?} is the item BOLT-M6, got {other:?}"),
        }
    }
}

#[test]
fn a_typed_code_that_names_nothing_says_what_was_read_in_words() {
    let site = site();
    let error = resolve(&site, "Z-99-99").expect_err("nothing is called Z-99-99");
    assert_eq!(error.code(), "bad_scan");
    let message = error.to_string();
    assert!(
        message.contains("\"Z-99-99\""),
        "the message repeats what was read: {message}"
    );
    assert!(
        !message.contains("position"),
        "no parser positions on the floor: {message}"
    );
}

#[test]
fn barcodes_still_resolve_before_typed_codes() {
    let site = site();
    match resolve(&site, "L:A-01") {
        Ok(Resolved::Location { location }) => assert_eq!(location.code, "A-01"),
        other => panic!("a location label resolves as before, got {other:?}"),
    }
    let unknown = resolve(&site, "96385074").expect_err("valid EAN-8 that no item has");
    assert_eq!(unknown.code(), "unknown_barcode", "{unknown}");
}

/// Regression: a typed item name ("widget", "bolt m8") was "no barcode, location code or
/// SKU"; names resolve last, the whole name first, then a unique part of one.
#[test]
fn a_typed_item_name_resolves_and_an_ambiguous_one_names_the_candidates() {
    use aisle_core::ids::ItemId;
    use aisle_store::master::Item;
    let mut site = site();
    site.floor
        .store_mut()
        .upsert_item(&Item {
            id: ItemId::new_v7(2, [8; 10]),
            sku: "BOLT-M8".into(),
            name: "Bolt M8".into(),
            base_unit: "each".into(),
            lot_tracked: false,
            barcodes: Vec::new(),
        })
        .expect("item");
    for (typed, sku) in [
        ("widget", "WID-1"),
        ("  WIDG ", "WID-1"),
        ("bolt m8", "BOLT-M8"),
        ("m6", "BOLT-M6"),
    ] {
        match resolve(&site, typed) {
            Ok(Resolved::Item {
                item, pack_size, ..
            }) => {
                assert_eq!(item.sku, sku, "{typed:?}");
                assert_eq!(pack_size, 1, "a typed name is one unit");
            }
            other => panic!("{typed:?} is the item {sku}, got {other:?}"),
        }
    }
    match resolve(&site, "A-01") {
        Ok(Resolved::Location { location }) => assert_eq!(location.code, "A-01"),
        other => panic!("codes still come before names, got {other:?}"),
    }
    let error = resolve(&site, "bolt").expect_err("two bolts");
    assert_eq!(error.code(), "not_found");
    assert_eq!(
        error.to_string(),
        "\"bolt\" could be Bolt M6 or Bolt M8: type more of the name, or scan the item"
    );
}
