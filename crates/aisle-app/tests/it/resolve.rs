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
