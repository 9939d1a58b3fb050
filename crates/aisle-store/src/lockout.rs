//! Wrong-PIN lockouts of badges on this device.
//!
//! Someone at the PC (or holding a copy of its file and the app) gets [`MAX_WRONG_PINS`]
//! tries at a badge's PIN; then the badge is locked on this device, first for
//! [`FIRST_LOCK_MS`], each further lock twice as long as the one before, up to
//! [`LONGEST_LOCK_MS`]. The count lives in the store (`badge_lockouts`), so restarting the
//! app does not reset it. A right PIN clears it. The store only keeps the count; the caller
//! records the lock as a `badge_locked` event so managers see it.

use crate::{Store, StoreError};
use rusqlite::OptionalExtension;

/// Wrong PINs in a row that lock a badge.
pub const MAX_WRONG_PINS: u32 = 5;
/// How long a badge's first lock lasts.
pub const FIRST_LOCK_MS: u64 = 30_000;
/// The cap on how long one lock lasts.
pub const LONGEST_LOCK_MS: u64 = 60 * 60 * 1000;

/// What a wrong PIN led to.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum WrongPin {
    /// Tries are left before a lock.
    TriesLeft(u32),
    /// This wrong PIN locked the badge until the given time (ms since the epoch).
    Locked { failures: u32, until_ms: u64 },
}

/// How long the `n`th lock of a badge lasts (the first is `n = 1`).
pub fn lock_duration_ms(n_lock: u32) -> u64 {
    let doublings = n_lock.saturating_sub(1).min(20);
    (FIRST_LOCK_MS << doublings).min(LONGEST_LOCK_MS)
}

impl Store {
    /// When the badge's lock ends, if it is locked at `now_ms`.
    pub fn badge_locked_until(&self, badge: &str, now_ms: u64) -> Result<Option<u64>, StoreError> {
        let until: Option<i64> = self
            .conn
            .query_row(
                "SELECT locked_until_ms FROM badge_lockouts WHERE badge = ?1",
                [badge],
                |row| row.get(0),
            )
            .optional()?;
        Ok(until
            .map(|until| until.max(0) as u64)
            .filter(|until| *until > now_ms))
    }

    /// Counts a wrong PIN for the badge at `now_ms`, locking it at the
    /// [`MAX_WRONG_PINS`]th in a row. One transaction, so two windows cannot both miss it.
    pub fn note_wrong_pin(&mut self, badge: &str, now_ms: u64) -> Result<WrongPin, StoreError> {
        let tx = self.conn.transaction()?;
        let (failures, locks): (i64, i64) = tx
            .query_row(
                "SELECT failures, locks FROM badge_lockouts WHERE badge = ?1",
                [badge],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?
            .unwrap_or((0, 0));
        let failures = u32::try_from(failures)
            .unwrap_or(u32::MAX)
            .saturating_add(1);
        let outcome = if failures >= MAX_WRONG_PINS {
            let n_lock = u32::try_from(locks).unwrap_or(u32::MAX).saturating_add(1);
            let until_ms = now_ms.saturating_add(lock_duration_ms(n_lock));
            // The count starts again once the lock ends; the number of locks stays, so the
            // next lock is longer.
            tx.execute(
                "INSERT INTO badge_lockouts (badge, failures, locks, locked_until_ms)
                 VALUES (?1, 0, ?2, ?3)
                 ON CONFLICT (badge) DO UPDATE SET failures = 0, locks = excluded.locks,
                   locked_until_ms = excluded.locked_until_ms",
                (badge, i64::from(n_lock), until_ms as i64),
            )?;
            WrongPin::Locked { failures, until_ms }
        } else {
            tx.execute(
                "INSERT INTO badge_lockouts (badge, failures) VALUES (?1, ?2)
                 ON CONFLICT (badge) DO UPDATE SET failures = excluded.failures",
                (badge, i64::from(failures)),
            )?;
            WrongPin::TriesLeft(MAX_WRONG_PINS - failures)
        };
        tx.commit()?;
        Ok(outcome)
    }

    /// Forgets the badge's wrong PINs and locks, after a right PIN.
    pub fn clear_wrong_pins(&self, badge: &str) -> Result<(), StoreError> {
        self.conn
            .execute("DELETE FROM badge_lockouts WHERE badge = ?1", [badge])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_double_from_30_seconds_up_to_an_hour() {
        assert_eq!(lock_duration_ms(1), 30_000);
        assert_eq!(lock_duration_ms(2), 60_000);
        assert_eq!(lock_duration_ms(3), 120_000);
        assert_eq!(lock_duration_ms(8), LONGEST_LOCK_MS);
        assert_eq!(lock_duration_ms(u32::MAX), LONGEST_LOCK_MS);
    }
}
