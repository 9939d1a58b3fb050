//! Master data on the server: items with barcodes and pack sizes, locations in walk order,
//! users with roles and argon2id PIN hashes, and pick lists, in the tenant's database
//! (`migrations/cloud/tenant/0002_master_data.sql`).
//!
//! Writers (the ERP API and the admin CLI) name rows by natural keys: an item by its SKU, a
//! location by warehouse and code, a user by badge, a pick list by warehouse and reference,
//! a pick line's item by SKU and its location by code. The server gives a row its UUID the
//! first time it sees the key. A batch is one transaction: every record is checked and
//! written, or the first bad one is reported as a [`RecordError`] and nothing is kept.
//! Every record written takes the next value of the tenant's master version, which is what
//! devices pull by ([`changes`]).
//!
//! This module works on a connection it is handed; reaching the tenant's database is
//! [`crate::storage::Storage`]'s business, with an authenticated context.

mod erp;

pub use erp::{ErpRecord, ErpUserRecord};

use crate::error::ServerError;
use aisle_core::barcode::Barcode;
use aisle_core::ids::{ItemId, LocationId, PickListId, UserId, WarehouseId};
use aisle_core::Role;
use aisle_pin::{PinHash, PinPolicy};
use aisle_protocol::{
    ErpStockRow, MasterBarcode, MasterExpectedLine, MasterExpectedReceipt, MasterItem,
    MasterLocation, MasterPickLine, MasterPickList, MasterUser,
};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior};
use std::collections::{BTreeSet, HashSet};
use uuid::Uuid;

/// An item as a writer sends it; `sku` is its key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewItem {
    pub sku: String,
    pub name: String,
    pub base_unit: String,
    pub lot_tracked: bool,
    pub barcodes: Vec<Barcode>,
}

/// A location; `(warehouse, code)` is its key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewLocation {
    pub warehouse: WarehouseId,
    pub code: String,
    pub name: String,
    pub walk_order: i64,
}

/// A user; `badge` is its key. The PIN is already hashed: there is no way to hand this
/// module a plain PIN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewUser {
    pub badge: String,
    pub name: String,
    pub role: Role,
    pub pin_hash: PinHash,
    pub active: bool,
    /// The warehouses the user works in: the only ones whose devices get the user (and
    /// their PIN hash). A warehouse left out of an upsert takes the user off its devices.
    pub warehouses: Vec<WarehouseId>,
}

/// A pick list and all its lines; `(warehouse, reference)` is its key. Upserting a list
/// replaces its lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewPickList {
    pub warehouse: WarehouseId,
    pub reference: String,
    pub status: PickStatus,
    pub lines: Vec<NewPickLine>,
}

/// A pick line, naming its item by SKU and its location by code in the list's warehouse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewPickLine {
    pub line: u32,
    pub sku: String,
    pub location: String,
    pub lot: Option<String>,
    pub qty: i64,
}

/// An expected receipt (the ERP's inbound ASN), its items named by SKU.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewExpectedReceipt {
    pub warehouse: WarehouseId,
    pub reference: String,
    pub supplier: String,
    /// The ERP closed it: devices no longer offer it.
    pub closed: bool,
    pub lines: Vec<NewExpectedLine>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewExpectedLine {
    pub line: u32,
    pub sku: String,
    pub lot: Option<String>,
    pub qty: i64,
}

/// The checks of an expected receipt that need no database, its lines' too.
pub(crate) fn check_expected_receipt(
    record_idx: usize,
    receipt: &NewExpectedReceipt,
) -> Result<(), RecordError> {
    let bounded = |field, text: &str, max: usize| {
        if text.chars().count() > max || text.chars().any(char::is_control) {
            Err(RecordError::new(
                record_idx,
                field,
                format!("at most {max} characters, without control characters"),
            ))
        } else {
            Ok(())
        }
    };
    bounded(
        "reference",
        &receipt.reference,
        crate::lengths::MAX_REFERENCE_CHARS,
    )?;
    bounded("supplier", &receipt.supplier, 200)?;
    if blank(&receipt.reference) {
        let message = "an expected receipt needs a reference".to_owned();
        return Err(RecordError::new(record_idx, "reference", message));
    }
    if receipt.lines.is_empty() {
        let message = "an expected receipt needs at least one line".to_owned();
        return Err(RecordError::new(record_idx, "lines", message));
    }
    let mut seen = HashSet::new();
    for (line_idx, line) in receipt.lines.iter().enumerate() {
        let refuse =
            |field, message| Err(RecordError::in_line(record_idx, line_idx, field, message));
        if line.line == 0 {
            return refuse("line", "line numbers start at 1".to_owned());
        }
        if !seen.insert(line.line) {
            return refuse("line", format!("line {} appears twice", line.line));
        }
        if line.qty <= 0 || line.qty > aisle_core::event::MAX_EVENT_QTY {
            return refuse(
                "qty",
                format!(
                    "must be 1 to {}, got {}",
                    aisle_core::event::MAX_EVENT_QTY,
                    line.qty
                ),
            );
        }
        if line
            .lot
            .as_ref()
            .is_some_and(|lot| lot.chars().count() > 20 || lot.chars().any(char::is_control))
        {
            return refuse("lot", "a lot is at most 20 characters".to_owned());
        }
    }
    Ok(())
}

