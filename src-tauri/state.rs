//! The app's state between commands: the profile book, the open profile (its [`Floor`]
//! and its running sync engine), the demo server when in demo mode, and scanner settings.
//!
//! Opening a profile is the one place that wires the crates together: the store file for
//! recording, a second connection to it for the sync engine, and one clock shared by both
//! so local events are always stamped after the remote ones sync has seen.

#[cfg(feature = "demo")]
use crate::demo::DemoServer;
use crate::profiles::{store_path, ProfileBook};
use aisle_app::{Floor, Stamper};
use aisle_core::scan::ScanConfig;
use aisle_core::Hlc;
use aisle_store::Store;
use aisle_sync::{
    DeviceClock, DeviceProfile, Engine, KeyringTokenStore, SharedClock, SyncConfig, SyncHandle,
    SyncStatus, TokenStore,
};
use std::path::PathBuf;
use std::sync::Mutex;
use tokio::sync::watch;

/// The clock shared with sync, as the floor stamps with it.
#[derive(Debug)]
struct SyncedClock(SharedClock);

impl Stamper for SyncedClock {
    fn stamp(&mut self, system_ms: u64) -> (Hlc, i64) {
        // A poisoned lock only means another thread panicked mid-stamp; the clock's
        // state is still a valid HLC, so keep stamping rather than stop the floor.
        let mut clock = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let stamp = clock.stamp(system_ms as i64);
        (stamp.hlc, stamp.clock_correction_ms)
    }
}

/// Why a profile did not open, with the stable code the UI branches on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenError {
    pub code: aisle_app::ErrorCode,
    pub message: String,
}

impl OpenError {
    fn store(message: impl Into<String>) -> Self {
        Self {
            code: aisle_app::ErrorCode::StoreError,
            message: message.into(),
        }
    }
}

impl From<aisle_sync::SyncError> for OpenError {
    fn from(error: aisle_sync::SyncError) -> Self {
        match error {
            // The file exists but this PC's keyring has no key for it: a copied file or a
            // reset keyring. Nothing here can read it; the IT person re-enrolls the PC.
            aisle_sync::SyncError::StoreKeyMissing { .. }
            | aisle_sync::SyncError::Store(aisle_store::StoreError::Locked { .. }) => Self {
                code: aisle_app::ErrorCode::StoreLocked,
                message: error.to_string(),
            },
            _ => Self::store(error.to_string()),
        }
    }
}

impl From<aisle_store::StoreError> for OpenError {
    fn from(error: aisle_store::StoreError) -> Self {
        Self::from(aisle_sync::SyncError::Store(error))
    }
}

/// One open profile.
#[derive(Debug)]
pub struct Active {
    pub profile: DeviceProfile,
    pub floor: Floor,
    pub sync: Option<SyncHandle>,
    pub status: watch::Receiver<SyncStatus>,
}

#[derive(Debug)]
pub struct AppState {
    pub data_dir: PathBuf,
    pub book: Mutex<ProfileBook>,
    pub active: Mutex<Option<Active>>,
    #[cfg(feature = "demo")]
    pub demo: Mutex<Option<DemoServer>>,
    pub scan_config: Mutex<ScanConfig>,
    pub serial: Mutex<Option<crate::scanner::SerialReader>>,
    pub tokens: KeyringTokenStore,
}

impl AppState {
    pub fn new(data_dir: PathBuf) -> Result<Self, String> {
        let book = ProfileBook::load(&data_dir)?;
        let scanner = crate::scanner::load_settings(&data_dir);
        let scan_config = ScanConfig {
            gs_substitutes: scanner.gs_substitutes,
            ..ScanConfig::default()
        };
        Ok(Self {
            data_dir,
            book: Mutex::new(book),
            active: Mutex::new(None),
            #[cfg(feature = "demo")]
            demo: Mutex::new(None),
            scan_config: Mutex::new(scan_config),
            serial: Mutex::new(None),
            tokens: KeyringTokenStore::new(KeyringTokenStore::SERVICE),
        })
    }

