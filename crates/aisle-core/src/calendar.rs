//! Calendar arithmetic: the proleptic Gregorian date of a Unix time.
//!
//! The core has no clock; callers pass the time in. The GS1 century rule reads two-digit
//! years against "today", which the desktop derives from its clock with [`Date::from_unix_ms`].

use crate::event::Date;

/// Milliseconds in one day (no leap seconds: Unix time has none).
pub const MS_PER_DAY: i64 = 86_400_000;

impl Date {
    /// The calendar date `days` after 1970-01-01 (before it when negative), or `None` when
    /// its year falls outside 0..=65535, which [`Date`] cannot hold.
    pub fn from_unix_days(days: i64) -> Option<Date> {
        // Howard Hinnant's days-to-civil algorithm; the shift to an era that starts on
        // 0000-03-01 puts the leap day at the end of the year.
        let z = days.checked_add(719_468)?;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let year = yoe
            .checked_add(era.checked_mul(400)?)?
            .checked_add(i64::from(month <= 2))?;
        let year = u16::try_from(year).ok()?;
        Date::new(year, month, day).ok()
    }

    /// The UTC calendar date of a Unix time in milliseconds.
    pub fn from_unix_ms(unix_ms: i64) -> Option<Date> {
        Self::from_unix_days(unix_ms.div_euclid(MS_PER_DAY))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_since_the_epoch_become_calendar_dates() {
        for (days, expected) in [
            (0, "1970-01-01"),
            (-1, "1969-12-31"),
            (11_017, "2000-03-01"),
            (19_723, "2024-01-01"),
            (19_782, "2024-02-29"),
            (20_781, "2026-11-24"),
            (-719_528, "0000-01-01"),
        ] {
            let date = Date::from_unix_days(days).map(|date| date.to_string());
            assert_eq!(date.as_deref(), Some(expected), "day {days}");
        }
    }

    #[test]
    fn years_a_date_cannot_hold_are_none_rather_than_a_made_up_day() {
        assert_eq!(Date::from_unix_days(-719_529), None, "year -1");
        assert_eq!(Date::from_unix_days(i64::MAX), None, "overflow");
        assert_eq!(Date::from_unix_days(i64::MIN), None, "underflow");
        let last = Date::from_unix_days(23_217_003).map(|date| date.to_string());
        assert_eq!(
            last.as_deref(),
            Some("65535-12-31"),
            "the last day a Date holds"
        );
        assert_eq!(Date::from_unix_days(23_217_004), None, "year 65536");
    }

    #[test]
    fn milliseconds_round_down_to_their_utc_day() {
        let day = |ms| Date::from_unix_ms(ms).map(|date| date.to_string());
        assert_eq!(day(MS_PER_DAY - 1).as_deref(), Some("1970-01-01"));
        assert_eq!(day(MS_PER_DAY).as_deref(), Some("1970-01-02"));
        assert_eq!(day(-1).as_deref(), Some("1969-12-31"), "before the epoch");
    }
}
