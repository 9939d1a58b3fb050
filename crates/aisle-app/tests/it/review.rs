//! Regression (demo): every variance's "When" read "Invalid Date" (the view had no time),
//! a count and its recount showed as two rows, and deciding the recount left the first one
//! behind; the inbox showed no location or item, and a review named its count by id.

use crate::{site, Site, MANAGER_PIN, NOW, PICKER_PIN};
use aisle_app::views::{CountArgs, HistoryArgs};

fn count(site: &mut Site, qty: i64, now_ms: u64) {
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
        .expect("count");
}

/// Ten bolts received at A-01, counted as 3 and then recounted as 4: both outside the
/// tolerance of one, so both wait for review. The manager is signed in afterwards.
fn counted_twice() -> Site {
    let mut site = site();
    site.floor
        .sign_in("U-0042", PICKER_PIN, NOW)
        .expect("sign in");
    site.floor
        .receive(crate::bolts_at_a(&site, 10), NOW + 1)
        .expect("receive");
    count(&mut site, 3, NOW + 1_000);
    count(&mut site, 4, NOW + 2_000);
    site.floor
        .sign_in("U-0001", MANAGER_PIN, NOW + 3_000)
        .expect("manager");
    site
}

#[test]
fn a_recount_is_the_one_variance_of_its_key_with_the_time_it_was_taken() {
    let mut site = counted_twice();
    let variances = site.floor.variances(NOW + 3_001).expect("variances");
    assert_eq!(
        variances.len(),
        1,
        "the first count is superseded by its recount: {variances:?}"
    );
    assert_eq!(variances[0].counted_qty, 4, "the recount is the row shown");
    assert!(
        (NOW + 2_000..NOW + 3_000).contains(&variances[0].hlc_ms),
        "the count's hlc wall ms, not the review's: {}",
        variances[0].hlc_ms
    );
    let json = serde_json::to_value(&variances[0]).expect("json");
    assert!(
        json.get("hlcMs").is_some_and(|ms| ms.is_u64()),
        "the UI reads hlcMs: {json}"
    );
}

#[test]
fn deciding_the_recount_leaves_no_stale_row_and_the_review_names_the_count() {
    let mut site = counted_twice();
    let inbox = site.floor.discrepancies(NOW + 3_001).expect("inbox");
    assert_eq!(inbox.len(), 1, "one variance waits, not two: {inbox:?}");
    assert_eq!(inbox[0].kind, "count_variance");
    assert_eq!(
        inbox[0].location.as_ref().map(|l| l.code.as_str()),
        Some("A-01"),
        "the inbox shows where"
    );
    assert_eq!(
        inbox[0].item.as_ref().map(|i| i.sku.as_str()),
        Some("BOLT-M6"),
        "and what"
    );

    let recount = site.floor.variances(NOW + 3_002).expect("variances")[0].counted_event;
    site.floor
        .review_count(recount, true, NOW + 3_003)
        .expect("approve");
    assert!(
        site.floor
            .variances(NOW + 3_004)
            .expect("variances")
            .is_empty(),
        "nothing stale is left"
    );
    assert!(
        site.floor
            .discrepancies(NOW + 3_004)
            .expect("inbox")
            .is_empty(),
        "nor in the inbox"
    );

    let history = site
        .floor
        .history(&HistoryArgs::default(), NOW + 3_005)
        .expect("history");
    let review = history
        .entries
        .iter()
        .find(|entry| entry.kind == "count_reviewed")
        .expect("the review is in the trail");
    assert_eq!(
        review.summary, "approved the count of 4 x BOLT-M6 at A-01 by Ana",
        "in words, no id"
    );
}
