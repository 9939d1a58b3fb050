//! The hybrid logical clock.
//!
//! An [`Hlc`] is a millisecond wall time plus a 16-bit counter. It follows the standard
//! rules of Kulkarni et al.: a local event takes `max(last, physical)` and bumps the counter
//! when the wall part did not move; receiving a remote time takes the maximum of all three
//! and bumps past whichever counter it tied with. So an event is always stamped later than
//! everything its device had seen, while staying close to physical time.
//!
//! The physical time is an argument, never read here: the caller passes its clock already
//! corrected by the offset to server time that sync measures. We do not use the `uhlc`
//! crate because its clock is a `fn() -> NTP64` with no context, so an offset-corrected,
//! caller-supplied time could only be fed through global state.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A hybrid-logical-clock timestamp. Ordering is by wall time, then counter.
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
pub struct Hlc {
    /// Milliseconds since the Unix epoch (at most 47 bits, see [`MAX_WALL_MS`]).
    pub wall_ms: u64,
    /// Orders events that share a wall millisecond.
    pub counter: u16,
}

/// The largest wall time that packs into a non-negative `i64` beside the 16-bit counter:
/// 47 bits, which lasts until the year 6429. (48 bits would set the sign bit, and packed
/// times past 2^47 ms would sort before every present-day time in SQL.)
pub const MAX_WALL_MS: u64 = (1 << 47) - 1;

impl Hlc {
    pub const fn new(wall_ms: u64, counter: u16) -> Self {
        Self { wall_ms, counter }
    }

    /// Packs into one integer that sorts like the timestamp, for storage in an indexed
    /// SQL column. Always non-negative as an `i64`.
    pub const fn to_packed(self) -> i64 {
        ((self.wall_ms << 16) | self.counter as u64) as i64
    }

    pub const fn from_packed(packed: i64) -> Self {
        let bits = packed as u64;
        Self {
            wall_ms: bits >> 16,
            counter: (bits & 0xffff) as u16,
        }
    }

    /// The next timestamp after `self`, used when the counter would overflow.
    fn successor(self) -> Self {
        match self.counter.checked_add(1) {
            Some(counter) => Self {
                wall_ms: self.wall_ms,
                counter,
            },
            // Borrowing a millisecond keeps the clock monotonic; 65,536 events in one
            // millisecond on one device does not happen on a warehouse floor.
            None => Self {
                wall_ms: self.wall_ms + 1,
                counter: 0,
            },
        }
    }
}

impl fmt::Debug for Hlc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hlc({}.{})", self.wall_ms, self.counter)
    }
}

/// A remote timestamp too far ahead of our physical time to be trusted for our clock.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("remote clock is {ahead_ms} ms ahead of ours, more than the {max_drift_ms} ms allowed")]
pub struct ClockDriftError {
    pub ahead_ms: u64,
    pub max_drift_ms: u64,
}

/// One device's clock state. Persist [`HlcClock::last`] so a restart never goes backwards.
#[derive(Debug, Clone)]
pub struct HlcClock {
    last: Hlc,
    max_drift_ms: u64,
}

impl HlcClock {
    /// Defaults to tolerating clocks up to ten minutes ahead: the server refuses events
    /// stamped further ahead than that (`clock_ahead`), so a device must never stamp one.
    pub const DEFAULT_MAX_DRIFT_MS: u64 = 10 * 60 * 1000;

    pub fn new(last: Hlc) -> Self {
        Self {
            last,
            max_drift_ms: Self::DEFAULT_MAX_DRIFT_MS,
        }
    }

    pub fn with_max_drift(mut self, max_drift_ms: u64) -> Self {
        self.max_drift_ms = max_drift_ms;
        self
    }

    pub fn last(&self) -> Hlc {
        self.last
    }

    /// Stamps a local event (the "send" rule), never more than the allowed drift ahead of
    /// `physical_ms`. A clock left far ahead (a PC whose clock once jumped years forward, and
    /// then the last stamp restored from its log) starts again from physical time: the events
    /// stamped in the future are refused by the server as `clock_ahead` and recorded again,
    /// and following them would make every later event the same.
    pub fn now(&mut self, physical_ms: u64) -> Hlc {
        let physical_ms = physical_ms.min(MAX_WALL_MS);
        if self.last.wall_ms > physical_ms.saturating_add(self.max_drift_ms) {
            self.last = Hlc::new(physical_ms, 0);
            return self.last;
        }
        self.last = if physical_ms > self.last.wall_ms {
            Hlc::new(physical_ms, 0)
        } else {
            self.last.successor()
        };
        self.last
    }

