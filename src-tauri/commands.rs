//! The Tauri command layer: the only functions the UI can call (`docs/desktop-commands.md`).
//!
//! Every command is thin: decode, call one function of `aisle-app` (or the profile and
//! demo plumbing in this crate), map the error. Every error reaches the UI as a
//! [`CommandError`] `{code, message}`, so the UI branches on a stable `code` and never on
//! message text. DTOs live in `aisle_app::views` and go no deeper.

use crate::scanner::ScannerSettings;
use crate::state::{Active, AppState};
use aisle_app::views::{
    CountArgs, CountTaskView, CountedView, DiscrepancyView, HistoryArgs, HistoryPageView,
    LookupView, LotStockView, MoveArgs, PickArgs, PickListSummaryView, PickListView,
    QuarantinedView, ReceiveArgs, RecordedView, RequestCountArgs, Resolved, SessionView,
    ShortPickArgs, StockPoint, UserView, VarianceView,
};
use aisle_app::{AppError, IdleTimeout};
use aisle_core::event::Date;
use aisle_core::ids::{EventId, ItemId, LocationId, PickListId};
use aisle_sync::{DeviceProfile, EnrollForm, SyncConfig, SyncStatus};
use serde::{Deserialize, Serialize};
use tauri::State;

/// The one error shape every command returns to the UI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommandError {
    /// A stable, machine-readable code such as `disk_full`; the UI matches on this.
    pub code: &'static str,
    /// A human-readable sentence the UI may show as is.
    pub message: String,
}

impl CommandError {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl From<AppError> for CommandError {
    fn from(error: AppError) -> Self {
        Self::new(error.code(), error.to_string())
    }
}

impl From<crate::state::OpenError> for CommandError {
    fn from(error: crate::state::OpenError) -> Self {
        Self::new(error.code, error.message)
    }
}

impl From<aisle_store::StoreError> for CommandError {
    fn from(error: aisle_store::StoreError) -> Self {
        Self::from(AppError::Store(error))
    }
}

type Answer<T> = Result<T, CommandError>;

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as u64)
}

/// Today's date in UTC, which the GS1 century rule reads two-digit years against.
fn today() -> Date {
    civil_from_days((now_ms() / 86_400_000) as i64)
}

/// The calendar date `days` after 1970-01-01.
fn civil_from_days(days: i64) -> Date {
    // Civil-from-days (Howard Hinnant's algorithm), to avoid a date crate for one call.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = (yoe + era * 400 + i64::from(month <= 2)) as u16;
    Date::new(year, month, day).unwrap_or(Date {
        year: 2026,
        month: 1,
        day: 1,
    })
}

/// Runs `work` on the open profile, or answers `no_profile`.
fn with_active<T>(
    state: &AppState,
    work: impl FnOnce(&mut Active) -> Result<T, AppError>,
) -> Answer<T> {
    let mut slot = state
        .active
        .lock()
        .map_err(|_| CommandError::new("store_error", "the profile lock is poisoned"))?;
    let active = slot.as_mut().ok_or(AppError::NoProfile)?;
    Ok(work(active)?)
}

