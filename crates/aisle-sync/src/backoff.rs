//! Retry delays: capped exponential backoff with full jitter.
//!
//! After the n-th consecutive failure the next try waits a uniformly random time in
//! `[0, min(cap, base * 2^(n-1))]` ("full jitter", which spreads a fleet of devices that
//! failed together instead of having them retry in lockstep). A `Retry-After` from the
//! server is a floor: the engine never comes back sooner than the server asked.
//!
//! [`delay`] is pure (the random fraction is an argument); [`random_fraction`] draws one
//! from the operating system.

use std::time::Duration;

/// The delay before the next try after `failures` consecutive failures (at least 1).
/// `fraction` is uniform in `[0, 1)`.
pub fn delay(
    failures: u32,
    base: Duration,
    cap: Duration,
    retry_after: Option<Duration>,
    fraction: f64,
) -> Duration {
    let exponent = failures.saturating_sub(1).min(30);
    let ceiling = base.saturating_mul(1u32 << exponent).min(cap);
    let jittered = ceiling.mul_f64(fraction.clamp(0.0, 1.0));
    match retry_after {
        Some(floor) => jittered.max(floor),
        None => jittered,
    }
}

/// A uniform random number in `[0, 1)` from the operating system's source.
pub fn random_fraction() -> f64 {
    // 53 random bits fill an f64's mantissa exactly.
    let bits = getrandom::u64().unwrap_or(0) >> 11;
    bits as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: Duration = Duration::from_millis(100);
    const CAP: Duration = Duration::from_secs(10);

    #[test]
    fn the_ceiling_doubles_and_is_capped() {
        let ceilings: Vec<u128> = (1..=10)
            .map(|failures| delay(failures, BASE, CAP, None, 1.0).as_millis())
            .collect();
        assert_eq!(
            ceilings,
            [100, 200, 400, 800, 1_600, 3_200, 6_400, 10_000, 10_000, 10_000]
        );
        assert_eq!(
            delay(u32::MAX, BASE, CAP, None, 1.0),
            CAP,
            "no overflow at absurd counts"
        );
    }

    #[test]
    fn jitter_spans_zero_to_the_ceiling() {
        assert_eq!(delay(3, BASE, CAP, None, 0.0), Duration::ZERO);
        assert_eq!(delay(3, BASE, CAP, None, 0.5), Duration::from_millis(200));
    }

    #[test]
    fn retry_after_is_a_floor() {
        let asked = Some(Duration::from_secs(3));
        assert_eq!(
            delay(1, BASE, CAP, asked, 0.5),
            Duration::from_secs(3),
            "never sooner than the server asked"
        );
        assert_eq!(
            delay(9, BASE, CAP, asked, 1.0),
            CAP,
            "a longer backoff stays longer"
        );
    }

    #[test]
    fn random_fractions_are_in_range_and_vary() {
        let draws: Vec<f64> = (0..64).map(|_| random_fraction()).collect();
        assert!(draws.iter().all(|f| (0.0..1.0).contains(f)));
        assert!(
            draws.iter().any(|f| *f != draws[0]),
            "64 draws that are all equal are not random"
        );
    }
}
