//! The pull checksum over this store's projection (defined in `aisle_projection::checksum`;
//! computed over SQLite by `aisle_projection::sqlite::checksum`).

pub use aisle_projection::checksum::{event_keys, stock_checksum};
pub use aisle_projection::sqlite::checksum::{page_checksum, page_keys, projection_rows};

use crate::StoreError;
use aisle_core::event::Event;
use aisle_core::stock::StockKey;
use std::collections::BTreeSet;

impl crate::Store {
    /// [`page_checksum`] over this store's projection.
    pub fn page_checksum(&self, events: &[Event]) -> Result<String, StoreError> {
        let tx = self.conn.unchecked_transaction()?;
        let checksum = page_checksum(&tx, events)?;
        tx.commit()?;
        Ok(checksum)
    }

    /// [`page_keys`] as this store's projection knows them: the keys a checksum of
    /// `events` covers, which a device re-fetches when the checksum differs.
    pub fn page_keys(&self, events: &[Event]) -> Result<BTreeSet<StockKey>, StoreError> {
        Ok(page_keys(&self.conn, events)?)
    }
}
