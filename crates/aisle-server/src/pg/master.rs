//! Master data in a tenant's PostgreSQL database (`migrations/cloud/pg/tenant/
//! 0002_master_data.sql`): the same operations as [`crate::master`] on SQLite, with the same
//! results, on a [`PgTx`] the caller opens and settles.
//!
//! What a record alone can tell is checked by [`crate::master`]'s own checks, and the types
//! (records, [`Upsert`], [`crate::master::ChangesPage`]) are that module's; only the SQL is
//! here. Writes: [`upsert_items`], [`upsert_locations`], [`upsert_users`],
//! [`upsert_pick_lists`] and [`set_pin_policy`]; reads: [`changes`](changes::changes),
//! [`pin_policy`] and [`tenant_stock`](changes::tenant_stock).
//!
//! Versions commit in order. On SQLite one writer commits at a time. On PostgreSQL two
//! transactions could take versions 101 and 102 and commit in the other order, and a device
//! that pulled after 102 would never see 101. So a batch first takes the tenant's push lock
//! (`pg_advisory_xact_lock(PUSH_LOCK)`, the lock a push takes), then bumps the version: the
//! next writer waits until this one has committed or rolled back.
//!
//! A batch is written whole or not at all, as on SQLite, but here the caller owns the
//! transaction: [`settle`] commits it when every record was accepted and rolls it back
//! otherwise.

mod changes;

pub use changes::{changes, tenant_stock};

use crate::error::ServerError;
use crate::master::{
    barcode_taken, check_item, check_location, check_pick_line, check_pick_list, check_user,
    new_uuid, pin_policy_of, unknown_location, unknown_sku, NewItem, NewLocation, NewPickList,
    NewUser, RecordError, Upsert, Upserted,
};
use crate::pg::PUSH_LOCK;
use aisle_pg::PgTx;
use aisle_pin::PinPolicy;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// Commits `tx` when `upsert` wrote its whole batch, and rolls it back when a record was
/// refused (or the database failed), so a refused batch leaves nothing behind.
pub fn settle(tx: PgTx<'_>, upsert: Result<Upsert, ServerError>) -> Result<Upsert, ServerError> {
    match upsert {
        Ok(Ok(upserted)) => {
            tx.commit()?;
            Ok(Ok(upserted))
        }
        Ok(Err(refused)) => {
            tx.rollback()?;
            Ok(Err(refused))
        }
        Err(error) => {
            // The transaction is dropped, which rolls it back; the first error is the one
            // worth reporting.
            drop(tx);
            Err(error)
        }
    }
}

fn next_version(tx: &PgTx<'_>) -> Result<i64, ServerError> {
    Ok(tx
        .query_one(
            "UPDATE master_version SET version = version + 1 WHERE id = 1 RETURNING version",
            &[],
        )?
        .get(0))
}

