//! Floor work: sign-in, receive from a GS1 scan, picking with wrong scans refused, moves,
//! blind counts and short picks.

use crate::{site, MANAGER_PIN, NOW, PICKER_PIN};
use aisle_app::views::{CountArgs, MoveArgs, PickArgs, ReceiveArgs, Resolved, ShortPickArgs};
use aisle_app::{resolve_scan, AppError, IdleTimeout};
use aisle_core::event::{CountDecision, Date, ShortReason};
use aisle_core::scan::ScanConfig;

fn today() -> Date {
    Date::new(2026, 11, 24).expect("date")
}

#[test]
fn sign_in_checks_badge_and_pin_offline_and_ends_when_idle() {
    let mut site = site();
    let floor = &mut site.floor;
    let wrong = floor.sign_in("U-0042", "0000", NOW).expect_err("wrong pin");
    assert_eq!(wrong.code(), "bad_pin");
    let unknown = floor
        .sign_in("U-9999", PICKER_PIN, NOW)
        .expect_err("unknown badge");
    assert_eq!(
        unknown.code(),
        "bad_pin",
        "an unknown badge must look like a wrong PIN, so badges cannot be probed"
    );
    let user = floor.sign_in("U-0042", PICKER_PIN, NOW).expect("sign in");
    assert_eq!(user.name, "Ana");
    let idle_ms = IdleTimeout::DEFAULT.as_ms();
    assert!(floor.current_user(NOW + 1_000).is_some());
    assert!(
        floor.current_user(NOW + idle_ms + 1).is_none(),
        "a session idle longer than the timeout is over"
    );
    let receive = floor
        .receive(
            ReceiveArgs {
                location: site.bin_a,
                item: site.widget,
                lot: None,
                expiry: None,
                qty: 1,
                receipt: None,
            },
            NOW + 2 * idle_ms,
        )
        .expect_err("signed out");
    assert_eq!(receive.code(), "not_signed_in");
    assert_eq!(site.floor.store().event_count().expect("count"), 0);
}

#[test]
fn receive_takes_lot_expiry_and_count_from_a_gs1_scan() {
    let mut site = site();
    site.floor
        .sign_in("U-0042", PICKER_PIN, NOW)
        .expect("sign in");
    // A GS1-128 case label: GTIN 15901234123454 (a case of 12), expiry 2027-03-31,
    // lot L42, count 2, with the wedge's <GS> after the variable-length lot.
    let raw = "]C1011590123412345417270331".to_string() + "10L42<GS>302";
    let resolved =
        resolve_scan(site.floor.store(), &raw, &ScanConfig::default(), today()).expect("scan");
    let Resolved::Item {
        item,
        lot,
        expiry,
        quantity,
        pack_size,
    } = resolved
    else {
        panic!("a GTIN names an item, got {resolved:?}");
    };
    assert_eq!(item.sku, "WID-1");
    assert_eq!(lot.as_deref(), Some("L42"));
    assert_eq!(expiry, Some(Date::new(2027, 3, 31).expect("date")));
    assert_eq!(pack_size, 12);
    assert_eq!(quantity, Some(24), "2 cases of 12");

    let location = resolve_scan(
        site.floor.store(),
        "L:A-01",
        &ScanConfig::default(),
        today(),
    )
    .expect("location scan");
    let Resolved::Location { location } = location else {
        panic!("L: is a location label");
    };
    let recorded = site
        .floor
        .receive(
            ReceiveArgs {
                location: location.id,
                item: item.id,
                lot,
                expiry,
                qty: quantity.expect("count"),
                receipt: None,
            },
            NOW + 1,
        )
        .expect("receive");
    assert_eq!(recorded.on_hand, 24);
    assert_eq!(
        site.floor.store().pending_outbox_count().expect("outbox"),
        1,
        "the receipt is queued for sync in the same transaction"
    );
}

