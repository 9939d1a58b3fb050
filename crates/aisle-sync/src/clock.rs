//! The device clock, corrected by the offset to the server's.
//!
//! Every exchange with the server gives one [`ClockSample`]: the device time the request
//! left, the device time the answer came back, and the server's `server_time_ms`. The
//! offset is the server time minus the midpoint of the two device times; its error is at
//! most half the round trip, so of the recent samples the one with the lowest round-trip
//! time is kept ([`OffsetEstimate`]). A window of recent samples, rather than the best one
//! ever, lets the estimate follow a device clock that drifts or is stepped.
//!
//! [`DeviceClock`] stamps local events: it feeds `system time + offset` to the core's
//! [`HlcClock`] and hands back the correction it used, which the event stores in
//! `clock_correction_ms`. A device clock that is off by more than a threshold is reported
//! ([`DeviceClock::warning`]) but never stops recording: the floor keeps working.

use aisle_core::hlc::ClockDriftError;
use aisle_core::{Hlc, HlcClock};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// One request/answer pair's view of the two clocks.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ClockSample {
    /// Device time when the request was sent.
    pub sent_ms: i64,
    /// Device time when the answer arrived.
    pub received_ms: i64,
    /// The server's clock while answering.
    pub server_ms: i64,
}

impl ClockSample {
    pub fn round_trip_ms(&self) -> i64 {
        (self.received_ms - self.sent_ms).max(0)
    }

    /// How far the server's clock is ahead of the device's.
    pub fn offset_ms(&self) -> i64 {
        let midpoint = self.sent_ms + self.round_trip_ms() / 2;
        self.server_ms - midpoint
    }
}

/// The best of the recent samples.
#[derive(Clone, Debug, Default)]
pub struct OffsetEstimate {
    recent: VecDeque<ClockSample>,
}

impl OffsetEstimate {
    /// How many recent exchanges the estimate chooses from.
    pub const WINDOW: usize = 16;

    pub fn record(&mut self, sample: ClockSample) {
        if self.recent.len() == Self::WINDOW {
            self.recent.pop_front();
        }
        self.recent.push_back(sample);
    }

    /// The recent sample with the lowest round trip (the latest of equals).
    pub fn best(&self) -> Option<ClockSample> {
        self.recent
            .iter()
            .rev()
            .min_by_key(|sample| sample.round_trip_ms())
            .copied()
    }

    pub fn offset_ms(&self) -> Option<i64> {
        self.best().map(|sample| sample.offset_ms())
    }
}

/// What stamping a local event gives: its hlc and the correction it was made with.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Stamp {
    pub hlc: Hlc,
    pub clock_correction_ms: i64,
}

/// The device's hybrid logical clock plus the measured offset to server time.
#[derive(Debug)]
pub struct DeviceClock {
    hlc: HlcClock,
    estimate: OffsetEstimate,
    warn_threshold_ms: i64,
}

/// One clock shared by the recorder (the UI's commands) and the sync engine.
pub type SharedClock = Arc<Mutex<DeviceClock>>;

impl DeviceClock {
    /// The store meta entry that keeps the last hlc across restarts.
    pub const META_LAST_HLC: &'static str = "clock.last_hlc";

    pub fn new(last: Hlc, warn_threshold_ms: i64) -> Self {
        Self {
            hlc: HlcClock::new(last),
            estimate: OffsetEstimate::default(),
            warn_threshold_ms,
        }
    }

    pub fn shared(self) -> SharedClock {
        Arc::new(Mutex::new(self))
    }

    /// The offset to server time in use (0 until the first exchange).
    pub fn offset_ms(&self) -> i64 {
        self.estimate.offset_ms().unwrap_or(0)
    }

    pub fn estimate(&self) -> &OffsetEstimate {
        &self.estimate
    }

    pub fn record_sample(&mut self, sample: ClockSample) {
        self.estimate.record(sample);
        if let Some(message) = self.warning() {
            tracing::warn!(offset_ms = self.offset_ms(), "{message}");
        }
    }

    /// A message for the status line when the device clock is too far off, else `None`.
    pub fn warning(&self) -> Option<String> {
        let offset_ms = self.estimate.offset_ms()?;
        (offset_ms.abs() > self.warn_threshold_ms).then(|| {
            let direction = if offset_ms > 0 { "behind" } else { "ahead of" };
            format!(
                "this device's clock is {} ms {direction} the server's; events are stamped with the corrected time, but please fix the clock",
                offset_ms.abs()
            )
        })
    }

    /// Stamps a local event at device time `system_ms`.
    pub fn stamp(&mut self, system_ms: i64) -> Stamp {
        let offset_ms = self.offset_ms();
        let physical_ms = system_ms.saturating_add(offset_ms).max(0) as u64;
        Stamp {
            hlc: self.hlc.now(physical_ms),
            clock_correction_ms: offset_ms,
        }
    }

    /// Takes in the hlc of a pulled event, so later local events are stamped after it.
    pub fn observe(&mut self, remote: Hlc, system_ms: i64) -> Result<Hlc, ClockDriftError> {
        let physical_ms = system_ms.saturating_add(self.offset_ms()).max(0) as u64;
        self.hlc.observe(remote, physical_ms)
    }

    pub fn last(&self) -> Hlc {
        self.hlc.last()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(sent_ms: i64, received_ms: i64, server_ms: i64) -> ClockSample {
        ClockSample {
            sent_ms,
            received_ms,
            server_ms,
        }
    }

    #[test]
    fn the_lowest_round_trip_wins() {
        let mut estimate = OffsetEstimate::default();
        estimate.record(sample(1_000, 1_400, 6_000)); // rtt 400, offset 4_800
        estimate.record(sample(2_000, 2_020, 7_010)); // rtt 20, offset 5_000
        estimate.record(sample(3_000, 3_300, 8_500)); // rtt 300, offset 5_350
        assert_eq!(
            estimate.offset_ms(),
            Some(5_000),
            "the 20 ms exchange is the most precise"
        );
    }

    #[test]
    fn old_samples_leave_the_window() {
        let mut estimate = OffsetEstimate::default();
        estimate.record(sample(0, 0, 100));
        for n in 0..OffsetEstimate::WINDOW as i64 {
            estimate.record(sample(n * 1_000, n * 1_000 + 50, n * 1_000 + 25 - 300));
        }
        assert_eq!(
            estimate.offset_ms(),
            Some(-300),
            "a perfect but stale sample must not pin the offset forever"
        );
    }

    #[test]
    fn stamps_use_the_corrected_time_and_record_the_correction() {
        let mut clock = DeviceClock::new(Hlc::default(), 5_000);
        clock.record_sample(sample(10_000, 10_010, 70_005)); // server 60 s ahead
        let stamp = clock.stamp(10_020);
        assert_eq!(stamp.clock_correction_ms, 60_000);
        assert_eq!(stamp.hlc, Hlc::new(70_020, 0));
        assert!(
            clock.warning().is_some_and(|text| text.contains("60000")),
            "a minute off is worth a warning"
        );
        let next = clock.stamp(0);
        assert!(
            next.hlc > stamp.hlc,
            "a clock that jumps back must not move the hlc back"
        );
    }

    #[test]
    fn a_small_offset_is_not_a_warning() {
        let mut clock = DeviceClock::new(Hlc::default(), 5_000);
        clock.record_sample(sample(0, 10, 1_005));
        assert_eq!(clock.offset_ms(), 1_000);
        assert_eq!(clock.warning(), None);
    }
}
