//! The server's stock is the stock rules' answer: after a floor story pushed by two devices
//! out of order, `GET /stock` equals `aisle_core::stock::reference::evaluate` of the events.

use crate::support::{event, get_json, World};
use aisle_core::event::{CountDecision, ReviewDecision};
use aisle_core::stock::reference::evaluate;
use aisle_core::testkit::{adjusted, counted, key, moved, picked, received, reviewed};
use std::collections::BTreeMap;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_stock_equals_the_reference_evaluation() {
    let world = World::start(8).await;
    let (tenant, warehouse) = world.tenant("t");
    let first = world.enroll(tenant, warehouse, "pc-1").await;
    let second = world.enroll(tenant, warehouse, "pc-2").await;
    let (a, b, lot) = (key(1, 1, None), key(2, 2, None), key(1, 3, Some("L7")));
    let t: u64 = 1_700_000_000_000;
    let mut serial = 0;
    let mut next = |device, wall: u64, body| {
        serial += 1;
        event(device, serial, t + wall, body)
    };
    let needs_review = next(&second, 50, counted(&b, 1, 8, CountDecision::NeedsReview));
    let first_events = vec![
        next(&first, 10, received(&a, 10)),
        next(&first, 20, picked(&a, 3)),
        next(&first, 30, moved(&a, 2, 2)),
        next(&first, 40, received(&lot, 5)),
        next(&first, 60, picked(&lot, 9)), // negative stock: a discrepancy
        next(&first, 70, adjusted(&b, 4)),
    ];
    let second_events = vec![
        next(&second, 25, counted(&a, 6, 7, CountDecision::SelfApproved)),
        needs_review.clone(),
        next(
            &second,
            80,
            reviewed(needs_review.id, ReviewDecision::Approved),
        ),
        next(&second, 90, picked(&b, 20)),
    ];
    // The second device pushes first, though most of its events come later in event order.
    for (device, events) in [(&second, &second_events), (&first, &first_events)] {
        let (status, body) = world.push(device, events).await;
        assert_eq!(status, 200, "{body}");
    }
    let all: Vec<_> = first_events.iter().chain(&second_events).cloned().collect();
    let reference = evaluate(&all);

    let (status, body) = get_json(
        &world.http,
        &world.url(&format!("/v1/t/{tenant}/stock")),
        &first.token,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let served: BTreeMap<(String, String, Option<String>), i64> = body["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter(|row| row["on_hand"] != 0)
        .map(|row| {
            (
                (
                    row["location"].as_str().expect("location").to_owned(),
                    row["item"].as_str().expect("item").to_owned(),
                    row["lot"].as_str().map(str::to_owned),
                ),
                row["on_hand"].as_i64().expect("on_hand"),
            )
        })
        .collect();
    let expected: BTreeMap<(String, String, Option<String>), i64> = reference
        .on_hand
        .iter()
        .filter(|(_, qty)| **qty != 0)
        .map(|(key, qty)| {
            (
                (
                    key.location.to_string(),
                    key.item.to_string(),
                    key.lot.as_ref().map(|lot| lot.as_str().to_owned()),
                ),
                *qty,
            )
        })
        .collect();
    assert!(!expected.is_empty(), "the story leaves stock somewhere");
    assert_eq!(served, expected, "on-hand rows equal the reference");

    let served_discrepancies: Vec<aisle_core::stock::Discrepancy> =
        serde_json::from_value(body["discrepancies"].clone()).expect("discrepancies");
    let mut served_discrepancies: Vec<_> = served_discrepancies
        .into_iter()
        .map(|d| (d.id.clone(), d))
        .collect();
    served_discrepancies.sort_by(|x, y| x.0.cmp(&y.0));
    let expected_discrepancies: Vec<_> = reference.discrepancies.clone().into_iter().collect();
    assert!(
        !expected_discrepancies.is_empty(),
        "the story has a negative-stock discrepancy"
    );
    assert_eq!(served_discrepancies, expected_discrepancies);

    // Filtering by item returns that item's rows only.
    let (status, body) = get_json(
        &world.http,
        &world.url(&format!("/v1/t/{tenant}/stock?item={}", lot.item)),
        &second.token,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let rows = body["rows"].as_array().expect("rows");
    assert!(
        !rows.is_empty() && rows.iter().all(|row| row["item"] == lot.item.to_string()),
        "{body}"
    );
}
