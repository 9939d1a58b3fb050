//! The sync engine's error type.

use aisle_store::StoreError;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("invalid server address {url:?}: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("refusing plain http to {host}: use https, or allow insecure http for this profile")]
    InsecureUrl { host: String },
    /// The request did not get an answer: no route, refused, reset, or timed out.
    #[error("cannot reach the server: {0}")]
    Transport(String),
    /// The server answered with an error (`code` is its stable error code).
    #[error("the server answered {status} {code}: {message}")]
    Server {
        status: u16,
        code: String,
        message: String,
        /// With `bad_json` about one pushed event: its index in the push.
        event_index: Option<usize>,
        retry_after: Option<Duration>,
    },
    /// The server answered 2xx with something that does not fit protocol v1.
    #[error("the server's answer does not fit the protocol: {0}")]
    Protocol(String),
    /// The server sent events a newer Aisle wrote, which this build cannot read. Pulling
    /// stops there until this PC runs a newer Aisle; its own events are still pushed.
    #[error("the server sends {what}, which this version of Aisle cannot read: update Aisle on this PC (its own events are still sent)")]
    UpdateNeeded { what: String },
    #[error("pulled page after seq {after} does not match its checksum")]
    ChecksumMismatch { after: u64 },
    #[error("this device is not enrolled for profile {0:?}: enroll it again")]
    NotEnrolled(String),
    #[error("the OS keyring failed: {0}")]
    Keyring(String),
    /// The store file is encrypted and this PC's keyring has no key for it: it was
    /// copied from another PC, or the keyring was reset.
    #[error("the data of profile {profile:?} cannot be read on this PC: it is encrypted and this PC's keyring does not hold its key (the file was copied from another PC, or the keyring was reset); enroll this PC again to get the warehouse's data from the server")]
    StoreKeyMissing { profile: String },
    #[error("waiting until {until_ms} before trying again")]
    BackingOff { until_ms: i64 },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the sync engine stopped")]
    Stopped,
}

impl SyncError {
    /// Whether the same operation may succeed later without anyone changing anything.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Transport(_)
            | Self::Protocol(_)
            // Retried with backoff so the engine keeps pushing; it clears with an update.
            | Self::UpdateNeeded { .. }
            | Self::ChecksumMismatch { .. }
            | Self::BackingOff { .. } => true,
            // 408 timeout, 429 slow down, 5xx: the server's trouble, not ours.
            Self::Server { status, .. } => *status == 408 || *status == 429 || *status >= 500,
            Self::Store(error) => error.is_retryable(),
            Self::BadUrl { .. }
            | Self::InsecureUrl { .. }
            | Self::NotEnrolled(_)
            | Self::Keyring(_)
            | Self::StoreKeyMissing { .. }
            | Self::Stopped => false,
        }
    }

    /// Whether the failure means the server could not be reached at all (offline).
    pub fn is_offline(&self) -> bool {
        matches!(self, Self::Transport(_))
    }

    /// Whether the failure is an answer from an Aisle server (a `{code, message}` error),
    /// which proves the network reaches it; a proxy's or load balancer's page does not.
    pub fn is_from_server(&self) -> bool {
        matches!(self, Self::Server { code, .. } if code != crate::client::FOREIGN_ERROR_CODE)
    }

    /// The delay the server asked for, if it asked.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Server { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// A stable code for the UI, which never matches on messages.
    pub fn code(&self) -> &str {
        match self {
            Self::BadUrl { .. } => "bad_url",
            Self::InsecureUrl { .. } => "insecure_url",
            Self::Transport(_) => "offline",
            Self::Server { code, .. } => code,
            Self::Protocol(_) => "protocol",
            Self::UpdateNeeded { .. } => "update_needed",
            Self::ChecksumMismatch { .. } => "checksum_mismatch",
            Self::NotEnrolled(_) => "not_enrolled",
            Self::Keyring(_) => "keyring",
            Self::StoreKeyMissing { .. } => "store_locked",
            Self::BackingOff { .. } => "backing_off",
            Self::Store(_) => "store",
            Self::Stopped => "stopped",
        }
    }
}

impl From<reqwest::Error> for SyncError {
    fn from(error: reqwest::Error) -> Self {
        // reqwest's message names the URL but never the headers, so no token can leak here.
        // `without_url` keeps the message short; the URL is the profile's, known anyway.
        Self::Transport(error.without_url().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_trouble_is_retryable_and_refusals_are_not() {
        let server = |status: u16| SyncError::Server {
            status,
            code: "x".into(),
            message: String::new(),
            event_index: None,
            retry_after: None,
        };
        for status in [408, 429, 500, 502, 503] {
            assert!(server(status).is_retryable(), "{status} is worth retrying");
        }
        for status in [400, 401, 403, 404, 409, 410, 413, 422] {
            assert!(
                !server(status).is_retryable(),
                "{status} will not change by itself"
            );
        }
        assert!(SyncError::Transport("reset".into()).is_retryable());
        assert!(!SyncError::InsecureUrl { host: "x".into() }.is_retryable());
    }
}
