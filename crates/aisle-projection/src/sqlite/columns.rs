//! How the projection's columns hold core values: ids as 16-byte UUID blobs, a lot as text
//! ('' for none), a stock key as four columns. The stores read their own tables with the
//! same helpers.

use aisle_core::event::Lot;
use aisle_core::ids::{ItemId, LocationId, WarehouseId};
use aisle_core::stock::StockKey;
use rusqlite::Row;
use uuid::Uuid;

/// Reads a 16-byte id column.
pub fn uuid_at(row: &Row<'_>, index: usize) -> rusqlite::Result<Uuid> {
    let bytes: [u8; 16] = row.get(index)?;
    Ok(Uuid::from_bytes(bytes))
}

/// A lot as its column holds it: the lot's text, or '' for a key without one.
pub fn lot_to_sql(lot: &Option<Lot>) -> &str {
    lot.as_ref().map_or("", |lot| lot.as_str())
}

/// A lot column's value as a lot ('' is none).
pub fn lot_from_sql(lot: String) -> Option<Lot> {
    if lot.is_empty() {
        None
    } else {
        Some(Lot::new(lot))
    }
}

/// Reads a stock key from four consecutive columns: warehouse, location, item, lot.
pub fn key_at(row: &Row<'_>, first: usize) -> rusqlite::Result<StockKey> {
    Ok(StockKey {
        warehouse: WarehouseId::from_uuid(uuid_at(row, first)?),
        location: LocationId::from_uuid(uuid_at(row, first + 1)?),
        item: ItemId::from_uuid(uuid_at(row, first + 2)?),
        lot: lot_from_sql(row.get(first + 3)?),
    })
}
