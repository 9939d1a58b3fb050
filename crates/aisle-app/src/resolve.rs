//! From raw scanner input to what it names in this warehouse: [`resolve_scan`] parses
//! with `aisle_core::scan` and looks the result up in the store's master data, filling in
//! what the barcode itself says (GS1 lot, expiry, count).

use crate::error::could_be;
use crate::views::{ItemView, LocationView, Resolved};
use crate::AppError;
use aisle_core::event::Date;
use aisle_core::scan::{parse_scan, Scan, ScanConfig};
use aisle_store::master::Item;
use aisle_store::names::NameMatch;
use aisle_store::Store;

/// Parses a scan and resolves it against the store's master data. `today` is the
/// calendar date the GS1 century rule reads two-digit years against.
///
/// What a person types (a location code or a SKU, without the labels' `L:`/`S:` prefixes,
/// in any case, or else an item's name or a unique part of it) is tried when the text is no
/// barcode, or no known one. An error then says what was read, in words, not where a parser
/// gave up; a part of a name that fits several items names up to three of them.
pub fn resolve_scan(
    store: &Store,
    raw: &str,
    config: &ScanConfig,
    today: Date,
) -> Result<Resolved, AppError> {
    match resolve_barcode(store, raw, config, today) {
        Err(error @ (AppError::BadScan(_) | AppError::UnknownBarcode(_))) => {
            match resolve_typed(store, raw)? {
                Some(resolved) => Ok(resolved),
                None if matches!(error, AppError::BadScan(_)) => Err(AppError::BadScan(format!(
                    "{:?} is no barcode, location code, SKU or item name of this warehouse",
                    raw.trim()
                ))),
                None => Err(error),
            }
        }
        other => other,
    }
}

/// A typed location code or SKU, exactly or ignoring case; else an item's name, whole or a
/// unique part of it, ignoring case.
fn resolve_typed(store: &Store, raw: &str) -> Result<Option<Resolved>, AppError> {
    let text = raw.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let location = match store.location_by_code(text)? {
        Some(location) => Some(location),
        None => store
            .locations_in_walk_order()?
            .into_iter()
            .find(|location| location.code.eq_ignore_ascii_case(text)),
    };
    if let Some(location) = location {
        return Ok(Some(Resolved::Location {
            location: LocationView::from(&location),
        }));
    }
    let item = match store.item_by_sku(text)? {
        Some(item) => Some(item),
        None => store.item_by_sku(&text.to_ascii_uppercase())?,
    };
    let item = match item {
        Some(item) => item,
        None => match store.item_by_name(text)? {
            NameMatch::One(item) => item,
            NameMatch::NoOne => return Ok(None),
            NameMatch::Several { names, n_found } => {
                return Err(could_be(
                    text,
                    &names,
                    n_found,
                    "item",
                    "type more of the name, or scan the item",
                ))
            }
        },
    };
    Ok(Some(Resolved::Item {
        item: ItemView::from(&item),
        lot: None,
        expiry: None,
        quantity: None,
        pack_size: 1,
    }))
}

fn resolve_barcode(
    store: &Store,
    raw: &str,
    config: &ScanConfig,
    today: Date,
) -> Result<Resolved, AppError> {
    let scan =
        parse_scan(raw, config, today).map_err(|error| AppError::BadScan(error.to_string()))?;
    match &scan {
        Scan::Location(code) => {
            let location = store
                .location_by_code(code)?
                .filter(|location| location.warehouse == store.profile().warehouse)
                .ok_or_else(|| AppError::UnknownLocation(code.clone()))?;
            Ok(Resolved::Location {
                location: LocationView::from(&location),
            })
        }
        Scan::Badge(badge) => Ok(Resolved::Badge {
            badge: badge.clone(),
        }),
        Scan::Sku(sku) => {
            let item = store
                .item_by_sku(sku)?
                .ok_or_else(|| AppError::UnknownBarcode(sku.clone()))?;
            Ok(item_resolved(&item, 1, &scan))
        }
        _ => {
            let gtin = scan
                .gtin()
                .ok_or_else(|| AppError::BadScan("the barcode names no item (no GTIN)".into()))?;
            let (item, pack_qty) = find_by_gtin(store, gtin.as_str())?
                .ok_or_else(|| AppError::UnknownBarcode(gtin.as_str().to_string()))?;
            Ok(item_resolved(&item, pack_qty, &scan))
        }
    }
}

/// Items are labelled with the code as printed (EAN-13, UPC-A, EAN-8) or as a GTIN-14; a
/// scan gives the 14-digit form, so try it and the shorter forms it pads.
fn find_by_gtin(store: &Store, gtin14: &str) -> Result<Option<(Item, i64)>, AppError> {
    for n_digits in [14, 13, 12, 8] {
        let Some(short) = gtin14.get(gtin14.len().saturating_sub(n_digits)..) else {
            continue;
        };
        let padding = &gtin14[..gtin14.len() - short.len()];
        if !padding.bytes().all(|digit| digit == b'0') {
            continue;
        }
        if let Some(found) = store.item_by_barcode(short)? {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

fn item_resolved(item: &Item, pack_qty: i64, scan: &Scan) -> Resolved {
    Resolved::Item {
        item: ItemView::from(item),
        lot: scan.lot().map(|lot| lot.as_str().to_string()),
        expiry: scan.expiry(),
        quantity: scan.count().map(|count| i64::from(count) * pack_qty),
        pack_size: pack_qty,
    }
}
