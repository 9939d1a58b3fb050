//! A manager's request for a count: only a manager may make one, it is recorded (with its
//! outbox row) like every floor action, it shows as a count task with who asked and why,
//! and a count of the key taken after it closes that task.

use crate::{site, MANAGER_PIN, NOW, PICKER_PIN};
use aisle_app::views::{CountArgs, HistoryArgs, ReceiveArgs, RequestCountArgs};
use aisle_app::AppError;

fn request(site: &crate::Site, lot: Option<&str>, note: &str) -> RequestCountArgs {
    RequestCountArgs {
        location: site.bin_b,
        item: site.widget,
        lot: lot.map(str::to_string),
        note: note.into(),
    }
}

#[test]
fn a_picker_is_refused_and_nothing_is_written() {
    let mut site = site();
    site.floor
        .sign_in("U-0042", PICKER_PIN, NOW)
        .expect("sign in");
    let refused = site
        .floor
        .request_count(request(&site, Some("L1"), "please"), NOW + 1)
        .expect_err("pickers cannot request counts");
    assert!(matches!(refused, AppError::Forbidden), "{refused:?}");
    assert_eq!(refused.code(), "forbidden");
    assert_eq!(
        site.floor.store().pending_outbox_count().expect("outbox"),
        0,
        "a refused action writes nothing"
    );
    assert!(site.floor.count_tasks().expect("tasks").is_empty());
}

#[test]
fn a_managers_request_shows_as_a_task_until_a_later_count() {
    let mut site = site();
    site.floor
        .sign_in("U-0001", MANAGER_PIN, NOW)
        .expect("sign in");
    site.floor
        .receive(
            ReceiveArgs {
                location: site.bin_b,
                item: site.widget,
                lot: Some("L1".into()),
                expiry: None,
                qty: 4,
                receipt: None,
            },
            NOW + 1,
        )
        .expect("receive");
    let recorded = site
        .floor
        .request_count(request(&site, Some("L1"), "  pallet looks light "), NOW + 2)
        .expect("a manager may request a count");
    assert_eq!(recorded.on_hand, 4, "a request moves no stock");
    assert_eq!(
        site.floor.store().pending_outbox_count().expect("outbox"),
        2,
        "recorded with its outbox row, like the receipt"
    );

    let tasks = site.floor.count_tasks().expect("tasks");
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    let task = &tasks[0];
    assert_eq!(task.reason, "requested");
    assert_eq!(task.requested_by.as_deref(), Some("Max"), "who asked");
    assert_eq!(
        task.note.as_deref(),
        Some("pallet looks light"),
        "the note, trimmed"
    );
    assert_eq!(
        (task.location.code.as_str(), task.item.sku.as_str()),
        ("B-07", "WID-1")
    );
    assert_eq!(task.lot.as_deref(), Some("L1"));
    let json = serde_json::to_value(task).expect("json");
    assert_eq!(json["requestedBy"], "Max", "camelCase on the wire: {json}");

    let history = site
        .floor
        .history(&HistoryArgs::default(), NOW + 3)
        .expect("history");
    assert_eq!(history.entries[0].kind, "count_requested");
    assert_eq!(
        history.entries[0].summary,
        "asked for a count of WID-1 lot L1 at B-07: pallet looks light"
    );

    site.floor
        .count(
            CountArgs {
                location: site.bin_b,
                item: site.widget,
                lot: Some("L1".into()),
                counted_qty: 4,
                task: Some(task.id),
            },
            NOW + 4,
        )
        .expect("count");
    assert!(
        site.floor.count_tasks().expect("tasks").is_empty(),
        "a count after the request closes its task"
    );
}

#[test]
fn unknown_keys_and_long_notes_are_refused_before_anything_is_written() {
    let mut site = site();
    site.floor
        .sign_in("U-0001", MANAGER_PIN, NOW)
        .expect("sign in");
    let long = site
        .floor
        .request_count(request(&site, None, &"x".repeat(201)), NOW + 1)
        .expect_err("a note is bounded");
    assert_eq!(long.code(), "bad_note", "{long}");
    let mut unknown = request(&site, None, "");
    unknown.location = aisle_core::ids::LocationId::new_v7(1, [99; 10]);
    let unknown = site
        .floor
        .request_count(unknown, NOW + 2)
        .expect_err("an unknown location");
    assert_eq!(unknown.code(), "unknown_location");
    assert_eq!(
        site.floor.store().pending_outbox_count().expect("outbox"),
        0,
        "a refused action writes nothing"
    );
    site.floor
        .request_count(request(&site, None, &"é".repeat(200)), NOW + 3)
        .expect("exactly the bound, in characters, is fine");
}