/// The refusal of an expected line whose sku names no item.
pub(crate) fn unknown_expected_sku(
    record_idx: usize,
    line_idx: usize,
    line: &NewExpectedLine,
) -> RecordError {
    RecordError::in_line(
        record_idx,
        line_idx,
        "sku",
        format!("no item has sku {:?}", line.sku),
    )
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum PickStatus {
    #[default]
    Open,
    Done,
    Cancelled,
}

impl PickStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Done => "done",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "open" => Some(Self::Open),
            "done" => Some(Self::Done),
            "cancelled" => Some(Self::Cancelled),
            _ => None,
        }
    }
}

/// The first bad record of a batch: its index, the index of the pick line inside it (for
/// pick lists), the field at fault by its wire name, and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordError {
    pub record: usize,
    pub line: Option<usize>,
    pub field: &'static str,
    pub message: String,
}

impl RecordError {
    fn new(record: usize, field: &'static str, message: String) -> Self {
        Self {
            record,
            line: None,
            field,
            message,
        }
    }

    fn in_line(record: usize, line: usize, field: &'static str, message: String) -> Self {
        Self {
            record,
            line: Some(line),
            field,
            message,
        }
    }

    /// The error as a path into the request body, e.g.
    /// `pick_lists[2].lines[0].sku: no item has sku "X"`.
    pub fn describe(&self, collection: &str) -> String {
        let line = self
            .line
            .map(|line_idx| format!(".lines[{line_idx}]"))
            .unwrap_or_default();
        format!(
            "{collection}[{}]{line}.{}: {}",
            self.record, self.field, self.message
        )
    }
}

/// A written batch: how many records, and the master version of the last one.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Upserted {
    pub n_records: usize,
    pub version: u64,
}

/// A batch either is written whole or names its first bad record.
pub type Upsert = Result<Upserted, RecordError>;

/// A warehouse named by its id or its name, among the tenant's warehouses.
pub fn resolve_warehouse(
    warehouses: &[(WarehouseId, String)],
    id_or_name: &str,
) -> Option<WarehouseId> {
    let by_id = id_or_name.parse::<Uuid>().ok();
    warehouses
        .iter()
        .find(|(id, name)| Some(*id.as_uuid()) == by_id || name == id_or_name)
        .map(|(id, _)| *id)
}

pub(crate) fn new_uuid(now_ms: i64) -> Uuid {
    let random = crate::random_bytes::<10>();
    uuid::Builder::from_unix_timestamp_millis(now_ms.max(0) as u64, &random).into_uuid()
}

fn next_version(tx: &Transaction<'_>) -> Result<i64, ServerError> {
    Ok(tx.query_row(
        "UPDATE master_version SET version = version + 1 WHERE id = 1 RETURNING version",
        [],
        |row| row.get(0),
    )?)
}

fn blank(text: &str) -> bool {
    text.trim().is_empty()
}

// What a record alone can tell, checked the same way by every backend (SQLite here,
// PostgreSQL in `crate::pg::master`); what needs the database is each backend's upsert's.

/// The checks of an item that need no database: lengths, a sku and a base unit, and
/// barcodes that are non-empty, positive and listed once.
pub(crate) fn check_item(record_idx: usize, item: &NewItem) -> Result<(), RecordError> {
    let refuse = |field, message| Err(RecordError::new(record_idx, field, message));
    if let Err((field, message)) = crate::lengths::item(item) {
        return refuse(field, message);
    }
    if blank(&item.sku) {
        return refuse("sku", "an item needs a sku".to_owned());
    }
    if blank(&item.base_unit) {
        return refuse("base_unit", "an item needs a base unit".to_owned());
    }
    let mut seen = HashSet::new();
    for barcode in &item.barcodes {
        if blank(&barcode.code) {
            return refuse("barcodes", "a barcode is empty".to_owned());
        }
        if barcode.pack_qty <= 0 {
            return refuse(
                "barcodes",
                format!(
                    "barcode {:?} needs a positive pack size, got {}",
                    barcode.code, barcode.pack_qty
                ),
            );
        }
        if !seen.insert(barcode.code.as_str()) {
            return refuse(
                "barcodes",
                format!("barcode {:?} is listed twice", barcode.code),
            );
        }
    }
    Ok(())
}

/// The refusal of an item whose barcode `code` belongs to the item with sku `owner`.
pub(crate) fn barcode_taken(record_idx: usize, code: &str, owner: &str) -> RecordError {
    RecordError::new(
        record_idx,
        "barcodes",
        format!("barcode {code:?} belongs to item {owner:?}"),
    )
}

/// The checks of a location that need no database.
pub(crate) fn check_location(record_idx: usize, location: &NewLocation) -> Result<(), RecordError> {
    if let Err((field, message)) = crate::lengths::location(location) {
        return Err(RecordError::new(record_idx, field, message));
    }
    if blank(&location.code) {
        let message = "a location needs a code".to_owned();
        return Err(RecordError::new(record_idx, "code", message));
    }
    Ok(())
}

