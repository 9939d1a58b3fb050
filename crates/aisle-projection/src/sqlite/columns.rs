//! How the projection's columns hold core values on SQLite: ids as 16-byte UUID blobs, a lot
//! as text ('' for none, [`crate::columns`]), a stock key as four columns. The stores read
//! their own tables with the same helpers.

pub use crate::columns::{lot_from_sql, lot_to_sql};
use aisle_core::ids::{ItemId, LocationId, WarehouseId};
use aisle_core::stock::StockKey;
use rusqlite::Row;
use uuid::Uuid;

/// Reads a 16-byte id column.
pub fn uuid_at(row: &Row<'_>, index: usize) -> rusqlite::Result<Uuid> {
    let bytes: [u8; 16] = row.get(index)?;
    Ok(Uuid::from_bytes(bytes))
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
