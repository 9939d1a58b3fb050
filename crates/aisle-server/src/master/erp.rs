//! The ERP's records as master data's domain types: `From<ErpItem> for NewItem` and
//! `TryFrom<ErpRecord<..>>` for locations, pick lists and users. A conversion checks what
//! the record alone can tell (a role, a status, a PIN against the tenant's policy, a PIN
//! hash's cost) and resolves warehouses by name or id among the key's own tenant's
//! warehouses; what needs the database (a SKU a pick line names) is [`super`]'s upsert's.
//!
//! A refusal is the [`AppError`] the ERP gets, naming the record by its path in the body
//! (`users[3].pin_hash: ...`). A PIN is never echoed in one.

use super::{resolve_warehouse, NewItem, NewLocation, NewPickLine, NewPickList};
use super::{NewUser, PickStatus};
use crate::error::AppError;
use aisle_core::ids::WarehouseId;
use aisle_core::Role;
use aisle_protocol::{ErpItem, ErpLocation, ErpPickList, ErpUser};
use aisle_store::master::{Barcode, PinHash};
use aisle_store::pin::{is_pin_shaped, PinCost, PinPolicy};

/// One record of an ERP batch with what converting it needs: its index in the batch (for
/// the error's path) and the key's tenant's warehouses.
#[derive(Debug)]
pub struct ErpRecord<'a, T> {
    pub index: usize,
    pub record: T,
    pub warehouses: &'a [(WarehouseId, String)],
}

/// An ERP user with the tenant's PIN policy, which a plain `pin` must meet.
#[derive(Debug)]
pub struct ErpUserRecord<'a> {
    pub user: ErpRecord<'a, ErpUser>,
    pub pin_policy: PinPolicy,
}

impl<'a, T> ErpRecord<'a, T> {
    /// Every record of `records` with its index, for a batch's `TryFrom` conversions.
    pub fn batch(
        records: Vec<T>,
        warehouses: &'a [(WarehouseId, String)],
    ) -> impl Iterator<Item = Self> + 'a
    where
        T: 'a,
    {
        records
            .into_iter()
            .enumerate()
            .map(move |(index, record)| Self {
                index,
                record,
                warehouses,
            })
    }
}

/// The warehouse a record names by id or name; `path` is the record's path in the body.
fn warehouse_of(
    warehouses: &[(WarehouseId, String)],
    id_or_name: &str,
    path: &str,
) -> Result<WarehouseId, AppError> {
    resolve_warehouse(warehouses, id_or_name).ok_or_else(|| {
        AppError::InvalidRecord(format!(
            "{path}.warehouse: no warehouse {id_or_name:?} in this tenant"
        ))
    })
}

impl From<ErpItem> for NewItem {
    fn from(item: ErpItem) -> Self {
        Self {
            sku: item.sku,
            name: item.name,
            base_unit: item.base_unit,
            lot_tracked: item.lot_tracked,
            barcodes: item
                .barcodes
                .into_iter()
                .map(|barcode| Barcode {
                    code: barcode.code,
                    pack_qty: barcode.pack_qty,
                })
                .collect(),
        }
    }
}

impl TryFrom<ErpRecord<'_, ErpLocation>> for NewLocation {
    type Error = AppError;

    fn try_from(erp: ErpRecord<'_, ErpLocation>) -> Result<Self, AppError> {
        let location = erp.record;
        let path = format!("locations[{}]", erp.index);
        Ok(Self {
            warehouse: warehouse_of(erp.warehouses, &location.warehouse, &path)?,
            code: location.code,
            name: location.name,
            walk_order: location.walk_order,
        })
    }
}