/// Runs `write` over every record after taking the push lock, each record with the next
/// master version. Stops at the first refused record; the caller then rolls back ([`settle`]).
fn batch<T>(
    tx: &PgTx<'_>,
    records: &[T],
    mut write: impl FnMut(&PgTx<'_>, usize, &T, i64) -> Result<Result<(), RecordError>, ServerError>,
) -> Result<Upsert, ServerError> {
    tx.advisory_lock(PUSH_LOCK)?;
    crate::pg::moving::check_writable(tx)?;
    let mut version = 0;
    for (record_idx, record) in records.iter().enumerate() {
        version = next_version(tx)?;
        if let Err(refused) = write(tx, record_idx, record, version)? {
            return Ok(Err(refused));
        }
    }
    if records.is_empty() {
        version = tx
            .query_one("SELECT version FROM master_version WHERE id = 1", &[])?
            .get(0);
    }
    Ok(Ok(Upserted {
        n_records: records.len(),
        version: version as u64,
    }))
}

/// Upserts items by SKU (see [`crate::master::upsert_items`]); the caller [`settle`]s `tx`.
///
/// Four statements per item, however many barcodes it has: the barcodes other items own,
/// the item (its id kept when the sku is known), and its barcodes replaced.
pub fn upsert_items(tx: &PgTx<'_>, items: &[NewItem], now_ms: i64) -> Result<Upsert, ServerError> {
    batch(tx, items, |tx, record_idx, item, version| {
        if let Err(refused) = check_item(record_idx, item) {
            return Ok(Err(refused));
        }
        let codes: Vec<&str> = item.barcodes.iter().map(|b| b.code.as_str()).collect();
        let pack_qtys: Vec<i64> = item.barcodes.iter().map(|b| b.pack_qty).collect();
        if !codes.is_empty() {
            let owners: HashMap<String, String> = tx
                .query(
                    "SELECT b.barcode, i.sku FROM item_barcodes b JOIN items i ON i.id = b.item
                     WHERE b.barcode = ANY($1) AND i.sku <> $2",
                    &[&codes, &item.sku],
                )?
                .iter()
                .map(|row| (row.get(0), row.get(1)))
                .collect();
            // The first of the item's barcodes, in its order, that another item owns.
            if let Some((code, owner)) = codes
                .iter()
                .find_map(|code| owners.get(*code).map(|owner| (code, owner)))
            {
                return Ok(Err(barcode_taken(record_idx, code, owner)));
            }
        }
        let id: Uuid = tx
            .query_one(
                "INSERT INTO items (id, sku, name, base_unit, lot_tracked, version)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (sku) DO UPDATE SET name = excluded.name,
                   base_unit = excluded.base_unit, lot_tracked = excluded.lot_tracked,
                   version = excluded.version
                 RETURNING id",
                &[
                    &new_uuid(now_ms),
                    &item.sku,
                    &item.name,
                    &item.base_unit,
                    &item.lot_tracked,
                    &version,
                ],
            )?
            .get(0);
        tx.execute("DELETE FROM item_barcodes WHERE item = $1", &[&id])?;
        if !codes.is_empty() {
            tx.execute(
                "INSERT INTO item_barcodes (barcode, item, pack_qty)
                 SELECT code, $2, pack_qty FROM unnest($1::text[], $3::bigint[]) AS b (code, pack_qty)",
                &[&codes, &id, &pack_qtys],
            )?;
        }
        Ok(Ok(()))
    })
}

/// Upserts locations by warehouse and code; the caller [`settle`]s `tx`.
pub fn upsert_locations(
    tx: &PgTx<'_>,
    locations: &[NewLocation],
    now_ms: i64,
) -> Result<Upsert, ServerError> {
    batch(tx, locations, |tx, record_idx, location, version| {
        if let Err(refused) = check_location(record_idx, location) {
            return Ok(Err(refused));
        }
        tx.execute(
            "INSERT INTO locations (id, warehouse, code, name, walk_order, version)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (warehouse, code) DO UPDATE SET name = excluded.name,
               walk_order = excluded.walk_order, version = excluded.version",
            &[
                &new_uuid(now_ms),
                location.warehouse.as_uuid(),
                &location.code,
                &location.name,
                &location.walk_order,
                &version,
            ],
        )?;
        Ok(Ok(()))
    })
}

/// Upserts users by badge, with the warehouses they work in; the caller [`settle`]s `tx`.
pub fn upsert_users(tx: &PgTx<'_>, users: &[NewUser], now_ms: i64) -> Result<Upsert, ServerError> {
    batch(tx, users, |tx, record_idx, user, version| {
        if let Err(refused) = check_user(record_idx, user) {
            return Ok(Err(refused));
        }
        let id: Uuid = tx
            .query_one(
                "INSERT INTO users (id, badge, name, role, pin_hash, active, version)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (badge) DO UPDATE SET name = excluded.name, role = excluded.role,
                   pin_hash = excluded.pin_hash, active = excluded.active,
                   version = excluded.version
                 RETURNING id",
                &[
                    &new_uuid(now_ms),
                    &user.badge,
                    &user.name,
                    &user.role.as_str(),
                    &user.pin_hash.as_phc(),
                    &user.active,
                    &version,
                ],
            )?
            .get(0);
        // Every warehouse the user was in keeps its row, so its devices pull the user again
        // (now inactive there) at this new version; the named ones are members.
        tx.execute(
            "UPDATE user_warehouses SET member = false WHERE user_id = $1",
            &[&id],
        )?;
        for warehouse in &user.warehouses {
            tx.execute(
                "INSERT INTO user_warehouses (user_id, warehouse, member) VALUES ($1, $2, true)
                 ON CONFLICT (warehouse, user_id) DO UPDATE SET member = true",
                &[&id, warehouse.as_uuid()],
            )?;
        }
        Ok(Ok(()))
    })
}

/// Upserts pick lists with all their lines by warehouse and reference; the caller
/// [`settle`]s `tx`.
pub fn upsert_pick_lists(
    tx: &PgTx<'_>,
    lists: &[NewPickList],
    now_ms: i64,
) -> Result<Upsert, ServerError> {
    batch(tx, lists, |tx, record_idx, list, version| {
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
            let item = tx.query_opt("SELECT id FROM items WHERE sku = $1", &[&line.sku])?;
            let Some(item) = item.map(|row| row.get::<_, Uuid>(0)) else {
                return Ok(Err(unknown_sku(record_idx, line_idx, line)));
            };
            let location = tx.query_opt(
                "SELECT id FROM locations WHERE warehouse = $1 AND code = $2",
                &[list.warehouse.as_uuid(), &line.location],
            )?;
            let Some(location) = location.map(|row| row.get::<_, Uuid>(0)) else {
                return Ok(Err(unknown_location(record_idx, line_idx, line)));
            };
            resolved.push((line, item, location));
        }
        let existing: Option<Uuid> = tx
            .query_opt(
                "SELECT id FROM pick_lists WHERE warehouse = $1 AND reference = $2",
                &[list.warehouse.as_uuid(), &list.reference],
            )?
            .map(|row| row.get(0));
        let id = existing.unwrap_or_else(|| new_uuid(now_ms));
        tx.execute(
            "INSERT INTO pick_lists (id, warehouse, reference, status, version)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (id) DO UPDATE SET status = excluded.status, version = excluded.version",
            &[
                &id,
                list.warehouse.as_uuid(),
                &list.reference,
                &list.status.as_str(),
                &version,
            ],
        )?;
        tx.execute("DELETE FROM pick_lines WHERE pick_list = $1", &[&id])?;
        for (line, item, location) in resolved {
            tx.execute(
                "INSERT INTO pick_lines (pick_list, line, item, location, lot, qty)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    &id,
                    &i64::from(line.line),
                    &item,
                    &location,
                    &line.lot,
                    &line.qty,
                ],
            )?;
        }
        Ok(Ok(()))
    })
}