#[test]
fn garbled_and_unknown_scans_get_their_own_codes() {
    let site = site();
    let config = ScanConfig::default();
    let garbled =
        resolve_scan(site.floor.store(), "590123412345X", &config, today()).expect_err("garbled");
    assert_eq!(garbled.code(), "bad_scan", "{garbled}");
    let unknown = resolve_scan(site.floor.store(), "96385074", &config, today())
        .expect_err("valid EAN-8 that no item has");
    assert_eq!(unknown.code(), "unknown_barcode", "{unknown}");
    let location =
        resolve_scan(site.floor.store(), "L:Z-99", &config, today()).expect_err("no such location");
    assert_eq!(location.code(), "unknown_location");
}

#[test]
fn picking_refuses_wrong_scans_naming_what_was_expected() {
    let mut site = site();
    site.floor
        .sign_in("U-0042", PICKER_PIN, NOW)
        .expect("sign in");
    let list = site
        .floor
        .open_pick_list(None, NOW + 1)
        .expect("the next pick list");
    assert_eq!(list.reference, "SO-1001");
    assert_eq!(
        list.lines
            .iter()
            .map(|line| line.location.code.as_str())
            .collect::<Vec<_>>(),
        ["B-07", "A-01"],
        "lines come in walk order (B-07 is walked first)"
    );
    let n_events = site.floor.store().event_count().expect("count");
    let wrong_location = site
        .floor
        .pick_line(
            PickArgs {
                pick_list: site.pick_list,
                line: 2,
                location: site.bin_a,
                item: site.bolt,
                lot: None,
                qty: 3,
            },
            NOW + 2,
        )
        .expect_err("wrong location");
    assert_eq!(wrong_location.code(), "wrong_location");
    assert!(
        wrong_location.to_string().contains("expected B-07"),
        "the picker is told where to go: {wrong_location}"
    );
    let wrong_item = site
        .floor
        .pick_line(
            PickArgs {
                pick_list: site.pick_list,
                line: 2,
                location: site.bin_b,
                item: site.widget,
                lot: None,
                qty: 3,
            },
            NOW + 3,
        )
        .expect_err("wrong item");
    assert_eq!(wrong_item.code(), "wrong_item");
    assert!(
        wrong_item.to_string().contains("expected BOLT-M6"),
        "{wrong_item}"
    );
    assert_eq!(
        site.floor.store().event_count().expect("count"),
        n_events,
        "a refused scan records nothing"
    );
    let picked = site
        .floor
        .pick_line(
            PickArgs {
                pick_list: site.pick_list,
                line: 2,
                location: site.bin_b,
                item: site.bolt,
                lot: None,
                qty: 3,
            },
            NOW + 4,
        )
        .expect("right scans");
    assert_eq!(
        picked.on_hand, -3,
        "nothing was received there: stock goes negative"
    );
    let reopened = site
        .floor
        .open_pick_list(Some(site.pick_list), NOW + 5)
        .expect("reopen");
    assert!(reopened.lines[0].done, "line 2 is picked in full");
    assert!(!reopened.lines[1].done);
    let tasks = site.floor.count_tasks().expect("tasks");
    assert!(
        tasks
            .iter()
            .any(|task| task.reason == "negative_stock" && task.location.code == "B-07"),
        "negative stock raises a count task: {tasks:?}"
    );
}

#[test]
fn a_short_pick_raises_a_count_task() {
    let mut site = site();
    site.floor
        .sign_in("U-0042", PICKER_PIN, NOW)
        .expect("sign in");
    site.floor
        .open_pick_list(Some(site.pick_list), NOW)
        .expect("claim");
    let short = |lot: Option<&str>| ShortPickArgs {
        pick_list: site.pick_list,
        line: 1,
        qty_short: 2,
        reason: ShortReason::NotFound,
        lot: lot.map(str::to_owned),
    };
    let refused = site
        .floor
        .short_pick(short(None), NOW + 1)
        .expect_err("line 1 is a lot-tracked item with no lot on the line");
    assert_eq!(refused.code(), "lot_required");
    site.floor
        .short_pick(short(Some("L42")), NOW + 1)
        .expect("short pick");
    let tasks = site.floor.count_tasks().expect("tasks");
    assert!(
        tasks
            .iter()
            .any(|task| task.reason == "short_pick" && task.location.code == "A-01"),
        "{tasks:?}"
    );
}

