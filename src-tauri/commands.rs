//! The Tauri command layer: the only functions the UI can call.
//!
//! Every command is thin (decode, call one function, map the error), and every error
//! reaches the UI as a [`CommandError`] `{code, message}` so the UI branches on a
//! stable `code` and never on message text. The structs here are transport DTOs for
//! the UI only; they are not the sync wire format and must not leak deeper than this
//! module.

use serde::Serialize;

/// What the status line shows: which build is running and what state the store is in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppStatus {
    /// The desktop app's version, from `Cargo.toml`.
    pub app_version: &'static str,
    /// The domain crate this build links.
    pub core_crate: &'static str,
    /// The inventory event schema version the core writes.
    pub event_version: u16,
    /// The device store crate this build links.
    pub store_crate: &'static str,
    /// The newest device database schema this build can open.
    pub store_schema_version: i64,
    /// A human sentence about the local store.
    pub store: &'static str,
}

/// The one error shape every command returns to the UI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommandError {
    /// A stable, machine-readable code such as `disk_full`; the UI matches on this.
    pub code: &'static str,
    /// A human-readable sentence the UI may show as is.
    pub message: String,
}

impl From<aisle_store::StoreError> for CommandError {
    fn from(error: aisle_store::StoreError) -> Self {
        use aisle_store::StoreError;
        let code = match &error {
            StoreError::DiskFull => "disk_full",
            StoreError::TooNew { .. } => "store_too_new",
            // Busy and locked databases clear up on their own, so the UI may offer a retry.
            _ if error.is_retryable() => "store_busy",
            _ => "store_error",
        };
        Self {
            code,
            message: error.to_string(),
        }
    }
}

/// Reports the running build and the state of the local store.
///
/// The store is not opened by the app yet; a later issue adds profiles and opening.
#[tauri::command]
pub fn app_status() -> Result<AppStatus, CommandError> {
    Ok(AppStatus {
        app_version: env!("CARGO_PKG_VERSION"),
        core_crate: "aisle-core",
        event_version: aisle_core::event::EVENT_VERSION,
        store_crate: "aisle-store",
        store_schema_version: aisle_store::SCHEMA_VERSION,
        store: "not opened yet",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_status_reports_this_build() {
        let status = app_status().expect("app_status has no failure path yet");
        assert_eq!(
            status.app_version,
            env!("CARGO_PKG_VERSION"),
            "the status line must show the version of the binary that is running"
        );
        assert_eq!(status.store_schema_version, aisle_store::SCHEMA_VERSION);
    }

    /// `ui/src/status.js` reads these exact keys; renaming one breaks the status line.
    #[test]
    fn app_status_serializes_with_the_keys_the_ui_reads() {
        let json = serde_json::to_value(app_status().unwrap()).unwrap();
        let mut keys: Vec<&str> = json
            .as_object()
            .expect("app_status is a JSON object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "appVersion",
                "coreCrate",
                "eventVersion",
                "store",
                "storeCrate",
                "storeSchemaVersion"
            ],
            "the UI's status formatter depends on these field names"
        );
    }

    #[test]
    fn store_errors_reach_the_ui_as_code_and_message() {
        let store_error = aisle_store::StoreError::DiskFull;
        let expected_message = store_error.to_string();
        let json = serde_json::to_value(CommandError::from(store_error)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({ "code": "disk_full", "message": expected_message }),
            "the UI expects exactly {{code, message}} with a stable code"
        );
    }
}
