//! Master data: barcodes with pack sizes, walk order, PIN hashes.

use crate::fresh_store;
use aisle_core::ids::UserId;
use aisle_core::stock::CountTolerance;
use aisle_core::testkit::*;
use aisle_store::master::{Barcode, Item, Location, PickLine, PickList, PinHash, Role, User};

#[test]
fn a_barcode_names_its_item_and_pack_size() {
    let (_dir, mut store) = fresh_store();
    let item = Item {
        id: item(1),
        sku: "SKU-1001".into(),
        name: "Widget".into(),
        base_unit: "each".into(),
        lot_tracked: false,
        barcodes: vec![
            Barcode {
                code: "05901234123457".into(),
                pack_qty: 1,
            },
            Barcode {
                code: "15901234123454".into(),
                pack_qty: 12,
            },
        ],
    };
    store.upsert_item(&item).expect("upsert");
    let (found, pack) = store
        .item_by_barcode("15901234123454")
        .expect("lookup")
        .expect("known barcode");
    assert_eq!(
        (found.sku.as_str(), pack),
        ("SKU-1001", 12),
        "the case barcode is 12 units"
    );
    assert!(store
        .item_by_barcode("00000000000000")
        .expect("lookup")
        .is_none());
    assert_eq!(store.item_by_sku("SKU-1001").expect("lookup"), Some(item));
}

#[test]
fn pins_are_stored_as_argon2id_and_checked() {
    let (_dir, store) = fresh_store();
    let user = User {
        id: UserId::new_v7(1, [9; 10]),
        name: "Ana".into(),
        badge: "USR-0042".into(),
        role: Role::Picker,
        active: true,
    };
    let hash = PinHash::new("4711").expect("hash");
    assert!(
        hash.as_phc().starts_with("$argon2id$"),
        "argon2id PHC string"
    );
    assert!(
        !hash.as_phc().contains("4711"),
        "the PIN itself is not in the hash"
    );
    store.upsert_user(&user, &hash).expect("upsert");
    assert_eq!(
        store.sign_in("USR-0042", "4711").expect("sign in"),
        Some(user.clone())
    );
    assert_eq!(
        store.sign_in("USR-0042", "4712").expect("sign in"),
        None,
        "wrong PIN"
    );
    assert_eq!(
        store.sign_in("USR-9999", "4711").expect("sign in"),
        None,
        "unknown badge"
    );
    assert!(PinHash::new("12").is_err(), "too short");
    assert!(PinHash::new("abcd").is_err(), "digits only");
    assert!(
        PinHash::from_phc("$2b$12$abcdefghijklmnopqrstuv").is_err(),
        "bcrypt is not accepted"
    );
}

#[test]
fn pick_lists_come_back_in_walk_order_and_tolerance_is_per_warehouse() {
    let (_dir, mut store) = fresh_store();
    for (n, walk) in [(1u16, 30), (2, 10), (3, 20)] {
        store
            .upsert_location(&Location {
                id: location(n),
                warehouse: warehouse(),
                code: format!("A-0{n}"),
                name: String::new(),
                walk_order: walk,
            })
            .expect("location");
    }
    store
        .upsert_item(&Item {
            id: item(1),
            sku: "SKU-1".into(),
            name: "x".into(),
            base_unit: "each".into(),
            lot_tracked: false,
            barcodes: vec![],
        })
        .expect("item");
    let lines = (1..=3)
        .map(|n| PickLine {
            line: n as u32,
            item: item(1),
            location: location(n),
            lot: None,
            qty: 1,
        })
        .collect();
    store
        .upsert_pick_list(&PickList {
            id: pick_list(1),
            warehouse: warehouse(),
            reference: "SO-1".into(),
            status: "open".into(),
            lines,
        })
        .expect("pick list");
    let list = store
        .pick_list(pick_list(1))
        .expect("read")
        .expect("exists");
    assert_eq!(
        list.lines.iter().map(|l| l.line).collect::<Vec<_>>(),
        vec![2, 3, 1],
        "walk order 10, 20, 30"
    );
    assert_eq!(
        store
            .location_by_code("A-02")
            .expect("lookup")
            .map(|l| l.walk_order),
        Some(10)
    );

    assert_eq!(
        store.tolerance(warehouse()).expect("default"),
        CountTolerance::default()
    );
    let tolerance = CountTolerance {
        abs_qty: 2,
        pct_bp: 500,
    };
    store
        .upsert_warehouse(warehouse(), "Main", tolerance)
        .expect("warehouse");
    assert_eq!(store.tolerance(warehouse()).expect("set"), tolerance);
}
