//! Master-data reads on PostgreSQL: a device's page of changes ([`changes`], the same pages
//! as [`crate::master::changes`]) and the tenant's stock for the ERP ([`tenant_stock`]).

use crate::error::ServerError;
use crate::master::ChangesPage;
use aisle_core::ids::{ItemId, LocationId, PickListId, UserId, WarehouseId};
use aisle_pg::{PgTx, Row};
use aisle_protocol::{
    ErpStockRow, MasterBarcode, MasterExpectedLine, MasterExpectedReceipt, MasterItem,
    MasterLocation, MasterPickLine, MasterPickList, MasterUser,
};
use std::collections::{BTreeSet, HashMap, HashSet};
use uuid::Uuid;

/// The tenant's items and users, and `warehouse`'s locations and pick lists, whose version
/// is above `after`: the `limit` lowest such versions, in version order, with every item and
/// location the page's pick lists name (see [`crate::master::changes`]).
///
/// The page is one snapshot, as on SQLite: `tx` must be fresh (no statement run yet), and
/// this makes it a read-only REPEATABLE READ transaction (`SET TRANSACTION` lasts only for
/// the transaction, so it is safe behind PgBouncer). The caller ends `tx`.
pub fn changes(
    tx: &PgTx<'_>,
    warehouse: WarehouseId,
    after: u64,
    limit: u32,
) -> Result<ChangesPage, ServerError> {
    tx.batch_execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")?;
    let after = i64::try_from(after).unwrap_or(i64::MAX);
    let warehouse = *warehouse.as_uuid();
    let upto = page_end(tx, warehouse, after, limit)?;
    let pin_policy = super::pin_policy(tx)?;
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
    let (pick_lists, mut named) = changed_pick_lists(tx, window)?;
    let expected_receipts = changed_expected_receipts(tx, window, &mut named)?;
    Ok(ChangesPage {
        items: changed_items(tx, window, named.items)?,
        locations: changed_locations(tx, window, named.locations)?,
        users: changed_users(tx, window)?,
        pick_lists,
        expected_receipts,
        next: upto as u64,
        pin_policy,
    })
}

/// The versions one page of [`changes`] covers: above `after`, up to and with `upto`, for
/// one device's warehouse.
#[derive(Clone, Copy, Debug)]
struct Window {
    warehouse: Uuid,
    after: i64,
    upto: i64,
}

/// The items and locations a page's pick lists name.
#[derive(Debug, Default)]
struct Named {
    items: BTreeSet<Uuid>,
    locations: BTreeSet<Uuid>,
}

fn version_at(row: &Row, index: usize) -> u64 {
    // Versions are written from a counter that starts at 0 and only grows.
    row.get::<_, i64>(index) as u64
}

/// The highest version among the `limit` lowest versions above `after` of every aggregate
/// a device of `warehouse` pulls; `None` when nothing changed.
fn page_end(
    tx: &PgTx<'_>,
    warehouse: Uuid,
    after: i64,
    limit: u32,
) -> Result<Option<i64>, ServerError> {
    let row = tx.query_one(
        "SELECT max(version) FROM (
           SELECT version FROM (
             SELECT version FROM items WHERE version > $1
             UNION ALL SELECT u.version FROM users u
               JOIN user_warehouses w ON w.user_id = u.id AND w.warehouse = $2
               WHERE u.version > $1
             UNION ALL SELECT version FROM locations WHERE warehouse = $2 AND version > $1
             UNION ALL SELECT version FROM pick_lists WHERE warehouse = $2 AND version > $1
             UNION ALL SELECT version FROM expected_receipts WHERE warehouse = $2 AND version > $1
           ) AS changed ORDER BY version LIMIT $3
         ) AS page",
        &[&after, &warehouse, &i64::from(limit)],
    )?;
    Ok(row.get(0))
}

/// The warehouse's pick lists changed in `window`, with all their lines, and the items and
/// locations those lines name. Two statements whatever the page's size: a page of 5,000 rows
/// costs no more round trips than one of 5.
fn changed_pick_lists(
    tx: &PgTx<'_>,
    window: Window,
) -> Result<(Vec<MasterPickList>, Named), ServerError> {
    let heads = tx.query(
        "SELECT id, warehouse, reference, status, version FROM pick_lists
         WHERE warehouse = $1 AND version > $2 AND version <= $3 ORDER BY version",
        &[&window.warehouse, &window.after, &window.upto],
    )?;
    let mut named = Named::default();
    if heads.is_empty() {
        return Ok((Vec::new(), named));
    }
    let ids: Vec<Uuid> = heads.iter().map(|head| head.get(0)).collect();
    let mut lines_of: HashMap<Uuid, Vec<MasterPickLine>> = HashMap::new();
    for line in tx.query(
        "SELECT pick_list, line, item, location, lot, qty FROM pick_lines
         WHERE pick_list = ANY($1) ORDER BY pick_list, line",
        &[&ids],
    )? {
        let (item, location): (Uuid, Uuid) = (line.get(2), line.get(3));
        named.items.insert(item);
        named.locations.insert(location);
        let number: i64 = line.get(1);
        lines_of
            .entry(line.get(0))
            .or_default()
            .push(MasterPickLine {
                // Lines are written from a u32 and checked positive.
                line: u32::try_from(number).map_err(|_| {
                    ServerError::Invalid(format!("pick line number {number} is out of range"))
                })?,
                item: ItemId::from_uuid(item),
                location: LocationId::from_uuid(location),
                lot: line.get(4),
                qty: line.get(5),
            });
    }
    let lists = heads
        .iter()
        .map(|head| {
            let id: Uuid = head.get(0);
            MasterPickList {
                id: PickListId::from_uuid(id),
                warehouse: WarehouseId::from_uuid(head.get(1)),
                reference: head.get(2),
                status: head.get(3),
                lines: lines_of.remove(&id).unwrap_or_default(),
                version: version_at(head, 4),
            }
        })
        .collect();
    Ok((lists, named))
}

