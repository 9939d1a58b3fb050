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

/// Regression: the history's user filter found a user only by the whole name, so "ana"
/// found nobody when the user is "Ana Silva".
#[test]
fn a_user_is_found_by_badge_or_part_of_the_name_and_several_are_named() {
    use aisle_store::names::NameMatch;
    let (_dir, store) = fresh_store();
    let hash = PinHash::new("4711").expect("hash");
    let names = [
        "Ana Silva",
        "Joanna Berg",
        "Hanna Ek",
        "Johanna Lind",
        "Bo 100%_Sure",
    ];
    for (n, name) in names.iter().enumerate() {
        let user = User {
            id: UserId::new_v7(1, [n as u8 + 1; 10]),
            name: (*name).into(),
            badge: format!("USR-{n}"),
            role: Role::Picker,
            active: true,
        };
        store.upsert_user(&user, &hash).expect("upsert");
    }
    let ana = UserId::new_v7(1, [1; 10]);
    for typed in ["ana s", "SILVA", "USR-0", "  ana silva "] {
        assert_eq!(
            store.find_user(typed).expect("query"),
            NameMatch::One(ana),
            "{typed:?} names Ana Silva alone"
        );
    }
    assert_eq!(
        store.find_user("anna").expect("query"),
        NameMatch::Several {
            names: vec![
                "Hanna Ek".into(),
                "Joanna Berg".into(),
                "Johanna Lind".into()
            ],
            n_found: 3
        },
        "part of several names is ambiguous, named in name order"
    );
    assert_eq!(
        store.find_user("n").expect("query"),
        NameMatch::Several {
            names: vec!["Ana Silva".into(), "Hanna Ek".into(), "Joanna Berg".into()],
            n_found: 4
        },
        "at most three names, with the count of all"
    );
    assert_eq!(
        store.find_user("0%_s").expect("query"),
        NameMatch::One(UserId::new_v7(1, [5; 10])),
        "% and _ match themselves"
    );
    assert_eq!(
        store.find_user("a%a").expect("query"),
        NameMatch::NoOne,
        "% is no wildcard in typed text"
    );
    assert_eq!(store.find_user("Zed").expect("query"), NameMatch::NoOne);
}

#[test]
fn an_item_is_found_by_its_whole_name_first_then_by_part_of_it() {
    use aisle_store::names::NameMatch;
    let (_dir, mut store) = fresh_store();
    for (n, name) in [
        (1u16, "Bolt"),
        (2, "Bolt M6 x 20"),
        (3, "Bolt M8 x 40"),
        (4, "Washer 6_mm"),
    ] {
        store
            .upsert_item(&Item {
                id: item(n),
                sku: format!("SKU-{n}"),
                name: name.into(),
                base_unit: "each".into(),
                lot_tracked: false,
                barcodes: Vec::new(),
            })
            .expect("item");
    }
    let found = |text: &str| match store.item_by_name(text).expect("query") {
        NameMatch::One(item) => Ok(item.id),
        other => Err(other),
    };
    assert_eq!(
        found("bolt"),
        Ok(item(1)),
        "the whole name wins over longer names"
    );
    assert_eq!(found("m8"), Ok(item(3)), "a unique part of a name");
    assert_eq!(found("6_MM"), Ok(item(4)), "_ matches itself, case ignored");
    assert_eq!(
        found("bolt m"),
        Err(NameMatch::Several {
            names: vec!["Bolt M6 x 20".into(), "Bolt M8 x 40".into()],
            n_found: 2
        })
    );
    assert_eq!(found("6%"), Err(NameMatch::NoOne), "% is no wildcard");
    assert_eq!(found(" "), Err(NameMatch::NoOne), "blank names nothing");
}