/// Upserts expected receipts by warehouse and reference; a receipt's lines replace its
/// earlier ones (`crate::master::upsert_expected_receipts` on SQLite).
pub fn upsert_expected_receipts(
    tx: &PgTx<'_>,
    receipts: &[crate::master::NewExpectedReceipt],
    now_ms: i64,
) -> Result<Upsert, ServerError> {
    batch(tx, receipts, |tx, record_idx, receipt, version| {
        if let Err(refused) = crate::master::check_expected_receipt(record_idx, receipt) {
            return Ok(Err(refused));
        }
        let mut items = Vec::with_capacity(receipt.lines.len());
        for (line_idx, line) in receipt.lines.iter().enumerate() {
            let item = tx.query_opt("SELECT id FROM items WHERE sku = $1", &[&line.sku])?;
            let Some(item) = item.map(|row| row.get::<_, Uuid>(0)) else {
                return Ok(Err(crate::master::unknown_expected_sku(
                    record_idx, line_idx, line,
                )));
            };
            items.push(item);
        }
        let existing: Option<Uuid> = tx
            .query_opt(
                "SELECT id FROM expected_receipts WHERE warehouse = $1 AND reference = $2",
                &[receipt.warehouse.as_uuid(), &receipt.reference],
            )?
            .map(|row| row.get(0));
        let id = existing.unwrap_or_else(|| new_uuid(now_ms));
        let status = if receipt.closed { "closed" } else { "open" };
        tx.execute(
            "INSERT INTO expected_receipts (id, warehouse, reference, supplier, status, version)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (id) DO UPDATE SET supplier = excluded.supplier,
               status = excluded.status, version = excluded.version",
            &[
                &id,
                receipt.warehouse.as_uuid(),
                &receipt.reference,
                &receipt.supplier,
                &status,
                &version,
            ],
        )?;
        tx.execute("DELETE FROM expected_lines WHERE receipt = $1", &[&id])?;
        for (line, item) in receipt.lines.iter().zip(items) {
            tx.execute(
                "INSERT INTO expected_lines (receipt, line, item, lot, qty)
                 VALUES ($1, $2, $3, $4, $5)",
                &[&id, &i64::from(line.line), &item, &line.lot, &line.qty],
            )?;
        }
        Ok(Ok(()))
    })
}

/// The tenant's PIN policy (the default one until an operator sets another).
pub fn pin_policy(tx: &PgTx<'_>) -> Result<PinPolicy, ServerError> {
    let row = tx.query_one(
        "SELECT picker_min_digits, manager_min_digits FROM pin_policy WHERE id = 1",
        &[],
    )?;
    let (picker, manager): (i32, i32) = (row.get(0), row.get(1));
    Ok(pin_policy_of(i64::from(picker), i64::from(manager)))
}

/// Sets the tenant's PIN policy; it reaches devices with their next master-data pull. The
/// caller commits `tx`.
pub fn set_pin_policy(tx: &PgTx<'_>, policy: PinPolicy) -> Result<(), ServerError> {
    // Under the push lock and refused while the tenant moves, so a move's final copy has it.
    tx.advisory_lock(PUSH_LOCK)?;
    crate::pg::moving::check_writable(tx)?;
    tx.execute(
        "UPDATE pin_policy SET picker_min_digits = $1, manager_min_digits = $2 WHERE id = 1",
        &[
            &i32::from(policy.picker_min_digits),
            &i32::from(policy.manager_min_digits),
        ],
    )?;
    Ok(())
}
