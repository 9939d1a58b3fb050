//! The JSON shapes of the desktop shell's own commands: profiles, app status, sign-in and
//! session, sync status, scanner settings, and the small argument objects of the floor's
//! commands (`docs/desktop-commands.md`). Like the rest of [`crate::views`] they are
//! transport types; `src-tauri/commands.rs` fills them from `aisle-sync` and the profile
//! book and goes no deeper.

use super::UserView;
use aisle_core::ids::{EventId, ItemId, LocationId, PickListId};
use serde::{Deserialize, Serialize};

/// A warehouse profile of this PC: one enrolment with one server, tenant and warehouse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "Profile"))]
#[serde(rename_all = "camelCase")]
pub struct ProfileView {
    pub id: String,
    pub label: String,
    pub server_url: String,
    pub tenant: String,
    pub warehouse: String,
    pub device: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct AppStatus {
    pub app_version: &'static str,
    pub event_version: u16,
    pub store_schema_version: i64,
    pub profile: Option<ProfileView>,
    pub user: Option<UserView>,
    /// Whether this build has demo mode (the desktop's `demo` cargo feature): the UI offers
    /// the demo only then.
    pub demo_available: bool,
    /// Whether the open profile is the demo, served by the app's own demo server.
    pub demo: bool,
    /// The demo users with their PINs, for the sign-in screen; empty unless `demo`.
    pub demo_users: Vec<DemoUserView>,
}

/// A demo user as the sign-in screen lists it. Only demo PINs ever cross here: they are
/// public by design, printed in the README.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "DemoUser"))]
pub struct DemoUserView {
    pub badge: &'static str,
    pub name: &'static str,
    pub role: &'static str,
    pub pin: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct EnrollArgs {
    pub server_url: String,
    pub code: String,
    pub device_name: String,
    #[serde(default)]
    #[cfg_attr(test, ts(as = "Option<_>", optional))]
    pub allow_http: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SwitchArgs {
    pub profile_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct SignInArgs {
    pub badge: String,
    pub pin: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct SessionArgs {
    /// The person did something since the UI last asked: restart the idle timer.
    #[serde(default)]
    #[cfg_attr(test, ts(as = "Option<_>", optional))]
    pub activity: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct IdleTimeoutArgs {
    pub minutes: u32,
}

/// A scan's raw text, as the wedge or serial scanner delivered it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct RawArgs {
    pub raw: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct OpenPickListArgs {
    pub pick_list: Option<PickListId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ReviewArgs {
    pub counted_event: EventId,
    pub approve: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct RecordAgainArgs {
    pub event_id: EventId,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct StockAtArgs {
    pub location: LocationId,
    pub item: ItemId,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ItemArgs {
    pub item: ItemId,
}

/// The sync status as the UI shows it. What is not known is left out rather than sent as
/// `null`: the UI's optional fields are `undefined` when absent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "SyncStatus", optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct SyncStatusView {
    pub online: bool,
    pub pending: u64,
    pub quarantined: u64,
    /// The live channel is in use: another PC's work shows as it happens.
    pub live: bool,
    /// Events pulled from the server that were new here since the engine started. When it
    /// moves, the store holds another PC's or the ERP's work and screens read it again.
    pub pulled_new: u64,
    /// Master-data pulls that changed the store (a new pick list, a PC's name) since the
    /// engine started; screens read again when it moves, as for `pulled_new`.
    pub master_changed: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_success_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When the last error happened (device time, as `last_success_ms`), so the UI can tell
    /// an error that a later sync got past from one that still holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clock_offset_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clock_warning: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<ProgressView>,
    /// The Aisle version this PC needs to read every event the server sent it (some are
    /// kept unread until it is updated); absent when it reads them all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub needs_update: Option<String>,
}

/// How far the running sync round got: `done` of `total` events, when the total is known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "SyncProgress", optional_fields))]
pub struct ProgressView {
    pub done: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
}

/// The keys that may end a keyboard-wedge scan.
pub const TERMINATORS: [&str; 3] = ["enter", "tab", "none"];

/// What the scanner setup page edits; `src-tauri/scanner.rs` keeps it in `scanner.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct ScannerSettings {
    pub max_key_gap_ms: u32,
    pub min_length: u32,
    pub prefix: String,
    pub suffix: String,
    /// One of [`TERMINATORS`].
    #[cfg_attr(test, ts(type = "Terminator"))]
    pub terminator: String,
    pub gs_substitutes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial_port: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baud: Option<u32>,
}

impl Default for ScannerSettings {
    /// Suits a USB keyboard-wedge scanner: keys at most 30 ms apart, at least 4 of them.
    fn default() -> Self {
        Self {
            max_key_gap_ms: 30,
            min_length: 4,
            prefix: String::new(),
            suffix: String::new(),
            terminator: "enter".into(),
            gs_substitutes: aisle_core::scan::ScanConfig::default().gs_substitutes,
            serial_port: None,
            baud: None,
        }
    }
}

impl ScannerSettings {
    /// Why the settings cannot be saved, if they cannot.
    pub fn check(&self) -> Result<(), String> {
        if !TERMINATORS.contains(&self.terminator.as_str()) {
            return Err(format!(
                "terminator must be enter, tab or none, not {:?}",
                self.terminator
            ));
        }
        if self.max_key_gap_ms == 0 || self.max_key_gap_ms > 1_000 {
            return Err("the gap between a scanner's keys must be 1-1000 ms".into());
        }
        if self.gs_substitutes.iter().any(String::is_empty) {
            return Err("a GS substitute cannot be empty".into());
        }
        Ok(())
    }
}

/// What the Settings tab shows about updates served by the warehouse's server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "UpdateStatus"))]
#[serde(rename_all = "camelCase")]
pub struct UpdateView {
    /// This build's version.
    pub current: String,
    /// The version the server offers this PC, when one is due.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub available: Option<String>,
    /// What changed in it, as the release says.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub notes: Option<String>,
    /// Downloaded and its signature checked against this build's updater key: ready to
    /// install.
    pub ready: bool,
}