/// The warehouse's expected receipts changed in `window`, with their lines, and the items
/// those lines name. Two statements whatever the page's size.
fn changed_expected_receipts(
    tx: &PgTx<'_>,
    window: Window,
    named: &mut Named,
) -> Result<Vec<MasterExpectedReceipt>, ServerError> {
    let heads = tx.query(
        "SELECT id, warehouse, reference, supplier, status, version FROM expected_receipts
         WHERE warehouse = $1 AND version > $2 AND version <= $3 ORDER BY version",
        &[&window.warehouse, &window.after, &window.upto],
    )?;
    if heads.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = heads.iter().map(|head| head.get(0)).collect();
    let mut lines_of: HashMap<Uuid, Vec<MasterExpectedLine>> = HashMap::new();
    for line in tx.query(
        "SELECT receipt, line, item, lot, qty FROM expected_lines
         WHERE receipt = ANY($1) ORDER BY receipt, line",
        &[&ids],
    )? {
        let item: Uuid = line.get(2);
        named.items.insert(item);
        let number: i64 = line.get(1);
        lines_of
            .entry(line.get(0))
            .or_default()
            .push(MasterExpectedLine {
                line: u32::try_from(number).map_err(|_| {
                    ServerError::Invalid(format!("expected line number {number} is out of range"))
                })?,
                item: ItemId::from_uuid(item),
                lot: line.get(3),
                qty: line.get(4),
            });
    }
    Ok(heads
        .iter()
        .map(|head| {
            let id: Uuid = head.get(0);
            MasterExpectedReceipt {
                id: aisle_core::ids::ReceiptId::from_uuid(id),
                warehouse: WarehouseId::from_uuid(head.get(1)),
                reference: head.get(2),
                supplier: head.get(3),
                status: head.get(4),
                lines: lines_of.remove(&id).unwrap_or_default(),
                version: version_at(head, 5),
            }
        })
        .collect())
}

/// The first of `ids` that `rows` (whose column 0 is an id) lack.
fn first_absent(ids: &[Uuid], rows: &[Row]) -> Option<Uuid> {
    if rows.len() == ids.len() {
        return None;
    }
    let found: HashSet<Uuid> = rows.iter().map(|row| row.get(0)).collect();
    ids.iter().find(|id| !found.contains(id)).copied()
}

/// The error for a row a pick line names that is not there (the foreign keys forbid it).
fn missing(what: &str, id: Uuid) -> ServerError {
    ServerError::Invalid(format!(
        "a pick line names {what} {id}, which does not exist"
    ))
}

fn item_at(row: &Row) -> MasterItem {
    MasterItem {
        id: ItemId::from_uuid(row.get(0)),
        sku: row.get(1),
        name: row.get(2),
        base_unit: row.get(3),
        lot_tracked: row.get(4),
        barcodes: Vec::new(),
        version: version_at(row, 5),
    }
}

/// The tenant's items changed in `window`, in version order, then the `named` ones not among
/// them (in id order), with their barcodes: three statements whatever the page's size.
fn changed_items(
    tx: &PgTx<'_>,
    window: Window,
    mut named: BTreeSet<Uuid>,
) -> Result<Vec<MasterItem>, ServerError> {
    let mut items: Vec<MasterItem> = tx
        .query(
            "SELECT id, sku, name, base_unit, lot_tracked, version FROM items
             WHERE version > $1 AND version <= $2 ORDER BY version",
            &[&window.after, &window.upto],
        )?
        .iter()
        .map(item_at)
        .collect();
    for item in &items {
        named.remove(item.id.as_uuid());
    }
    if !named.is_empty() {
        let named: Vec<Uuid> = named.into_iter().collect();
        let rows = tx.query(
            "SELECT id, sku, name, base_unit, lot_tracked, version FROM items
             WHERE id = ANY($1) ORDER BY id",
            &[&named],
        )?;
        if let Some(absent) = first_absent(&named, &rows) {
            return Err(missing("item", absent));
        }
        items.extend(rows.iter().map(item_at));
    }
    if items.is_empty() {
        return Ok(items);
    }
    let ids: Vec<Uuid> = items.iter().map(|item| *item.id.as_uuid()).collect();
    let mut barcodes_of: HashMap<Uuid, Vec<MasterBarcode>> = HashMap::new();
    for row in tx.query(
        "SELECT item, barcode, pack_qty FROM item_barcodes
         WHERE item = ANY($1) ORDER BY item, barcode",
        &[&ids],
    )? {
        barcodes_of
            .entry(row.get(0))
            .or_default()
            .push(MasterBarcode {
                code: row.get(1),
                pack_qty: row.get(2),
            });
    }
    for item in &mut items {
        item.barcodes = barcodes_of.remove(item.id.as_uuid()).unwrap_or_default();
    }
    Ok(items)
}

