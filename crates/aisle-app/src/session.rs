//! The idle timeout: how long a signed-in user may leave the PC without activity before
//! the session ends by itself. It is one setting of the profile, kept in its store's `meta`
//! table so it survives restarts and applies to whoever signs in at this PC for this
//! warehouse. A manager changes it; [`crate::Floor`] enforces it, and the UI follows the
//! session the backend reports rather than keeping a timer of its own.

use crate::AppError;
use aisle_store::Store;

/// The store setting that holds the timeout, in whole minutes.
const META_KEY: &str = "session.idle_timeout_minutes";

/// How long a session may stay idle: a whole number of minutes from
/// [`IdleTimeout::MIN_MINUTES`] to [`IdleTimeout::MAX_MINUTES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdleTimeout {
    minutes: u32,
}

impl IdleTimeout {
    pub const MIN_MINUTES: u32 = 1;
    pub const MAX_MINUTES: u32 = 60;
    /// What a profile starts with: short enough that a PC left signed in on the floor is
    /// not used under someone else's name for long.
    pub const DEFAULT: IdleTimeout = IdleTimeout { minutes: 5 };

    /// The timeout of `minutes`, or `bad_settings` outside 1-60.
    pub fn from_minutes(minutes: u32) -> Result<Self, AppError> {
        if (Self::MIN_MINUTES..=Self::MAX_MINUTES).contains(&minutes) {
            Ok(Self { minutes })
        } else {
            Err(AppError::BadSetting(format!(
                "the idle timeout must be {} to {} minutes, not {minutes}",
                Self::MIN_MINUTES,
                Self::MAX_MINUTES
            )))
        }
    }

    pub fn minutes(self) -> u32 {
        self.minutes
    }

    pub fn as_ms(self) -> u64 {
        u64::from(self.minutes) * 60 * 1000
    }

    /// The profile's saved timeout. None saved yet, or a value this version cannot read
    /// (edited by hand, say), is the default: a broken setting must not lock anyone out.
    pub(crate) fn load(store: &Store) -> Result<Self, AppError> {
        Ok(store
            .meta(META_KEY)?
            .and_then(|text| text.trim().parse().ok())
            .and_then(|minutes| Self::from_minutes(minutes).ok())
            .unwrap_or(Self::DEFAULT))
    }

    pub(crate) fn save(self, store: &Store) -> Result<(), AppError> {
        store.set_meta(META_KEY, &self.minutes.to_string())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_1_to_60_whole_minutes_are_a_timeout() {
        for minutes in [1, 5, 60] {
            assert_eq!(
                IdleTimeout::from_minutes(minutes)
                    .map(IdleTimeout::minutes)
                    .ok(),
                Some(minutes),
                "{minutes} minutes is inside the bounds"
            );
        }
        for minutes in [0, 61, u32::MAX] {
            let error = IdleTimeout::from_minutes(minutes).expect_err("outside the bounds");
            assert_eq!(
                error.code(),
                crate::ErrorCode::BadSettings,
                "{minutes} minutes"
            );
        }
        assert_eq!(IdleTimeout::DEFAULT.as_ms(), 5 * 60 * 1000);
        assert_eq!(
            IdleTimeout::from_minutes(60).map(IdleTimeout::as_ms).ok(),
            Some(3_600_000)
        );
    }
}
