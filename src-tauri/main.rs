//! The Aisle desktop app: a Tauri 2 window over the buildless UI in `ui/src`.
//!
//! This file only wires things together: it registers the command layer from
//! [`commands`] and starts the window described by `tauri.conf.json`. It must never
//! hold business logic; that lives in `aisle-core` (the rules) and `aisle-store`
//! (the device database), and commands are thin wrappers over them.

// Release builds on Windows should not open a console window next to the app.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod commands;

fn main() {
    let run_result = tauri::Builder::default()
        .invoke_handler(tauri::generate_handler![commands::app_status])
        .run(tauri::generate_context!());
    if let Err(error) = run_result {
        eprintln!("aisle: cannot run the desktop app: {error}");
        std::process::exit(1);
    }
}
