//! Builds the Tauri context for the desktop app and declares its commands in the app
//! manifest, so that Tauri generates an `allow-<command>` permission for each and checks
//! every call against the capabilities in `capabilities/` (docs/ARCHITECTURE.md).

/// Every command in `main.rs`'s `generate_handler!`. With an app manifest Tauri checks every
/// app command, so one missing here (it has no `allow-` permission) or missing from
/// `capabilities/main.json` is refused to the UI, which the e2e run would show.
const COMMANDS: &[&str] = &[
    "app_status",
    "list_profiles",
    "enroll",
    "start_demo",
    "switch_profile",
    "sign_in",
    "sign_out",
    "session",
    "set_idle_timeout",
    "resolve_scan",
    "lookup",
    "receive",
    "move_stock",
    "count",
    "pick_lists",
    "open_pick_list",
    "pick_line",
    "short_pick",
    "count_tasks",
    "variances",
    "review_count",
    "request_count",
    "discrepancies",
    "quarantined",
    "record_again",
    "stock_at",
    "history",
    "stock_series",
    "sync_status",
    "sync_now",
    "scanner_settings",
    "save_scanner_settings",
    "serial_ports",
];

fn main() {
    println!("cargo:rerun-if-changed=capabilities");
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("tauri build step failed");
}
