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
}