#[test]
fn counts_are_blind_and_outside_tolerance_wait_for_a_manager() {
    let mut site = site();
    site.floor
        .sign_in("U-0042", PICKER_PIN, NOW)
        .expect("sign in");
    site.floor
        .receive(crate::bolts_at_a(&site, 10), NOW)
        .expect("receive");
    let within = site
        .floor
        .count(
            CountArgs {
                location: site.bin_a,
                item: site.bolt,
                lot: None,
                counted_qty: 9,
                task: None,
            },
            NOW + 1,
        )
        .expect("count");
    assert_eq!(
        within.decision,
        CountDecision::SelfApproved,
        "1 off, tolerance 1"
    );
    assert_eq!(
        within.recorded.on_hand, 9,
        "a self-approved count is the new baseline"
    );
    let outside = site
        .floor
        .count(
            CountArgs {
                location: site.bin_a,
                item: site.bolt,
                lot: None,
                counted_qty: 4,
                task: None,
            },
            NOW + 2,
        )
        .expect("count");
    assert_eq!(outside.decision, CountDecision::NeedsReview);
    assert_eq!((outside.expected, outside.variance), (9, -5));
    assert_eq!(
        outside.recorded.on_hand, 9,
        "until reviewed, the count does not apply"
    );

    let forbidden = site
        .floor
        .variances(NOW + 3)
        .expect_err("pickers do not review");
    assert_eq!(forbidden.code(), "forbidden");
    site.floor.sign_out();
    site.floor
        .sign_in("U-0001", MANAGER_PIN, NOW + 4)
        .expect("manager");
    let variances = site.floor.variances(NOW + 5).expect("variances");
    assert_eq!(variances.len(), 1, "{variances:?}");
    assert_eq!((variances[0].counted_qty, variances[0].expected), (4, 9));
    assert_eq!(variances[0].user, "Ana");
    let approved = site
        .floor
        .review_count(variances[0].counted_event, true, NOW + 6)
        .expect("approve");
    assert_eq!(
        approved.on_hand, 4,
        "an approved count becomes the baseline"
    );
    assert!(site.floor.variances(NOW + 7).expect("variances").is_empty());
}

fn move_args(site: &crate::Site, to: aisle_core::ids::LocationId, qty: i64) -> MoveArgs {
    MoveArgs {
        from: site.bin_a,
        to,
        item: site.bolt,
        lot: None,
        qty,
        confirm_over_source: false,
    }
}

