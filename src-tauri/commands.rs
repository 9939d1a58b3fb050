//! The Tauri command layer: the only functions the UI can call (`docs/desktop-commands.md`).
//!
//! Every command is thin: decode, call one function of `aisle-app` (or the profile and
//! demo plumbing in this crate), map the error. Every error reaches the UI as a
//! [`CommandError`] `{code, message}`, so the UI branches on a stable `code` and never on
//! message text. DTOs live in `aisle_app::views` and go no deeper.

use crate::now_ms;
use crate::state::{Active, AppState};
use aisle_app::views::{
    AppStatus, CountArgs, CountTaskView, CountedView, DemoUserView, DiscrepancyView, EnrollArgs,
    ExpectedReceiptArgs, ExpectedReceiptView, HistoryArgs, HistoryPageView, IdleTimeoutArgs,
    ItemArgs, LookupView, LotStockView, MoveArgs, OpenPickListArgs, PickArgs, PickListSummaryView,
    PickListView, ProfileView, ProgressView, PutBackArgs, QuarantinedView, RawArgs, ReceiveArgs,
    RecordAgainArgs, RecordedView, RequestCountArgs, Resolved, ReviewArgs, ScannerSettings,
    SessionArgs, SessionView, ShortPickArgs, SignInArgs, StockAtArgs, StockPoint, SwitchArgs,
    SyncStatusView, UserView, VarianceView,
};
use aisle_app::{AppError, CommandError, ErrorCode, IdleTimeout};
use aisle_core::event::Date;
use aisle_sync::{DeviceProfile, EnrollForm, SyncConfig, SyncStatus};
use tauri::State;

impl From<crate::state::OpenError> for CommandError {
    fn from(error: crate::state::OpenError) -> Self {
        Self::new(error.code, error.message)
    }
}

pub(crate) type Answer<T> = Result<T, CommandError>;

/// Today's date in UTC, which the GS1 century rule reads two-digit years against.
fn today() -> Answer<Date> {
    Date::from_unix_ms(now_ms() as i64).ok_or_else(|| {
        CommandError::new(
            ErrorCode::BadScan,
            "this PC's clock is outside the years a date can hold",
        )
    })
}

