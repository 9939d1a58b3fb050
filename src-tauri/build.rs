//! Builds the Tauri context for the desktop app and declares its commands in the app
//! manifest, so that Tauri generates an `allow-<command>` permission for each and checks
//! every call against the capabilities in `capabilities/` (docs/ARCHITECTURE.md).

/// Declares `COMMANDS` from the one list in `command_list.rs`, which `main.rs` turns into its
/// invoke handler. With an app manifest Tauri checks every app command, so a command
/// missing from `capabilities/main.json` is refused to the UI; a test in `main.rs` checks
/// that file against the same list.
macro_rules! app_commands {
    ($($command:ident),* $(,)?) => {
        const COMMANDS: &[&str] = &[$(stringify!($command)),*];
    };
}
include!("command_list.rs");

fn main() {
    println!("cargo:rerun-if-changed=capabilities");
    println!("cargo:rerun-if-changed=src-tauri/command_list.rs");
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("tauri build step failed");
}
