//! aisle-app's integration tests: the floor actions over a real store file, as the
//! desktop screens drive them.

mod claims;
mod floor;
mod lockout;
mod manager;
mod requests;
mod resolve;
mod review;
mod session;

use aisle_app::Floor;
use aisle_core::ids::{DeviceId, ItemId, LocationId, PickListId, UserId, WarehouseId};
use aisle_core::stock::CountTolerance;
use aisle_core::testkit::{tenant, warehouse};
use aisle_store::master::{Barcode, Item, Location, PickLine, PickList, PinHash, Role, User};
use aisle_store::{Profile, Store};

/// A receipt of `qty` bolts (not lot-tracked) at A-01, the most common first step of a story.
pub fn bolts_at_a(site: &Site, qty: i64) -> aisle_app::views::ReceiveArgs {
    aisle_app::views::ReceiveArgs {
        location: site.bin_a,
        item: site.bolt,
        lot: None,
        expiry: None,
        qty,
        receipt: None,
    }
}

/// A small warehouse: two locations, a lot-tracked item with an EAN-13 and a case GTIN,
/// a picker and a manager, and one pick list.
#[allow(missing_debug_implementations)]
pub struct Site {
    pub _dir: tempfile::TempDir,
    pub floor: Floor,
    pub bin_a: LocationId,
    pub bin_b: LocationId,
    pub widget: ItemId,
    pub bolt: ItemId,
    pub pick_list: PickListId,
}

/// The key the tests' store files are encrypted with.
pub fn store_key() -> aisle_store::StoreKey {
    aisle_store::StoreKey::from_bytes([0x3c; 32])
}

pub const NOW: u64 = 1_790_000_000_000;
pub const PICKER_PIN: &str = "4711";
pub const MANAGER_PIN: &str = "909090";

pub fn site() -> Site {
    let dir = tempfile::tempdir().expect("tempdir");
    let profile = Profile {
        tenant: tenant(),
        warehouse: warehouse(),
    };
    let path = profile.database_path(dir.path());
    let mut store = Store::open(&path, profile, &store_key()).expect("open store");
    seed(&mut store, warehouse());
    drop(store);
    let floor = Floor::open(&path, profile, &store_key(), DeviceId::new_v7(1, [7; 10]))
        .expect("open floor");
    Site {
        _dir: dir,
        floor,
        bin_a: LocationId::new_v7(1, [1; 10]),
        bin_b: LocationId::new_v7(1, [2; 10]),
        widget: ItemId::new_v7(1, [3; 10]),
        bolt: ItemId::new_v7(1, [4; 10]),
        pick_list: PickListId::new_v7(1, [5; 10]),
    }
}

fn seed(store: &mut Store, warehouse: WarehouseId) {
    store
        .upsert_warehouse(
            warehouse,
            "north",
            CountTolerance {
                abs_qty: 1,
                pct_bp: 0,
            },
        )
        .expect("warehouse");
    for (n, code, walk_order) in [(1u8, "A-01", 20), (2, "B-07", 10)] {
        store
            .upsert_location(&Location {
                id: LocationId::new_v7(1, [n; 10]),
                warehouse,
                code: code.into(),
                name: format!("bin {code}"),
                walk_order,
            })
            .expect("location");
    }
    store
        .upsert_item(&Item {
            id: ItemId::new_v7(1, [3; 10]),
            sku: "WID-1".into(),
            name: "Widget".into(),
            base_unit: "each".into(),
            lot_tracked: true,
            barcodes: vec![
                Barcode {
                    code: "5901234123457".into(),
                    pack_qty: 1,
                },
                Barcode {
                    code: "15901234123454".into(),
                    pack_qty: 12,
                },
            ],
        })
        .expect("item");
    store
        .upsert_item(&Item {
            id: ItemId::new_v7(1, [4; 10]),
            sku: "BOLT-M6".into(),
            name: "Bolt M6".into(),
            base_unit: "each".into(),
            lot_tracked: false,
            barcodes: vec![Barcode {
                code: "4006381333931".into(),
                pack_qty: 1,
            }],
        })
        .expect("item");
    for (n, badge, role, pin) in [
        (1u8, "U-0042", Role::Picker, PICKER_PIN),
        (2, "U-0001", Role::Manager, MANAGER_PIN),
    ] {
        store
            .upsert_user(
                &User {
                    id: UserId::new_v7(1, [10 + n; 10]),
                    name: if n == 1 { "Ana".into() } else { "Max".into() },
                    badge: badge.into(),
                    role,
                    active: true,
                },
                &PinHash::new(pin).expect("hash"),
            )
            .expect("user");
    }
    store
        .upsert_pick_list(&PickList {
            id: PickListId::new_v7(1, [5; 10]),
            warehouse,
            reference: "SO-1001".into(),
            status: "open".into(),
            lines: vec![
                PickLine {
                    line: 1,
                    item: ItemId::new_v7(1, [3; 10]),
                    location: LocationId::new_v7(1, [1; 10]),
                    lot: None,
                    qty: 2,
                },
                PickLine {
                    line: 2,
                    item: ItemId::new_v7(1, [4; 10]),
                    location: LocationId::new_v7(1, [2; 10]),
                    lot: None,
                    qty: 3,
                },
            ],
        })
        .expect("pick list");
}
