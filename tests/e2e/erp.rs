//! The ERP announces a delivery (an expected receipt) while the app is open. The receiver
//! chooses it on the Receive screen (F2), receives one of its lines in part, and the screen
//! says what is still to come, at the normal size and at 640x480. Then the ERP cancels a pick
//! list while the picker is in the middle of it: the screen stops the picker and says what to
//! put back, and the put-back is recorded.

use crate::driver::Ui;
use crate::server::{Seeded, BOLT, NUT, PICK_LOCATION};
use serde_json::json;
use std::time::Duration;

/// The delivery the ERP announces.
const DELIVERY: &str = "ASN-E2E";

/// From the Sync screen, online: the ERP announces [`DELIVERY`] (10 bolts, 2 nuts), the
/// picker receives 4 bolts against it at DOCK-1, and the delivery's lines say 6 bolts are
/// still to come. Ends on the Sync screen, at the window's normal size.
pub async fn an_expected_delivery_is_received_against(ui: &Ui, seeded: &Seeded) {
    seeded
        .put_erp(
            "expected_receipts",
            json!({ "expected_receipts": [
                { "warehouse": "main", "reference": DELIVERY, "supplier": "Bolt & Co", "lines": [
                    { "line": 1, "sku": BOLT.sku, "qty": 10 },
                    { "line": 2, "sku": NUT.sku, "qty": 2 } ] } ] }),
        )
        .await;
    ui.click_action("Escape").await;
    ui.wait_for_screen("Menu").await;
    ui.click_action("1").await;
    ui.wait_for_screen("Receive").await;
    ui.wait_for_focus("receive-scan").await;
    // Live sync brings the delivery with master data; the list is read when F2 is pressed,
    // so until it is in, the receiver goes back and asks again, as a person would.
    let label = format!("{DELIVERY} · Bolt & Co · 2 lines");
    let label = label.as_str();
    ui.wait_for(
        "the ERP's delivery among the expected ones",
        || async move {
            ui.click_action("F2").await;
            for _ in 0..20 {
                let screen = ui.screen_text().await;
                if screen.contains(label) {
                    return Some(());
                }
                if screen.contains("No deliveries are expected.") {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            ui.click_action("Escape").await;
            None
        },
    )
    .await;
    ui.click_action("1").await;
    ui.wait_for_feedback(&format!("Receiving against {DELIVERY}."))
        .await;
    ui.wait_for_focus("receive-scan").await;
    ui.scan("L:DOCK-1").await;
    ui.wait_for_feedback("Location DOCK-1").await;
    ui.scan(BOLT.ean).await;
    ui.wait_for_focus("receive-qty").await;
    ui.type_line("4").await;
    ui.wait_for_text(".prompt", "Press Enter to receive.").await;
    ui.click_action("Enter").await;
    ui.wait_for_feedback("Received 4 × BOLT-M6 at DOCK-1. On hand: 4.")
        .await;
    let still_to_come = "4 of 10 · 6 to come";
    ui.wait_for_text("[data-testid=delivery-lines]", still_to_come)
        .await;
    ui.wait_for_text("[data-testid=delivery-lines]", "0 of 2 · 2 to come")
        .await;
    ui.screenshot("17-receive-expected-delivery").await;

    let (width, height) = ui.window_size().await;
    ui.set_window_size(640, 480).await;
    ui.wait_for_text("[data-testid=delivery-lines]", still_to_come)
        .await;
    let hidden = ui
        .not_in_view(&["[data-testid=delivery-lines]", ".prompt", ":focus"])
        .await;
    ui.screenshot("18-receive-expected-delivery-640x480").await;
    assert!(
        hidden.is_empty(),
        "at 640x480 the delivery's lines, the prompt and the scan field stay in view: {hidden:?}"
    );
    ui.set_window_size(width, height).await;
    ui.click_action("Escape").await;
    ui.wait_for_text(".prompt", "Scan the location").await;
    ui.click_action("Escape").await;
    ui.wait_for_screen("Menu").await;
    ui.click_action("F10").await;
    ui.wait_for_screen("Sync").await;
}

/// The pick list the ERP cancels mid-way.
const CANCELLED_LIST: &str = "SO-7003";

/// From the Sync screen, online: the ERP sends [`CANCELLED_LIST`] (a bolt at A-01-01, a nut
/// at A-01-02); the picker picks the bolt, and while the screen asks for the nut's location
/// the ERP cancels the list. No key is pressed: the screen stops the picker and lists the
/// bolt to put back (screenshots at the normal size and at 640x480); the picker puts it back.
/// Ends on the Sync screen, at the window's normal size.
pub async fn a_cancelled_pick_list_stops_the_picker(ui: &Ui, seeded: &Seeded) {
    seeded
        .put_erp(
            "pick_lists",
            json!({ "pick_lists": [
                { "warehouse": "main", "reference": CANCELLED_LIST, "lines": [
                    { "line": 1, "sku": BOLT.sku, "location": PICK_LOCATION, "qty": 1 },
                    { "line": 2, "sku": NUT.sku, "location": "A-01-02", "qty": 1 } ] } ] }),
        )
        .await;
    ui.click_action("Escape").await;
    ui.wait_for_screen("Menu").await;
    ui.click_action("2").await;
    ui.wait_for_screen("Pick").await;
    ui.wait_for_text(".choices", CANCELLED_LIST).await;
    // Enter opens the next open list nobody has claimed: the only one is the new list.
    ui.click_action("Enter").await;
    ui.wait_for_feedback(&format!("Pick list {CANCELLED_LIST}"))
        .await;
    ui.wait_for_focus("pick-scan").await;
    ui.scan(&format!("L:{PICK_LOCATION}")).await;
    ui.wait_for_feedback(&format!("Location {PICK_LOCATION}"))
        .await;
    ui.scan(BOLT.ean).await;
    ui.wait_for_focus("pick-qty").await;
    ui.press_enter().await;
    ui.wait_for_text(".prompt", "Go to A-01-02").await;

    seeded.cancel_pick_list(CANCELLED_LIST).await;
    let stopped = format!("Cancelled by the ERP: put back what was picked for {CANCELLED_LIST}");
    ui.wait_for_text(".prompt", &stopped).await;
    let put_back = format!("Put back 1 x {} ", BOLT.sku);
    ui.wait_for_text("[data-testid=put-backs]", &put_back).await;
    ui.wait_for_feedback("Cancelled by the ERP").await;
    ui.screenshot("19-pick-cancelled-by-the-erp").await;
    let (width, height) = ui.window_size().await;
    ui.set_window_size(640, 480).await;
    ui.wait_for_text("[data-testid=put-backs]", &put_back).await;
    let hidden = ui
        .not_in_view(&[
            ".prompt",
            "[data-testid=put-backs]",
            "[data-testid=feedback]",
        ])
        .await;
    ui.screenshot("20-pick-cancelled-by-the-erp-640x480").await;
    assert!(
        hidden.is_empty(),
        "at 640x480 the interrupt and what to put back stay in view: {hidden:?}"
    );
    ui.set_window_size(width, height).await;
    ui.click_action("1").await;
    ui.wait_for_feedback(&format!("Put back: 1 x {} to {PICK_LOCATION}", BOLT.sku))
        .await;
    ui.wait_for_text(".prompt", "nothing of").await;
    ui.click_action("Escape").await;
    ui.wait_for_text(".prompt", "Choose a pick list").await;
    ui.click_action("Escape").await;
    ui.wait_for_screen("Menu").await;
    ui.click_action("F10").await;
    ui.wait_for_screen("Sync").await;
}
