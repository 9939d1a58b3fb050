//! Typed identifiers.
//!
//! Every entity is named by a UUID wrapped in its own newtype, so an `ItemId` can never be
//! passed where a `LocationId` is expected. Ids made by people and devices are UUIDv7: the
//! caller supplies the millisecond time and the random bytes, because this crate has no
//! clock or randomness of its own. Ids that the stock rules *derive* (a count task raised
//! by negative stock, say) are UUIDv8 computed from their cause, so that every replica
//! names the same task identically without talking to the others.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        /// A UUID string in the UI contract.
        #[cfg(feature = "ts")]
        impl ts_rs::TS for $name {
            type WithoutGenerics = Self;
            type OptionInnerType = Self;
            fn name(_: &ts_rs::Config) -> String {
                "string".to_owned()
            }
            fn inline(cfg: &ts_rs::Config) -> String {
                <Self as ts_rs::TS>::name(cfg)
            }
        }

        impl $name {
            /// A UUIDv7 from a Unix time in milliseconds and ten random bytes, both supplied
            /// by the caller.
            pub fn new_v7(unix_ms: u64, random: [u8; 10]) -> Self {
                Self(uuid::Builder::from_unix_timestamp_millis(unix_ms, &random).into_uuid())
            }

            /// Wraps an existing UUID, e.g. one read back from storage.
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            pub const fn as_uuid(&self) -> &Uuid {
                &self.0
            }

            /// The UUID's 16 bytes, big-endian, which sort like the id itself.
            pub const fn as_bytes(&self) -> &[u8; 16] {
                self.0.as_bytes()
            }

            /// A UUIDv8 that the rules derive from `cause`, the same on every replica.
            /// `tag` names the rule, so two rules derived from one cause get distinct ids.
            pub fn derived(tag: &str, cause: &[u8]) -> Self {
                Self(
                    uuid::Builder::from_custom_bytes(stable_hash_128(tag.as_bytes(), cause))
                        .into_uuid(),
                )
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

id_type!(
    /// A customer of the Aisle service; every other entity belongs to exactly one.
    TenantId
);
id_type!(
    /// One physical warehouse of a tenant.
    WarehouseId
);
id_type!(
    /// One enrolled warehouse PC.
    DeviceId
);
id_type!(
    /// A picker, manager or administrator.
    UserId
);
id_type!(
    /// A stock-keeping unit.
    ItemId
);
id_type!(
    /// A bin, shelf, dock door or other place that holds stock.
    LocationId
);
id_type!(
    /// One inventory event.
    EventId
);
id_type!(
    /// A pick list (one order's or one wave's worth of lines).
    PickListId
);
id_type!(
    /// A task for a person, such as "count this bin".
    TaskId
);
id_type!(
    /// An expected receipt: the ERP's advance notice of a supplier's delivery (an ASN).
    ReceiptId
);

impl DeviceId {
    /// The server's own device identity in one warehouse of a tenant: the author of the
    /// events only the server records (resolutions, see [`crate::event::Resolution`]).
    /// Derived, so every replica knows it without asking; enrolled devices have UUIDv7
    /// ids, so no device can be given it, and it has no token.
    pub fn server(tenant: TenantId, warehouse: WarehouseId) -> Self {
        Self::derived("server_device", &tenant_warehouse_bytes(tenant, warehouse))
    }
}

impl UserId {
    /// The user the server's resolutions are recorded under: nobody decided them by hand.
    pub fn server(tenant: TenantId, warehouse: WarehouseId) -> Self {
        Self::derived("server_user", &tenant_warehouse_bytes(tenant, warehouse))
    }
}

fn tenant_warehouse_bytes(tenant: TenantId, warehouse: WarehouseId) -> [u8; 32] {
    let mut bytes = [0u8; 32];
    bytes[..16].copy_from_slice(tenant.as_bytes());
    bytes[16..].copy_from_slice(warehouse.as_bytes());
    bytes
}

/// A 128-bit FNV-1a over two byte strings. It is not cryptographic; it only has to be
/// the same on every platform and in every version, which `std`'s hashers do not promise.
fn stable_hash_128(tag: &[u8], body: &[u8]) -> [u8; 16] {
    const OFFSET: u128 = 0x6c62272e07bb014262b821756295c58d;
    const PRIME: u128 = 0x0000000001000000000000000000013B;
    let mut hash = OFFSET;
    for byte in tag.iter().chain([0xffu8].iter()).chain(body.iter()) {
        hash ^= u128::from(*byte);
        hash = hash.wrapping_mul(PRIME);
    }
    hash.to_be_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_v7_is_version_7_and_sorts_by_time() {
        let early = EventId::new_v7(1_000, [1; 10]);
        let late = EventId::new_v7(2_000, [0; 10]);
        assert_eq!(
            early.as_uuid().get_version_num(),
            7,
            "ids made by devices are UUIDv7"
        );
        assert!(
            early < late,
            "v7 ids must sort by their millisecond time first"
        );
    }

    #[test]
    fn derived_ids_are_stable_and_distinct_per_tag() {
        let a = TaskId::derived("negative_stock", b"key-1");
        assert_eq!(
            a,
            TaskId::derived("negative_stock", b"key-1"),
            "same cause, same id"
        );
        assert_ne!(
            a,
            TaskId::derived("short_pick", b"key-1"),
            "the tag separates rules"
        );
        assert_ne!(
            a,
            TaskId::derived("negative_stock", b"key-2"),
            "the cause separates tasks"
        );
        assert_eq!(a.as_uuid().get_version_num(), 8, "derived ids are UUIDv8");
    }

    #[test]
    fn the_server_identity_is_per_tenant_and_warehouse_and_never_an_enrolled_one() {
        let (tenant, warehouse) = (
            TenantId::new_v7(1, [1; 10]),
            WarehouseId::new_v7(1, [2; 10]),
        );
        let server = DeviceId::server(tenant, warehouse);
        assert_eq!(
            server,
            DeviceId::server(tenant, warehouse),
            "every replica derives the same id"
        );
        assert_ne!(
            server,
            DeviceId::server(tenant, WarehouseId::new_v7(1, [3; 10])),
            "each warehouse has its own"
        );
        assert_ne!(
            server,
            DeviceId::server(TenantId::new_v7(1, [4; 10]), warehouse),
            "each tenant has its own"
        );
        assert_eq!(
            server.as_uuid().get_version_num(),
            8,
            "enrolled devices are UUIDv7, so none can be the server"
        );
        assert_ne!(
            server.as_uuid(),
            UserId::server(tenant, warehouse).as_uuid(),
            "the server's user is tagged apart from its device"
        );
    }

    #[test]
    fn ids_round_trip_through_json_and_text() {
        let id = ItemId::new_v7(1_732_000_000_000, [7; 10]);
        let json = serde_json::to_string(&id).expect("serialize");
        assert_eq!(
            json,
            format!("\"{id}\""),
            "ids are plain UUID strings on the wire"
        );
        let back: ItemId = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, id);
        assert_eq!(id.to_string().parse::<ItemId>().expect("parse"), id);
    }
}
