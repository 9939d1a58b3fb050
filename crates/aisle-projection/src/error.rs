//! The projection's error type.

/// A failure reading or writing the projection.
#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A PostgreSQL failure (feature `pg`); [`aisle_pg::PgError::is_retryable`] says whether
    /// trying again may succeed.
    #[cfg(feature = "pg")]
    #[error("database error: {0}")]
    Pg(#[from] aisle_pg::PgError),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("invalid input: {0}")]
    Invalid(String),
}

impl ProjectionError {
    /// Whether the same work may succeed if tried again: on PostgreSQL a serialization
    /// failure, a deadlock or a broken connection. SQLite's busy errors are the stores' to
    /// judge, as before.
    pub fn is_retryable(&self) -> bool {
        match self {
            #[cfg(feature = "pg")]
            Self::Pg(error) => error.is_retryable(),
            _ => false,
        }
    }
}

impl From<serde_json::Error> for ProjectionError {
    fn from(error: serde_json::Error) -> Self {
        Self::Corrupt(error.to_string())
    }
}
