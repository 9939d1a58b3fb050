//! Master data: warehouses (with their count tolerance), items with barcodes and pack
//! sizes, locations in walk order, users with roles and argon2id PIN hashes, and pick lists.
//!
//! The server owns master data; the device keeps a copy so every lookup a scan needs works
//! offline. A PIN is never stored, only its argon2id hash.

use crate::names::{escape_like, first_found, NameMatch, FOUND_LIMIT};
use crate::{Store, StoreError};
use aisle_core::ids::{ItemId, LocationId, PickListId, UserId, WarehouseId};
use aisle_core::stock::CountTolerance;
use aisle_core::Lot;
use aisle_projection::sqlite::columns::uuid_at;
use rusqlite::{OptionalExtension, Row};
use serde::{Deserialize, Serialize};

/// One barcode type for the store and the server (`aisle_core::barcode`).
pub use aisle_core::barcode::Barcode;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub id: ItemId,
    pub sku: String,
    pub name: String,
    pub base_unit: String,
    pub lot_tracked: bool,
    pub barcodes: Vec<Barcode>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    pub id: LocationId,
    pub warehouse: WarehouseId,
    pub code: String,
    pub name: String,
    /// Pickers are routed through locations in ascending walk order.
    pub walk_order: i64,
}

/// One role type for every crate: the store keeps it as its word (`Role::as_str`).
pub use aisle_core::Role;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub name: String,
    pub badge: String,
    pub role: Role,
    pub active: bool,
}

pub use crate::pin::PinHash;

fn user_at(row: &Row<'_>) -> rusqlite::Result<User> {
    let role: String = row.get(3)?;
    Ok(User {
        id: UserId::from_uuid(uuid_at(row, 0)?),
        name: row.get(1)?,
        badge: row.get(2)?,
        role: role.parse::<Role>().map_err(|_| {
            rusqlite::Error::FromSqlConversionFailure(
                3,
                rusqlite::types::Type::Text,
                format!("bad role {role:?}").into(),
            )
        })?,
        active: row.get(4)?,
    })
}

fn location_at(row: &Row<'_>) -> rusqlite::Result<Location> {
    Ok(Location {
        id: LocationId::from_uuid(uuid_at(row, 0)?),
        warehouse: WarehouseId::from_uuid(uuid_at(row, 1)?),
        code: row.get(2)?,
        name: row.get(3)?,
        walk_order: row.get(4)?,
    })
}

/// A pick list and its lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PickList {
    pub id: PickListId,
    pub warehouse: WarehouseId,
    pub reference: String,
    pub status: String,
    pub lines: Vec<PickLine>,
}

/// An expected receipt (the ERP's inbound ASN) as master data has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedReceipt {
    pub id: aisle_core::ids::ReceiptId,
    pub warehouse: WarehouseId,
    pub reference: String,
    pub supplier: String,
    /// `open` or `closed`.
    pub status: String,
    pub lines: Vec<aisle_core::receipt::ExpectedLine>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PickLine {
    pub line: u32,
    pub item: ItemId,
    pub location: LocationId,
    pub lot: Option<String>,
    pub qty: i64,
}

