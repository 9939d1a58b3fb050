//! The ERP announces a delivery (an expected receipt) while the app is open. The receiver
//! chooses it on the Receive screen (F2), receives one of its lines in part, and the screen
//! says what is still to come, at the normal size and at 640x480.

use crate::driver::Ui;
use crate::server::{Seeded, BOLT, NUT};
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
