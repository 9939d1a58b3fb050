//! The store's error type.

use aisle_core::event::InvalidEvent;
use aisle_core::ids::EventId;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the store at {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    /// The file is encrypted and the key given does not open it: it was copied from
    /// another PC, or this PC's keyring lost the profile's key.
    #[error(
        "the store at {path} is encrypted and cannot be read with the key this PC holds for it"
    )]
    Locked { path: PathBuf },
    #[error("the store was written by a newer Aisle (schema {found}; this build knows up to {supported}); update Aisle")]
    TooNew { found: i64, supported: i64 },
    #[error("the store's migrations failed: {0}")]
    Migration(String),
    #[error("store setting failed: {0}")]
    Pragma(String),
    #[error("this store belongs to {field} {found}, not {expected}")]
    ProfileMismatch {
        field: &'static str,
        expected: String,
        found: String,
    },
    #[error("event {id} belongs to another {field} than this store")]
    ForeignEvent { id: EventId, field: &'static str },
    #[error("invalid event {id}: {source}")]
    InvalidEvent { id: EventId, source: InvalidEvent },
    #[error("event {0} was already recorded with a different payload")]
    PayloadMismatch(EventId),
    #[error("the disk is full; nothing was recorded and earlier records are safe")]
    DiskFull,
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("invalid input: {0}")]
    Invalid(String),
    #[error("database error: {0}")]
    Sqlite(rusqlite::Error),
}

impl StoreError {
    /// Whether trying the same operation again later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::DiskFull => true,
            Self::Sqlite(rusqlite::Error::SqliteFailure(code, _)) => {
                matches!(
                    code.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                )
            }
            _ => false,
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        match &error {
            rusqlite::Error::SqliteFailure(code, _)
                if code.code == rusqlite::ErrorCode::DiskFull =>
            {
                Self::DiskFull
            }
            _ => Self::Sqlite(error),
        }
    }
}

impl From<aisle_projection::ProjectionError> for StoreError {
    fn from(error: aisle_projection::ProjectionError) -> Self {
        use aisle_projection::ProjectionError;
        match error {
            ProjectionError::Sqlite(error) => Self::from(error),
            ProjectionError::Corrupt(message) => Self::Corrupt(message),
            ProjectionError::Invalid(message) => Self::Invalid(message),
            // aisle-projection's PostgreSQL variant exists only with its `pg` feature, which
            // the server turns on in builds that also link this store (the server's tests);
            // a device store never meets one.
            #[allow(unreachable_patterns)]
            other => Self::Corrupt(other.to_string()),
        }
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(error: serde_json::Error) -> Self {
        Self::Corrupt(error.to_string())
    }
}