impl TryFrom<ErpRecord<'_, ErpPickList>> for NewPickList {
    type Error = AppError;

    fn try_from(erp: ErpRecord<'_, ErpPickList>) -> Result<Self, AppError> {
        let list = erp.record;
        let path = format!("pick_lists[{}]", erp.index);
        let status = PickStatus::parse(&list.status).ok_or_else(|| {
            AppError::InvalidRecord(format!(
                "{path}.status: {:?} is not open, done or cancelled",
                list.status
            ))
        })?;
        Ok(Self {
            warehouse: warehouse_of(erp.warehouses, &list.warehouse, &path)?,
            reference: list.reference,
            status,
            lines: list
                .lines
                .into_iter()
                .map(|line| NewPickLine {
                    line: line.line,
                    sku: line.sku,
                    location: line.location,
                    lot: line.lot.filter(|lot| !lot.is_empty()),
                    qty: line.qty,
                })
                .collect(),
        })
    }
}

impl TryFrom<ErpUserRecord<'_>> for NewUser {
    type Error = AppError;

    /// Refuses a role not known, a PIN that breaks the tenant's policy, a hash cheaper than
    /// the server's PIN cost, and a warehouse not of this tenant.
    fn try_from(erp: ErpUserRecord<'_>) -> Result<Self, AppError> {
        let ErpUserRecord {
            user:
                ErpRecord {
                    index: record_idx,
                    record: user,
                    warehouses,
                },
            pin_policy: policy,
        } = erp;
        let role = user.role.parse::<Role>().map_err(|_| {
            AppError::InvalidRecord(format!(
                "users[{record_idx}].role: {:?} is not picker, manager or admin",
                user.role
            ))
        })?;
        let elevated = matches!(role, Role::Manager | Role::Admin);
        // Warehouses before the PIN, so a bad record costs no hash at the PIN cost.
        let mut user_warehouses = Vec::with_capacity(user.warehouses.len());
        for (warehouse_idx, name) in user.warehouses.iter().enumerate() {
            user_warehouses.push(resolve_warehouse(warehouses, name).ok_or_else(|| {
                AppError::InvalidRecord(format!(
                    "users[{record_idx}].warehouses[{warehouse_idx}]: no warehouse {name:?} in this tenant"
                ))
            })?);
        }
        let pin_hash = match (user.pin.as_deref(), user.pin_hash.as_deref()) {
            (Some(pin), None) => {
                if !is_pin_shaped(pin) {
                    return Err(AppError::InvalidRecord(format!(
                        "users[{record_idx}].pin: a PIN is 4 to 12 digits"
                    )));
                }
                let min_digits = policy.min_digits_for(elevated);
                if pin.len() < usize::from(min_digits) {
                    return Err(AppError::PinTooShort(format!(
                        "users[{record_idx}].pin: a {}'s PIN needs at least {min_digits} digits in this tenant",
                        user.role
                    )));
                }
                PinHash::new(pin).map_err(|_| {
                    AppError::InvalidRecord(format!("users[{record_idx}].pin: cannot be hashed"))
                })?
            }
            (None, Some(phc)) => {
                // The value is never echoed: a plain PIN sent by mistake must not reach a log.
                let pin_hash = PinHash::from_phc(phc).map_err(|_| {
                    AppError::InvalidRecord(format!(
                        "users[{record_idx}].pin_hash: is not an argon2id PHC string"
                    ))
                })?;
                let minimum = PinCost::in_force();
                if !pin_hash.cost().is_some_and(|cost| cost.at_least(minimum)) {
                    return Err(AppError::WeakPinHash(format!(
                        "users[{record_idx}].pin_hash: argon2id cost below the minimum of m={} KiB, t={}: hash with at least these parameters or send `pin`",
                        minimum.memory_kib, minimum.iterations
                    )));
                }
                pin_hash
            }
            (Some(_), Some(_)) | (None, None) => {
                return Err(AppError::InvalidRecord(format!(
                    "users[{record_idx}]: send exactly one of `pin` and `pin_hash`"
                )))
            }
        };
        Ok(Self {
            badge: user.badge,
            name: user.name,
            role,
            pin_hash,
            active: user.active,
            warehouses: user_warehouses,
        })
    }
}
