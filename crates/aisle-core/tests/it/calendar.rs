//! `Date::from_unix_days` against the `time` crate as the reference, over every day that
//! both can name (years 0 to 9999).

use aisle_core::event::Date;
use proptest::prelude::*;

/// 1970-01-01 as a Julian day number.
const UNIX_EPOCH_JULIAN_DAY: i64 = 2_440_588;

fn reference(days: i64) -> String {
    let date = time::Date::from_julian_day((UNIX_EPOCH_JULIAN_DAY + days) as i32)
        .expect("in time's range");
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// 0000-01-01 and 9999-12-31 as days since 1970-01-01.
const FIRST_DAY: i64 = -719_528;
const LAST_DAY: i64 = 2_932_896;

#[test]
fn the_range_ends_are_the_ends_of_years_0_and_9999() {
    assert_eq!(reference(FIRST_DAY), "0000-01-01");
    assert_eq!(reference(LAST_DAY), "9999-12-31");
    assert_eq!(
        Date::from_unix_days(FIRST_DAY - 1),
        None,
        "year -1 does not fit a Date"
    );
}

proptest! {
    #[test]
    fn every_day_matches_the_time_crate(days in FIRST_DAY..=LAST_DAY) {
        let date = Date::from_unix_days(days).map(|date| date.to_string());
        prop_assert_eq!(date, Some(reference(days)), "day {}", days);
    }

    #[test]
    fn every_millisecond_falls_on_its_utc_day(ms in (FIRST_DAY * 86_400_000)..(LAST_DAY * 86_400_000)) {
        let utc = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
            .expect("in time's range")
            .date();
        let expected = format!("{:04}-{:02}-{:02}", utc.year(), u8::from(utc.month()), utc.day());
        prop_assert_eq!(
            Date::from_unix_ms(ms).map(|date| date.to_string()),
            Some(expected),
            "ms {}", ms
        );
    }
}