/// The checks of a user that need no database.
pub(crate) fn check_user(record_idx: usize, user: &NewUser) -> Result<(), RecordError> {
    if let Err((field, message)) = crate::lengths::user(user) {
        return Err(RecordError::new(record_idx, field, message));
    }
    if blank(&user.badge) {
        let message = "a user needs a badge".to_owned();
        return Err(RecordError::new(record_idx, "badge", message));
    }
    Ok(())
}

/// The checks of a pick list's head that need no database (its lines are checked one by
/// one with [`check_pick_line`], each before its item and location are looked up).
pub(crate) fn check_pick_list(record_idx: usize, list: &NewPickList) -> Result<(), RecordError> {
    if let Err((field, message)) = crate::lengths::pick_list(list) {
        return Err(RecordError::new(record_idx, field, message));
    }
    if blank(&list.reference) {
        let message = "a pick list needs a reference".to_owned();
        return Err(RecordError::new(record_idx, "reference", message));
    }
    if list.lines.is_empty() {
        let message = "a pick list needs at least one line".to_owned();
        return Err(RecordError::new(record_idx, "lines", message));
    }
    Ok(())
}

/// The checks of one pick line that need no database; `seen` holds the list's line
/// numbers checked so far.
pub(crate) fn check_pick_line(
    record_idx: usize,
    line_idx: usize,
    line: &NewPickLine,
    seen: &mut HashSet<u32>,
) -> Result<(), RecordError> {
    let refuse = |field, message| Err(RecordError::in_line(record_idx, line_idx, field, message));
    if let Err((field, message)) = crate::lengths::pick_line(line) {
        return refuse(field, message);
    }
    if line.line == 0 {
        return refuse("line", "line numbers start at 1".to_owned());
    }
    if !seen.insert(line.line) {
        return refuse("line", format!("line {} appears twice", line.line));
    }
    if line.qty <= 0 {
        return refuse("qty", format!("must be positive, got {}", line.qty));
    }
    Ok(())
}

/// The refusal of a pick line whose sku names no item.
pub(crate) fn unknown_sku(record_idx: usize, line_idx: usize, line: &NewPickLine) -> RecordError {
    let message = format!("no item has sku {:?}", line.sku);
    RecordError::in_line(record_idx, line_idx, "sku", message)
}

/// The refusal of a pick line whose location code names no location of the list's warehouse.
pub(crate) fn unknown_location(
    record_idx: usize,
    line_idx: usize,
    line: &NewPickLine,
) -> RecordError {
    let message = format!("no location {:?} in the list's warehouse", line.location);
    RecordError::in_line(record_idx, line_idx, "location", message)
}

/// The policy a tenant's stored digits make (the default one if they are out of range).
pub(crate) fn pin_policy_of(picker_min_digits: i64, manager_min_digits: i64) -> PinPolicy {
    PinPolicy::new(
        u8::try_from(picker_min_digits).unwrap_or(u8::MAX),
        u8::try_from(manager_min_digits).unwrap_or(u8::MAX),
    )
    .unwrap_or(PinPolicy::DEFAULT)
}

/// Runs `write` over every record in one immediate transaction, committing only if every
/// record was accepted. Immediate, so versions are handed out and committed in order.
fn batch<T>(
    conn: &mut Connection,
    records: &[T],
    mut write: impl FnMut(
        &Transaction<'_>,
        usize,
        &T,
        i64,
    ) -> Result<Result<(), RecordError>, ServerError>,
) -> Result<Upsert, ServerError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut version = 0;
    for (record_idx, record) in records.iter().enumerate() {
        version = next_version(&tx)?;
        if let Err(refused) = write(&tx, record_idx, record, version)? {
            // Dropping the transaction rolls every earlier record of the batch back.
            return Ok(Err(refused));
        }
    }
    if records.is_empty() {
        version = tx.query_row("SELECT version FROM master_version", [], |row| row.get(0))?;
    }
    tx.commit()?;
    Ok(Ok(Upserted {
        n_records: records.len(),
        version: version as u64,
    }))
}

pub fn upsert_items(
    conn: &mut Connection,
    items: &[NewItem],
    now_ms: i64,
) -> Result<Upsert, ServerError> {
    batch(conn, items, |tx, record_idx, item, version| {
        if let Err(refused) = check_item(record_idx, item) {
            return Ok(Err(refused));
        }
        let existing: Option<[u8; 16]> = tx
            .query_row("SELECT id FROM items WHERE sku = ?1", [&item.sku], |row| {
                row.get(0)
            })
            .optional()?;
        let id = existing.unwrap_or_else(|| *new_uuid(now_ms).as_bytes());
        for barcode in &item.barcodes {
            let owner: Option<String> = tx
                .query_row(
                    "SELECT i.sku FROM item_barcodes b JOIN items i ON i.id = b.item
                     WHERE b.barcode = ?1 AND b.item <> ?2",
                    (&barcode.code, id.as_slice()),
                    |row| row.get(0),
                )
                .optional()?;
            if let Some(owner) = owner {
                return Ok(Err(barcode_taken(record_idx, &barcode.code, &owner)));
            }
        }
        tx.execute(
            "INSERT INTO items (id, sku, name, base_unit, lot_tracked, version)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, base_unit = excluded.base_unit,
               lot_tracked = excluded.lot_tracked, version = excluded.version",
            (
                id.as_slice(),
                &item.sku,
                &item.name,
                &item.base_unit,
                item.lot_tracked,
                version,
            ),
        )?;
        tx.execute("DELETE FROM item_barcodes WHERE item = ?1", [id.as_slice()])?;
        let mut insert = tx.prepare_cached(
            "INSERT INTO item_barcodes (barcode, item, pack_qty) VALUES (?1, ?2, ?3)",
        )?;
        for barcode in &item.barcodes {
            insert.execute((&barcode.code, id.as_slice(), barcode.pack_qty))?;
        }
        Ok(Ok(()))
    })
}

