//! The pull checksum ([`crate::checksum`]) over a PostgreSQL projection. The definition (which
//! keys a page touches, how rows are hashed) is the crate's, shared with SQLite, so a device
//! on SQLite verifies a server's PostgreSQL checksum; this is PostgreSQL's two lookups, each
//! one statement for the whole page.

use super::ledger::key_at;
use crate::checksum::ProjectionRows;
use crate::columns::lot_to_sql;
use crate::ProjectionError;
use aisle_core::event::Event;
use aisle_core::ids::{EventId, WarehouseId};
use aisle_core::stock::StockKey;
use aisle_pg::PgTx;
use std::collections::BTreeSet;
use uuid::Uuid;

impl ProjectionRows for PgTx<'_> {
    fn count_keys(
        &self,
        counts: &[(EventId, WarehouseId)],
    ) -> Result<Vec<StockKey>, ProjectionError> {
        let counted: Vec<Uuid> = counts.iter().map(|(id, _)| *id.as_uuid()).collect();
        let warehouses: Vec<Uuid> = counts.iter().map(|(_, w)| *w.as_uuid()).collect();
        let rows = self.query(
            "SELECT k.warehouse, k.location, k.item, k.lot
             FROM unnest($1::uuid[], $2::uuid[]) AS r (counted, warehouse)
             JOIN counts c ON c.event_id = r.counted
             JOIN stock_keys k ON k.key_id = c.key_id AND k.warehouse = r.warehouse",
            &[&counted, &warehouses],
        )?;
        Ok(rows.iter().map(|row| key_at(row, 0)).collect())
    }

    fn on_hand(&self, keys: &BTreeSet<StockKey>) -> Result<Vec<(StockKey, i64)>, ProjectionError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut columns: (Vec<Uuid>, Vec<Uuid>, Vec<Uuid>, Vec<&str>) = Default::default();
        for key in keys {
            columns.0.push(*key.warehouse.as_uuid());
            columns.1.push(*key.location.as_uuid());
            columns.2.push(*key.item.as_uuid());
            columns.3.push(lot_to_sql(&key.lot));
        }
        let rows = self.query(
            "SELECT COALESCE(s.on_hand, 0)
             FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::TEXT[]) WITH ORDINALITY
                 AS q (warehouse, location, item, lot, n)
             LEFT JOIN stock_keys k ON k.warehouse = q.warehouse AND k.location = q.location
                 AND k.item = q.item AND k.lot = q.lot
             LEFT JOIN key_states s ON s.key_id = k.key_id
             ORDER BY q.n",
            &[&columns.0, &columns.1, &columns.2, &columns.3],
        )?;
        if rows.len() != keys.len() {
            return Err(ProjectionError::Corrupt(format!(
                "{} on-hand rows for {} keys",
                rows.len(),
                keys.len()
            )));
        }
        Ok(keys
            .iter()
            .zip(&rows)
            .map(|(key, row)| (key.clone(), row.get(0)))
            .collect())
    }
}

/// [`crate::checksum::page_keys`] over the projection in `tx`.
pub fn page_keys<'e>(
    tx: &PgTx<'_>,
    events: impl IntoIterator<Item = &'e Event>,
) -> Result<BTreeSet<StockKey>, ProjectionError> {
    crate::checksum::page_keys(tx, events)
}

/// The on-hand quantity of each key in the projection in `tx`; a key the projection has
/// never seen is on hand 0.
pub fn projection_rows(
    tx: &PgTx<'_>,
    keys: &BTreeSet<StockKey>,
) -> Result<Vec<(StockKey, i64)>, ProjectionError> {
    tx.on_hand(keys)
}

/// [`crate::checksum::page_checksum`] over the projection in `tx`: what a server on
/// PostgreSQL sends with a pulled page. Run it inside one transaction (REPEATABLE READ, or
/// the push lock held) so the keys and quantities come from the same snapshot.
pub fn page_checksum<'e>(
    tx: &PgTx<'_>,
    events: impl IntoIterator<Item = &'e Event>,
) -> Result<String, ProjectionError> {
    crate::checksum::page_checksum(tx, events)
}
