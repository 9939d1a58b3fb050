//! The PC's enrolled profiles: one (tenant, warehouse) each, with its own store file, kept
//! in `profiles.json` in the app's data directory. The file holds no secret: each
//! profile's device token is in the OS keyring under the profile's name.

use aisle_sync::DeviceProfile;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What `profiles.json` holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileBook {
    pub profiles: Vec<DeviceProfile>,
    /// The profile opened at start, by name.
    pub active: Option<String>,
}

impl ProfileBook {
    pub fn path(data_dir: &Path) -> PathBuf {
        data_dir.join("profiles.json")
    }

    /// Reads the book; a missing file is an empty book.
    pub fn load(data_dir: &Path) -> Result<Self, String> {
        let path = Self::path(data_dir);
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text)
                .map_err(|error| format!("{} is not a profile list: {error}", path.display())),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(error) => Err(format!("cannot read {}: {error}", path.display())),
        }
    }

    /// Writes the book through a temporary file, so a crash never leaves half a file.
    pub fn save(&self, data_dir: &Path) -> Result<(), String> {
        std::fs::create_dir_all(data_dir)
            .map_err(|error| format!("cannot create {}: {error}", data_dir.display()))?;
        let path = Self::path(data_dir);
        let temporary = path.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(self).map_err(|error| error.to_string())?;
        std::fs::write(&temporary, text)
            .and_then(|()| std::fs::rename(&temporary, &path))
            .map_err(|error| format!("cannot write {}: {error}", path.display()))
    }

    /// Adds or replaces a profile by name and makes it the active one.
    pub fn put_active(&mut self, profile: DeviceProfile) {
        self.profiles.retain(|known| known.name != profile.name);
        self.active = Some(profile.name.clone());
        self.profiles.push(profile);
    }

    pub fn active_profile(&self) -> Option<&DeviceProfile> {
        let name = self.active.as_deref()?;
        self.profiles.iter().find(|profile| profile.name == name)
    }

    pub fn by_name(&self, name: &str) -> Option<&DeviceProfile> {
        self.profiles.iter().find(|profile| profile.name == name)
    }
}

/// The store file of a profile under the data directory.
pub fn store_path(data_dir: &Path, profile: &DeviceProfile) -> PathBuf {
    profile
        .store_profile()
        .database_path(&data_dir.join("stores"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aisle_core::ids::{DeviceId, TenantId, WarehouseId};

    fn profile(name: &str, n: u8) -> DeviceProfile {
        DeviceProfile {
            name: name.into(),
            server_url: "https://aisle.example.com/".into(),
            allow_insecure_http: false,
            tenant: TenantId::new_v7(1, [n; 10]),
            warehouse: WarehouseId::new_v7(1, [n; 10]),
            device: DeviceId::new_v7(1, [n; 10]),
        }
    }

    #[test]
    fn the_book_round_trips_and_holds_no_token() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(
            ProfileBook::load(dir.path()).expect("missing file"),
            ProfileBook::default()
        );
        let mut book = ProfileBook::default();
        book.put_active(profile("north", 1));
        book.put_active(profile("south", 2));
        book.put_active(profile("north", 3));
        book.save(dir.path()).expect("save");
        let loaded = ProfileBook::load(dir.path()).expect("load");
        assert_eq!(loaded, book);
        assert_eq!(
            loaded.profiles.len(),
            2,
            "a re-enrolled profile replaces the old one"
        );
        assert_eq!(
            loaded.active_profile().map(|profile| profile.device),
            Some(DeviceId::new_v7(1, [3; 10]))
        );
        let text = std::fs::read_to_string(ProfileBook::path(dir.path())).expect("read");
        assert!(
            !text.contains("token") && !text.contains("aisle_"),
            "profiles.json must never hold a token: {text}"
        );
    }
}
