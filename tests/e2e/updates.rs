//! An update from the warehouse's own server, on the real app: the run's server stores a
//! release signed with updater keys the run made (the app trusts their public half through
//! `AISLE_UPDATER_PUBKEY`), a manager's Settings tab shows "Update available", a download
//! of a tampered artifact is refused with nothing kept, and the true one is downloaded and
//! its signature checked, ready to install. It is not installed: that would replace the
//! binary under test.

use crate::driver::Ui;
use crate::flows::{leave_receive, pending, receive};
use crate::server::{TestServer, NUT};
use aisle_server::registry::NewRelease;
use aisle_server::{registry_path, Registry as _, SqliteRegistry};

#[path = "../../crates/aisle-server/tests/it/updater_keys.rs"]
mod updater_keys;
pub use updater_keys::UpdaterKeys;

const VERSION: &str = "0.3.0";
const FILE: &str = "Aisle_0.3.0_amd64.AppImage.tar.gz";

pub async fn a_manager_takes_an_update_from_the_server(
    ui: &Ui,
    server: &mut TestServer,
    keys: &UpdaterKeys,
) {
    // The manager is signed in, on the Manager screen at 640x480.
    let artifact: Vec<u8> = (0..400_000u32).map(|n| (n % 241) as u8).collect();
    let registry = SqliteRegistry::open(&registry_path(server.data_dir())).expect("registry");
    registry
        .add_release(
            &NewRelease {
                target: "linux-x86_64".into(),
                version: VERSION.into(),
                channel: "stable".into(),
                file_name: FILE.into(),
                signature: keys.sign(&artifact),
                notes: "Expected receipts on the Receive screen".into(),
            },
            &artifact,
            aisle_server::now_ms(),
        )
        .expect("the release is stored");
    let stored = server
        .data_dir()
        .join("releases/linux-x86_64")
        .join(VERSION)
        .join(FILE);
    let mut tampered = artifact.clone();
    tampered[200_000] ^= 0x40;
    std::fs::write(&stored, &tampered).expect("tamper with the stored artifact");

    ui.click_action("6").await;
    ui.wait_for_text(".update-available", "Update available: 0.3.0")
        .await;
    let hidden = ui
        .not_in_view(&[".update-available", "[data-testid=\"action-F4\"]"])
        .await;
    ui.screenshot("21-update-available-640x480").await;
    assert!(
        hidden.is_empty(),
        "at 640x480 the offered update and its download key are in view: {hidden:?}"
    );
    ui.click_action("F4").await;
    let refused = ui
        .wait_for_feedback("the download of 0.3.0 was refused, nothing is installed")
        .await;
    assert!(
        !ui.screen_text().await.contains("is downloaded"),
        "a tampered artifact is not kept: {refused}"
    );

    std::fs::write(&stored, &artifact).expect("the true artifact back");
    ui.set_window_size(1024, 720).await;
    ui.click_action("F4").await;
    ui.wait_for("the update to be downloaded and checked", || async move {
        ui.screen_text()
            .await
            .contains("Aisle 0.3.0 is downloaded and its signature checked")
            .then_some(())
    })
    .await;
    ui.screenshot("22-update-ready").await;

    // Installing waits for the outbox: with the server away, a receipt waits to be sent, and
    // F5 on Settings (which shows the downloaded update offline too) is refused, naming it.
    server.stop().await;
    ui.click_action("Escape").await;
    ui.wait_for_screen("Menu").await;
    receive(ui, "A-01-02", NUT.ean, 1, "Received 1 × NUT-M6 at A-01-02.").await;
    ui.wait_for("the receipt to wait in the outbox", || async move {
        (pending(ui).await? > 0).then_some(())
    })
    .await;
    leave_receive(ui).await;
    ui.click_action("8").await;
    ui.wait_for_screen("Manager").await;
    ui.click_action("6").await;
    ui.wait_for("the downloaded update, offline", || async move {
        ui.screen_text()
            .await
            .contains("Aisle 0.3.0 is downloaded and its signature checked")
            .then_some(())
    })
    .await;
    ui.click_action("F5").await;
    ui.wait_for_feedback(
        "1 event recorded on this PC is waiting to be sent: sync first, then install",
    )
    .await;
    ui.screenshot("23-update-waits-for-the-outbox").await;
    server.restart().await;
}