impl Store {
    /// Sets a warehouse's name and count tolerance.
    pub fn upsert_warehouse(
        &self,
        id: WarehouseId,
        name: &str,
        tolerance: CountTolerance,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO warehouses (id, name, tolerance_abs, tolerance_bp) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, tolerance_abs = excluded.tolerance_abs,
               tolerance_bp = excluded.tolerance_bp",
            (id.as_bytes(), name, tolerance.abs_qty as i64, tolerance.pct_bp),
        )?;
        Ok(())
    }

    /// The warehouse's count tolerance; exact counts only if none is set.
    pub fn tolerance(&self, id: WarehouseId) -> Result<CountTolerance, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT tolerance_abs, tolerance_bp FROM warehouses WHERE id = ?1",
                [id.as_bytes()],
                |row| {
                    Ok(CountTolerance {
                        abs_qty: row.get::<_, i64>(0)? as u64,
                        pct_bp: row.get(1)?,
                    })
                },
            )
            .optional()?
            .unwrap_or_default())
    }

    /// Inserts or replaces an item and its barcodes, in one transaction.
    pub fn upsert_item(&mut self, item: &Item) -> Result<(), StoreError> {
        if item.sku.trim().is_empty() {
            return Err(StoreError::Invalid("an item needs a SKU".into()));
        }
        if let Some(bad) = item
            .barcodes
            .iter()
            .find(|barcode| barcode.pack_qty <= 0 || barcode.code.is_empty())
        {
            return Err(StoreError::Invalid(format!(
                "barcode {:?} needs a code and a positive pack size",
                bad.code
            )));
        }
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO items (id, sku, name, base_unit, lot_tracked) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (id) DO UPDATE SET sku = excluded.sku, name = excluded.name, base_unit = excluded.base_unit,
               lot_tracked = excluded.lot_tracked",
            (item.id.as_bytes(), &item.sku, &item.name, &item.base_unit, item.lot_tracked),
        )?;
        tx.execute(
            "DELETE FROM item_barcodes WHERE item = ?1",
            [item.id.as_bytes()],
        )?;
        for barcode in &item.barcodes {
            tx.execute(
                "INSERT INTO item_barcodes (barcode, item, pack_qty) VALUES (?1, ?2, ?3)
                 ON CONFLICT (barcode) DO UPDATE SET item = excluded.item, pack_qty = excluded.pack_qty",
                (&barcode.code, item.id.as_bytes(), barcode.pack_qty),
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    pub fn item(&self, id: ItemId) -> Result<Option<Item>, StoreError> {
        let found = self
            .conn
            .query_row(
                "SELECT sku, name, base_unit, lot_tracked FROM items WHERE id = ?1",
                [id.as_bytes()],
                |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, bool>(3)?,
                    ))
                },
            )
            .optional()?;
        let Some((sku, name, base_unit, lot_tracked)) = found else {
            return Ok(None);
        };
        let mut statement = self.conn.prepare_cached(
            "SELECT barcode, pack_qty FROM item_barcodes WHERE item = ?1 ORDER BY barcode",
        )?;
        let barcodes = statement
            .query_map([id.as_bytes()], |row| {
                Ok(Barcode {
                    code: row.get(0)?,
                    pack_qty: row.get(1)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(Some(Item {
            id,
            sku,
            name,
            base_unit,
            lot_tracked,
            barcodes,
        }))
    }

    /// The item a barcode names, and how many base units one scan of it is.
    pub fn item_by_barcode(&self, code: &str) -> Result<Option<(Item, i64)>, StoreError> {
        let found: Option<([u8; 16], i64)> = self
            .conn
            .query_row(
                "SELECT item, pack_qty FROM item_barcodes WHERE barcode = ?1",
                [code],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        let Some((id, pack_qty)) = found else {
            return Ok(None);
        };
        Ok(self
            .item(ItemId::from_uuid(uuid::Uuid::from_bytes(id)))?
            .map(|item| (item, pack_qty)))
    }

    pub fn item_by_sku(&self, sku: &str) -> Result<Option<Item>, StoreError> {
        let id: Option<[u8; 16]> = self
            .conn
            .query_row("SELECT id FROM items WHERE sku = ?1", [sku], |row| {
                row.get(0)
            })
            .optional()?;
        match id {
            Some(id) => self.item(ItemId::from_uuid(uuid::Uuid::from_bytes(id))),
            None => Ok(None),
        }
    }

    /// The item a person's typed text names by its name: the whole name ignoring case, or
    /// else part of it ignoring case (ASCII letters only, as SQLite's `LIKE` folds them).
    /// The first of these that names anything decides, so a whole name is never made
    /// ambiguous by longer names containing it.
    pub fn item_by_name(&self, text: &str) -> Result<NameMatch<Item>, StoreError> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(NameMatch::NoOne);
        }
        let mut found = self.item_ids_where("lower(name) = lower(?1)", text)?;
        if found.0.is_empty() {
            let pattern = format!("%{}%", escape_like(text));
            found = self.item_ids_where("name LIKE ?1 ESCAPE '\\'", &pattern)?;
        }
        let (found, n_found) = found;
        Ok(match NameMatch::from_found(found, n_found) {
            NameMatch::One(id) => self.item(id)?.map_or(NameMatch::NoOne, NameMatch::One),
            NameMatch::NoOne => NameMatch::NoOne,
            NameMatch::Several { names, n_found } => NameMatch::Several { names, n_found },
        })
    }

    /// The first items whose row matches `condition` on `?1`, with their names, in name
    /// order, and how many match.
    fn item_ids_where(
        &self,
        condition: &str,
        value: &str,
    ) -> Result<(Vec<(ItemId, String)>, usize), StoreError> {
        let mut statement = self.conn.prepare_cached(&format!(
            "SELECT id, name, COUNT(*) OVER () FROM items WHERE {condition}
             ORDER BY name, sku LIMIT {FOUND_LIMIT}"
        ))?;
        Ok(first_found(&mut statement, value, |row| {
            let id: [u8; 16] = row.get(0)?;
            Ok(ItemId::from_uuid(uuid::Uuid::from_bytes(id)))
        })?)
    }

    pub fn upsert_location(&self, location: &Location) -> Result<(), StoreError> {
        if location.code.trim().is_empty() {
            return Err(StoreError::Invalid("a location needs a code".into()));
        }
        self.conn.execute(
            "INSERT INTO locations (id, warehouse, code, name, walk_order) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (id) DO UPDATE SET code = excluded.code, name = excluded.name, walk_order = excluded.walk_order",
            (location.id.as_bytes(), location.warehouse.as_bytes(), &location.code, &location.name, location.walk_order),
        )?;
        Ok(())
    }

    pub fn location_by_code(&self, code: &str) -> Result<Option<Location>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, warehouse, code, name, walk_order FROM locations WHERE warehouse = ?1 AND code = ?2",
                (self.profile.warehouse.as_bytes(), code),
                location_at,
            )
            .optional()?)
    }

    /// The warehouse's locations in the order a picker walks them.
    pub fn locations_in_walk_order(&self) -> Result<Vec<Location>, StoreError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT id, warehouse, code, name, walk_order FROM locations WHERE warehouse = ?1 ORDER BY walk_order, code",
        )?;
        let rows = statement.query_map([self.profile.warehouse.as_bytes()], location_at)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn upsert_user(&self, user: &User, pin_hash: &PinHash) -> Result<(), StoreError> {
        if user.badge.trim().is_empty() {
            return Err(StoreError::Invalid("a user needs a badge".into()));
        }
        self.conn.execute(
            "INSERT INTO users (id, name, badge, role, pin_hash, active) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, badge = excluded.badge, role = excluded.role,
               pin_hash = excluded.pin_hash, active = excluded.active",
            (user.id.as_bytes(), &user.name, &user.badge, user.role.as_str(), pin_hash.as_phc(), user.active),
        )?;
        Ok(())
    }

    /// The active user with this badge, if the PIN matches. A wrong PIN and an unknown
    /// badge look the same to the caller, so a badge cannot be probed.
    pub fn sign_in(&self, badge: &str, pin: &str) -> Result<Option<User>, StoreError> {
        let found = self
            .conn
            .query_row(
                "SELECT id, name, badge, role, active, pin_hash FROM users WHERE badge = ?1 AND active = 1",
                [badge],
                |row| Ok((user_at(row)?, row.get::<_, String>(5)?)),
            )
            .optional()?;
        let Some((user, phc)) = found else {
            return Ok(None);
        };
        Ok(PinHash::from_phc(&phc)?.verify(pin).then_some(user))
    }

    /// The active user with this badge, without checking a PIN (to name whom a lock is of).
    pub fn active_user_by_badge(&self, badge: &str) -> Result<Option<User>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, name, badge, role, active FROM users WHERE badge = ?1 AND active = 1",
                [badge],
                user_at,
            )
            .optional()?)
    }

    /// Stores the name of one of the warehouse's PCs (from the server's master data).
    pub fn upsert_device_name(
        &self,
        device: aisle_core::ids::DeviceId,
        name: &str,
    ) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO device_names (id, name) VALUES (?1, ?2)
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name",
            )?
            .execute((device.as_bytes(), name))?;
        Ok(())
    }

    /// The name of a PC of the warehouse, when the server has sent it.
    pub fn device_name(
        &self,
        device: aisle_core::ids::DeviceId,
    ) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT name FROM device_names WHERE id = ?1")?
            .query_row([device.as_bytes()], |row| row.get(0))
            .optional()?)
    }

    /// A user by id, active or not (the audit trail names people who have left).
    pub fn user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, name, badge, role, active FROM users WHERE id = ?1",
                [id.as_bytes()],
                user_at,
            )
            .optional()?)
    }

    /// A location of any warehouse by id.
    pub fn location(&self, id: LocationId) -> Result<Option<Location>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, warehouse, code, name, walk_order FROM locations WHERE id = ?1",
                [id.as_bytes()],
                location_at,
            )
            .optional()?)
    }

    /// Inserts or replaces an expected receipt and all its lines, in one transaction.
    pub fn upsert_expected_receipt(&mut self, receipt: &ExpectedReceipt) -> Result<(), StoreError> {
        if let Some(bad) = receipt.lines.iter().find(|line| line.qty <= 0) {
            return Err(StoreError::Invalid(format!(
                "expected line {} needs a positive quantity",
                bad.line
            )));
        }
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO expected_receipts (id, warehouse, reference, supplier, status)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (id) DO UPDATE SET reference = excluded.reference,
               supplier = excluded.supplier, status = excluded.status",
            (
                receipt.id.as_bytes(),
                receipt.warehouse.as_bytes(),
                &receipt.reference,
                &receipt.supplier,
                &receipt.status,
            ),
        )?;
        tx.execute(
            "DELETE FROM expected_lines WHERE receipt = ?1",
            [receipt.id.as_bytes()],
        )?;
        for line in &receipt.lines {
            tx.execute(
                "INSERT INTO expected_lines (receipt, line, item, lot, qty) VALUES (?1, ?2, ?3, ?4, ?5)",
                (
                    receipt.id.as_bytes(),
                    line.line,
                    line.item.as_bytes(),
                    line.lot.as_ref().map(Lot::as_str),
                    line.qty,
                ),
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The open expected receipts of the store's warehouse, by reference, with their lines.
    pub fn expected_receipts(&self) -> Result<Vec<ExpectedReceipt>, StoreError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT id FROM expected_receipts WHERE warehouse = ?1 AND status = 'open'
             ORDER BY reference, id",
        )?;
        let ids = statement
            .query_map([self.profile.warehouse.as_bytes()], |row| uuid_at(row, 0))?
            .collect::<Result<Vec<_>, _>>()?;
        let mut receipts = Vec::with_capacity(ids.len());
        for id in ids {
            receipts.extend(self.expected_receipt_where("id = ?1", &id.as_bytes().to_vec())?);
        }
        Ok(receipts)
    }

    /// The store's warehouse's expected receipt with the ERP reference `reference`, open or
    /// closed.
    pub fn expected_receipt(&self, reference: &str) -> Result<Option<ExpectedReceipt>, StoreError> {
        self.expected_receipt_where("reference = ?1", &reference)
    }

    fn expected_receipt_where(
        &self,
        condition: &str,
        value: &dyn rusqlite::ToSql,
    ) -> Result<Option<ExpectedReceipt>, StoreError> {
        let head = self
            .conn
            .query_row(
                &format!(
                    "SELECT id, reference, supplier, status FROM expected_receipts
                     WHERE {condition} AND warehouse = ?2"
                ),
                rusqlite::params![value, self.profile.warehouse.as_bytes()],
                |row| {
                    Ok((
                        aisle_core::ids::ReceiptId::from_uuid(uuid_at(row, 0)?),
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, String>(3)?,
                    ))
                },
            )
            .optional()?;
        let Some((id, reference, supplier, status)) = head else {
            return Ok(None);
        };
        let mut statement = self.conn.prepare_cached(
            "SELECT line, item, lot, qty FROM expected_lines WHERE receipt = ?1 ORDER BY line",
        )?;
        let lines = statement
            .query_map([id.as_bytes()], |row| {
                Ok(aisle_core::receipt::ExpectedLine {
                    line: row.get(0)?,
                    item: ItemId::from_uuid(uuid_at(row, 1)?),
                    lot: row.get::<_, Option<String>>(2)?.map(Lot::new),
                    qty: row.get(3)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(ExpectedReceipt {
            id,
            warehouse: self.profile.warehouse,
            reference,
            supplier,
            status,
            lines,
        }))
    }

    /// The `received` events that name the expected receipt `reference`, through the
    /// partial index of schema 11.
    pub fn received_against(&self, reference: &str) -> Result<Vec<aisle_core::Event>, StoreError> {
        self.events_where(
            "SELECT payload FROM events
             WHERE kind = 'received' AND json_extract(payload, '$.body.receipt') = ?1",
            reference,
        )
    }

    /// Inserts or replaces a pick list and all its lines, in one transaction.
    pub fn upsert_pick_list(&mut self, list: &PickList) -> Result<(), StoreError> {
        if let Some(bad) = list.lines.iter().find(|line| line.qty <= 0) {
            return Err(StoreError::Invalid(format!(
                "pick line {} needs a positive quantity",
                bad.line
            )));
        }
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO pick_lists (id, warehouse, reference, status) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (id) DO UPDATE SET reference = excluded.reference, status = excluded.status",
            (list.id.as_bytes(), list.warehouse.as_bytes(), &list.reference, &list.status),
        )?;
        tx.execute(
            "DELETE FROM pick_lines WHERE pick_list = ?1",
            [list.id.as_bytes()],
        )?;
        for line in &list.lines {
            tx.execute(
                "INSERT INTO pick_lines (pick_list, line, item, location, lot, qty) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                (list.id.as_bytes(), line.line, line.item.as_bytes(), line.location.as_bytes(), &line.lot, line.qty),
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Whether the ERP's cancellation of `pick_list` is in the log. The server also marks
    /// the list `cancelled` in master data, but the event may be pulled first: either one
    /// cancels it on this PC.
    pub fn cancellation_logged(&self, pick_list: PickListId) -> Result<bool, StoreError> {
        let id = aisle_core::Event::cancellation_id(pick_list);
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM events WHERE id = ?1")?
            .exists([id.as_bytes()])?)
    }

    /// A pick list with its lines in the warehouse's walk order.
    pub fn pick_list(&self, id: PickListId) -> Result<Option<PickList>, StoreError> {
        let head = self
            .conn
            .query_row(
                "SELECT warehouse, reference, status FROM pick_lists WHERE id = ?1",
                [id.as_bytes()],
                |row| {
                    Ok((
                        WarehouseId::from_uuid(uuid_at(row, 0)?),
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                    ))
                },
            )
            .optional()?;
        let Some((warehouse, reference, mut status)) = head else {
            return Ok(None);
        };
        if status == "open" && self.cancellation_logged(id)? {
            status = "cancelled".to_owned();
        }
        let mut statement = self.conn.prepare_cached(
            "SELECT l.line, l.item, l.location, l.lot, l.qty FROM pick_lines l
             LEFT JOIN locations loc ON loc.id = l.location
             WHERE l.pick_list = ?1 ORDER BY loc.walk_order, l.line",
        )?;
        let lines = statement
            .query_map([id.as_bytes()], |row| {
                Ok(PickLine {
                    line: row.get(0)?,
                    item: ItemId::from_uuid(uuid_at(row, 1)?),
                    location: LocationId::from_uuid(uuid_at(row, 2)?),
                    lot: row.get(3)?,
                    qty: row.get(4)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(Some(PickList {
            id,
            warehouse,
            reference,
            status,
            lines,
        }))
    }
}
