//! The Aisle desktop app: one Tauri window over the UI built from `ui/` into `ui/dist`.
//!
//! This file only wires things together: logging to a rotating file, one instance per PC,
//! the window's size and place kept between runs, the app state ([`state::AppState`]), and
//! the command list from [`commands`]. It must never hold business logic: that lives in
//! `aisle-app` (floor work), `aisle-core` (the rules), `aisle-store` (the device database)
//! and `aisle-sync` (the sync engine).
//!
//! Flags: `--demo` opens demo mode at start (what `scripts/run.sh` does; a build without the
//! `demo` feature logs that it has none); `--data-dir DIR`
//! keeps profiles and stores in DIR instead of the app's data directory (for tests).
//! `aisle enroll …` enrols this PC without a window and exits ([`headless`]).

// Release builds on Windows should not open a console window next to the app.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod commands;
#[cfg(feature = "demo")]
mod demo;
mod headless;

/// Declares the app's commands from the one list in `command_list.rs`: the invoke handler
/// here, the app manifest in `build.rs` (which includes the same file), and
/// `capabilities/main.json`, which a test checks against the list.
macro_rules! app_commands {
    ($($command:ident),* $(,)?) => {
        /// Every command the UI may call, by name.
        #[cfg(test)]
        const COMMANDS: &[&str] = &[$(stringify!($command)),*];

        fn invoke_handler() -> impl Fn(tauri::ipc::Invoke) -> bool + Send + Sync + 'static {
            tauri::generate_handler![$(commands::$command),*]
        }
    };
}
include!("command_list.rs");
mod profiles;
mod scanner;
mod state;
mod updates;

use tauri::{Emitter, Manager};

/// Milliseconds since the Unix epoch by this PC's (uncorrected) clock: the desktop's one
/// clock, the same one the sync engine reads.
fn now_ms() -> u64 {
    u64::try_from(aisle_sync::system_now_ms()).unwrap_or(0)
}

/// What the command line asked for.
#[derive(Debug, Default, PartialEq, Eq)]
struct Flags {
    demo: bool,
    data_dir: Option<std::path::PathBuf>,
}

fn parse_flags(args: impl Iterator<Item = String>) -> Flags {
    let mut flags = Flags::default();
    let mut args = args.skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--demo" => flags.demo = true,
            "--data-dir" => flags.data_dir = args.next().map(Into::into),
            _ => {}
        }
    }
    flags
}

/// Logs go to a daily-rotated file in the app's log directory (and to stderr), never
/// with a token, a PIN or a request body in them.
fn init_logging(log_dir: &std::path::Path) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = tracing_subscriber::EnvFilter::try_from_env("AISLE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let file = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix("aisle")
        .filename_suffix("log")
        .max_log_files(14)
        .build(log_dir)
        .ok();
    let (file_layer, guard) = match file {
        Some(appender) => {
            let (writer, guard) = tracing_appender::non_blocking(appender);
            (
                Some(
                    tracing_subscriber::fmt::layer()
                        .with_ansi(false)
                        .with_writer(writer),
                ),
                Some(guard),
            )
        }
        None => (None, None),
    };
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(file_layer)
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
        .try_init();
    guard
}

