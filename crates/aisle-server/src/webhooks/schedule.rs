//! The retry schedule and what one delivery attempt leads to, as a pure function: the
//! delivery worker asks [`next`] and settles the answer in the database.
//!
//! Delivery is at least once and in order per endpoint: an endpoint's next message is not
//! sent before the one in front of it is delivered or dead-lettered. An attempt that gets
//! a 2xx is delivered. A `410 Gone` disables the endpoint (the receiver said it is gone for
//! good). Anything else (another 4xx or 5xx, a timeout, a reset, a refused connection) is
//! retried after the schedule's next delay, with ±20 % jitter so that endpoints that failed
//! together do not retry together. After the last delay the message is dead-lettered: the
//! endpoint moves on, and `webhook replay` sends it again.

use std::time::Duration;

/// How long to wait before each retry; the first delay follows the first failed attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetrySchedule {
    delays: Vec<Duration>,
}

impl Default for RetrySchedule {
    /// 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, 2 h, 4 h, 8 h and 8 h: eleven attempts over
    /// about a day (23 h 43 min before jitter).
    fn default() -> Self {
        let secs = [5, 30, 120, 600, 1_800, 3_600, 7_200, 14_400, 28_800, 28_800];
        Self {
            delays: secs.into_iter().map(Duration::from_secs).collect(),
        }
    }
}

impl RetrySchedule {
    /// A schedule from its text, `5s,30s,2m,1h` (units `s`, `m`, `h`), as `serve
    /// --webhook-retries` takes it.
    pub fn parse(text: &str) -> Result<Self, String> {
        let delays = text
            .split(',')
            .map(|part| {
                let part = part.trim();
                let bad = || format!("{part:?} is not a delay such as 500ms, 30s, 10m or 2h");
                let (number, millis_per) = if let Some(number) = part.strip_suffix("ms") {
                    (number, 1)
                } else {
                    let (number, unit) = part.split_at(part.len().saturating_sub(1));
                    let per = match unit {
                        "s" => 1_000,
                        "m" => 60_000,
                        "h" => 3_600_000,
                        _ => return Err(bad()),
                    };
                    (number, per)
                };
                let number: u64 = number.parse().map_err(|_| bad())?;
                Ok(Duration::from_millis(number.saturating_mul(millis_per)))
            })
            .collect::<Result<Vec<_>, String>>()?;
        if delays.iter().any(Duration::is_zero) {
            return Err("a retry delay must be longer than 0".to_owned());
        }
        Ok(Self { delays })
    }

    /// Attempts a message gets in all: the first and one per delay.
    pub fn attempts(&self) -> u32 {
        self.delays.len() as u32 + 1
    }

    /// The whole schedule, without jitter.
    pub fn span(&self) -> Duration {
        self.delays.iter().sum()
    }
}

/// What one attempt got.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// An HTTP answer with this status.
    Status(u16),
    /// No answer: a timeout, a reset, a refused connection or a refused address.
    NoAnswer(String),
}

/// What to do after an attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Next {
    /// Delivered: move on to the endpoint's next message.
    Delivered,
    /// `410 Gone`: disable the endpoint; the message stays undelivered, first in line.
    DisableEndpoint,
    /// Try this message again at this time (ms since the epoch).
    RetryAt(i64),
    /// The schedule is spent: dead-letter the message and move on.
    DeadLetter,
}

/// After attempt number `attempt` (1 for the first) of a message got `outcome` at `now_ms`:
/// what next. `jitter` is a random number in [0, 1) from the caller.
pub fn next(
    schedule: &RetrySchedule,
    attempt: u32,
    outcome: &Outcome,
    now_ms: i64,
    jitter: f64,
) -> Next {
    match outcome {
        Outcome::Status(status) if (200..300).contains(status) => Next::Delivered,
        Outcome::Status(410) => Next::DisableEndpoint,
        _ => match schedule.delays.get(attempt.saturating_sub(1) as usize) {
            Some(delay) => {
                let factor = 0.8 + 0.4 * jitter.clamp(0.0, 1.0);
                let wait_ms = (delay.as_millis() as f64 * factor).round() as i64;
                Next::RetryAt(now_ms + wait_ms.max(1))
            }
            None => Next::DeadLetter,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_delivers_410_disables_and_everything_else_retries() {
        let schedule = RetrySchedule::default();
        for ok in [200, 201, 204, 299] {
            assert_eq!(
                next(&schedule, 1, &Outcome::Status(ok), 0, 0.5),
                Next::Delivered,
                "{ok}"
            );
        }
        assert_eq!(
            next(&schedule, 3, &Outcome::Status(410), 0, 0.5),
            Next::DisableEndpoint
        );
        for failed in [
            Outcome::Status(400),
            Outcome::Status(404),
            Outcome::Status(429),
            Outcome::Status(500),
            Outcome::Status(503),
            Outcome::Status(301),
            Outcome::NoAnswer("timed out after 10 s".into()),
            Outcome::NoAnswer("connection reset".into()),
        ] {
            assert_eq!(
                next(&schedule, 1, &failed, 1_000, 0.5),
                Next::RetryAt(6_000),
                "{failed:?} is retried after the first delay"
            );
        }
    }

    #[test]
    fn the_default_schedule_lasts_about_a_day_and_ends_in_the_dead_letter() {
        let schedule = RetrySchedule::default();
        assert_eq!(schedule.attempts(), 11);
        let hours = schedule.span().as_secs_f64() / 3_600.0;
        assert!((23.0..25.0).contains(&hours), "about a day: {hours} h");
        let failed = Outcome::Status(500);
        let mut now = 0;
        for attempt in 1..schedule.attempts() {
            match next(&schedule, attempt, &failed, now, 0.5) {
                Next::RetryAt(at) => now = at,
                other => panic!("attempt {attempt} should be retried, not {other:?}"),
            }
        }
        assert_eq!(
            next(&schedule, schedule.attempts(), &failed, now, 0.5),
            Next::DeadLetter
        );
        assert_eq!(now as u128, schedule.span().as_millis(), "no jitter at 0.5");
    }

    #[test]
    fn jitter_spreads_a_retry_within_twenty_percent() {
        let schedule = RetrySchedule::parse("10s").expect("schedule");
        let failed = Outcome::Status(502);
        assert_eq!(next(&schedule, 1, &failed, 0, 0.0), Next::RetryAt(8_000));
        assert_eq!(
            next(&schedule, 1, &failed, 0, 0.999_999),
            Next::RetryAt(12_000)
        );
        assert_eq!(next(&schedule, 2, &failed, 0, 0.3), Next::DeadLetter);
    }

    #[test]
    fn a_schedule_is_read_from_its_text_and_nonsense_is_named() {
        let schedule = RetrySchedule::parse("5s, 2m,1h").expect("schedule");
        assert_eq!(schedule.span(), Duration::from_secs(5 + 120 + 3_600));
        for bad in ["", "5", "5x", "s", "0s", "1h,,2h", "-5s"] {
            assert!(RetrySchedule::parse(bad).is_err(), "{bad:?}");
        }
    }
}
