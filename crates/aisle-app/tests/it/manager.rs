//! Manager views: the audit trail, look-up and the stock chart, all read from the log.

use crate::{site, MANAGER_PIN, NOW, PICKER_PIN};
use aisle_app::views::{CountArgs, HistoryArgs, ReceiveArgs};
use aisle_core::event::Date;
use aisle_core::scan::ScanConfig;

#[test]
fn history_lookup_and_chart_tell_the_same_story() {
    let mut site = site();
    site.floor
        .sign_in("U-0042", PICKER_PIN, NOW)
        .expect("sign in");
    for (n, qty) in [(1u64, 5), (2, 7)] {
        site.floor
            .receive(
                ReceiveArgs {
                    location: site.bin_a,
                    item: site.bolt,
                    lot: None,
                    expiry: None,
                    qty,
                },
                NOW + n,
            )
            .expect("receive");
    }
    site.floor
        .receive(
            ReceiveArgs {
                location: site.bin_b,
                item: site.widget,
                lot: Some("L1".into()),
                expiry: None,
                qty: 3,
            },
            NOW + 3,
        )
        .expect("receive");
    site.floor
        .count(
            CountArgs {
                location: site.bin_a,
                item: site.bolt,
                lot: None,
                counted_qty: 11,
                task: None,
            },
            NOW + 4,
        )
        .expect("count within tolerance");

    let lookup = site
        .floor
        .lookup(
            "L:A-01",
            &ScanConfig::default(),
            Date::new(2026, 11, 24).expect("date"),
            NOW + 5,
        )
        .expect("look up a location");
    assert_eq!(lookup.rows.len(), 1, "{:?}", lookup.rows);
    assert_eq!(
        (lookup.rows[0].item.sku.as_str(), lookup.rows[0].on_hand),
        ("BOLT-M6", 11)
    );
    assert_eq!(lookup.history.len(), 3, "two receipts and a count at A-01");
    assert!(
        lookup.history[0]
            .summary
            .starts_with("counted 11 x BOLT-M6 at A-01"),
        "newest first, in words a person reads: {:?}",
        lookup.history[0].summary
    );
    assert_eq!(lookup.history[0].user, "Ana");

    let denied = site
        .floor
        .history(&HistoryArgs::default(), NOW + 5)
        .expect_err("pickers see their look-ups, not the audit trail");
    assert_eq!(denied.code(), "forbidden");
    site.floor
        .sign_in("U-0001", MANAGER_PIN, NOW + 6)
        .expect("manager");
    let bolt_history = site
        .floor
        .history(
            &HistoryArgs {
                item: Some(site.bolt),
                ..HistoryArgs::default()
            },
            NOW + 7,
        )
        .expect("history");
    assert_eq!(
        bolt_history.entries.len(),
        3,
        "the widget receipt is filtered out"
    );
    let by_badge = site
        .floor
        .history(
            &HistoryArgs {
                user: Some("U-0042".into()),
                ..HistoryArgs::default()
            },
            NOW + 7,
        )
        .expect("history by badge");
    assert_eq!(by_badge.entries.len(), 4, "everything Ana recorded");
    let by_name = site
        .floor
        .history(
            &HistoryArgs {
                user: Some("max".into()),
                ..HistoryArgs::default()
            },
            NOW + 7,
        )
        .expect("history by name");
    assert!(by_name.entries.is_empty(), "Max recorded nothing");
    let nobody = site
        .floor
        .history(
            &HistoryArgs {
                user: Some("nobody".into()),
                ..HistoryArgs::default()
            },
            NOW + 7,
        )
        .expect_err("unknown user");
    assert_eq!(nobody.code(), "not_found");
    let series = site.floor.stock_series(site.bolt, NOW + 8).expect("series");
    assert_eq!(
        series.iter().map(|point| point.on_hand).collect::<Vec<_>>(),
        [5, 12, 11],
        "the chart follows the projection: +5, +7, then the count's 11"
    );
    assert_eq!(series[2].variance, Some(-1));
    assert_eq!(
        site.floor
            .store()
            .on_hand_by_item(site.bolt)
            .expect("stock")
            .total,
        series.last().expect("points").on_hand,
        "the chart ends where the projection stands"
    );

    site.floor.sign_out();
    let refused = site.floor.lookup(
        "L:A-01",
        &ScanConfig::default(),
        Date::new(2026, 11, 24).expect("date"),
        NOW + 6,
    );
    assert!(
        matches!(refused, Err(aisle_app::AppError::NotSignedIn)),
        "nobody signed in sees no stock: {refused:?}"
    );
}