fn location_at(row: &Row) -> MasterLocation {
    MasterLocation {
        id: LocationId::from_uuid(row.get(0)),
        warehouse: WarehouseId::from_uuid(row.get(1)),
        code: row.get(2),
        name: row.get(3),
        walk_order: row.get(4),
        version: version_at(row, 5),
    }
}

/// The warehouse's locations changed in `window`, in version order, then the `named` ones
/// not among them (in id order): two statements whatever the page's size.
fn changed_locations(
    tx: &PgTx<'_>,
    window: Window,
    mut named: BTreeSet<Uuid>,
) -> Result<Vec<MasterLocation>, ServerError> {
    let mut locations = Vec::new();
    for row in tx.query(
        "SELECT id, warehouse, code, name, walk_order, version FROM locations
         WHERE warehouse = $1 AND version > $2 AND version <= $3 ORDER BY version",
        &[&window.warehouse, &window.after, &window.upto],
    )? {
        named.remove(&row.get::<_, Uuid>(0));
        locations.push(location_at(&row));
    }
    if !named.is_empty() {
        let named: Vec<Uuid> = named.into_iter().collect();
        let rows = tx.query(
            "SELECT id, warehouse, code, name, walk_order, version FROM locations
             WHERE id = ANY($1) ORDER BY id",
            &[&named],
        )?;
        if let Some(absent) = first_absent(&named, &rows) {
            return Err(missing("location", absent));
        }
        locations.extend(rows.iter().map(location_at));
    }
    Ok(locations)
}

/// The users of the warehouse changed in `window`. Only users of this warehouse; one taken
/// out of it comes as inactive, so the device stops signing them in.
fn changed_users(tx: &PgTx<'_>, window: Window) -> Result<Vec<MasterUser>, ServerError> {
    let rows = tx.query(
        "SELECT u.id, u.badge, u.name, u.role, u.pin_hash, u.active AND w.member, u.version
         FROM users u JOIN user_warehouses w ON w.user_id = u.id AND w.warehouse = $3
         WHERE u.version > $1 AND u.version <= $2 ORDER BY u.version",
        &[&window.after, &window.upto, &window.warehouse],
    )?;
    Ok(rows
        .iter()
        .map(|row| MasterUser {
            id: UserId::from_uuid(row.get(0)),
            badge: row.get(1),
            name: row.get(2),
            role: row.get(3),
            pin_hash: row.get(4),
            active: row.get(5),
            version: version_at(row, 6),
        })
        .collect())
}

/// On-hand stock of the tenant (of one warehouse when given), with each row's SKU and
/// location code when master data knows them, from the projection's `stock_keys` and
/// `key_states` (migrations/projection/pg/), in the SQLite backend's order: texts byte by
/// byte, and a key whose location or item master data does not know first (SQLite sorts
/// NULL first, PostgreSQL last unless told). The caller ends `tx`.
pub fn tenant_stock(
    tx: &PgTx<'_>,
    warehouse: Option<WarehouseId>,
) -> Result<Vec<ErpStockRow>, ServerError> {
    let rows = tx.query(
        "SELECT s.warehouse, s.location, l.code, s.item, i.sku, s.lot, coalesce(st.on_hand, 0)
         FROM stock_keys s
         LEFT JOIN key_states st USING (key_id)
         LEFT JOIN locations l ON l.id = s.location
         LEFT JOIN items i ON i.id = s.item
         WHERE $1::uuid IS NULL OR s.warehouse = $1
         ORDER BY s.warehouse, l.code COLLATE \"C\" NULLS FIRST, s.location,
                  i.sku COLLATE \"C\" NULLS FIRST, s.item, s.lot COLLATE \"C\"",
        &[&warehouse.map(|id| *id.as_uuid())],
    )?;
    Ok(rows
        .iter()
        .map(|row| {
            let lot: String = row.get(5);
            ErpStockRow {
                warehouse: WarehouseId::from_uuid(row.get(0)),
                location: LocationId::from_uuid(row.get(1)),
                location_code: row.get(2),
                item: ItemId::from_uuid(row.get(3)),
                sku: row.get(4),
                lot: (!lot.is_empty()).then_some(lot),
                on_hand: row.get(6),
            }
        })
        .collect())
}
