//! Floor steps that both the end-to-end test (`tests/e2e/main.rs`) and the scan-to-screen
//! benchmark (`benches/scan_latency.rs`) walk through on the real app: enrolling and
//! signing in, receiving, and waiting for the sync badge.

use crate::driver::Ui;
use crate::server::{Seeded, PICKER};
use std::time::Duration;

/// How long the app may take to get (back) in sync with the server.
pub const RESYNC_WAIT: Duration = Duration::from_secs(60);

/// The pending count in the badge.
pub async fn pending(ui: &Ui) -> Option<u64> {
    ui.attribute("[data-testid=sync-pending]", "data-pending")
        .await?
        .parse()
        .ok()
}

/// Waits until the badge says Online with nothing pending.
pub async fn wait_until_synced(ui: &Ui, what: &str) {
    ui.wait_for_within(what, RESYNC_WAIT, || async move {
        let online = ui.text("[data-testid=sync-state]").await? == "Online";
        (online && pending(ui).await? == 0).then_some(())
    })
    .await;
}

/// Enrolls the PC with the seeded code (typed as a person types), waits for the first sync
/// to bring the users down, and signs the picker in with a badge scan and the PIN. Ends on
/// the menu.
pub async fn enroll_and_sign_in(ui: &Ui, seeded: &Seeded) {
    ui.wait_for_screen("Enroll this PC").await;
    ui.wait_for_focus("enroll-serverUrl").await;
    ui.type_text(&seeded.base_url).await;
    ui.click_field("enroll-code").await;
    ui.type_text(&seeded.enrollment_code).await;
    ui.click_field("enroll-deviceName").await;
    ui.type_text("Dock PC 1").await;
    ui.screenshot("01-enroll").await;
    ui.click_action("F2").await;

    ui.wait_for_screen("Sign in").await;
    // The first sync brings the users (with their PIN hashes) down; until then no badge
    // is known here.
    wait_until_synced(ui, "the first sync after enrolling").await;
    ui.wait_for_focus("signin-badge").await;
    ui.screenshot("02-sign-in").await;
    let (badge, name, _role, pin) = PICKER;
    ui.scan(&format!("U:{badge}")).await;
    ui.wait_for_focus("signin-pin").await;
    ui.type_line(pin).await;
    ui.wait_for_screen("Menu").await;
    ui.wait_for_text(".user", name).await;
    ui.screenshot("03-menu").await;
}

/// Receives `qty` of the item with barcode `item_code` at `location`, from the menu, and
/// stays on the Receive screen with the message that says it is done.
pub async fn receive(ui: &Ui, location: &str, item_code: &str, qty: i64, done: &str) {
    ui.click_action("1").await;
    ui.wait_for_screen("Receive").await;
    ui.wait_for_focus("receive-scan").await;
    ui.scan(&format!("L:{location}")).await;
    ui.wait_for_feedback(&format!("Location {location}")).await;
    ui.scan(item_code).await;
    ui.wait_for_focus("receive-qty").await;
    ui.type_line(&qty.to_string()).await;
    ui.wait_for_text(".prompt", "Press Enter to receive.").await;
    ui.click_action("Enter").await;
    ui.wait_for_feedback(done).await;
}

/// From the Receive screen's item step back to the menu.
pub async fn leave_receive(ui: &Ui) {
    ui.click_action("Escape").await;
    ui.wait_for_text(".prompt", "Scan the location").await;
    ui.click_action("Escape").await;
    ui.wait_for_screen("Menu").await;
}
