//! The server's errors: [`ServerError`] for the library's own failures, and [`AppError`],
//! the one error type HTTP handlers return, which turns into `{code, message}` with a
//! stable code and never shows a client the internal cause (that goes to the log).

use aisle_core::ids::TenantId;
use aisle_protocol::{ErrorBody, PayloadLimit};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

/// Failures inside the server: storage, migrations, the registry.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("i/o error: {0}")]
    Io(std::io::Error),
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[cfg(feature = "postgres")]
    #[error("{0}")]
    Pg(#[from] aisle_pg::PgError),
    #[error("stock projection error: {0}")]
    Projection(#[from] aisle_projection::ProjectionError),
    #[error("{0}")]
    Pin(#[from] aisle_pin::PinError),
    #[error("stored json is corrupt: {0}")]
    Json(#[from] serde_json::Error),
    #[error("migration of {what} failed: {message}")]
    Migration { what: String, message: String },
    #[error("tenant {tenant} is unavailable: {reason}")]
    TenantUnavailable { tenant: TenantId, reason: String },
    /// The tenant's database could not be opened for now (its PostgreSQL cluster is away, its
    /// SQLite file was busy past the timeout): answered as any busy database, and never marks
    /// the tenant.
    #[error("tenant {tenant}'s database is away or busy for now: {reason}")]
    DatabaseAway { tenant: TenantId, reason: String },
    /// The tenant is being moved to another cluster and its writes are paused for the
    /// final catch-up (`aisle-server tenant move`); retry shortly.
    #[error("the tenant is moving to another cluster; its writes are paused")]
    TenantMoving,
    #[error("not found: {0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
}

impl ServerError {
    /// True when trying again later may succeed (a busy or locked database, a PostgreSQL
    /// serialization failure, a broken connection or an exhausted pool).
    pub fn is_retryable(&self) -> bool {
        if matches!(self, Self::DatabaseAway { .. }) {
            return true;
        }
        #[cfg(feature = "postgres")]
        if let Self::Pg(error) | Self::Projection(aisle_projection::ProjectionError::Pg(error)) =
            self
        {
            return error.is_retryable();
        }
        let sqlite = match self {
            Self::Sqlite(error) => Some(error),
            Self::Projection(aisle_projection::ProjectionError::Sqlite(error)) => Some(error),
            _ => None,
        };
        sqlite.is_some_and(is_busy)
    }
}

/// Whether SQLite answered busy or locked: another connection held the lock past the busy
/// timeout, and the same work may succeed later.
pub fn is_busy(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// Why a tenant's database was not opened, in either backend's pool.
#[derive(Clone, Debug)]
pub enum OpenRefusal {
    /// Refused until an operator acts: a failed migration, a database stamped for another
    /// tenant, no such tenant.
    Unavailable(String),
    /// Away or busy for now: worth a retry, and never marks the tenant.
    Away(String),
}

impl OpenRefusal {
    /// The error a request for `tenant` fails with: `503 tenant_unavailable`, or `503
    /// database_unavailable` with `Retry-After` for a refusal worth retrying.
    pub fn into_error(self, tenant: TenantId) -> ServerError {
        match self {
            Self::Unavailable(reason) => ServerError::TenantUnavailable { tenant, reason },
            Self::Away(reason) => ServerError::DatabaseAway { tenant, reason },
        }
    }
}

/// Which boundary a request tried to cross.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Boundary {
    Tenant,
    Warehouse,
    Device,
}

impl Boundary {
    pub fn code(self) -> &'static str {
        match self {
            Self::Tenant => "tenant_mismatch",
            Self::Warehouse => "warehouse_mismatch",
            Self::Device => "device_mismatch",
        }
    }
}

/// Everything a handler can answer with other than success. Each variant has one stable
/// `code` and one status; see `docs/protocol.md`.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("the request body is not valid protocol json: {0}")]
    BadJson(String),
    /// `bad_json` about one event of a push, which the answer names by its index.
    #[error("the request body is not valid protocol json: events[{event_index}]: {detail}")]
    BadEvent { event_index: usize, detail: String },
    #[error("event version {0} is not supported; this server understands version {v}", v = aisle_core::event::EVENT_VERSION)]
    UnsupportedEventVersion(u64),
    #[error("the request is larger than the limit of {max_events} events and {max_bytes} bytes", max_events = aisle_protocol::MAX_EVENTS, max_bytes = aisle_protocol::MAX_BODY_BYTES)]
    PayloadTooLarge,
    #[error("bad query parameters: {0}")]
    BadQuery(String),
    /// The device's `Aisle-Reads` header does not name event kinds as it must.
    #[error("{0}")]
    BadReads(String),
    #[error("the bearer token is missing or unknown")]
    BadToken,
    #[error("the bearer token has been revoked")]
    RevokedToken,
    #[error("the api key has been revoked")]
    RevokedKey,
    #[error("the api key lacks the {0} scope")]
    MissingScope(&'static str),
    #[error("invalid record: {0}")]
    InvalidRecord(String),
    #[error("PIN too short: {0}")]
    PinTooShort(String),
    #[error("PIN hash too cheap: {0}")]
    WeakPinHash(String),
    #[error("the enrollment code is unknown")]
    UnknownCode,
    #[error("the enrollment code has already been used")]
    CodeUsed,
    #[error("the enrollment code has expired")]
    CodeExpired,
    #[error("the request names another {what} than the device's token")]
    Forbidden {
        boundary: Boundary,
        what: &'static str,
    },
    #[error("this tenant is unavailable; the operator has been told")]
    TenantUnavailable,
    #[error("this tenant is moving to another database cluster; retry shortly")]
    TenantMoving,
    #[error("no such endpoint")]
    NotFound,
    #[error("this endpoint does not answer that method")]
    MethodNotAllowed,
    #[error("the request's headers are larger than the limit of {0} bytes")]
    HeadersTooLarge(usize),
    #[error("the server holds as many connections as it allows; retry shortly")]
    TooManyConnections,
    #[error("the server holds as many request bodies in memory as it allows; retry shortly")]
    ServerBusy,
    #[error("too many requests {what}; retry after {retry_after_secs} s")]
    RateLimited {
        /// Whose limit was reached, e.g. "from this address" or "for this tenant".
        what: &'static str,
        retry_after_secs: u64,
    },
    #[error(
        "the tenant's storage is at its quota of {max_bytes} bytes; the operator can raise it"
    )]
    TenantStorageFull { max_bytes: u64 },
    /// Any other refusal of the HTTP layer (hyper's or axum's own), by its status.
    #[error("{message}")]
    Http {
        status: StatusCode,
        code: &'static str,
        message: String,
    },
    #[error("internal error")]
    Internal(#[source] ServerError),
}

impl AppError {
    pub fn forbidden(boundary: Boundary) -> Self {
        let what = match boundary {
            Boundary::Tenant => "tenant",
            Boundary::Warehouse => "warehouse",
            Boundary::Device => "device",
        };
        Self::Forbidden { boundary, what }
    }

    /// The stable code clients match on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadJson(_) | Self::BadEvent { .. } => "bad_json",
            Self::UnsupportedEventVersion(_) => "unsupported_event_version",
            Self::PayloadTooLarge => "payload_too_large",
            Self::BadQuery(_) => "bad_query",
            Self::BadReads(_) => "bad_reads",
            Self::BadToken => "bad_token",
            Self::RevokedToken => "revoked_token",
            Self::RevokedKey => "revoked_key",
            Self::MissingScope(_) => "missing_scope",
            Self::InvalidRecord(_) => "invalid_record",
            Self::PinTooShort(_) => "pin_too_short",
            Self::WeakPinHash(_) => "weak_pin_hash",
            Self::UnknownCode => "unknown_code",
            Self::CodeUsed => "code_used",
            Self::CodeExpired => "code_expired",
            Self::Forbidden { boundary, .. } => boundary.code(),
            Self::TenantUnavailable => "tenant_unavailable",
            Self::TenantMoving => "tenant_moving",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::HeadersTooLarge(_) => "headers_too_large",
            Self::TooManyConnections => "too_many_connections",
            Self::ServerBusy => "server_busy",
            Self::RateLimited { .. } => "rate_limited",
            Self::TenantStorageFull { .. } => "tenant_storage_full",
            Self::Http { code, .. } => code,
            // A database that is away or busy for now (a PostgreSQL primary failing over, a
            // broken connection, an exhausted pool, a locked SQLite file): worth a retry.
            Self::Internal(error) if error.is_retryable() => "database_unavailable",
            Self::Internal(_) => "internal",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadJson(_) | Self::BadEvent { .. } | Self::BadQuery(_) | Self::BadReads(_) => {
                StatusCode::BAD_REQUEST
            }
            Self::UnsupportedEventVersion(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BadToken | Self::RevokedToken | Self::RevokedKey => StatusCode::UNAUTHORIZED,
            Self::MissingScope(_) => StatusCode::FORBIDDEN,
            Self::InvalidRecord(_) | Self::PinTooShort(_) | Self::WeakPinHash(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            Self::UnknownCode => StatusCode::NOT_FOUND,
            Self::CodeUsed => StatusCode::CONFLICT,
            Self::CodeExpired => StatusCode::GONE,
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::TenantUnavailable | Self::TenantMoving => StatusCode::SERVICE_UNAVAILABLE,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::HeadersTooLarge(_) => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Self::TooManyConnections | Self::ServerBusy => StatusCode::SERVICE_UNAVAILABLE,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::TenantStorageFull { .. } => StatusCode::INSUFFICIENT_STORAGE,
            Self::Http { status, .. } => *status,
            Self::Internal(error) if error.is_retryable() => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<ServerError> for AppError {
    fn from(error: ServerError) -> Self {
        match error {
            ServerError::TenantUnavailable { tenant, reason } => {
                tracing::warn!(%tenant, %reason, "tenant refused");
                Self::TenantUnavailable
            }
            ServerError::TenantMoving => Self::TenantMoving,
            other => Self::Internal(other),
        }
    }
}

/// The `Retry-After` of `database_unavailable`, in seconds: long enough for a pool to
/// reconnect, short against a failover tool's usual 10-30 s.
pub const DATABASE_UNAVAILABLE_RETRY_AFTER_SECS: u64 = 2;

/// The `Retry-After` a write refused with `tenant_moving` carries, in seconds.
pub const TENANT_MOVING_RETRY_AFTER_SECS: u64 = 2;

/// The stable `code` of an error response, left in the response's extensions so
/// middleware (the request metrics) can count outcomes without parsing bodies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ErrorCode(pub &'static str);

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let Self::Internal(cause) = &self {
            // The cause stays in the log; the client only learns that it was internal. A
            // database away or busy for now (a failover) is a warning: the client retries.
            if cause.is_retryable() {
                tracing::warn!(error = %cause, "request refused for now");
            } else {
                tracing::error!(error = %cause, "request failed");
            }
        }
        let mut body = ErrorBody::new(self.code(), self.to_string());
        match &self {
            Self::PayloadTooLarge => body.limit = Some(PayloadLimit::V1),
            Self::BadEvent { event_index, .. } => body.event_index = Some(*event_index),
            _ => {}
        }
        let retry_after_secs = match &self {
            Self::RateLimited {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            Self::TooManyConnections | Self::ServerBusy => Some(1),
            // A move's pause lasts the final catch-up: a few seconds.
            Self::TenantMoving => Some(TENANT_MOVING_RETRY_AFTER_SECS),
            Self::Internal(error) if error.is_retryable() => {
                Some(DATABASE_UNAVAILABLE_RETRY_AFTER_SECS)
            }
            _ => None,
        };
        let mut response = (self.status(), Json(body)).into_response();
        if let Some(secs) = retry_after_secs {
            // The sync engine waits this long before its next attempt (aisle-sync's client).
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(secs.max(1)),
            );
        }
        response.extensions_mut().insert(ErrorCode(self.code()));
        response
    }
}
