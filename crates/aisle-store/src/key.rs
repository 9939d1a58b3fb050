//! The store's encryption key, and how a connection is keyed.
//!
//! The device file is a SQLCipher database: every page, of the file and of its WAL, is
//! encrypted with AES-256 under a random 32-byte [`StoreKey`] per profile. This crate never
//! decides where the key lives: the app and the sync engine keep it in the OS keyring next
//! to the device token and hand it to [`crate::Store::open`]. A [`StoreKey`] never prints
//! (its `Debug` is redacted, it has no `Display`) and its bytes are zeroed when dropped.
//!
//! The key is given to SQLCipher as a raw key (`x'…'`), so opening a file runs no PBKDF2:
//! the key is already random, there is no passphrase to stretch.

use crate::StoreError;
use rusqlite::Connection;
use std::fmt;
use std::path::Path;
use zeroize::{Zeroize, Zeroizing};

/// The first 16 bytes of every plain SQLite file; an encrypted file starts with its salt.
const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// A profile's 256-bit store key.
#[derive(Clone, PartialEq, Eq)]
pub struct StoreKey(Zeroizing<[u8; 32]>);

impl StoreKey {
    /// A new random key from the operating system's random number generator.
    pub fn generate() -> Result<Self, StoreError> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        getrandom::fill(bytes.as_mut()).map_err(|error| {
            StoreError::Invalid(format!("the OS random number generator failed: {error}"))
        })?;
        Ok(Self(bytes))
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// The key from its 64-digit hex form (as kept in the keyring).
    pub fn from_hex(text: &str) -> Result<Self, StoreError> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(text.trim(), bytes.as_mut())
            .map_err(|_| StoreError::Invalid("a store key is 64 hex digits".into()))?;
        Ok(Self(bytes))
    }

    /// The 64-digit hex form, for the keyring only.
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.0.as_ref()))
    }

    /// SQLCipher's raw-key literal, `x'<64 hex digits>'`.
    fn sql_literal(&self) -> Zeroizing<String> {
        let mut hex = self.to_hex();
        let literal = Zeroizing::new(format!("x'{}'", hex.as_str()));
        hex.zeroize();
        literal
    }
}

impl fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StoreKey(redacted)")
    }
}

/// What is at a store's path, judged from the file's first bytes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum StoreFile {
    /// No file, or an empty one: opening it creates an encrypted store.
    Missing,
    /// A plain SQLite file, written before the store was encrypted; opening it with a key
    /// encrypts it.
    Plain,
    /// Anything else: an encrypted store, which only its key opens.
    Encrypted,
}

impl StoreFile {
    pub fn inspect(path: &Path) -> Result<Self, StoreError> {
        use std::io::Read;
        let mut file = match std::fs::File::open(path) {
            Ok(file) => file,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Self::Missing),
            Err(error) => return Err(io_error(path, "read", &error)),
        };
        let mut header = [0u8; 16];
        let mut n_read = 0;
        while n_read < header.len() {
            match file.read(&mut header[n_read..]) {
                Ok(0) => break,
                Ok(n) => n_read += n,
                Err(error) => return Err(io_error(path, "read", &error)),
            }
        }
        Ok(match n_read {
            0 => Self::Missing,
            _ if &header == SQLITE_HEADER => Self::Plain,
            _ => Self::Encrypted,
        })
    }
}

pub(crate) fn io_error(path: &Path, what: &str, error: &std::io::Error) -> StoreError {
    StoreError::Invalid(format!("cannot {what} {}: {error}", path.display()))
}

/// Keys a fresh connection; must run before any other statement on it.
pub(crate) fn apply(conn: &Connection, key: &StoreKey) -> Result<(), StoreError> {
    let literal = key.sql_literal();
    conn.pragma_update(None, "key", literal.as_str())?;
    Ok(())
}

/// Reads the schema once, which is when SQLCipher first decrypts a page: a wrong key (or
/// a file that is no database at all) fails here, as [`StoreError::Locked`].
pub(crate) fn check(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    match conn.query_row("SELECT count(*) FROM sqlite_master", [], |row| {
        row.get::<_, i64>(0)
    }) {
        Ok(_) => Ok(()),
        Err(rusqlite::Error::SqliteFailure(code, _))
            if code.code == rusqlite::ErrorCode::NotADatabase =>
        {
            Err(StoreError::Locked {
                path: path.to_owned(),
            })
        }
        Err(error) => Err(error.into()),
    }
}