#[test]
fn the_servers_resolutions_show_in_the_audit_trail_as_the_rules_decisions() {
    use aisle_core::event::{ClaimRef, Resolution};
    use aisle_core::ids::{DeviceId, EventId, TaskId, UserId};
    use aisle_core::testkit::{tenant, warehouse};
    use aisle_core::Hlc;

    let mut site = site();
    let (ana, max) = (UserId::new_v7(1, [11; 10]), UserId::new_v7(1, [12; 10]));
    let dock_pc = DeviceId::new_v7(1, [8; 10]);
    let this_pc = site.floor.device();
    let claim_conflict = Resolution::ClaimConflict {
        pick_list: site.pick_list,
        winner: ClaimRef {
            event: EventId::new_v7(NOW, [1; 10]),
            device: dock_pc,
            user: ana,
        },
        loser: ClaimRef {
            event: EventId::new_v7(NOW, [2; 10]),
            device: this_pc,
            user: max,
        },
    };
    let negative_stock = Resolution::NegativeStock {
        location: site.bin_a,
        item: site.bolt,
        lot: None,
        on_hand: -2,
        task: TaskId::derived("negative_stock", b"bolt at A-01"),
        cause: EventId::new_v7(NOW, [3; 10]),
    };
    let pulled: Vec<_> = [claim_conflict, negative_stock]
        .into_iter()
        .enumerate()
        .map(|(n, resolution)| {
            resolution.into_event(tenant(), warehouse(), Hlc::new(NOW + n as u64, 0))
        })
        .collect();
    site.floor
        .store_mut()
        .apply_remote(&pulled, None)
        .expect("a device applies the server's resolutions like any pulled event");

    let mut forged = pulled[0].clone();
    forged.device = this_pc;
    assert!(
        site.floor.store_mut().record(&forged).is_err(),
        "a device cannot record a resolution of its own"
    );

    site.floor
        .sign_in("U-0001", MANAGER_PIN, NOW + 6)
        .expect("manager");
    let trail = site
        .floor
        .history(&HistoryArgs::default(), NOW + 7)
        .expect("history");
    assert_eq!(trail.entries.len(), 2, "{:?}", trail.entries);
    let [newest, oldest] = &trail.entries[..] else {
        unreachable!()
    };
    assert_eq!(
        (newest.kind, oldest.kind),
        ("resolved", "resolved"),
        "one kind for every automatic decision"
    );
    assert_eq!(
        newest.summary, "BOLT-M6 at A-01 went to -2: count task raised",
        "what was decided and why"
    );
    assert!(
        oldest.summary.contains("SO-1001")
            && oldest
                .summary
                .contains(&format!("Ana on device {dock_pc}, won")),
        "the claim conflict names the list and the winner: {:?}",
        oldest.summary
    );
    assert_eq!(newest.user, "", "no person decided it");
    assert_eq!(
        newest.device,
        DeviceId::server(tenant(), warehouse()).to_string(),
        "the server's identity is the author"
    );
    let bolt_trail = site
        .floor
        .history(
            &HistoryArgs {
                item: Some(site.bolt),
                ..HistoryArgs::default()
            },
            NOW + 8,
        )
        .expect("history of an item");
    assert_eq!(
        bolt_trail
            .entries
            .iter()
            .map(|entry| entry.summary.as_str())
            .collect::<Vec<_>>(),
        [newest.summary.as_str()],
        "a resolution about a key is found by its item"
    );
    assert!(
        site.floor
            .stock_series(site.bolt, NOW + 9)
            .expect("series")
            .is_empty(),
        "a resolution is no point of the stock chart"
    );
}
