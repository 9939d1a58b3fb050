//! GS1 YYMMDD dates: the century rule and "day 00".
//!
//! A GS1 date carries only two year digits. The GS1 General Specifications (section 7.12)
//! resolve the century against the *current* year, which this crate cannot know, so the
//! caller passes today's date in. With `difference = YY - (current year mod 100)`:
//!
//! - 51 to 99: the year is in the previous century (a date 51+ years ahead is implausible,
//!   so it must be in the past);
//! - -99 to -50: the year is in the next century;
//! - otherwise: the current century.
//!
//! The date AIs 11-17 may carry day `00`, which means "the last day of that month": a label
//! printed with only a month of expiry.

use crate::event::{days_in_month, Date};

/// Why a YYMMDD value is not a date. Positions are offsets within the six digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DateProblem {
    Month(u8),
    Day { day: u8, days_in_month: u8 },
    YearOutOfRange,
}

/// The four-digit year for a two-digit `yy` seen on `today`, by the GS1 century rule.
pub(crate) fn resolve_century(yy: u8, today: Date) -> Option<u16> {
    let current_year = i32::from(today.year);
    let current_yy = current_year.rem_euclid(100);
    let current_century = current_year - current_yy;
    let difference = i32::from(yy) - current_yy;
    let century = if (51..=99).contains(&difference) {
        current_century - 100
    } else if (-99..=-50).contains(&difference) {
        current_century + 100
    } else {
        current_century
    };
    u16::try_from(century + i32::from(yy)).ok()
}

/// Reads six ASCII digits `YYMMDD` into a date. `day_zero_means_last_day` is true for the
/// AIs whose specification allows day `00`. The caller has checked that these are digits;
/// the arithmetic wraps rather than panics if it ever has not.
pub(crate) fn parse_yymmdd(
    digits: [u8; 6],
    today: Date,
    day_zero_means_last_day: bool,
) -> Result<Date, DateProblem> {
    let pair = |first: u8, second: u8| {
        first
            .wrapping_sub(b'0')
            .wrapping_mul(10)
            .wrapping_add(second.wrapping_sub(b'0'))
    };
    let [y1, y2, m1, m2, d1, d2] = digits;
    let (yy, month, day) = (pair(y1, y2), pair(m1, m2), pair(d1, d2));
    if !(1..=12).contains(&month) {
        return Err(DateProblem::Month(month));
    }
    let year = resolve_century(yy, today).ok_or(DateProblem::YearOutOfRange)?;
    let last_day = days_in_month(year, month);
    let day = match day {
        0 if day_zero_means_last_day => last_day,
        _ => day,
    };
    Date::new(year, month, day).map_err(|_| DateProblem::Day {
        day,
        days_in_month: last_day,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on(year: u16) -> Date {
        Date::new(year, 6, 15).expect("valid test date")
    }

    #[test]
    fn century_rule_follows_the_gs1_table() {
        // Seen in 2024 (current yy = 24): 74 is 50 ahead, so still this century; 75 is 51
        // ahead, so last century.
        assert_eq!(resolve_century(74, on(2024)), Some(2074));
        assert_eq!(resolve_century(75, on(2024)), Some(1975));
        assert_eq!(resolve_century(0, on(2024)), Some(2000));
        // Seen in 2080 (current yy = 80): 30 is 50 behind, so next century; 31 is 49
        // behind, so this one.
        assert_eq!(resolve_century(30, on(2080)), Some(2130));
        assert_eq!(resolve_century(31, on(2080)), Some(2031));
    }

    #[test]
    fn day_zero_is_the_last_day_only_where_allowed() {
        let digits = *b"240200";
        assert_eq!(
            parse_yymmdd(digits, on(2024), true),
            Ok(Date::new(2024, 2, 29).expect("leap day"))
        );
        assert_eq!(
            parse_yymmdd(digits, on(2024), false),
            Err(DateProblem::Day {
                day: 0,
                days_in_month: 29
            })
        );
    }
}