    /// Takes in a timestamp seen on a remote event (the "receive" rule). A remote time
    /// further ahead than the allowed drift is refused for the clock (the event itself
    /// may still be applied: it happened), so one bad clock cannot drag every device
    /// into the future.
    pub fn observe(&mut self, remote: Hlc, physical_ms: u64) -> Result<Hlc, ClockDriftError> {
        let physical_ms = physical_ms.min(MAX_WALL_MS);
        if remote.wall_ms > physical_ms.saturating_add(self.max_drift_ms) {
            return Err(ClockDriftError {
                ahead_ms: remote.wall_ms - physical_ms,
                max_drift_ms: self.max_drift_ms,
            });
        }
        let wall_ms = self.last.wall_ms.max(remote.wall_ms).max(physical_ms);
        let tied_local = wall_ms == self.last.wall_ms;
        let tied_remote = wall_ms == remote.wall_ms;
        self.last = match (tied_local, tied_remote) {
            (true, true) => self.last.max(remote).successor(),
            (true, false) => self.last.successor(),
            (false, true) => remote.successor(),
            (false, false) => Hlc::new(wall_ms, 0),
        };
        Ok(self.last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn send_follows_physical_time_when_it_moves() {
        let mut clock = HlcClock::new(Hlc::default());
        assert_eq!(clock.now(100), Hlc::new(100, 0));
        assert_eq!(
            clock.now(100),
            Hlc::new(100, 1),
            "same millisecond bumps the counter"
        );
        assert_eq!(
            clock.now(90),
            Hlc::new(100, 2),
            "a physical clock that steps back must not"
        );
        assert_eq!(clock.now(101), Hlc::new(101, 0));
    }

    #[test]
    fn receive_moves_past_the_remote_time() {
        let mut clock = HlcClock::new(Hlc::new(100, 5));
        assert_eq!(clock.observe(Hlc::new(200, 3), 150), Ok(Hlc::new(200, 4)));
        assert_eq!(
            clock.observe(Hlc::new(200, 9), 150),
            Ok(Hlc::new(200, 10)),
            "ties take the larger counter"
        );
        assert_eq!(clock.observe(Hlc::new(50, 0), 150), Ok(Hlc::new(200, 11)));
        assert_eq!(clock.observe(Hlc::new(50, 0), 300), Ok(Hlc::new(300, 0)));
    }

    #[test]
    fn remote_far_in_the_future_is_refused_and_leaves_the_clock_alone() {
        let mut clock = HlcClock::new(Hlc::new(100, 0)).with_max_drift(1_000);
        let err = clock
            .observe(Hlc::new(5_000, 0), 100)
            .expect_err("4.9 s ahead is too far");
        assert_eq!(err.ahead_ms, 4_900);
        assert_eq!(
            clock.last(),
            Hlc::new(100, 0),
            "a refused time must not move our clock"
        );
    }

    /// Regression: a device whose last stamp was in the year 6429 stamped every later event
    /// after it, so the server refused them all, forever.
    #[test]
    fn a_clock_left_far_ahead_stamps_from_physical_time_again() {
        let mut clock = HlcClock::new(Hlc::new(MAX_WALL_MS, 0));
        assert_eq!(clock.now(1_000_000), Hlc::new(1_000_000, 0));
        assert_eq!(
            clock.now(1_000_000),
            Hlc::new(1_000_000, 1),
            "then monotonic"
        );
        let mut near = HlcClock::new(Hlc::new(1_000_000 + HlcClock::DEFAULT_MAX_DRIFT_MS, 0));
        assert_eq!(
            near.now(1_000_000),
            Hlc::new(1_000_000 + HlcClock::DEFAULT_MAX_DRIFT_MS, 1),
            "within the drift, the clock stays ahead and monotonic"
        );
    }

    #[test]
    fn counter_overflow_borrows_a_millisecond() {
        let mut clock = HlcClock::new(Hlc::new(10, u16::MAX));
        assert_eq!(clock.now(5), Hlc::new(11, 0));
    }

    proptest! {
        #[test]
        fn packing_preserves_order(a in 0..=MAX_WALL_MS, ac: u16, b in 0..=MAX_WALL_MS, bc: u16) {
            let (x, y) = (Hlc::new(a, ac), Hlc::new(b, bc));
            prop_assert_eq!(Hlc::from_packed(x.to_packed()), x);
            prop_assert!(x.to_packed() >= 0);
            prop_assert_eq!(x.cmp(&y), x.to_packed().cmp(&y.to_packed()));
        }

        #[test]
        fn clock_is_strictly_monotonic(steps in proptest::collection::vec((0u64..10_000, any::<bool>(), 0u64..10_000, any::<u16>()), 1..200)) {
            let mut clock = HlcClock::new(Hlc::default());
            let mut previous = clock.last();
            for (physical, is_receive, remote_wall, remote_counter) in steps {
                let next = if is_receive {
                    let remote = Hlc::new(remote_wall, remote_counter);
                    let next = clock.observe(remote, physical).expect("within default drift");
                    prop_assert!(next > remote, "a received time must be exceeded");
                    next
                } else {
                    clock.now(physical)
                };
                prop_assert!(next > previous, "hlc must strictly increase");
                prop_assert!(next.wall_ms >= physical.min(MAX_WALL_MS), "hlc never lags physical time");
                previous = next;
            }
        }
    }
}
