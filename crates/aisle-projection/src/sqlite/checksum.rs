//! The pull checksum ([`crate::checksum`]) over a SQLite projection: which keys a page of
//! events touches, their on-hand quantities, and the page's checksum, as the server sends it
//! and a device computes it. The definition is the crate's; this is SQLite's two lookups.

use super::columns::{lot_from_sql, lot_to_sql};
use crate::checksum::ProjectionRows;
use crate::ProjectionError;
use aisle_core::event::Event;
use aisle_core::ids::{EventId, ItemId, LocationId, WarehouseId};
use aisle_core::stock::StockKey;
use rusqlite::{Connection, OptionalExtension};
use std::collections::BTreeSet;
use uuid::Uuid;

impl ProjectionRows for Connection {
    fn count_keys(
        &self,
        counts: &[(EventId, WarehouseId)],
    ) -> Result<Vec<StockKey>, ProjectionError> {
        let mut statement = self.prepare_cached(
            "SELECT k.location, k.item, k.lot FROM counts c JOIN stock_keys k USING (key_id)
             WHERE c.event_id = ?1 AND k.warehouse = ?2",
        )?;
        let mut keys = Vec::with_capacity(counts.len());
        for (counted, warehouse) in counts {
            let key = statement
                .query_row((counted.as_bytes(), warehouse.as_bytes()), |row| {
                    Ok((
                        row.get::<_, [u8; 16]>(0)?,
                        row.get::<_, [u8; 16]>(1)?,
                        row.get::<_, String>(2)?,
                    ))
                })
                .optional()?;
            if let Some((location, item, lot)) = key {
                keys.push(StockKey {
                    warehouse: *warehouse,
                    location: LocationId::from_uuid(Uuid::from_bytes(location)),
                    item: ItemId::from_uuid(Uuid::from_bytes(item)),
                    lot: lot_from_sql(lot),
                });
            }
        }
        Ok(keys)
    }

    fn on_hand(&self, keys: &BTreeSet<StockKey>) -> Result<Vec<(StockKey, i64)>, ProjectionError> {
        let mut statement = self.prepare_cached(
            "SELECT s.on_hand FROM stock_keys k JOIN key_states s USING (key_id)
             WHERE k.warehouse = ?1 AND k.location = ?2 AND k.item = ?3 AND k.lot = ?4",
        )?;
        let mut rows = Vec::with_capacity(keys.len());
        for key in keys {
            let on_hand: Option<i64> = statement
                .query_row(
                    (
                        key.warehouse.as_bytes(),
                        key.location.as_bytes(),
                        key.item.as_bytes(),
                        lot_to_sql(&key.lot),
                    ),
                    |row| row.get(0),
                )
                .optional()?;
            rows.push((key.clone(), on_hand.unwrap_or(0)));
        }
        Ok(rows)
    }
}

/// [`crate::checksum::page_keys`] over the projection behind `conn`.
pub fn page_keys<'e>(
    conn: &Connection,
    events: impl IntoIterator<Item = &'e Event>,
) -> Result<BTreeSet<StockKey>, ProjectionError> {
    crate::checksum::page_keys(conn, events)
}

/// The on-hand quantity of each key in the projection behind `conn`; a key the projection
/// has never seen is on hand 0.
pub fn projection_rows(
    conn: &Connection,
    keys: &BTreeSet<StockKey>,
) -> Result<Vec<(StockKey, i64)>, ProjectionError> {
    conn.on_hand(keys)
}

/// [`crate::checksum::page_checksum`] over the projection behind `conn`. Run it inside one
/// read transaction so the keys and quantities come from the same snapshot.
pub fn page_checksum<'e>(
    conn: &Connection,
    events: impl IntoIterator<Item = &'e Event>,
) -> Result<String, ProjectionError> {
    crate::checksum::page_checksum(conn, events)
}
