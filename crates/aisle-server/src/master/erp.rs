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
use aisle_core::barcode::Barcode;
use aisle_core::ids::WarehouseId;
use aisle_core::Role;
use aisle_pin::PinHash;
use aisle_pin::{is_pin_shaped, PinCost, PinPolicy};
use aisle_protocol::{ErpExpectedReceipt, ErpItem, ErpLocation, ErpPickList, ErpUser};

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

impl TryFrom<ErpRecord<'_, ErpExpectedReceipt>> for crate::master::NewExpectedReceipt {
    type Error = AppError;

    fn try_from(erp: ErpRecord<'_, ErpExpectedReceipt>) -> Result<Self, AppError> {
        let receipt = erp.record;
        let path = format!("expected_receipts[{}]", erp.index);
        let closed = match receipt.status.as_str() {
            "open" => false,
            "closed" => true,
            other => {
                return Err(AppError::InvalidRecord(format!(
                    "{path}.status: {other:?} is not open or closed"
                )))
            }
        };
        Ok(Self {
            warehouse: warehouse_of(erp.warehouses, &receipt.warehouse, &path)?,
            reference: receipt.reference,
            supplier: receipt.supplier,
            closed,
            lines: receipt
                .lines
                .into_iter()
                .map(|line| crate::master::NewExpectedLine {
                    line: line.line,
                    sku: line.sku,
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

#[cfg(test)]
mod tests {
    use super::*;
    use aisle_protocol::ErpPickLine;

    fn warehouses() -> Vec<(WarehouseId, String)> {
        vec![(WarehouseId::new_v7(1, [1; 10]), "Main".to_owned())]
    }

    fn user(role: &str, pin: Option<&str>, pin_hash: Option<&str>, warehouse: &str) -> ErpUser {
        ErpUser {
            badge: "1001".to_owned(),
            name: "Pia".to_owned(),
            role: role.to_owned(),
            pin_hash: pin_hash.map(str::to_owned),
            pin: pin.map(str::to_owned),
            active: true,
            warehouses: vec![warehouse.to_owned()],
        }
    }

    fn convert(index: usize, erp: ErpUser) -> Result<NewUser, AppError> {
        let warehouses = warehouses();
        NewUser::try_from(ErpUserRecord {
            user: ErpRecord {
                index,
                record: erp,
                warehouses: &warehouses,
            },
            pin_policy: PinPolicy::DEFAULT,
        })
    }

    fn message(error: AppError) -> String {
        match error {
            AppError::InvalidRecord(message)
            | AppError::PinTooShort(message)
            | AppError::WeakPinHash(message) => message,
            other => panic!("not a record refusal: {other:?}"),
        }
    }

    #[test]
    fn a_good_user_becomes_a_new_user_in_its_warehouse() {
        let new = convert(0, user("manager", Some("123456"), None, "Main")).unwrap();
        assert_eq!(
            (new.badge.as_str(), new.role, new.warehouses),
            ("1001", Role::Manager, vec![warehouses()[0].0])
        );
        assert!(new.pin_hash.verify("123456"), "the plain PIN is hashed");
    }

    #[test]
    fn a_bad_user_is_refused_by_its_path_in_the_body() {
        let refused = |erp| message(convert(3, erp).unwrap_err());
        assert_eq!(
            refused(user("boss", Some("1234"), None, "Main")),
            "users[3].role: \"boss\" is not picker, manager or admin"
        );
        assert_eq!(
            refused(user("picker", Some("1234"), None, "Annex")),
            "users[3].warehouses[0]: no warehouse \"Annex\" in this tenant"
        );
        assert_eq!(
            refused(user("picker", Some("12a4"), None, "Main")),
            "users[3].pin: a PIN is 4 to 12 digits"
        );
        assert_eq!(
            refused(user("picker", None, None, "Main")),
            "users[3]: send exactly one of `pin` and `pin_hash`"
        );
        assert_eq!(
            refused(user("picker", None, Some("1234"), "Main")),
            "users[3].pin_hash: is not an argon2id PHC string",
            "the value sent is not echoed"
        );
        assert!(matches!(
            convert(3, user("manager", Some("1234"), None, "Main")),
            Err(AppError::PinTooShort(_))
        ));
    }

    #[test]
    fn locations_and_pick_lists_resolve_their_warehouse_or_name_the_record() {
        let warehouses = warehouses();
        let location = |warehouse: &str| ErpLocation {
            warehouse: warehouse.to_owned(),
            code: "A-01".to_owned(),
            name: String::new(),
            walk_order: 1,
        };
        let batch = ErpRecord::batch(vec![location("Main"), location("Annex")], &warehouses)
            .map(NewLocation::try_from)
            .collect::<Vec<_>>();
        assert_eq!(batch[0].as_ref().unwrap().warehouse, warehouses[0].0);
        assert_eq!(
            message(batch.into_iter().nth(1).unwrap().unwrap_err()),
            "locations[1].warehouse: no warehouse \"Annex\" in this tenant"
        );

        let list = |status: &str| ErpPickList {
            warehouse: "Main".to_owned(),
            reference: "PL-1".to_owned(),
            status: status.to_owned(),
            lines: vec![ErpPickLine {
                line: 1,
                sku: "SKU-1".to_owned(),
                location: "A-01".to_owned(),
                lot: Some(String::new()),
                qty: 2,
            }],
        };
        let new = NewPickList::try_from(ErpRecord {
            index: 0,
            record: list("done"),
            warehouses: &warehouses,
        })
        .unwrap();
        assert_eq!(
            (new.status, new.lines[0].lot.clone()),
            (PickStatus::Done, None),
            "an empty lot is no lot"
        );
        let refused = NewPickList::try_from(ErpRecord {
            index: 2,
            record: list("lost"),
            warehouses: &warehouses,
        })
        .unwrap_err();
        assert_eq!(
            message(refused),
            "pick_lists[2].status: \"lost\" is not open, done or cancelled"
        );
    }
}
