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
            .receive(crate::bolts_at_a(&site, qty), NOW + n)
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
                receipt: None,
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

/// Regression: a count stamped by a PC clock in the year 6429 froze its key; the server
/// now refuses such an event (`clock_ahead`) and a manager records it again now, with one
/// action. Nothing is lost: the original stays in the trail, out of the projection.
#[test]
fn a_manager_records_a_refused_clock_ahead_event_again_now() {
    let mut site = site();
    let far_ahead = (1u64 << 47) - 1_000;
    site.floor
        .sign_in("U-0042", PICKER_PIN, far_ahead)
        .expect("sign in");
    let original = site
        .floor
        .receive(crate::bolts_at_a(&site, 5), far_ahead)
        .expect("receive with the clock far ahead");
    let refused = site
        .floor
        .receive(crate::bolts_at_a(&site, 2), far_ahead + 1)
        .expect("a second one");
    site.floor
        .store_mut()
        .settle_push(
            &[],
            &[
                (
                    original.event_id,
                    "clock_ahead: stamped 140000000 s ahead of the server's clock".into(),
                ),
                (refused.event_id, "invalid_event: something else".into()),
            ],
        )
        .expect("the server refused both");

    site.floor
        .sign_in("U-0001", MANAGER_PIN, NOW)
        .expect("manager signs in");
    let quarantined = site.floor.quarantined(NOW).expect("quarantined");
    assert_eq!(quarantined.len(), 2);
    let offered: Vec<bool> = quarantined
        .iter()
        .map(|entry| entry.can_record_again)
        .collect();
    assert_eq!(
        offered,
        [true, false],
        "only the clock_ahead refusal is offered"
    );
    let other = site
        .floor
        .record_again(refused.event_id, NOW + 1)
        .expect_err("not a clock refusal");
    assert_eq!(other.code(), "bad_settings");

    let again = site
        .floor
        .record_again(original.event_id, NOW + 2)
        .expect("recorded again");
    assert_eq!(
        again.on_hand, 7,
        "the 5 count once, through the new event; the other refused receipt of 2 still shows here"
    );
    let events = site.floor.store().load_events().expect("events");
    let replacement = events
        .iter()
        .find(|event| event.id == again.event_id)
        .expect("the new event is in the log");
    assert_eq!(replacement.replaces, Some(original.event_id));
    assert!(
        replacement.hlc.wall_ms < NOW + 60_000,
        "stamped now, not in the future: {:?}",
        replacement.hlc
    );
    assert!(
        events.iter().any(|event| event.id == original.event_id),
        "the original stays in the audit trail"
    );
    let left: Vec<_> = site
        .floor
        .quarantined(NOW + 3)
        .expect("quarantined")
        .into_iter()
        .map(|entry| entry.event_id)
        .collect();
    assert_eq!(
        left,
        [refused.event_id],
        "the original left the quarantine list"
    );
    let pending = site
        .floor
        .store()
        .outbox_batch(i64::MAX, 10)
        .expect("outbox");
    assert_eq!(
        pending
            .iter()
            .map(|entry| entry.event.id)
            .collect::<Vec<_>>(),
        [again.event_id],
        "only the new event waits to be pushed"
    );
    site.floor
        .record_again(original.event_id, NOW + 4)
        .expect_err("an event is recorded again once");
}

/// The latest review decides: a manager who rejected a count by mistake approves it later,
/// and the trail shows both decisions and which one stands. A self-approved count takes no
/// review.
#[test]
fn a_rejection_by_mistake_is_approved_later_and_the_trail_says_which_stands() {
    let mut site = site();
    site.floor
        .sign_in("U-0042", PICKER_PIN, NOW)
        .expect("sign in");
    site.floor
        .receive(crate::bolts_at_a(&site, 10), NOW + 1)
        .expect("receive");
    let count = |site: &mut crate::Site, qty, now_ms| {
        site.floor
            .count(
                CountArgs {
                    location: site.bin_a,
                    item: site.bolt,
                    lot: None,
                    counted_qty: qty,
                    task: None,
                },
                now_ms,
            )
            .expect("count")
    };
    let needs_review = count(&mut site, 4, NOW + 2).recorded.event_id;
    site.floor
        .sign_in("U-0001", MANAGER_PIN, NOW + 3)
        .expect("manager");
    let rejection = site
        .floor
        .review_count(needs_review, false, NOW + 4)
        .expect("reject");
    assert_eq!(rejection.on_hand, 10, "rejected: the count is no baseline");
    let approval = site
        .floor
        .review_count(needs_review, true, NOW + 5)
        .expect("a rejected count can be approved later");
    assert_eq!(approval.on_hand, 4, "the latest review decides");

    let history = site
        .floor
        .history(&HistoryArgs::default(), NOW + 6)
        .expect("history");
    let reviews: Vec<&str> = history
        .entries
        .iter()
        .filter(|entry| entry.kind == "count_reviewed")
        .map(|entry| entry.summary.as_str())
        .collect();
    assert_eq!(
        reviews.len(),
        2,
        "both decisions are in the trail: {reviews:?}"
    );
    assert!(
        reviews[0].starts_with("approved") && reviews[0].ends_with("(this decision stands)"),
        "newest first, the approval stands: {reviews:?}"
    );
    assert!(
        reviews[1].starts_with("rejected")
            && reviews[1].ends_with("(overridden by a later review)"),
        "{reviews:?}"
    );

    let self_approved = count(&mut site, 4, NOW + 7);
    assert_eq!(
        self_approved.decision,
        aisle_core::event::CountDecision::SelfApproved
    );
    let refused = site
        .floor
        .review_count(self_approved.recorded.event_id, false, NOW + 8)
        .expect_err("a self-approved count takes no review");
    assert_eq!(refused.code(), "bad_settings");
}