/// Regression: a move to the same location answered `bad_quantity`; it has its own code.
/// A move of more than the source holds asks first, and the event records the yes.
#[test]
fn moves_need_two_locations_a_bounded_quantity_and_a_yes_beyond_the_source() {
    let mut site = site();
    site.floor
        .sign_in("U-0042", PICKER_PIN, NOW)
        .expect("sign in");
    let same = site
        .floor
        .move_stock(move_args(&site, site.bin_a, 1), NOW)
        .expect_err("same location");
    assert_eq!(same.code(), "same_location");
    assert!(same.to_string().contains("A-01"), "{same}");
    for qty in [0, 1_000_000_001, i64::MAX] {
        let refused = site
            .floor
            .move_stock(move_args(&site, site.bin_b, qty), NOW)
            .expect_err("out of bounds");
        assert!(
            matches!(refused, AppError::BadQuantity(_)),
            "{qty}: {refused}"
        );
    }
    site.floor
        .receive(crate::bolts_at_a(&site, 12), NOW)
        .expect("receive");
    let over = site
        .floor
        .move_stock(move_args(&site, site.bin_b, 20), NOW + 1)
        .expect_err("more than the source holds");
    assert_eq!(over.code(), "move_exceeds_source");
    assert_eq!(over.to_string(), "A-01 holds 12. Move 20 anyway?");
    assert_eq!(
        site.floor.store().event_count().expect("count"),
        1,
        "nothing is written before the yes"
    );
    let within = site
        .floor
        .move_stock(move_args(&site, site.bin_b, 5), NOW + 2)
        .expect("within what the source holds");
    assert_eq!(within.on_hand, 7, "answers with what is left at the source");
    let confirmed = site
        .floor
        .move_stock(
            MoveArgs {
                confirm_over_source: true,
                ..move_args(&site, site.bin_b, 20)
            },
            NOW + 3,
        )
        .expect("confirmed");
    assert_eq!(confirmed.on_hand, -13);
    let events = site.floor.store().load_events().expect("events");
    let confirmations: Vec<bool> = events
        .iter()
        .filter_map(|event| match event.body {
            aisle_core::event::EventBody::Moved {
                over_source_confirmed,
                ..
            } => Some(over_source_confirmed),
            _ => None,
        })
        .collect();
    assert_eq!(
        confirmations,
        [false, true],
        "only the move beyond the source records a confirmation"
    );
}

/// Regression: a lot-tracked item could be received, moved, picked and counted without a
/// lot; a move took A-01 to -20 with no lot while 12 stayed in lot L2405A.
#[test]
fn every_action_on_a_lot_tracked_item_names_its_lot() {
    let mut site = site();
    site.floor
        .sign_in("U-0042", PICKER_PIN, NOW)
        .expect("sign in");
    let receive = |lot: Option<&str>| ReceiveArgs {
        location: site.bin_a,
        item: site.widget,
        lot: lot.map(str::to_owned),
        expiry: None,
        qty: 12,
        receipt: None,
    };
    let refused = site.floor.receive(receive(None), NOW).expect_err("no lot");
    assert_eq!(refused.code(), "lot_required");
    assert_eq!(
        refused.to_string(),
        "WID-1 is lot-tracked: scan or type its lot"
    );
    site.floor
        .receive(receive(Some("L2405A")), NOW + 1)
        .expect("with its lot");
    let moved = site
        .floor
        .move_stock(
            MoveArgs {
                from: site.bin_a,
                to: site.bin_b,
                item: site.widget,
                lot: None,
                qty: 20,
                confirm_over_source: true,
            },
            NOW + 2,
        )
        .expect_err("a move names the lot too, even confirmed");
    assert_eq!(moved.code(), "lot_required");
    assert_eq!(
        moved.to_string(),
        "WID-1 is lot-tracked: scan or type its lot (here: L2405A: 12)",
        "the lots the location holds are offered, with their quantities"
    );
    assert_eq!(
        site.floor.lots_at(site.bin_a, site.widget).expect("lots"),
        [("L2405A".to_owned(), 12)]
    );
    let count = site
        .floor
        .count(
            CountArgs {
                location: site.bin_a,
                item: site.widget,
                lot: None,
                counted_qty: 12,
                task: None,
            },
            NOW + 3,
        )
        .expect_err("a count names the lot");
    assert_eq!(count.code(), "lot_required");
    assert_eq!(
        site.floor.store().event_count().expect("count"),
        1,
        "only the receipt with its lot was recorded"
    );
}