    /// Opens `profile`: its store with its key from the keyring (a new key for a new or
    /// still plain file), the floor over it, and (when its token is in the keyring) the
    /// sync engine on a second connection. Must run inside the async runtime.
    pub fn open(&self, profile: DeviceProfile) -> Result<Active, OpenError> {
        let (store, path, key) = self.store_of(&profile)?;
        let last = store.latest_hlc()?.unwrap_or_default();
        let config = SyncConfig {
            app_version: env!("CARGO_PKG_VERSION").to_owned(),
            ..SyncConfig::default()
        };
        let clock = DeviceClock::new(last, config.clock_warn_threshold_ms).shared();
        let floor = Floor::with_clock(
            store,
            profile.device,
            Box::new(SyncedClock(std::sync::Arc::clone(&clock))),
        );
        let sync_store = Store::open(&path, profile.store_profile(), &key)?;
        let (sync, status) =
            match Engine::with_token_store(sync_store, &profile, &self.tokens, config, clock) {
                Ok(engine) => {
                    let handle = engine.spawn();
                    let status = handle.status();
                    handle.sync_now();
                    (Some(handle), status)
                }
                Err(error) => {
                    // Recording goes on without sync; the status line says why.
                    tracing::warn!(profile = %profile.name, %error, "sync is off for this profile");
                    let status = SyncStatus {
                        last_error: Some(aisle_sync::status::ErrorInfo {
                            code: "sync_error".into(),
                            message: error.to_string(),
                            at_ms: aisle_sync::system_now_ms(),
                        }),
                        ..SyncStatus::default()
                    };
                    (None, watch::channel(status).1)
                }
            };
        Ok(Active {
            profile,
            floor,
            sync,
            status,
        })
    }

    /// `profile`'s store (created if new) with the profile saved in it, its path and key.
    fn store_of(
        &self,
        profile: &DeviceProfile,
    ) -> Result<(Store, PathBuf, aisle_store::StoreKey), OpenError> {
        let path = store_path(&self.data_dir, profile);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|error| {
                OpenError::store(format!("cannot create {}: {error}", parent.display()))
            })?;
        }
        let key = aisle_sync::store_key::load_or_create(&self.tokens, &profile.name, &path)?;
        let store = Store::open(&path, profile.store_profile(), &key)?;
        profile
            .save_to(&store)
            .map_err(|error| OpenError::store(error.to_string()))?;
        Ok((store, path, key))
    }

    /// Creates `profile`'s store and makes it the one the app opens at its next start,
    /// without opening a floor or starting sync: what headless enrolment (`aisle enroll`)
    /// leaves behind.
    pub fn install(&self, profile: DeviceProfile) -> Result<PathBuf, OpenError> {
        let (store, path, _) = self.store_of(&profile)?;
        drop(store);
        let mut book = self
            .book
            .lock()
            .map_err(|_| OpenError::store("profile book lock poisoned"))?;
        book.put_active(profile);
        book.save(&self.data_dir).map_err(OpenError::store)?;
        Ok(path)
    }

    /// Makes `profile` the open one, remembering it in the profile book.
    pub fn activate(&self, profile: DeviceProfile) -> Result<(), OpenError> {
        let active = self.open(profile.clone())?;
        {
            let mut book = self
                .book
                .lock()
                .map_err(|_| OpenError::store("profile book lock poisoned"))?;
            book.put_active(profile);
            book.save(&self.data_dir).map_err(OpenError::store)?;
        }
        let mut slot = self
            .active
            .lock()
            .map_err(|_| OpenError::store("profile lock poisoned"))?;
        *slot = Some(active);
        Ok(())
    }

    pub fn tokens(&self) -> &dyn TokenStore {
        &self.tokens
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file copied from another PC, or a reset keyring: the IT person reads what
    /// happened and what to do, under its own code, never SQLite's "not a database".
    #[test]
    fn a_store_without_its_key_on_this_pc_says_so_and_what_to_do() {
        let missing = OpenError::from(aisle_sync::SyncError::StoreKeyMissing {
            profile: "dock".into(),
        });
        assert_eq!(missing.code, "store_locked");
        assert!(
            missing.message.contains("cannot be read on this PC")
                && missing.message.contains("enroll this PC again"),
            "the message says what happened and what to do: {}",
            missing.message
        );
        let wrong_key = OpenError::from(aisle_store::StoreError::Locked {
            path: PathBuf::from("/data/stores/t-w.sqlite3"),
        });
        assert_eq!(wrong_key.code, "store_locked", "{wrong_key:?}");
        assert!(!wrong_key.message.contains("not a database"));
    }
}