/// Regression: the history's user filter wanted the whole name; "nas" for Anastasia found
/// nobody, and part of several names gave no hint whom it could mean.
#[test]
fn the_history_user_filter_takes_part_of_a_name_and_names_the_candidates() {
    use aisle_core::ids::UserId;
    use aisle_store::master::{PinHash, Role, User};
    let mut site = site();
    let hash = PinHash::new("1234").expect("hash");
    for (n, name) in [
        (1u8, "Anastasia Berg"),
        (2, "Hanna Ek"),
        (3, "Johanna Lind"),
    ] {
        site.floor
            .store_mut()
            .upsert_user(
                &User {
                    id: UserId::new_v7(2, [n; 10]),
                    name: name.into(),
                    badge: format!("U-9{n}"),
                    role: Role::Picker,
                    active: true,
                },
                &hash,
            )
            .expect("user");
    }
    site.floor
        .sign_in("U-0042", PICKER_PIN, NOW)
        .expect("sign in");
    site.floor
        .receive(crate::bolts_at_a(&site, 5), NOW + 1)
        .expect("receive");
    site.floor
        .sign_in("U-0001", MANAGER_PIN, NOW + 2)
        .expect("manager");
    let by = |site: &mut crate::Site, typed: &str| {
        site.floor.history(
            &HistoryArgs {
                user: Some(typed.into()),
                ..HistoryArgs::default()
            },
            NOW + 3,
        )
    };
    let ana = by(&mut site, "ANA").expect("Ana's whole name");
    assert_eq!(
        ana.entries.len(),
        1,
        "a whole name wins over the longer names containing it"
    );
    let anastasia = by(&mut site, "nas").expect("part of one name");
    assert!(anastasia.entries.is_empty(), "Anastasia recorded nothing");

    let two = by(&mut site, "nna").expect_err("Hanna or Johanna");
    assert_eq!(two.code(), "not_found");
    assert_eq!(
        two.to_string(),
        "\"nna\" could be Hanna Ek or Johanna Lind: type more of the name, or the badge"
    );
    let many = by(&mut site, "an").expect_err("four names hold \"an\"");
    assert_eq!(
        many.to_string(),
        "\"an\" could be Ana, Anastasia Berg, Hanna Ek or 1 more user: type more of the name, or the badge",
        "at most three names"
    );
}

/// Regression (demo): the history's device column showed UUIDs. A PC named in the master
/// data is shown by its name.
#[test]
fn the_history_names_the_pc_an_event_came_from() {
    let mut site = site();
    site.floor
        .sign_in("U-0001", MANAGER_PIN, NOW)
        .expect("manager");
    site.floor
        .receive(crate::bolts_at_a(&site, 3), NOW + 1)
        .expect("receive");
    let unnamed = site
        .floor
        .history(&HistoryArgs::default(), NOW + 2)
        .expect("history");
    assert_eq!(unnamed.entries[0].device_name, None, "no name known yet");
    let device = site.floor.device();
    site.floor
        .store()
        .upsert_device_name(device, "Dock PC 1")
        .expect("the master data names the PC");
    let named = site
        .floor
        .history(&HistoryArgs::default(), NOW + 3)
        .expect("history");
    assert_eq!(named.entries[0].device_name.as_deref(), Some("Dock PC 1"));
    let json = serde_json::to_value(&named.entries[0]).expect("json");
    assert_eq!(json["deviceName"], "Dock PC 1", "the UI reads deviceName");
}