#[test]
fn a_restarted_floor_never_stamps_before_its_own_last_event() {
    let mut site = site();
    site.floor
        .sign_in("U-0042", PICKER_PIN, NOW)
        .expect("sign in");
    site.floor
        .receive(crate::bolts_at_a(&site, 1), NOW)
        .expect("receive");
    let second_receipt = crate::bolts_at_a(&site, 1);
    let path = site.floor.store().path().to_owned();
    let profile = site.floor.profile();
    let device = site.floor.device();
    drop(site.floor);
    let mut floor =
        aisle_app::Floor::open(&path, profile, &crate::store_key(), device).expect("reopen");
    floor.sign_in("U-0042", PICKER_PIN, NOW).expect("sign in");
    // The PC's clock went back an hour across the restart.
    floor
        .receive(second_receipt, NOW - 3_600_000)
        .expect("receive");
    let events = floor.store().load_events().expect("events");
    assert_eq!(events.len(), 2);
    assert!(
        events[1].hlc > events[0].hlc,
        "the second event is stamped after the first despite the clock going back"
    );
}

/// The ERP cancels SO-1001 (its master record says `cancelled`) after 3 units of line 2
/// were picked: the list refuses more picks, saying what to put back; it no longer leaves
/// its lines on the floor; a put-back beyond what is due is refused, a picker cannot choose
/// another location (a manager can), and once everything is back the list leaves the list.
#[test]
fn a_cancelled_pick_list_refuses_picks_and_asks_for_its_put_back() {
    use aisle_app::views::PutBackArgs;
    let mut site = site();
    site.floor
        .sign_in("U-0042", PICKER_PIN, NOW)
        .expect("sign in");
    site.floor
        .open_pick_list(Some(site.pick_list), NOW + 1)
        .expect("open");
    let pick = PickArgs {
        pick_list: site.pick_list,
        line: 2,
        location: site.bin_b,
        item: site.bolt,
        lot: None,
        qty: 3,
    };
    site.floor.pick_line(pick.clone(), NOW + 2).expect("picked");
    let mut list = site
        .floor
        .store()
        .pick_list(site.pick_list)
        .expect("read")
        .expect("list");
    list.status = "cancelled".into();
    site.floor
        .store_mut()
        .upsert_pick_list(&list)
        .expect("the ERP's change");

    let refused = site.floor.pick_line(pick, NOW + 3).expect_err("cancelled");
    assert_eq!(refused.code(), "pick_list_cancelled");
    assert!(
        refused.to_string().contains("put back 3 x BOLT-M6 to B-07"),
        "the picker is told what goes back where: {refused}"
    );
    let view = site
        .floor
        .open_pick_list(Some(site.pick_list), NOW + 4)
        .expect("open the cancelled list");
    assert!(view.cancelled && view.lines.is_empty(), "{view:?}");
    assert_eq!(
        view.put_backs
            .iter()
            .map(|due| (due.line, due.location.code.as_str(), due.due))
            .collect::<Vec<_>>(),
        [(2, "B-07", 3)]
    );
    let summary = site.floor.pick_lists().expect("lists");
    assert_eq!(
        summary
            .iter()
            .map(|list| (list.cancelled, list.put_back_due))
            .collect::<Vec<_>>(),
        [(true, 3)]
    );
    let put_back = |location, qty| PutBackArgs {
        pick_list: site.pick_list,
        line: 2,
        location,
        lot: None,
        qty,
    };
    let n_events = site.floor.store().event_count().expect("count");
    let too_many = site
        .floor
        .put_back(put_back(site.bin_b, 4), NOW + 5)
        .expect_err("only 3 are due");
    assert_eq!(too_many.code(), "bad_quantity", "{too_many}");
    let elsewhere = site
        .floor
        .put_back(put_back(site.bin_a, 1), NOW + 6)
        .expect_err("a picker puts back where it came from");
    assert_eq!(elsewhere.code(), "forbidden");
    assert_eq!(
        site.floor.store().event_count().expect("count"),
        n_events,
        "refusals record nothing"
    );
    site.floor
        .put_back(put_back(site.bin_b, 2), NOW + 7)
        .expect("back where it came from");
    site.floor.sign_out();
    site.floor
        .sign_in("U-0001", MANAGER_PIN, NOW + 8)
        .expect("manager");
    let back = site
        .floor
        .put_back(put_back(site.bin_a, 1), NOW + 9)
        .expect("a manager chooses another location");
    assert_eq!(back.on_hand, 1, "the unit is at A-01 now");
    assert!(
        site.floor.pick_lists().expect("lists").is_empty(),
        "nothing left to put back: the list leaves the floor"
    );
}