/// Runs `work` on the open profile, or answers `no_profile`.
pub(crate) fn with_active<T>(
    state: &AppState,
    work: impl FnOnce(&mut Active) -> Result<T, AppError>,
) -> Answer<T> {
    let mut slot = state
        .active
        .lock()
        .map_err(|_| CommandError::new(ErrorCode::StoreError, "the profile lock is poisoned"))?;
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

/// A profile as the UI lists it.
fn profile_view(profile: &DeviceProfile) -> ProfileView {
    ProfileView {
        id: profile.name.clone(),
        label: profile.name.clone(),
        server_url: profile.server_url.clone(),
        tenant: profile.tenant.to_string(),
        warehouse: profile.warehouse.to_string(),
        device: profile.device.to_string(),
    }
}

/// The demo users when the open profile is the demo one and its server runs; else none.
#[cfg(feature = "demo")]
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

/// Without the `demo` feature there are no demo users.
#[cfg(not(feature = "demo"))]
fn demo_users(_demo: bool) -> Vec<DemoUserView> {
    Vec::new()
}

/// Whether the open profile is the demo and the app's demo server runs. The demo server
/// keeps running after a switch to an enrolled profile; that profile is not a demo, and its
/// sign-in screen must not list the demo's PINs.
#[cfg(feature = "demo")]
fn demo_is_open(state: &AppState, profile: Option<&ProfileView>) -> bool {
    let demo_server_runs = state
        .demo
        .lock()
        .map(|demo| demo.is_some())
        .unwrap_or(false);
    demo_server_runs && profile.is_some_and(|profile| profile.id == crate::demo::DEMO_PROFILE)
}

/// Without the `demo` feature no profile is the demo.
#[cfg(not(feature = "demo"))]
fn demo_is_open(_state: &AppState, _profile: Option<&ProfileView>) -> bool {
    false
}

#[tauri::command]
pub async fn app_status(state: State<'_, AppState>) -> Answer<AppStatus> {
    let (profile, user) = match state.active.lock() {
        Ok(mut slot) => match slot.as_mut() {
            Some(active) => (
                Some(profile_view(&active.profile)),
                active.floor.current_user(now_ms()),
            ),
            None => (None, None),
        },
        Err(_) => (None, None),
    };
    let demo = demo_is_open(&state, profile.as_ref());
    Ok(AppStatus {
        app_version: env!("CARGO_PKG_VERSION"),
        event_version: aisle_core::event::EVENT_VERSION,
        store_schema_version: aisle_store::SCHEMA_VERSION,
        profile,
        user,
        demo_available: cfg!(feature = "demo"),
        demo,
        demo_users: demo_users(demo),
    })
}

#[tauri::command]
pub async fn list_profiles(state: State<'_, AppState>) -> Answer<Vec<ProfileView>> {
    let book = state.book.lock().map_err(|_| {
        CommandError::new(ErrorCode::StoreError, "the profile book lock is poisoned")
    })?;
    Ok(book.profiles.iter().map(profile_view).collect())
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
    .map_err(|error| CommandError::new(ErrorCode::EnrollFailed, error.to_string()))?;
    let view = profile_view(&profile);
    state.activate(profile)?;
    Ok(view)
}

#[tauri::command]
pub async fn start_demo(state: State<'_, AppState>) -> Answer<ProfileView> {
    start_demo_mode(&state).await
}

/// Starts (or reopens) the demo; shared by the command and `--demo` at launch.
#[cfg(feature = "demo")]
pub async fn start_demo_mode(state: &AppState) -> Answer<ProfileView> {
    let known = state
        .book
        .lock()
        .ok()
        .and_then(|book| book.by_name(crate::demo::DEMO_PROFILE).cloned());
    let (server, profile) = crate::demo::start(&state.data_dir, known, state.tokens())
        .await
        .map_err(|message| CommandError::new(ErrorCode::DemoFailed, message))?;
    if let Ok(mut demo) = state.demo.lock() {
        *demo = Some(server);
    }
    let view = profile_view(&profile);
    state
        .activate(profile)
        .map_err(|error| CommandError::new(ErrorCode::DemoFailed, error.message))?;
    Ok(view)
}

/// A build without the `demo` feature has no demo server to start.
#[cfg(not(feature = "demo"))]
pub async fn start_demo_mode(_state: &AppState) -> Answer<ProfileView> {
    Err(CommandError::new(
        ErrorCode::DemoFailed,
        "this build of Aisle has no demo mode (built without the `demo` feature)",
    ))
}

#[tauri::command]
pub async fn switch_profile(state: State<'_, AppState>, args: SwitchArgs) -> Answer<ProfileView> {
    let profile = state
        .book
        .lock()
        .ok()
        .and_then(|book| book.by_name(&args.profile_id).cloned())
        .ok_or_else(|| {
            CommandError::new(ErrorCode::NotFound, "no profile of that name on this PC")
        })?;
    let view = profile_view(&profile);
    state.activate(profile)?;
    Ok(view)
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

#[tauri::command]
pub async fn session(state: State<'_, AppState>, args: SessionArgs) -> Answer<SessionView> {
    with_active(&state, |active| {
        Ok(active.floor.session(args.activity, now_ms()))
    })
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
    let today = today()?;
    with_active(&state, |active| {
        aisle_app::resolve_scan(active.floor.store(), &args.raw, &config, today)
    })
}

#[tauri::command]
pub async fn lookup(state: State<'_, AppState>, args: RawArgs) -> Answer<LookupView> {
    let config = scan_config(&state);
    let today = today()?;
    with_active(&state, |active| {
        active.floor.lookup(&args.raw, &config, today, now_ms())
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
pub async fn expected_receipts(state: State<'_, AppState>) -> Answer<Vec<ExpectedReceiptView>> {
    with_active(&state, |active| active.floor.expected_receipts())
}

#[tauri::command]
pub async fn expected_receipt(
    state: State<'_, AppState>,
    args: ExpectedReceiptArgs,
) -> Answer<ExpectedReceiptView> {
    with_active(&state, |active| {
        active.floor.expected_receipt(&args.reference)
    })
}

#[tauri::command]
pub async fn put_back(state: State<'_, AppState>, args: PutBackArgs) -> Answer<RecordedView> {
    recording(&state, |active| active.floor.put_back(args, now_ms()))
}

#[tauri::command]
pub async fn count_tasks(state: State<'_, AppState>) -> Answer<Vec<CountTaskView>> {
    with_active(&state, |active| active.floor.count_tasks())
}

#[tauri::command]
pub async fn variances(state: State<'_, AppState>) -> Answer<Vec<VarianceView>> {
    with_active(&state, |active| active.floor.variances(now_ms()))
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

#[tauri::command]
pub async fn record_again(
    state: State<'_, AppState>,
    args: RecordAgainArgs,
) -> Answer<RecordedView> {
    recording(&state, |active| {
        active.floor.record_again(args.event_id, now_ms())
    })
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

#[tauri::command]
pub async fn stock_series(state: State<'_, AppState>, args: ItemArgs) -> Answer<Vec<StockPoint>> {
    with_active(&state, |active| {
        active.floor.stock_series(args.item, now_ms())
    })
}

/// The sync status as the UI shows it.
pub fn sync_status_view(status: &SyncStatus) -> SyncStatusView {
    SyncStatusView {
        online: status.online,
        pending: status.pending,
        quarantined: status.quarantined,
        live: status.live,
        pulled_new: status.pulled_new,
        master_changed: status.master_changed,
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
        needs_update: status.needs_update.clone(),
    }
}

#[tauri::command]
pub async fn sync_status(state: State<'_, AppState>) -> Answer<SyncStatusView> {
    let slot = state
        .active
        .lock()
        .map_err(|_| CommandError::new(ErrorCode::SyncError, "the profile lock is poisoned"))?;
    Ok(slot
        .as_ref()
        .map(|active| sync_status_view(&active.status.borrow()))
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
    .map_err(|message| CommandError::new(ErrorCode::SyncError, message))?;
    // Waited outside the profile lock: the floor keeps working during the round.
    waiter
        .wait(SYNC_NOW_WAIT)
        .await
        .map(|_report| ())
        .map_err(|error| CommandError::new(ErrorCode::SyncError, error.message))
}

#[tauri::command]
pub async fn scanner_settings(state: State<'_, AppState>) -> Answer<ScannerSettings> {
    Ok(crate::scanner::load_settings(&state.data_dir))
}

#[tauri::command]
pub async fn save_scanner_settings(
    app: tauri::AppHandle,
    state: State<'_, AppState>,
    args: ScannerSettings,
) -> Answer<ScannerSettings> {
    crate::scanner::save_settings(&args, &state.data_dir)
        .map_err(|message| CommandError::new(ErrorCode::BadSettings, message))?;
    if let Ok(mut config) = state.scan_config.lock() {
        config.gs_substitutes = args.gs_substitutes.clone();
    }
    crate::scanner::open_serial_scanner(&app, &state, &args)?;
    Ok(args)
}

#[tauri::command]
pub async fn serial_ports() -> Answer<Vec<String>> {
    crate::scanner::serial_ports()
        .map_err(|message| CommandError::new(ErrorCode::SerialError, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Sync screen was blank: `progress: null` passed its `!== undefined` check, and
    /// reading `progress.done` threw while rendering.
    #[test]
    fn sync_status_leaves_out_what_it_does_not_know() {
        let json = serde_json::to_value(sync_status_view(&SyncStatus::default())).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "online": false,
                "pending": 0,
                "quarantined": 0,
                "live": false,
                "pulledNew": 0,
                "masterChanged": 0
            }),
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
        let json = serde_json::to_value(sync_status_view(&status)).unwrap();
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

    #[cfg(feature = "demo")]
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
}

/// Asks the profile's server whether an update is due (a manager, from Settings).
#[tauri::command]
pub async fn check_update(
    app: tauri::AppHandle,
    state: State<'_, AppState>,
    pending: State<'_, crate::updates::PendingUpdate>,
) -> Answer<aisle_app::views::UpdateView> {
    crate::updates::check(&app, &state, &pending).await
}

/// What this PC knows of an update, without asking the server (a manager).
#[tauri::command]
pub async fn update_status(
    state: State<'_, AppState>,
    pending: State<'_, crate::updates::PendingUpdate>,
) -> Answer<aisle_app::views::UpdateView> {
    crate::updates::status(&state, &pending)
}

/// Downloads the due update; kept only if its signature matches this build's updater key.
#[tauri::command]
pub async fn download_update(
    state: State<'_, AppState>,
    pending: State<'_, crate::updates::PendingUpdate>,
) -> Answer<aisle_app::views::UpdateView> {
    crate::updates::download(&state, &pending).await
}

/// Installs the downloaded update and restarts; refused while events wait to be sent.
#[tauri::command]
pub async fn install_update(
    app: tauri::AppHandle,
    state: State<'_, AppState>,
    pending: State<'_, crate::updates::PendingUpdate>,
) -> Answer<()> {
    crate::updates::install(&app, &state, &pending)
}