pub fn upsert_locations(
    conn: &mut Connection,
    locations: &[NewLocation],
    now_ms: i64,
) -> Result<Upsert, ServerError> {
    batch(conn, locations, |tx, record_idx, location, version| {
        if let Err(refused) = check_location(record_idx, location) {
            return Ok(Err(refused));
        }
        tx.execute(
            "INSERT INTO locations (id, warehouse, code, name, walk_order, version)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (warehouse, code) DO UPDATE SET name = excluded.name,
               walk_order = excluded.walk_order, version = excluded.version",
            (
                new_uuid(now_ms).as_bytes(),
                location.warehouse.as_bytes(),
                &location.code,
                &location.name,
                location.walk_order,
                version,
            ),
        )?;
        Ok(Ok(()))
    })
}

pub fn upsert_users(
    conn: &mut Connection,
    users: &[NewUser],
    now_ms: i64,
) -> Result<Upsert, ServerError> {
    batch(conn, users, |tx, record_idx, user, version| {
        if let Err(refused) = check_user(record_idx, user) {
            return Ok(Err(refused));
        }
        let id: Vec<u8> = tx.query_row(
            "INSERT INTO users (id, badge, name, role, pin_hash, active, version)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (badge) DO UPDATE SET name = excluded.name, role = excluded.role,
               pin_hash = excluded.pin_hash, active = excluded.active, version = excluded.version
             RETURNING id",
            (
                new_uuid(now_ms).as_bytes(),
                &user.badge,
                &user.name,
                user.role.as_str(),
                user.pin_hash.as_phc(),
                user.active,
                version,
            ),
            |row| row.get(0),
        )?;
        // Every warehouse the user was in stays as a row, so its devices pull the user
        // again (now inactive there) at this new version; the named ones are members.
        tx.execute(
            "UPDATE user_warehouses SET member = 0 WHERE user = ?1",
            [&id],
        )?;
        for warehouse in &user.warehouses {
            tx.execute(
                "INSERT INTO user_warehouses (user, warehouse, member) VALUES (?1, ?2, 1)
                 ON CONFLICT (warehouse, user) DO UPDATE SET member = 1",
                (&id, warehouse.as_bytes().as_slice()),
            )?;
        }
        Ok(Ok(()))
    })
}

pub fn upsert_pick_lists(
    conn: &mut Connection,
    lists: &[NewPickList],
    now_ms: i64,
) -> Result<Upsert, ServerError> {
    batch(conn, lists, |tx, record_idx, list, version| {
        if let Err(refused) = check_pick_list(record_idx, list) {
            return Ok(Err(refused));
        }
        // Resolve and check every line before writing anything of the list.
        let mut resolved = Vec::with_capacity(list.lines.len());
        let mut seen = HashSet::new();
        for (line_idx, line) in list.lines.iter().enumerate() {
            if let Err(refused) = check_pick_line(record_idx, line_idx, line, &mut seen) {
                return Ok(Err(refused));
            }
            let item: Option<[u8; 16]> = tx
                .query_row("SELECT id FROM items WHERE sku = ?1", [&line.sku], |row| {
                    row.get(0)
                })
                .optional()?;
            let Some(item) = item else {
                return Ok(Err(unknown_sku(record_idx, line_idx, line)));
            };
            let location: Option<[u8; 16]> = tx
                .query_row(
                    "SELECT id FROM locations WHERE warehouse = ?1 AND code = ?2",
                    (list.warehouse.as_bytes(), &line.location),
                    |row| row.get(0),
                )
                .optional()?;
            let Some(location) = location else {
                return Ok(Err(unknown_location(record_idx, line_idx, line)));
            };
            resolved.push((line, item, location));
        }
        let existing: Option<[u8; 16]> = tx
            .query_row(
                "SELECT id FROM pick_lists WHERE warehouse = ?1 AND reference = ?2",
                (list.warehouse.as_bytes(), &list.reference),
                |row| row.get(0),
            )
            .optional()?;
        let id = existing.unwrap_or_else(|| *new_uuid(now_ms).as_bytes());
        tx.execute(
            "INSERT INTO pick_lists (id, warehouse, reference, status, version)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (id) DO UPDATE SET status = excluded.status, version = excluded.version",
            (
                id.as_slice(),
                list.warehouse.as_bytes(),
                &list.reference,
                list.status.as_str(),
                version,
            ),
        )?;
        tx.execute(
            "DELETE FROM pick_lines WHERE pick_list = ?1",
            [id.as_slice()],
        )?;
        let mut insert = tx.prepare_cached(
            "INSERT INTO pick_lines (pick_list, line, item, location, lot, qty)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for (line, item, location) in resolved {
            insert.execute((
                id.as_slice(),
                line.line,
                item.as_slice(),
                location.as_slice(),
                &line.lot,
                line.qty,
            ))?;
        }
        Ok(Ok(()))
    })
}

