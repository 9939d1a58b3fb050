//! Master data from `GET /v1/t/{tenant}/master?after=` (its shapes are
//! `aisle_protocol::master`): applying a page to the device store (items, locations, users, pick lists, in that order, since pick
//! lines name items and locations).
//!
//! Upserts are idempotent, so a page is applied row by row and the master cursor moves
//! only after the whole page is in: a crash half way re-pulls the page and writes the same
//! rows again.

use crate::SyncError;
use aisle_protocol::MasterResponse;
use aisle_store::master::{Barcode, Item, Location, PickLine, PickList, PinHash, Role, User};
use aisle_store::pin::PinPolicy;
use aisle_store::Store;

fn invalid(what: String) -> SyncError {
    SyncError::Protocol(what)
}

/// Writes what a page carries whole on every page, not versioned: the warehouse's PC names
/// and the tenant's PIN policy, each only where it differs from the store. A page without
/// versioned rows brings them too (a PC enrolled since this device's master data was
/// current, a policy changed since), which is why it is not applied with [`apply_page`].
/// Whether anything changed.
pub fn apply_unversioned(store: &mut Store, page: &MasterResponse) -> Result<bool, SyncError> {
    let mut changed = false;
    for device in &page.devices {
        if store.device_name(device.id)?.as_deref() != Some(device.name.as_str()) {
            store.upsert_device_name(device.id, &device.name)?;
            changed = true;
        }
    }
    // Absent from a server older than the field, when the device keeps what it has.
    if let Some(policy) = page.pin_policy {
        let policy = PinPolicy::new(policy.picker_min_digits, policy.manager_min_digits)
            .map_err(|error| invalid(format!("bad PIN policy: {error}")))?;
        if store.pin_policy()? != policy {
            store.set_pin_policy(policy)?;
            changed = true;
        }
    }
    Ok(changed)
}

/// Writes a page into the store and then moves `cursor` to its `next`.
pub fn apply_page(store: &mut Store, page: &MasterResponse, cursor: &str) -> Result<(), SyncError> {
    apply_unversioned(store, page)?;
    for item in &page.items {
        store.upsert_item(&Item {
            id: item.id,
            sku: item.sku.clone(),
            name: item.name.clone(),
            base_unit: item.base_unit.clone(),
            lot_tracked: item.lot_tracked,
            barcodes: item
                .barcodes
                .iter()
                .map(|barcode| Barcode {
                    code: barcode.code.clone(),
                    pack_qty: barcode.pack_qty,
                })
                .collect(),
        })?;
    }
    for location in &page.locations {
        store.upsert_location(&Location {
            id: location.id,
            warehouse: location.warehouse,
            code: location.code.clone(),
            name: location.name.clone(),
            walk_order: location.walk_order,
        })?;
    }
    for user in &page.users {
        let role = user.role.parse::<Role>().map_err(|_| {
            invalid(format!(
                "user {} has the unknown role {:?}",
                user.id, user.role
            ))
        })?;
        // Only an argon2id hash is ever stored; anything else is refused by the store.
        let pin_hash = PinHash::from_phc(&user.pin_hash).map_err(aisle_store::StoreError::from)?;
        store.upsert_user(
            &User {
                id: user.id,
                name: user.name.clone(),
                badge: user.badge.clone(),
                role,
                active: user.active,
            },
            &pin_hash,
        )?;
    }
    for list in &page.pick_lists {
        store.upsert_pick_list(&PickList {
            id: list.id,
            warehouse: list.warehouse,
            reference: list.reference.clone(),
            status: list.status.clone(),
            lines: list
                .lines
                .iter()
                .map(|line| PickLine {
                    line: line.line,
                    item: line.item,
                    location: line.location,
                    lot: line.lot.clone(),
                    qty: line.qty,
                })
                .collect(),
        })?;
    }
    for receipt in &page.expected_receipts {
        store.upsert_expected_receipt(&aisle_store::master::ExpectedReceipt {
            id: receipt.id,
            warehouse: receipt.warehouse,
            reference: receipt.reference.clone(),
            supplier: receipt.supplier.clone(),
            status: receipt.status.clone(),
            lines: receipt
                .lines
                .iter()
                .map(|line| aisle_core::receipt::ExpectedLine {
                    line: line.line,
                    item: line.item,
                    lot: line.lot.clone().map(aisle_core::Lot::new),
                    qty: line.qty,
                })
                .collect(),
        })?;
    }
    store.set_cursor(cursor, &page.next.to_string())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aisle_core::testkit::{tenant, warehouse};
    use aisle_store::{Profile, StoreKey};

    fn page(active: bool, policy: serde_json::Value) -> MasterResponse {
        let hash = PinHash::new("906113").expect("hash");
        serde_json::from_value(serde_json::json!({
            "items": [], "locations": [], "pick_lists": [],
            "users": [{
                "id": "0193a5c2-7d4e-7a10-8f3b-2c9d1e0f4a55", "badge": "B-2", "name": "Bo",
                "role": "manager", "pin_hash": hash.as_phc(), "active": active, "version": 1
            }],
            "pin_policy": policy,
            "next": 1,
            "server_time_ms": 0
        }))
        .expect("a page")
    }

    /// Issue 12 §3: the tenant's PIN minimums reach the device with master data, and a
    /// user the server sends as inactive (taken out of this warehouse) can no longer sign in.
    #[test]
    fn a_page_brings_the_pin_policy_and_takes_a_moved_user_off_the_device() {
        let dir = tempfile::tempdir().expect("tempdir");
        let profile = Profile {
            tenant: tenant(),
            warehouse: warehouse(),
        };
        let mut store = Store::open(
            &profile.database_path(dir.path()),
            profile,
            &StoreKey::from_bytes([7; 32]),
        )
        .expect("open");
        let policy = serde_json::json!({ "picker_min_digits": 5, "manager_min_digits": 8 });
        apply_page(&mut store, &page(true, policy.clone()), "master").expect("apply");
        assert_eq!(
            store.pin_policy().expect("policy"),
            PinPolicy::new(5, 8).expect("policy")
        );
        assert!(store.sign_in("B-2", "906113").expect("sign in").is_some());
        apply_page(&mut store, &page(false, policy), "master").expect("apply");
        assert!(
            store.sign_in("B-2", "906113").expect("sign in").is_none(),
            "a user moved to another warehouse cannot sign in here any more"
        );
    }
}
