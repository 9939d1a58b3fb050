//! The pull checksum ([`crate::checksum`]) over a SQLite projection: which keys a page of
//! events touches, their on-hand quantities, and the page's checksum, as the server sends it
//! and a device computes it.

use super::columns::{lot_from_sql, lot_to_sql};
use crate::checksum::{event_keys, stock_checksum};
use crate::ProjectionError;
use aisle_core::event::{Event, EventBody};
use aisle_core::stock::StockKey;
use rusqlite::{Connection, OptionalExtension};
use std::collections::BTreeSet;

/// The keys a page of events touches, as the projection behind `conn` knows them: every
/// [`event_keys`], plus, for a count review, the key of the reviewed count when this
/// projection has that count (a replica that has applied the same events has it too).
pub fn page_keys<'e>(
    conn: &Connection,
    events: impl IntoIterator<Item = &'e Event>,
) -> Result<BTreeSet<StockKey>, ProjectionError> {
    let mut keys = BTreeSet::new();
    for event in events {
        keys.extend(event_keys(event));
        if let EventBody::CountReviewed { counted, .. } = &event.body {
            let mut statement = conn.prepare_cached(
                "SELECT k.location, k.item, k.lot FROM counts c JOIN stock_keys k USING (key_id)
                 WHERE c.event_id = ?1 AND k.warehouse = ?2",
            )?;
            let key = statement
                .query_row((counted.as_bytes(), event.warehouse.as_bytes()), |row| {
                    Ok((
                        row.get::<_, [u8; 16]>(0)?,
                        row.get::<_, [u8; 16]>(1)?,
                        row.get::<_, String>(2)?,
                    ))
                })
                .optional()?;
            if let Some((location, item, lot)) = key {
                keys.insert(StockKey {
                    warehouse: event.warehouse,
                    location: aisle_core::ids::LocationId::from_uuid(uuid::Uuid::from_bytes(
                        location,
                    )),
                    item: aisle_core::ids::ItemId::from_uuid(uuid::Uuid::from_bytes(item)),
                    lot: lot_from_sql(lot),
                });
            }
        }
    }
    Ok(keys)
}

/// The on-hand quantity of each key in the projection behind `conn`; a key the projection
/// has never seen is on hand 0.
pub fn projection_rows(
    conn: &Connection,
    keys: &BTreeSet<StockKey>,
) -> Result<Vec<(StockKey, i64)>, ProjectionError> {
    let mut statement = conn.prepare_cached(
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

/// The checksum of the keys `events` touch, over the projection behind `conn`: what the
/// server sends with a pulled page, and what a device computes to compare with it. Run it
/// inside one read transaction so the keys and quantities come from the same snapshot.
pub fn page_checksum<'e>(
    conn: &Connection,
    events: impl IntoIterator<Item = &'e Event>,
) -> Result<String, ProjectionError> {
    let keys = page_keys(conn, events)?;
    Ok(stock_checksum(&projection_rows(conn, &keys)?))
}
