//! Updates served by the warehouse's own server (docs/protocol.md, "Updates"), with the Tauri
//! updater plugin: a manager checks from Settings, downloads (the plugin checks the
//! signature against this build's updater key before anything is kept), and installs at a
//! quiet moment; the app then restarts. Nothing here runs on its own, so the app never
//! restarts in a pick or a count, and `Floor::may_install_update` refuses while events wait
//! in the outbox.
//!
//! The updater key (the public half of the keys `tauri signer generate` made; the private
//! half signs releases and is never in the repository) comes from `AISLE_UPDATER_PUBKEY` at
//! build time, or at run time from the same variable (IT's deployment, or a test's own
//! keys): a process whose environment an attacker sets is already theirs (`LD_PRELOAD`), so
//! the variable trusts no one new. Without a key, updates are off and Settings says so.

use crate::commands::Answer;
use crate::now_ms;
use crate::state::AppState;
use aisle_app::views::UpdateView;
use aisle_app::{AppError, CommandError, ErrorCode};
use aisle_sync::TokenStore as _;
use std::sync::Mutex;
use std::time::Duration;
use tauri::AppHandle;
use tauri_plugin_updater::{Update, UpdaterExt as _};

/// An update found by a check, with its verified bytes once downloaded.
type Found = (Update, Option<Vec<u8>>);

/// The update a manager checked for, and its verified bytes once downloaded.
#[derive(Default)]
pub struct PendingUpdate {
    slot: Mutex<Option<Found>>,
}

impl std::fmt::Debug for PendingUpdate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingUpdate").finish_non_exhaustive()
    }
}

/// The updater's public key: the run-time variable, else the one built in.
fn updater_key() -> Option<String> {
    std::env::var("AISLE_UPDATER_PUBKEY")
        .ok()
        .or_else(|| option_env!("AISLE_UPDATER_PUBKEY").map(str::to_owned))
        .filter(|key| !key.trim().is_empty())
}

fn failed(message: impl Into<String>) -> CommandError {
    CommandError::new(ErrorCode::UpdateFailed, message)
}

fn view(update: Option<&Found>) -> UpdateView {
    UpdateView {
        current: env!("CARGO_PKG_VERSION").to_owned(),
        available: update.map(|(update, _)| update.version.clone()),
        notes: update
            .and_then(|(update, _)| update.body.clone())
            .filter(|notes| !notes.is_empty()),
        ready: update.is_some_and(|(_, bytes)| bytes.is_some()),
    }
}

fn lock(pending: &PendingUpdate) -> Answer<std::sync::MutexGuard<'_, Option<Found>>> {
    pending
        .slot
        .lock()
        .map_err(|_| failed("the update lock is poisoned"))
}

/// Asks the profile's server whether an update is due for this PC (a manager only).
pub async fn check(
    app: &AppHandle,
    state: &AppState,
    pending: &PendingUpdate,
) -> Answer<UpdateView> {
    let profile = crate::commands::with_active(state, |active| {
        active.floor.may_check_update(now_ms())?;
        Ok(active.profile.clone())
    })?;
    let key = updater_key().ok_or_else(|| {
        failed("this build has no updater key, so it takes no updates from the server: IT installs new versions")
    })?;
    let token = state
        .tokens
        .load(&profile.name)
        .map_err(|error| failed(format!("the token is not in the keyring: {error}")))?
        .ok_or(AppError::NoProfile)?;
    let endpoint = format!(
        "{}/v1/t/{}/updates/{{{{target}}}}-{{{{arch}}}}/{{{{current_version}}}}",
        profile.server_url.trim_end_matches('/'),
        profile.tenant
    );
    let endpoint = endpoint
        .parse()
        .map_err(|error| failed(format!("the server address {endpoint:?}: {error}")))?;
    let updater = app
        .updater_builder()
        .pubkey(key)
        .endpoints(vec![endpoint])
        .and_then(|builder| builder.header("Authorization", format!("Bearer {}", token.expose())))
        .map(|builder| builder.timeout(Duration::from_secs(120)))
        .and_then(|builder| builder.build())
        .map_err(|error| failed(format!("cannot check for updates: {error}")))?;
    let update = updater.check().await.map_err(|error| {
        failed(format!(
            "the server did not answer the update check: {error}"
        ))
    })?;
    let mut slot = lock(pending)?;
    // The same version offered again keeps what was already downloaded and checked.
    let kept = slot
        .take()
        .and_then(|(previous, bytes)| bytes.map(|bytes| (previous.version, bytes)));
    *slot = update.map(|update| match kept {
        Some((version, bytes)) if version == update.version => (update, Some(bytes)),
        _ => (update, None),
    });
    Ok(view(slot.as_ref()))
}

/// What this PC knows of an update now, without asking the server: what Settings shows
/// first, offline too.
pub fn status(state: &AppState, pending: &PendingUpdate) -> Answer<UpdateView> {
    crate::commands::with_active(state, |active| active.floor.may_check_update(now_ms()))?;
    Ok(view(lock(pending)?.as_ref()))
}

/// Downloads the update found by [`check_update`]; the plugin keeps it only if its signature
/// matches this build's updater key.
pub async fn download(state: &AppState, pending: &PendingUpdate) -> Answer<UpdateView> {
    crate::commands::with_active(state, |active| active.floor.may_check_update(now_ms()))?;
    let update = lock(pending)?
        .as_ref()
        .map(|(update, _)| update.clone())
        .ok_or_else(|| failed("no update is due: check first"))?;
    let bytes = update.download(|_, _| {}, || {}).await.map_err(|error| {
        failed(format!(
            "the download of {} was refused, nothing is installed: {error}",
            update.version
        ))
    })?;
    let mut slot = lock(pending)?;
    *slot = Some((update, Some(bytes)));
    Ok(view(slot.as_ref()))
}

/// Installs the downloaded update and restarts the app: a manager's action, refused while
/// events wait to be sent.
pub fn install(app: &AppHandle, state: &AppState, pending: &PendingUpdate) -> Answer<()> {
    crate::commands::with_active(state, |active| active.floor.may_install_update(now_ms()))?;
    let taken = lock(pending)?.take();
    let (update, bytes) = match taken {
        Some((update, Some(bytes))) => (update, bytes),
        other => {
            *lock(pending)? = other;
            return Err(failed("download the update first"));
        }
    };
    update
        .install(&bytes)
        .map_err(|error| failed(format!("installing {} failed: {error}", update.version)))?;
    tracing::info!(version = %update.version, "update installed; restarting");
    app.restart();
}