/// Upserts expected receipts by warehouse and reference; a receipt's lines replace its
/// earlier ones.
pub fn upsert_expected_receipts(
    conn: &mut Connection,
    receipts: &[NewExpectedReceipt],
    now_ms: i64,
) -> Result<Upsert, ServerError> {
    batch(conn, receipts, |tx, record_idx, receipt, version| {
        if let Err(refused) = check_expected_receipt(record_idx, receipt) {
            return Ok(Err(refused));
        }
        let mut items = Vec::with_capacity(receipt.lines.len());
        for (line_idx, line) in receipt.lines.iter().enumerate() {
            let item: Option<[u8; 16]> = tx
                .query_row("SELECT id FROM items WHERE sku = ?1", [&line.sku], |row| {
                    row.get(0)
                })
                .optional()?;
            let Some(item) = item else {
                return Ok(Err(unknown_expected_sku(record_idx, line_idx, line)));
            };
            items.push(item);
        }
        let existing: Option<[u8; 16]> = tx
            .query_row(
                "SELECT id FROM expected_receipts WHERE warehouse = ?1 AND reference = ?2",
                (receipt.warehouse.as_bytes(), &receipt.reference),
                |row| row.get(0),
            )
            .optional()?;
        let id = existing.unwrap_or_else(|| *new_uuid(now_ms).as_bytes());
        tx.execute(
            "INSERT INTO expected_receipts (id, warehouse, reference, supplier, status, version)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (id) DO UPDATE SET supplier = excluded.supplier,
               status = excluded.status, version = excluded.version",
            (
                id.as_slice(),
                receipt.warehouse.as_bytes(),
                &receipt.reference,
                &receipt.supplier,
                if receipt.closed { "closed" } else { "open" },
                version,
            ),
        )?;
        tx.execute(
            "DELETE FROM expected_lines WHERE receipt = ?1",
            [id.as_slice()],
        )?;
        let mut insert = tx.prepare_cached(
            "INSERT INTO expected_lines (receipt, line, item, lot, qty) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for (line, item) in receipt.lines.iter().zip(items) {
            insert.execute((
                id.as_slice(),
                line.line,
                item.as_slice(),
                &line.lot,
                line.qty,
            ))?;
        }
        Ok(Ok(()))
    })
}