/// The ERP announced delivery ASN-7 (line 1: 10 x WIDGET, line 2: 4 x BOLT-M6): the Receive
/// screen finds it by the reference on the delivery note, each receipt against it moves
/// that line's received on, over- and under-receipts show as differences, a receipt of an
/// item the ERP did not announce is listed apart, and a reference the PC does not know is
/// refused with nothing recorded.
#[test]
fn receipts_against_an_expected_delivery_show_expected_against_received() {
    use aisle_core::receipt::ExpectedLine;
    use aisle_store::master::ExpectedReceipt;
    let mut site = site();
    site.floor
        .sign_in("U-0042", PICKER_PIN, NOW)
        .expect("sign in");
    let warehouse = site.floor.store().profile().warehouse;
    site.floor
        .store_mut()
        .upsert_expected_receipt(&ExpectedReceipt {
            id: aisle_core::ids::ReceiptId::new_v7(1, [7; 10]),
            warehouse,
            reference: "ASN-7".into(),
            supplier: "Widgets Ltd".into(),
            status: "open".into(),
            lines: vec![
                ExpectedLine {
                    line: 1,
                    item: site.widget,
                    lot: None,
                    qty: 10,
                },
                ExpectedLine {
                    line: 2,
                    item: site.bolt,
                    lot: None,
                    qty: 4,
                },
            ],
        })
        .expect("master data");
    let open = site.floor.expected_receipts().expect("receipts");
    assert_eq!(
        open.iter()
            .map(|receipt| (receipt.reference.as_str(), receipt.supplier.as_str()))
            .collect::<Vec<_>>(),
        [("ASN-7", "Widgets Ltd")]
    );
    // WID-1 is lot-tracked: its receipts carry a lot, which the line (no lot) takes whatever.
    let receive = |item, qty, receipt: Option<&str>| ReceiveArgs {
        location: site.bin_a,
        item,
        lot: (item == site.widget).then(|| "L1".to_owned()),
        expiry: None,
        qty,
        receipt: receipt.map(str::to_owned),
    };
    site.floor
        .receive(receive(site.widget, 6, Some("ASN-7")), NOW + 1)
        .expect("against ASN-7");
    site.floor
        .receive(receive(site.bolt, 5, Some("ASN-7")), NOW + 2)
        .expect("one bolt too many");
    site.floor
        .receive(receive(site.widget, 3, None), NOW + 3)
        .expect("a plain receipt counts nowhere");
    let n_events = site.floor.store().event_count().expect("count");
    let unknown = site
        .floor
        .receive(receive(site.widget, 1, Some("ASN-404")), NOW + 4)
        .expect_err("not announced");
    assert_eq!(unknown.code(), "not_found", "{unknown}");
    assert_eq!(site.floor.store().event_count().expect("count"), n_events);

    let view = site
        .floor
        .expected_receipt(" ASN-7 ")
        .expect("scanned from the delivery note");
    assert_eq!(
        view.lines
            .iter()
            .map(|line| (
                line.item.sku.as_str(),
                line.expected,
                line.received,
                line.difference
            ))
            .collect::<Vec<_>>(),
        [("WID-1", 10, 6, -4), ("BOLT-M6", 4, 5, 1)]
    );
    assert!(view.unexpected.is_empty());
    assert_eq!(
        site.floor
            .expected_receipt("ASN-404")
            .expect_err("unknown")
            .code(),
        "not_found"
    );
}