/// Encrypts a plain store file in place: `sqlcipher_export` into `<file>.encrypting`,
/// synced to disk, then renamed over the plain file. A crash before the rename leaves the
/// plain file as it was (the half-written copy is thrown away on the next open); after it,
/// the encrypted file. Nothing plain is left behind under the store's name, and the plain
/// WAL is checkpointed and gone before the rename, so it can never be replayed onto the
/// encrypted file.
pub(crate) fn encrypt_plain_file(path: &Path, key: &StoreKey) -> Result<(), StoreError> {
    let copy_path = sibling(path, ".encrypting");
    // A copy (and its rollback journal) left by a crash is thrown away: the plain file is
    // still the whole truth.
    remove_if_present(&sibling(&copy_path, "-journal"))?;
    remove_if_present(&copy_path)?;
    let plain = Connection::open(path).map_err(|source| StoreError::Open {
        path: path.to_owned(),
        source,
    })?;
    plain.busy_timeout(std::time::Duration::from_secs(5))?;
    // Everything into the main file first, so the WAL holds nothing the export missed.
    plain.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    let user_version: i64 = plain.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    let copy_text = copy_path
        .to_str()
        .ok_or_else(|| StoreError::Invalid(format!("{} is not UTF-8", copy_path.display())))?;
    let literal = key.sql_literal();
    plain.execute(
        "ATTACH DATABASE ?1 AS encrypted KEY ?2",
        (copy_text, literal.as_str()),
    )?;
    plain.query_row("SELECT sqlcipher_export('encrypted')", [], |_| Ok(()))?;
    // sqlcipher_export copies schema and rows, not the header's schema version.
    plain.execute_batch(&format!("PRAGMA encrypted.user_version = {user_version}"))?;
    plain.execute_batch("DETACH DATABASE encrypted")?;
    plain
        .close()
        .map_err(|(_, error)| StoreError::from(error))?;
    let wal_path = sibling(path, "-wal");
    if std::fs::metadata(&wal_path).is_ok_and(|meta| meta.len() > 0) {
        remove_if_present(&copy_path)?;
        return Err(StoreError::Invalid(format!(
            "{} is in use by another program; close it and open the profile again",
            path.display()
        )));
    }
    std::fs::File::open(&copy_path)
        .and_then(|file| file.sync_all())
        .map_err(|error| io_error(&copy_path, "sync", &error))?;
    remove_if_present(&wal_path)?;
    remove_if_present(&sibling(path, "-shm"))?;
    std::fs::rename(&copy_path, path).map_err(|error| io_error(path, "replace", &error))?;
    sync_parent(path);
    tracing::info!(path = %path.display(), "the plain store file was encrypted");
    Ok(())
}

/// `path` with `suffix` appended to its file name.
fn sibling(path: &Path, suffix: &str) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    name.into()
}

fn remove_if_present(path: &Path) -> Result<(), StoreError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(io_error(path, "remove", &error)),
    }
}

/// Makes the rename durable where the platform allows syncing a directory.
fn sync_parent(path: &Path) {
    #[cfg(unix)]
    if let Some(parent) = path.parent() {
        let _ = std::fs::File::open(parent).and_then(|dir| dir.sync_all());
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_key_never_prints() {
        let key = StoreKey::from_bytes([0xab; 32]);
        let shown = format!("{key:?} {:?}", Some(&key));
        assert!(
            !shown.contains("abab") && !shown.contains("171"),
            "debug output must not contain the key: {shown}"
        );
    }

    /// SQLCipher is the workspace's one SQLite: a connection given no key must still write
    /// plain SQLite, as the server's files are, with a SQLite new enough for the schema.
    #[test]
    fn an_unkeyed_connection_writes_plain_sqlite() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("server-like.sqlite3");
        let conn = Connection::open(&path).expect("open");
        conn.execute_batch("CREATE TABLE t (x INTEGER) STRICT; INSERT INTO t VALUES (1);")
            .expect("STRICT tables work");
        drop(conn);
        assert_eq!(
            StoreFile::inspect(&path).expect("inspect"),
            StoreFile::Plain
        );
        assert!(
            rusqlite::version_number() >= 3_037_000,
            "STRICT tables need SQLite 3.37: {}",
            rusqlite::version()
        );
    }

    #[test]
    fn a_store_key_round_trips_through_hex_and_generated_keys_differ() {
        let key = StoreKey::generate().expect("random");
        assert_eq!(StoreKey::from_hex(&key.to_hex()).expect("hex"), key);
        assert_ne!(
            StoreKey::generate().expect("random"),
            key,
            "keys are random"
        );
        assert!(StoreKey::from_hex("abc").is_err(), "a short key is refused");
    }
}