/// The warehouse's expected receipts changed in `window`, with their lines, and the items
/// those lines name.
fn changed_expected_receipts(
    tx: &Transaction<'_>,
    window: Window<'_>,
    named: &mut Named,
) -> Result<Vec<MasterExpectedReceipt>, ServerError> {
    let mut statement = tx.prepare_cached(
        "SELECT id, warehouse, reference, supplier, status, version FROM expected_receipts
         WHERE warehouse = ?1 AND version > ?2 AND version <= ?3 ORDER BY version",
    )?;
    let heads = statement
        .query_map((window.warehouse, window.after, window.upto), |row| {
            Ok((
                row.get::<_, [u8; 16]>(0)?,
                MasterExpectedReceipt {
                    id: aisle_core::ids::ReceiptId::from_uuid(uuid_at(row, 0)?),
                    warehouse: WarehouseId::from_uuid(uuid_at(row, 1)?),
                    reference: row.get(2)?,
                    supplier: row.get(3)?,
                    status: row.get(4)?,
                    lines: Vec::new(),
                    version: row.get::<_, i64>(5)? as u64,
                },
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut lines_of = tx.prepare_cached(
        "SELECT line, item, lot, qty FROM expected_lines WHERE receipt = ?1 ORDER BY line",
    )?;
    let mut receipts = Vec::with_capacity(heads.len());
    for (id, mut receipt) in heads {
        let lines = lines_of.query_map([id.as_slice()], |row| {
            Ok((
                row.get::<_, [u8; 16]>(1)?,
                MasterExpectedLine {
                    line: row.get(0)?,
                    item: ItemId::from_uuid(uuid_at(row, 1)?),
                    lot: row.get(2)?,
                    qty: row.get(3)?,
                },
            ))
        })?;
        for line in lines {
            let (item, line) = line?;
            named.items.insert(item);
            receipt.lines.push(line);
        }
        receipts.push(receipt);
    }
    Ok(receipts)
}

/// A page of master-data changes for one device's warehouse.
#[derive(Debug, Default)]
pub struct ChangesPage {
    pub items: Vec<MasterItem>,
    pub locations: Vec<MasterLocation>,
    pub users: Vec<MasterUser>,
    pub pick_lists: Vec<MasterPickList>,
    pub expected_receipts: Vec<MasterExpectedReceipt>,
    pub next: u64,
    /// The tenant's PIN policy, whole on every page.
    pub pin_policy: PinPolicy,
}

fn uuid_at(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<Uuid> {
    Ok(Uuid::from_bytes(row.get(index)?))
}

/// The tenant's items and users, and `warehouse`'s locations and pick lists, whose version
/// is above `after`: the `limit` lowest such versions, in version order. A page also carries
/// every item and location its pick lists name, changed or not, so a device can apply each
/// page on its own even though an item may have been updated after a list that names it.
pub fn changes(
    conn: &mut Connection,
    warehouse: WarehouseId,
    after: u64,
    limit: u32,
) -> Result<ChangesPage, ServerError> {
    // One read transaction, so the page is one snapshot.
    let tx = conn.transaction()?;
    let after = i64::try_from(after).unwrap_or(i64::MAX);
    let warehouse = warehouse.as_bytes().as_slice();
    let upto = page_end(&tx, warehouse, after, limit)?;
    let pin_policy = pin_policy(&tx)?;
    let Some(upto) = upto else {
        return Ok(ChangesPage {
            next: after as u64,
            pin_policy,
            ..ChangesPage::default()
        });
    };
    let window = Window {
        warehouse,
        after,
        upto,
    };
    let (pick_lists, mut named) = changed_pick_lists(&tx, window)?;
    let expected_receipts = changed_expected_receipts(&tx, window, &mut named)?;
    Ok(ChangesPage {
        items: changed_items(&tx, window, named.items)?,
        locations: changed_locations(&tx, window, named.locations)?,
        users: changed_users(&tx, window)?,
        pick_lists,
        expected_receipts,
        next: upto as u64,
        pin_policy,
    })
}

/// The versions one page of [`changes`] covers: above `after`, up to and with `upto`, for
/// one device's warehouse (its bytes).
#[derive(Clone, Copy, Debug)]
struct Window<'a> {
    warehouse: &'a [u8],
    after: i64,
    upto: i64,
}

/// The items and locations a page's pick lists name, by id.
#[derive(Debug, Default)]
struct Named {
    items: BTreeSet<[u8; 16]>,
    locations: BTreeSet<[u8; 16]>,
}

/// The highest version among the `limit` lowest versions above `after` of every aggregate
/// a device of `warehouse` pulls; `None` when nothing changed.
fn page_end(
    tx: &Transaction<'_>,
    warehouse: &[u8],
    after: i64,
    limit: u32,
) -> Result<Option<i64>, ServerError> {
    let mut statement = tx.prepare_cached(
        "SELECT max(version) FROM (
           SELECT version FROM (
             SELECT version FROM items WHERE version > ?1
             UNION ALL SELECT u.version FROM users u
               JOIN user_warehouses w ON w.user = u.id AND w.warehouse = ?2
               WHERE u.version > ?1
             UNION ALL SELECT version FROM locations WHERE warehouse = ?2 AND version > ?1
             UNION ALL SELECT version FROM pick_lists WHERE warehouse = ?2 AND version > ?1
             UNION ALL SELECT version FROM expected_receipts WHERE warehouse = ?2 AND version > ?1
           ) ORDER BY version LIMIT ?3
         )",
    )?;
    Ok(statement.query_row((after, warehouse, limit), |row| row.get(0))?)
}

/// The warehouse's pick lists changed in `window`, with all their lines, and the items and
/// locations those lines name.
fn changed_pick_lists(
    tx: &Transaction<'_>,
    window: Window<'_>,
) -> Result<(Vec<MasterPickList>, Named), ServerError> {
    let mut statement = tx.prepare_cached(
        "SELECT id, warehouse, reference, status, version FROM pick_lists
         WHERE warehouse = ?1 AND version > ?2 AND version <= ?3 ORDER BY version",
    )?;
    let heads = statement
        .query_map((window.warehouse, window.after, window.upto), |row| {
            Ok((
                row.get::<_, [u8; 16]>(0)?,
                MasterPickList {
                    id: PickListId::from_uuid(uuid_at(row, 0)?),
                    warehouse: WarehouseId::from_uuid(uuid_at(row, 1)?),
                    reference: row.get(2)?,
                    status: row.get(3)?,
                    lines: Vec::new(),
                    version: row.get::<_, i64>(4)? as u64,
                },
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut lines_of = tx.prepare_cached(
        "SELECT line, item, location, lot, qty FROM pick_lines WHERE pick_list = ?1 ORDER BY line",
    )?;
    let mut named = Named::default();
    let mut lists = Vec::with_capacity(heads.len());
    for (id, mut list) in heads {
        let lines = lines_of.query_map([id.as_slice()], |row| {
            Ok((
                row.get::<_, [u8; 16]>(1)?,
                row.get::<_, [u8; 16]>(2)?,
                MasterPickLine {
                    line: row.get(0)?,
                    item: ItemId::from_uuid(uuid_at(row, 1)?),
                    location: LocationId::from_uuid(uuid_at(row, 2)?),
                    lot: row.get(3)?,
                    qty: row.get(4)?,
                },
            ))
        })?;
        for line in lines {
            let (item, location, line) = line?;
            named.items.insert(item);
            named.locations.insert(location);
            list.lines.push(line);
        }
        lists.push(list);
    }
    Ok((lists, named))
}

/// The tenant's items changed in `window`, in version order, then the `named` ones not among
/// them, with their barcodes.
fn changed_items(
    tx: &Transaction<'_>,
    window: Window<'_>,
    mut named: BTreeSet<[u8; 16]>,
) -> Result<Vec<MasterItem>, ServerError> {
    let mut item_ids: Vec<[u8; 16]> = {
        let mut statement = tx.prepare_cached(
            "SELECT id FROM items WHERE version > ?1 AND version <= ?2 ORDER BY version",
        )?;
        let rows = statement.query_map((window.after, window.upto), |row| row.get(0))?;
        rows.collect::<Result<_, _>>()?
    };
    let mut item_by_id = tx.prepare_cached(
        "SELECT id, sku, name, base_unit, lot_tracked, version FROM items WHERE id = ?1",
    )?;
    let mut barcodes_of = tx.prepare_cached(
        "SELECT barcode, pack_qty FROM item_barcodes WHERE item = ?1 ORDER BY barcode",
    )?;
    for id in &item_ids {
        named.remove(id);
    }
    item_ids.extend(named);
    let mut items = Vec::with_capacity(item_ids.len());
    for id in item_ids {
        let mut item = item_by_id.query_row([id.as_slice()], |row| {
            Ok(MasterItem {
                id: ItemId::from_uuid(uuid_at(row, 0)?),
                sku: row.get(1)?,
                name: row.get(2)?,
                base_unit: row.get(3)?,
                lot_tracked: row.get(4)?,
                barcodes: Vec::new(),
                version: row.get::<_, i64>(5)? as u64,
            })
        })?;
        let barcodes = barcodes_of.query_map([id.as_slice()], |row| {
            Ok(MasterBarcode {
                code: row.get(0)?,
                pack_qty: row.get(1)?,
            })
        })?;
        item.barcodes = barcodes.collect::<Result<_, _>>()?;
        items.push(item);
    }
    Ok(items)
}

/// The warehouse's locations changed in `window`, in version order, then the `named` ones
/// not among them.
fn changed_locations(
    tx: &Transaction<'_>,
    window: Window<'_>,
    mut named: BTreeSet<[u8; 16]>,
) -> Result<Vec<MasterLocation>, ServerError> {
    let location_at = |row: &rusqlite::Row<'_>| -> rusqlite::Result<MasterLocation> {
        Ok(MasterLocation {
            id: LocationId::from_uuid(uuid_at(row, 0)?),
            warehouse: WarehouseId::from_uuid(uuid_at(row, 1)?),
            code: row.get(2)?,
            name: row.get(3)?,
            walk_order: row.get(4)?,
            version: row.get::<_, i64>(5)? as u64,
        })
    };
    let mut locations = Vec::new();
    let mut statement = tx.prepare_cached(
        "SELECT id, warehouse, code, name, walk_order, version, id FROM locations
         WHERE warehouse = ?1 AND version > ?2 AND version <= ?3 ORDER BY version",
    )?;
    for location in statement.query_map((window.warehouse, window.after, window.upto), |row| {
        Ok((location_at(row)?, row.get::<_, [u8; 16]>(6)?))
    })? {
        let (location, id) = location?;
        named.remove(&id);
        locations.push(location);
    }
    let mut location_by_id = tx.prepare_cached(
        "SELECT id, warehouse, code, name, walk_order, version FROM locations WHERE id = ?1",
    )?;
    for id in named {
        locations.push(location_by_id.query_row([id.as_slice()], location_at)?);
    }
    Ok(locations)
}

/// The users of the warehouse changed in `window`. Only users of this warehouse; one taken
/// out of it comes as inactive, so the device stops signing them in.
fn changed_users(tx: &Transaction<'_>, window: Window<'_>) -> Result<Vec<MasterUser>, ServerError> {
    let mut statement = tx.prepare_cached(
        "SELECT u.id, u.badge, u.name, u.role, u.pin_hash, u.active AND w.member, u.version
         FROM users u JOIN user_warehouses w ON w.user = u.id AND w.warehouse = ?3
         WHERE u.version > ?1 AND u.version <= ?2 ORDER BY u.version",
    )?;
    let users = statement.query_map((window.after, window.upto, window.warehouse), |row| {
        Ok(MasterUser {
            id: UserId::from_uuid(uuid_at(row, 0)?),
            badge: row.get(1)?,
            name: row.get(2)?,
            role: row.get(3)?,
            pin_hash: row.get(4)?,
            active: row.get(5)?,
            version: row.get::<_, i64>(6)? as u64,
        })
    })?;
    Ok(users.collect::<Result<_, _>>()?)
}

/// The tenant's PIN policy (the default one until an operator sets another).
pub fn pin_policy(conn: &Connection) -> Result<PinPolicy, ServerError> {
    let (picker, manager): (i64, i64) = conn.query_row(
        "SELECT picker_min_digits, manager_min_digits FROM pin_policy WHERE id = 1",
        [],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    Ok(pin_policy_of(picker, manager))
}

/// Sets the tenant's PIN policy; it reaches devices with their next master-data pull.
pub fn set_pin_policy(conn: &Connection, policy: PinPolicy) -> Result<(), ServerError> {
    conn.execute(
        "UPDATE pin_policy SET picker_min_digits = ?1, manager_min_digits = ?2 WHERE id = 1",
        (policy.picker_min_digits, policy.manager_min_digits),
    )?;
    Ok(())
}

/// On-hand stock of the tenant (of one warehouse when given), with each row's SKU and
/// location code when master data knows them.
pub fn tenant_stock(
    conn: &Connection,
    warehouse: Option<WarehouseId>,
) -> Result<Vec<ErpStockRow>, ServerError> {
    let mut statement = conn.prepare_cached(
        "SELECT s.warehouse, s.location, l.code, s.item, i.sku, s.lot, coalesce(st.on_hand, 0)
         FROM stock_keys s
         LEFT JOIN key_states st USING (key_id)
         LEFT JOIN locations l ON l.id = s.location
         LEFT JOIN items i ON i.id = s.item
         WHERE ?1 IS NULL OR s.warehouse = ?1
         ORDER BY s.warehouse, l.code, s.location, i.sku, s.item, s.lot",
    )?;
    let rows = statement.query_map([warehouse.map(|id| *id.as_bytes())], |row| {
        let lot: String = row.get(5)?;
        Ok(ErpStockRow {
            warehouse: WarehouseId::from_uuid(uuid_at(row, 0)?),
            location: LocationId::from_uuid(uuid_at(row, 1)?),
            location_code: row.get(2)?,
            item: ItemId::from_uuid(uuid_at(row, 3)?),
            sku: row.get(4)?,
            lot: (!lot.is_empty()).then_some(lot),
            on_hand: row.get(6)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant_db() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut conn = Connection::open(dir.path().join("t.sqlite3")).expect("open");
        crate::migrate::configure(&conn).expect("configure");
        crate::migrate::migrate_tenant(&mut conn).expect("migrate");
        (dir, conn)
    }

    fn item(sku: &str, barcodes: &[(&str, i64)]) -> NewItem {
        NewItem {
            sku: sku.to_owned(),
            name: format!("item {sku}"),
            base_unit: "each".to_owned(),
            lot_tracked: false,
            barcodes: barcodes
                .iter()
                .map(|(code, pack_qty)| Barcode {
                    code: (*code).to_owned(),
                    pack_qty: *pack_qty,
                })
                .collect(),
        }
    }

    #[test]
    fn every_upsert_takes_the_next_version_and_keeps_the_id() {
        let (_dir, mut conn) = tenant_db();
        let warehouse = WarehouseId::new_v7(1, [1; 10]);
        let first = upsert_items(&mut conn, &[item("A", &[("111", 1)]), item("B", &[])], 1)
            .expect("db")
            .expect("valid");
        assert_eq!(
            first,
            Upserted {
                n_records: 2,
                version: 2
            }
        );
        let page = changes(&mut conn, warehouse, 0, 100).expect("pull");
        let id_of_a = page.items[0].id;
        upsert_items(&mut conn, &[item("A", &[("111", 6)])], 2)
            .expect("db")
            .expect("valid");
        let page = changes(&mut conn, warehouse, first.version, 100).expect("pull");
        assert_eq!(page.items.len(), 1, "only the changed item: {page:?}");
        assert_eq!(
            (page.items[0].id, page.items[0].version, page.next),
            (id_of_a, 3, 3),
            "an item keeps its id and takes the next version"
        );
        assert_eq!(page.items[0].barcodes[0].pack_qty, 6);
    }

    #[test]
    fn a_bad_record_rolls_back_the_whole_batch() {
        let (_dir, mut conn) = tenant_db();
        let refused = upsert_items(
            &mut conn,
            &[item("A", &[("111", 1)]), item("B", &[("111", 1)])],
            1,
        )
        .expect("db")
        .expect_err("a barcode cannot belong to two items");
        assert_eq!((refused.record, refused.field), (1, "barcodes"));
        let n_items: i64 = conn
            .query_row("SELECT count(*) FROM items", [], |row| row.get(0))
            .expect("count");
        assert_eq!(n_items, 0, "the valid first record was rolled back too");
        let version: i64 = conn
            .query_row("SELECT version FROM master_version", [], |row| row.get(0))
            .expect("version");
        assert_eq!(version, 0, "the version counter was rolled back with it");
    }

    #[test]
    fn a_page_carries_the_items_and_locations_its_pick_lists_name() {
        let (_dir, mut conn) = tenant_db();
        let warehouse = WarehouseId::new_v7(1, [1; 10]);
        upsert_items(&mut conn, &[item("A", &[])], 1)
            .expect("db")
            .expect("ok");
        let location = NewLocation {
            warehouse,
            code: "A-01".to_owned(),
            name: String::new(),
            walk_order: 1,
        };
        upsert_locations(&mut conn, &[location], 1)
            .expect("db")
            .expect("ok");
        let list = NewPickList {
            warehouse,
            reference: "SO-1".to_owned(),
            status: PickStatus::Open,
            lines: vec![NewPickLine {
                line: 1,
                sku: "A".to_owned(),
                location: "A-01".to_owned(),
                lot: None,
                qty: 2,
            }],
        };
        upsert_pick_lists(&mut conn, &[list], 1)
            .expect("db")
            .expect("ok");
        // The item changes after the list, so its version is above the list's.
        upsert_items(&mut conn, &[item("A", &[("9", 1)])], 1)
            .expect("db")
            .expect("ok");
        let page = changes(&mut conn, warehouse, 0, 1).expect("pull");
        assert_eq!(page.next, 2, "one row per page: the location at version 2");
        let page = changes(&mut conn, warehouse, 2, 1).expect("pull");
        assert_eq!(page.pick_lists.len(), 1, "the list at version 3: {page:?}");
        assert_eq!(
            (page.items.len(), page.locations.len()),
            (1, 1),
            "the list's item and location come along so the page applies on its own"
        );
    }
}
