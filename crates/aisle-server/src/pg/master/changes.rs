//! Master-data reads on PostgreSQL: a device's page of changes ([`changes`], the same pages
//! as [`crate::master::changes`]) and the tenant's stock for the ERP ([`tenant_stock`]).

use crate::error::ServerError;
use crate::master::ChangesPage;
use aisle_core::ids::{ItemId, LocationId, PickListId, UserId, WarehouseId};
use aisle_pg::{PgTx, Row};
use aisle_protocol::{
    ErpStockRow, MasterBarcode, MasterItem, MasterLocation, MasterPickLine, MasterPickList,
    MasterUser,
};
use std::collections::BTreeSet;
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
    let (pick_lists, named) = changed_pick_lists(tx, window)?;
    Ok(ChangesPage {
        items: changed_items(tx, window, named.items)?,
        locations: changed_locations(tx, window, named.locations)?,
        users: changed_users(tx, window)?,
        pick_lists,
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
           ) AS changed ORDER BY version LIMIT $3
         ) AS page",
        &[&after, &warehouse, &i64::from(limit)],
    )?;
    Ok(row.get(0))
}

/// The warehouse's pick lists changed in `window`, with all their lines, and the items and
/// locations those lines name.
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
    let mut lists = Vec::with_capacity(heads.len());
    for head in heads {
        let id: Uuid = head.get(0);
        let mut list = MasterPickList {
            id: PickListId::from_uuid(id),
            warehouse: WarehouseId::from_uuid(head.get(1)),
            reference: head.get(2),
            status: head.get(3),
            lines: Vec::new(),
            version: version_at(&head, 4),
        };
        let lines = tx.query(
            "SELECT line, item, location, lot, qty FROM pick_lines
             WHERE pick_list = $1 ORDER BY line",
            &[&id],
        )?;
        for line in lines {
            let (item, location): (Uuid, Uuid) = (line.get(1), line.get(2));
            named.items.insert(item);
            named.locations.insert(location);
            let number: i64 = line.get(0);
            list.lines.push(MasterPickLine {
                // Lines are written from a u32 and checked positive.
                line: u32::try_from(number).map_err(|_| {
                    ServerError::Invalid(format!("pick line number {number} is out of range"))
                })?,
                item: ItemId::from_uuid(item),
                location: LocationId::from_uuid(location),
                lot: line.get(3),
                qty: line.get(4),
            });
        }
        lists.push(list);
    }
    Ok((lists, named))
}

/// The tenant's items changed in `window`, in version order, then the `named` ones not among
/// them, with their barcodes.
fn changed_items(
    tx: &PgTx<'_>,
    window: Window,
    mut named: BTreeSet<Uuid>,
) -> Result<Vec<MasterItem>, ServerError> {
    let mut item_ids: Vec<Uuid> = tx
        .query(
            "SELECT id FROM items WHERE version > $1 AND version <= $2 ORDER BY version",
            &[&window.after, &window.upto],
        )?
        .iter()
        .map(|row| row.get(0))
        .collect();
    for id in &item_ids {
        named.remove(id);
    }
    item_ids.extend(named);
    let mut items = Vec::with_capacity(item_ids.len());
    for id in item_ids {
        let row = tx.query_one(
            "SELECT id, sku, name, base_unit, lot_tracked, version FROM items WHERE id = $1",
            &[&id],
        )?;
        let barcodes = tx.query(
            "SELECT barcode, pack_qty FROM item_barcodes WHERE item = $1 ORDER BY barcode",
            &[&id],
        )?;
        items.push(MasterItem {
            id: ItemId::from_uuid(row.get(0)),
            sku: row.get(1),
            name: row.get(2),
            base_unit: row.get(3),
            lot_tracked: row.get(4),
            barcodes: barcodes
                .iter()
                .map(|barcode| MasterBarcode {
                    code: barcode.get(0),
                    pack_qty: barcode.get(1),
                })
                .collect(),
            version: version_at(&row, 5),
        });
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
/// not among them.
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
    for id in named {
        let row = tx.query_one(
            "SELECT id, warehouse, code, name, walk_order, version FROM locations WHERE id = $1",
            &[&id],
        )?;
        locations.push(location_at(&row));
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