/// WebKitGTK takes `navigator.language` from the process locale, and a PC (or a CI
/// machine) with no locale set reports "C", which the browser's own `Intl` then refuses
/// as a language tag, so the UI would not start. Such a PC gets American English.
fn ensure_usable_locale() {
    let locale = ["LC_ALL", "LC_MESSAGES", "LANG"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|value| !value.is_empty()));
    let unusable = match locale.as_deref() {
        None => true,
        Some(value) => {
            let language = value.split(['.', '@']).next().unwrap_or_default();
            language.eq_ignore_ascii_case("C") || language.eq_ignore_ascii_case("POSIX")
        }
    };
    if unusable {
        std::env::set_var("LC_ALL", "en_US.UTF-8");
        std::env::set_var("LANG", "en_US.UTF-8");
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // For IT and the package install test: which build this is, without a display.
    if matches!(args.get(1).map(String::as_str), Some("--version" | "-V")) {
        println!("aisle {}", env!("CARGO_PKG_VERSION"));
        return;
    }
    if args.get(1).map(String::as_str) == Some("enroll") {
        std::process::exit(headless::enroll(&args[2..]));
    }
    ensure_usable_locale();
    let flags = parse_flags(std::env::args());
    let run_result = tauri::Builder::default()
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            // A second start brings the running window forward instead.
            if let Some(window) = app.get_webview_window("main") {
                let _ = window.unminimize();
                let _ = window.set_focus();
            }
        }))
        .plugin(tauri_plugin_window_state::Builder::default().build())
        .plugin(tauri_plugin_updater::Builder::new().build())
        .manage(updates::PendingUpdate::default())
        .setup(move |app| {
            let log_dir = app.path().app_log_dir()?;
            let guard = init_logging(&log_dir);
            app.manage(LogGuard(guard));
            let data_dir = match &flags.data_dir {
                Some(dir) => dir.clone(),
                None => app.path().app_data_dir()?,
            };
            let app_state = state::AppState::new(data_dir)?;
            app.manage(app_state);
            let handle = app.handle().clone();
            let scanner = scanner::load_settings(&app.state::<state::AppState>().data_dir);
            if let Err(error) =
                scanner::open_serial_scanner(&handle, &app.state::<state::AppState>(), &scanner)
            {
                tracing::warn!(message = %error.message, "the serial scanner is not open");
            }
            let demo = flags.demo;
            tauri::async_runtime::spawn(async move {
                let app_state = handle.state::<state::AppState>();
                if demo {
                    if let Err(error) = commands::start_demo_mode(&app_state).await {
                        tracing::error!(code = error.code.as_str(), message = %error.message, "demo mode did not start");
                    }
                } else {
                    let active = app_state
                        .book
                        .lock()
                        .ok()
                        .and_then(|book| book.active_profile().cloned());
                    if let Some(profile) = active {
                        if let Err(error) = app_state.activate(profile) {
                            tracing::error!(code = error.code.as_str(), message = %error.message, "cannot open the last profile");
                        }
                    }
                }
                forward_sync_status(handle).await;
            });
            Ok(())
        })
        .invoke_handler(invoke_handler())
        .run(tauri::generate_context!());
    if let Err(error) = run_result {
        eprintln!("aisle: cannot run the desktop app: {error}");
        std::process::exit(1);
    }
}

/// Keeps the log writer alive as long as the app.
struct LogGuard(#[allow(dead_code)] Option<tracing_appender::non_blocking::WorkerGuard>);

/// Emits `sync-status` to the UI whenever the open profile's sync status changes.
async fn forward_sync_status(handle: tauri::AppHandle) {
    let mut last_sent: Option<aisle_app::views::SyncStatusView> = None;
    loop {
        let current = handle
            .state::<state::AppState>()
            .active
            .lock()
            .ok()
            .and_then(|slot| {
                slot.as_ref()
                    .map(|active| commands::sync_status_view(&active.status.borrow()))
            });
        if let Some(current) = current {
            if last_sent.as_ref() != Some(&current) {
                let _ = handle.emit("sync-status", &current);
                last_sent = Some(current);
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_read_from_the_command_line() {
        let args = ["aisle", "--demo", "--data-dir", "/tmp/aisle-e2e"].map(String::from);
        assert_eq!(
            parse_flags(args.into_iter()),
            Flags {
                demo: true,
                data_dir: Some("/tmp/aisle-e2e".into()),
            }
        );
        assert_eq!(
            parse_flags(["aisle".to_string()].into_iter()),
            Flags::default()
        );
    }

    /// The capability grants exactly the app's commands (plus the event API): a command
    /// missing from it is refused to the UI at run time, one left over is a grant nobody
    /// needs. The runtime refusal itself is pinned by tests/e2e/boundary.rs.
    #[test]
    fn the_capability_allows_exactly_the_commands_of_the_one_list() {
        let capability: serde_json::Value =
            serde_json::from_str(include_str!("../capabilities/main.json"))
                .expect("capabilities/main.json is JSON");
        let granted: std::collections::BTreeSet<&str> = capability["permissions"]
            .as_array()
            .expect("a permissions list")
            .iter()
            .filter_map(serde_json::Value::as_str)
            .filter(|permission| !permission.starts_with("core:"))
            .collect();
        let expected: Vec<String> = COMMANDS
            .iter()
            .map(|command| format!("allow-{}", command.replace('_', "-")))
            .collect();
        assert!(
            COMMANDS.len() >= 30,
            "the list has every command: {COMMANDS:?}"
        );
        assert_eq!(
            granted,
            expected.iter().map(String::as_str).collect(),
            "capabilities/main.json must allow exactly the commands in src-tauri/command_list.rs"
        );
    }
}
