//! The key of a profile's encrypted store, kept in the OS keyring next to its device token.
//!
//! Each profile's store file is encrypted with its own random [`StoreKey`] (see
//! `aisle_store::key`). The key lives in the same [`TokenStore`] as the device token, under
//! the entry `<profile>.store-key`, as 64 hex digits; never in SQLite, a config file or a
//! log. A file copied to another PC is therefore unreadable there: that PC's keyring has no
//! entry for it, and [`load_or_create`] says so with [`SyncError::StoreKeyMissing`] instead
//! of making a new key that could not open it anyway.

use crate::{SyncError, Token, TokenStore};
use aisle_store::{StoreFile, StoreKey};
use std::path::Path;

/// The keyring entry that holds `profile`'s store key.
pub fn entry_name(profile: &str) -> String {
    format!("{profile}.store-key")
}

/// The profile's store key from the keyring, or `None` when it has none.
pub fn load(secrets: &dyn TokenStore, profile: &str) -> Result<Option<StoreKey>, SyncError> {
    let Some(secret) = secrets.load(&entry_name(profile))? else {
        return Ok(None);
    };
    StoreKey::from_hex(secret.expose())
        .map(Some)
        .map_err(|_| SyncError::Keyring(format!("the store key of {profile:?} is malformed")))
}

/// The key for the store at `db_path`: the one in the keyring, or, when the keyring has
/// none and there is no encrypted file yet (no file, or a plain one from an older Aisle,
/// which the store encrypts on open), a new random key saved to the keyring first.
/// An encrypted file without a key in this keyring is [`SyncError::StoreKeyMissing`].
pub fn load_or_create(
    secrets: &dyn TokenStore,
    profile: &str,
    db_path: &Path,
) -> Result<StoreKey, SyncError> {
    if let Some(key) = load(secrets, profile)? {
        return Ok(key);
    }
    match StoreFile::inspect(db_path)? {
        StoreFile::Encrypted => Err(SyncError::StoreKeyMissing {
            profile: profile.to_owned(),
        }),
        StoreFile::Missing | StoreFile::Plain => {
            let key = StoreKey::generate()?;
            secrets.save(&entry_name(profile), &Token::new(key.to_hex().to_string()))?;
            // Read it back: a keyring that silently drops writes must fail here, before the
            // file is encrypted under a key nobody kept.
            match load(secrets, profile)? {
                Some(saved) if saved == key => Ok(key),
                _ => Err(SyncError::Keyring(
                    "the store key could not be saved in the OS keyring".into(),
                )),
            }
        }
    }
}

/// Forgets the profile's store key (when the profile is removed); absent is fine.
pub fn delete(secrets: &dyn TokenStore, profile: &str) -> Result<(), SyncError> {
    secrets.delete(&entry_name(profile))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryTokenStore;

    #[test]
    fn a_new_profile_gets_a_key_that_is_kept_and_reused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let secrets = MemoryTokenStore::default();
        let path = dir.path().join("a.sqlite3");
        let key = load_or_create(&secrets, "p1", &path).expect("a new key");
        assert_eq!(
            load_or_create(&secrets, "p1", &path).expect("the same key"),
            key,
            "the second open uses the kept key"
        );
        assert!(
            secrets.load("p1").expect("load").is_none(),
            "the key has its own entry, not the token's"
        );
        assert_ne!(
            load_or_create(&secrets, "p2", &dir.path().join("b.sqlite3")).expect("key"),
            key,
            "each profile has its own key"
        );
    }

    /// The real thing: a store made on one PC, copied to another whose keyring never saw it.
    #[test]
    fn a_store_copied_to_another_pc_is_refused_there_with_what_to_do() {
        use aisle_core::testkit::{tenant, warehouse};
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("device.sqlite3");
        let profile = aisle_store::Profile {
            tenant: tenant(),
            warehouse: warehouse(),
        };
        let first_pc = MemoryTokenStore::default();
        let key = load_or_create(&first_pc, "dock", &path).expect("a new key");
        drop(aisle_store::Store::open(&path, profile, &key).expect("the first PC opens it"));

        let second_pc = MemoryTokenStore::default();
        let error = load_or_create(&second_pc, "dock", &path).expect_err("no key on this PC");
        assert!(
            matches!(error, SyncError::StoreKeyMissing { .. }),
            "{error:?}"
        );
        assert_eq!(error.code(), "store_locked");
        let message = error.to_string();
        assert!(
            message.contains("cannot be read on this PC") && message.contains("enroll this PC"),
            "the IT person reads what happened and what to do: {message}"
        );
        assert_eq!(
            load_or_create(&first_pc, "dock", &path).expect("the first PC still has it"),
            key
        );
    }

    #[test]
    fn an_encrypted_file_without_its_key_is_refused_without_a_new_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("copied.sqlite3");
        // What a file encrypted elsewhere looks like from here: no SQLite header.
        std::fs::write(&path, [0x5au8; 4096]).expect("write");
        let secrets = MemoryTokenStore::default();
        let error = load_or_create(&secrets, "p1", &path).expect_err("no key on this PC");
        assert!(
            matches!(error, SyncError::StoreKeyMissing { .. }),
            "{error:?}"
        );
        assert!(
            load(&secrets, "p1").expect("load").is_none(),
            "no key was made up for a file it cannot open"
        );
    }
}