/// Like [`with_active`] for actions that record an event: sync is told there is one.
fn recording<T>(
    state: &AppState,
    work: impl FnOnce(&mut Active) -> Result<T, AppError>,
) -> Answer<T> {
    with_active(state, |active| {
        let answer = work(active)?;
        if let Some(sync) = &active.sync {
            sync.local_event();
        }
        Ok(answer)
    })
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileView {
    pub id: String,
    pub label: String,
    pub server_url: String,
    pub tenant: String,
    pub warehouse: String,
    pub device: String,
}

impl From<&DeviceProfile> for ProfileView {
    fn from(profile: &DeviceProfile) -> Self {
        Self {
            id: profile.name.clone(),
            label: profile.name.clone(),
            server_url: profile.server_url.clone(),
            tenant: profile.tenant.to_string(),
            warehouse: profile.warehouse.to_string(),
            device: profile.device.to_string(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppStatus {
    pub app_version: &'static str,
    pub event_version: u16,
    pub store_schema_version: i64,
    pub profile: Option<ProfileView>,
    pub user: Option<UserView>,
    /// Whether the open profile is the demo, served by the app's own demo server.
    pub demo: bool,
    /// The demo users with their PINs, for the sign-in screen; empty unless `demo`.
    pub demo_users: Vec<DemoUserView>,
}

/// A demo user as the sign-in screen lists it. Only demo PINs ever cross here: they are
/// public by design, printed in the README.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DemoUserView {
    pub badge: &'static str,
    pub name: &'static str,
    pub role: &'static str,
    pub pin: &'static str,
}

/// The demo users when the open profile is the demo one and its server runs; else none.
fn demo_users(demo: bool) -> Vec<DemoUserView> {
    if !demo {
        return Vec::new();
    }
    crate::demo::DEMO_USERS
        .iter()
        .map(|&(badge, name, role, pin)| DemoUserView {
            badge,
            name,
            role,
            pin,
        })
        .collect()
}

#[tauri::command]
pub async fn app_status(state: State<'_, AppState>) -> Answer<AppStatus> {
    let demo_server_runs = state
        .demo
        .lock()
        .map(|demo| demo.is_some())
        .unwrap_or(false);
    let (profile, user, demo_profile) = match state.active.lock() {
        Ok(mut slot) => match slot.as_mut() {
            Some(active) => (
                Some(ProfileView::from(&active.profile)),
                active.floor.current_user(now_ms()),
                active.profile.name == crate::demo::DEMO_PROFILE,
            ),
            None => (None, None, false),
        },
        Err(_) => (None, None, false),
    };
    // The demo server keeps running after a switch to an enrolled profile; that profile is
    // not a demo, and its sign-in screen must not list the demo's PINs.
    let demo = demo_server_runs && demo_profile;
    Ok(AppStatus {
        app_version: env!("CARGO_PKG_VERSION"),
        event_version: aisle_core::event::EVENT_VERSION,
        store_schema_version: aisle_store::SCHEMA_VERSION,
        profile,
        user,
        demo,
        demo_users: demo_users(demo),
    })
}

#[tauri::command]
pub async fn list_profiles(state: State<'_, AppState>) -> Answer<Vec<ProfileView>> {
    let book = state
        .book
        .lock()
        .map_err(|_| CommandError::new("store_error", "the profile book lock is poisoned"))?;
    Ok(book.profiles.iter().map(ProfileView::from).collect())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnrollArgs {
    pub server_url: String,
    pub code: String,
    pub device_name: String,
    #[serde(default)]
    pub allow_http: bool,
}

#[tauri::command]
pub async fn enroll(state: State<'_, AppState>, args: EnrollArgs) -> Answer<ProfileView> {
    let profile_name = format!("profile-{}", now_ms());
    let profile = aisle_sync::enroll(
        &EnrollForm {
            server_url: args.server_url.trim(),
            code: args.code.trim(),
            device_name: args.device_name.trim(),
            profile_name: &profile_name,
            allow_insecure_http: args.allow_http,
        },
        state.tokens(),
        &SyncConfig::default(),
    )
    .await
    .map_err(|error| CommandError::new("enroll_failed", error.to_string()))?;
    let view = ProfileView::from(&profile);
    state.activate(profile)?;
    Ok(view)
}

#[tauri::command]
pub async fn start_demo(state: State<'_, AppState>) -> Answer<ProfileView> {
    start_demo_mode(&state).await
}

/// Starts (or reopens) the demo; shared by the command and `--demo` at launch.
pub async fn start_demo_mode(state: &AppState) -> Answer<ProfileView> {
    let known = state
        .book
        .lock()
        .ok()
        .and_then(|book| book.by_name(crate::demo::DEMO_PROFILE).cloned());
    let (server, profile) = crate::demo::start(&state.data_dir, known, state.tokens())
        .await
        .map_err(|message| CommandError::new("demo_failed", message))?;
    if let Ok(mut demo) = state.demo.lock() {
        *demo = Some(server);
    }
    let view = ProfileView::from(&profile);
    state
        .activate(profile)
        .map_err(|error| CommandError::new("demo_failed", error.message))?;
    Ok(view)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SwitchArgs {
    pub profile_id: String,
}

#[tauri::command]
pub async fn switch_profile(state: State<'_, AppState>, args: SwitchArgs) -> Answer<ProfileView> {
    let profile = state
        .book
        .lock()
        .ok()
        .and_then(|book| book.by_name(&args.profile_id).cloned())
        .ok_or_else(|| CommandError::new("not_found", "no profile of that name on this PC"))?;
    let view = ProfileView::from(&profile);
    state.activate(profile)?;
    Ok(view)
}

#[derive(Debug, Deserialize)]
pub struct SignInArgs {
    pub badge: String,
    pub pin: String,
}

#[tauri::command]
pub async fn sign_in(state: State<'_, AppState>, args: SignInArgs) -> Answer<UserView> {
    with_active(&state, |active| {
        active.floor.sign_in(&args.badge, &args.pin, now_ms())
    })
}

#[tauri::command]
pub async fn sign_out(state: State<'_, AppState>) -> Answer<()> {
    with_active(&state, |active| {
        active.floor.sign_out();
        Ok(())
    })
}

#[derive(Debug, Deserialize)]
pub struct SessionArgs {
    /// The person did something since the UI last asked: restart the idle timer.
    #[serde(default)]
    pub activity: bool,
}

#[tauri::command]
pub async fn session(state: State<'_, AppState>, args: SessionArgs) -> Answer<SessionView> {
    with_active(&state, |active| {
        Ok(active.floor.session(args.activity, now_ms()))
    })
}

#[derive(Debug, Deserialize)]
pub struct IdleTimeoutArgs {
    pub minutes: u32,
}

#[tauri::command]
pub async fn set_idle_timeout(
    state: State<'_, AppState>,
    args: IdleTimeoutArgs,
) -> Answer<SessionView> {
    let timeout = IdleTimeout::from_minutes(args.minutes)?;
    with_active(&state, |active| {
        let now = now_ms();
        active.floor.set_idle_timeout(timeout, now)?;
        Ok(active.floor.session(false, now))
    })
}

#[derive(Debug, Deserialize)]
pub struct RawArgs {
    pub raw: String,
}

fn scan_config(state: &AppState) -> aisle_core::scan::ScanConfig {
    state
        .scan_config
        .lock()
        .map(|config| config.clone())
        .unwrap_or_default()
}

#[tauri::command]
pub async fn resolve_scan(state: State<'_, AppState>, args: RawArgs) -> Answer<Resolved> {
    let config = scan_config(&state);
    with_active(&state, |active| {
        aisle_app::resolve_scan(active.floor.store(), &args.raw, &config, today())
    })
}

#[tauri::command]
pub async fn lookup(state: State<'_, AppState>, args: RawArgs) -> Answer<LookupView> {
    let config = scan_config(&state);
    with_active(&state, |active| {
        active.floor.lookup(&args.raw, &config, today(), now_ms())
    })
}

#[tauri::command]
pub async fn receive(state: State<'_, AppState>, args: ReceiveArgs) -> Answer<RecordedView> {
    recording(&state, |active| active.floor.receive(args, now_ms()))
}

#[tauri::command]
pub async fn move_stock(state: State<'_, AppState>, args: MoveArgs) -> Answer<RecordedView> {
    recording(&state, |active| active.floor.move_stock(args, now_ms()))
}

#[tauri::command]
pub async fn count(state: State<'_, AppState>, args: CountArgs) -> Answer<CountedView> {
    recording(&state, |active| active.floor.count(args, now_ms()))
}

#[tauri::command]
pub async fn pick_lists(state: State<'_, AppState>) -> Answer<Vec<PickListSummaryView>> {
    with_active(&state, |active| active.floor.pick_lists())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenPickListArgs {
    pub pick_list: Option<PickListId>,
}

#[tauri::command]
pub async fn open_pick_list(
    state: State<'_, AppState>,
    args: OpenPickListArgs,
) -> Answer<PickListView> {
    recording(&state, |active| {
        active.floor.open_pick_list(args.pick_list, now_ms())
    })
}

#[tauri::command]
pub async fn pick_line(state: State<'_, AppState>, args: PickArgs) -> Answer<RecordedView> {
    recording(&state, |active| active.floor.pick_line(args, now_ms()))
}

#[tauri::command]
pub async fn short_pick(state: State<'_, AppState>, args: ShortPickArgs) -> Answer<RecordedView> {
    recording(&state, |active| active.floor.short_pick(args, now_ms()))
}

#[tauri::command]
pub async fn count_tasks(state: State<'_, AppState>) -> Answer<Vec<CountTaskView>> {
    with_active(&state, |active| active.floor.count_tasks())
}

#[tauri::command]
pub async fn variances(state: State<'_, AppState>) -> Answer<Vec<VarianceView>> {
    with_active(&state, |active| active.floor.variances(now_ms()))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviewArgs {
    pub counted_event: EventId,
    pub approve: bool,
}

#[tauri::command]
pub async fn review_count(state: State<'_, AppState>, args: ReviewArgs) -> Answer<RecordedView> {
    recording(&state, |active| {
        active
            .floor
            .review_count(args.counted_event, args.approve, now_ms())
    })
}

#[tauri::command]
pub async fn request_count(
    state: State<'_, AppState>,
    args: RequestCountArgs,
) -> Answer<RecordedView> {
    recording(&state, |active| active.floor.request_count(args, now_ms()))
}

#[tauri::command]
pub async fn discrepancies(state: State<'_, AppState>) -> Answer<Vec<DiscrepancyView>> {
    with_active(&state, |active| active.floor.discrepancies(now_ms()))
}

#[tauri::command]
pub async fn quarantined(state: State<'_, AppState>) -> Answer<Vec<QuarantinedView>> {
    with_active(&state, |active| active.floor.quarantined(now_ms()))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordAgainArgs {
    pub event_id: EventId,
}

#[tauri::command]
pub async fn record_again(
    state: State<'_, AppState>,
    args: RecordAgainArgs,
) -> Answer<RecordedView> {
    recording(&state, |active| {
        active.floor.record_again(args.event_id, now_ms())
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StockAtArgs {
    pub location: LocationId,
    pub item: ItemId,
}

#[tauri::command]
pub async fn stock_at(state: State<'_, AppState>, args: StockAtArgs) -> Answer<Vec<LotStockView>> {
    with_active(&state, |active| {
        active.floor.stock_at(args.location, args.item)
    })
}

#[tauri::command]
pub async fn history(state: State<'_, AppState>, args: HistoryArgs) -> Answer<HistoryPageView> {
    with_active(&state, |active| active.floor.history(&args, now_ms()))
}

#[derive(Debug, Deserialize)]
pub struct ItemArgs {
    pub item: ItemId,
}

#[tauri::command]
pub async fn stock_series(state: State<'_, AppState>, args: ItemArgs) -> Answer<Vec<StockPoint>> {
    with_active(&state, |active| {
        active.floor.stock_series(args.item, now_ms())
    })
}

/// The sync status as the UI shows it (`docs/desktop-commands.md`). What is not known is
/// left out rather than sent as `null`: the UI's optional fields are `undefined` when absent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncStatusView {
    pub online: bool,
    pub pending: u64,
    pub quarantined: u64,
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
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProgressView {
    pub done: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
}

impl From<&SyncStatus> for SyncStatusView {
    fn from(status: &SyncStatus) -> Self {
        Self {
            online: status.online,
            pending: status.pending,
            quarantined: status.quarantined,
            last_success_ms: status.last_success_ms,
            last_error: status
                .last_error
                .as_ref()
                .map(|error| error.message.clone()),
            last_error_ms: status
                .last_error
                .as_ref()
                .map(|error| error.at_ms)
                .filter(|at_ms| *at_ms > 0),
            clock_offset_ms: status.clock_offset_ms,
            clock_warning: status.clock_warning.clone(),
            progress: status.progress.as_ref().map(|progress| ProgressView {
                done: progress.done,
                total: progress.total,
            }),
        }
    }
}

#[tauri::command]
pub async fn sync_status(state: State<'_, AppState>) -> Answer<SyncStatusView> {
    let slot = state
        .active
        .lock()
        .map_err(|_| CommandError::new("sync_error", "the profile lock is poisoned"))?;
    Ok(slot
        .as_ref()
        .map(|active| SyncStatusView::from(&*active.status.borrow()))
        .unwrap_or_default())
}

/// How long "Sync now" waits for its round: longer than one request may take
/// (`SyncConfig::request_timeout`, 30 s), so a hung request reports its own error.
const SYNC_NOW_WAIT: std::time::Duration = std::time::Duration::from_secs(40);

/// Runs a round now and answers when it has ended: `null`, or `sync_error` with the
/// round's error.
#[tauri::command]
pub async fn sync_now(state: State<'_, AppState>) -> Answer<()> {
    let waiter = with_active(&state, |active| {
        Ok(match &active.sync {
            Some(sync) => Ok(sync.sync_now_and_wait()),
            // Sync could not start for this profile; the status says why.
            None => Err(active.status.borrow().last_error.as_ref().map_or_else(
                || "sync is off for this profile".to_owned(),
                |error| error.message.clone(),
            )),
        })
    })?
    .map_err(|message| CommandError::new("sync_error", message))?;
    // Waited outside the profile lock: the floor keeps working during the round.
    waiter
        .wait(SYNC_NOW_WAIT)
        .await
        .map(|_report| ())
        .map_err(|error| CommandError::new("sync_error", error.message))
}

#[tauri::command]
pub async fn scanner_settings(state: State<'_, AppState>) -> Answer<ScannerSettings> {
    Ok(ScannerSettings::load(&state.data_dir))
}

#[tauri::command]
pub async fn save_scanner_settings(
    app: tauri::AppHandle,
    state: State<'_, AppState>,
    args: ScannerSettings,
) -> Answer<ScannerSettings> {
    args.save(&state.data_dir)
        .map_err(|message| CommandError::new("bad_settings", message))?;
    if let Ok(mut config) = state.scan_config.lock() {
        config.gs_substitutes = args.gs_substitutes.clone();
    }
    open_serial_scanner(&app, &state, &args)?;
    Ok(args)
}

/// (Re)opens the serial scanner the settings name, or closes it when they name none.
pub fn open_serial_scanner(
    app: &tauri::AppHandle,
    state: &AppState,
    settings: &ScannerSettings,
) -> Answer<()> {
    let mut serial = state
        .serial
        .lock()
        .map_err(|_| CommandError::new("serial_error", "the serial lock is poisoned"))?;
    *serial = None;
    if let Some(port) = settings
        .serial_port
        .as_deref()
        .filter(|port| !port.is_empty())
    {
        let reader =
            crate::scanner::start_serial(app.clone(), port, settings.baud.unwrap_or(9_600))
                .map_err(|message| CommandError::new("serial_error", message))?;
        *serial = Some(reader);
    }
    Ok(())
}

#[tauri::command]
pub async fn serial_ports() -> Answer<Vec<String>> {
    crate::scanner::serial_ports().map_err(|message| CommandError::new("serial_error", message))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The quoted strings that follow each `marker` in `source`.
    fn codes_after(source: &str, marker: &str) -> Vec<String> {
        source
            .split(marker)
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .filter(|code| {
                !code.is_empty() && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
            })
            .map(str::to_owned)
            .collect()
    }

    /// Every code the backend answers with has its own sentence in the UI: a code missing
    /// from `ERROR_CODES` shows the floor "Error serial_error." instead of what to do.
    #[test]
    fn the_ui_knows_every_error_code_the_backend_sends() {
        let contract = include_str!("../ui/src/contract.ts");
        let listed = contract
            .split("export const ERROR_CODES = [")
            .nth(1)
            .and_then(|rest| rest.split("] as const").next())
            .expect("contract.ts lists ERROR_CODES");
        let mut sent = codes_after(include_str!("commands.rs"), "CommandError::new(\"");
        sent.extend(codes_after(include_str!("state.rs"), "code: \""));
        sent.extend(codes_after(
            include_str!("../crates/aisle-app/src/error.rs"),
            "=> \"",
        ));
        assert!(
            sent.len() >= 20 && sent.iter().any(|code| code == "serial_error"),
            "the scan of the sources found the codes: {sent:?}"
        );
        for code in &sent {
            assert!(
                listed.contains(&format!("\"{code}\"")),
                "the backend sends {code:?}, which ui/src/contract.ts ERROR_CODES does not list"
            );
        }
    }

    /// The Sync screen was blank: `progress: null` passed its `!== undefined` check, and
    /// reading `progress.done` threw while rendering.
    #[test]
    fn sync_status_leaves_out_what_it_does_not_know() {
        let json = serde_json::to_value(SyncStatusView::from(&SyncStatus::default())).unwrap();
        assert_eq!(
            json,
            serde_json::json!({ "online": false, "pending": 0, "quarantined": 0 }),
            "unknown fields must be absent, not null, for the UI's optional fields"
        );
    }

    #[test]
    fn sync_status_says_when_the_last_error_happened() {
        let status = SyncStatus {
            last_success_ms: Some(2_000),
            last_error: Some(aisle_sync::status::ErrorInfo {
                code: "offline".into(),
                message: "the server cannot be reached".into(),
                at_ms: 1_000,
            }),
            ..SyncStatus::default()
        };
        let json = serde_json::to_value(SyncStatusView::from(&status)).unwrap();
        assert_eq!(
            (
                &json["lastError"],
                &json["lastErrorMs"],
                &json["lastSuccessMs"]
            ),
            (
                &serde_json::json!("the server cannot be reached"),
                &serde_json::json!(1_000),
                &serde_json::json!(2_000)
            ),
            "the UI compares the error's time with the last success's to mark it as past"
        );
    }

    #[test]
    fn app_errors_reach_the_ui_as_code_and_message() {
        let error = AppError::WrongLocation {
            expected: "A-01".into(),
            scanned: "B-07".into(),
        };
        let json = serde_json::to_value(CommandError::from(error)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "code": "wrong_location",
                "message": "wrong location: expected A-01, scanned B-07"
            }),
            "the UI expects exactly {{code, message}} with a stable code"
        );
        let full =
            serde_json::to_value(CommandError::from(aisle_store::StoreError::DiskFull)).unwrap();
        assert_eq!(full["code"], "disk_full");
    }

    #[test]
    fn demo_users_are_listed_in_demo_mode_only() {
        assert_eq!(
            demo_users(false),
            Vec::new(),
            "outside demo mode no PIN may reach the sign-in screen"
        );
        let json = serde_json::to_value(demo_users(true)).unwrap();
        assert_eq!(
            json[0],
            serde_json::json!({ "badge": "1001", "name": "Pia Picker", "role": "picker", "pin": "1234" }),
            "the UI reads badge, name, role and pin by name"
        );
        assert_eq!(
            json.as_array().map(Vec::len),
            Some(crate::demo::DEMO_USERS.len()),
            "every seeded demo user is listed"
        );
    }

    #[test]
    fn days_since_the_epoch_become_calendar_dates() {
        for (days, expected) in [
            (0, "1970-01-01"),
            (11_017, "2000-03-01"),
            (19_723, "2024-01-01"),
            (19_782, "2024-02-29"),
            (20_781, "2026-11-24"),
        ] {
            assert_eq!(civil_from_days(days).to_string(), expected, "day {days}");
        }
    }
}