/// Stock that an event this version cannot read touches is marked in look-up, in the lot
/// prompt and on the count, and a count of it waits for a manager instead of approving
/// itself against a figure that may be off (docs/protocol.md, "Mixed-version fleets").
#[test]
fn stock_an_unread_event_touches_is_marked_and_its_count_goes_to_a_manager() {
    let mut site = site();
    site.floor
        .sign_in("U-0042", PICKER_PIN, NOW)
        .expect("sign in");
    site.floor
        .receive(crate::bolts_at_a(&site, 10), NOW + 1)
        .expect("receive");
    site.floor
        .receive(
            ReceiveArgs {
                location: site.bin_b,
                item: site.bolt,
                lot: None,
                expiry: None,
                qty: 4,
                receipt: None,
            },
            NOW + 2,
        )
        .expect("receive");
    let marked = aisle_core::stock::StockKey {
        warehouse: aisle_core::testkit::warehouse(),
        location: site.bin_a,
        item: site.bolt,
        lot: None,
    };
    site.floor
        .store_mut()
        .apply_pulled(
            &[],
            &[aisle_store::unread::Unread {
                seq: 1,
                kind: "relabelled".into(),
                needs: "0.2.0".into(),
                keys: vec![marked],
                event: r#"{"body":{"type":"relabelled"}}"#.into(),
            }],
            None,
        )
        .expect("an envelope kept");
    let lookup = site
        .floor
        .lookup(
            "BOLT-M6",
            &ScanConfig::default(),
            Date::new(2026, 11, 24).expect("date"),
            NOW + 3,
        )
        .expect("look up the item");
    let marks: Vec<(&str, Option<&str>)> = lookup
        .rows
        .iter()
        .map(|row| (row.location.code.as_str(), row.needs_update.as_deref()))
        .collect();
    assert_eq!(marks, [("A-01", Some("0.2.0")), ("B-07", None)]);
    let lots = site
        .floor
        .stock_at(site.bin_a, site.bolt)
        .expect("the lot prompt's stock");
    assert_eq!(lots[0].needs_update.as_deref(), Some("0.2.0"));

    let count = |location| CountArgs {
        location,
        item: site.bolt,
        lot: None,
        counted_qty: 10,
        task: None,
    };
    let exact_but_marked = site.floor.count(count(site.bin_a), NOW + 4).expect("count");
    assert_eq!(exact_but_marked.variance, 0);
    assert_eq!(
        exact_but_marked.decision,
        aisle_core::event::CountDecision::NeedsReview,
        "a marked key's count cannot approve itself"
    );
    assert_eq!(exact_but_marked.needs_update.as_deref(), Some("0.2.0"));
    let unmarked = site
        .floor
        .count(
            CountArgs {
                counted_qty: 4,
                ..count(site.bin_b)
            },
            NOW + 5,
        )
        .expect("count");
    assert_eq!(
        (unmarked.decision, unmarked.needs_update),
        (aisle_core::event::CountDecision::SelfApproved, None)
    );
}

/// Updates: only a manager looks for one, and installing waits until the outbox is empty, so
/// no queued event is left for a version that might not send it.
#[test]
fn an_update_is_a_managers_and_waits_for_the_outbox_to_empty() {
    let mut site = site();
    site.floor
        .sign_in("U-0042", PICKER_PIN, NOW)
        .expect("picker");
    assert_eq!(
        site.floor
            .may_check_update(NOW)
            .expect_err("a picker")
            .code(),
        aisle_app::ErrorCode::Forbidden
    );
    site.floor
        .receive(crate::bolts_at_a(&site, 5), NOW + 1)
        .expect("receive");
    site.floor
        .sign_in("U-0001", MANAGER_PIN, NOW + 2)
        .expect("manager");
    site.floor
        .may_check_update(NOW + 3)
        .expect("a manager checks");
    let blocked = site
        .floor
        .may_install_update(NOW + 4)
        .expect_err("one event waits to be sent");
    assert_eq!(blocked.code(), aisle_app::ErrorCode::UpdateBlocked);
    assert!(
        blocked
            .to_string()
            .starts_with("1 event recorded on this PC is waiting to be sent"),
        "{blocked}"
    );
    let sent: Vec<_> = site
        .floor
        .store()
        .outbox_batch(i64::MAX, 100)
        .expect("due")
        .iter()
        .map(|entry| entry.event.id)
        .collect();
    site.floor
        .store_mut()
        .settle_push(&sent, &[])
        .expect("the server acknowledged it");
    site.floor
        .may_install_update(NOW + 5)
        .expect("nothing waits: it may install");
}
