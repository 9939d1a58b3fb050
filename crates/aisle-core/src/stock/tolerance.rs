//! The count variance tolerance, and the decision a counting device makes with it.

use crate::event::CountDecision;
use serde::{Deserialize, Serialize};

/// A warehouse's tolerance for a count that differs from the system quantity. A count is
/// within tolerance when its variance is within the absolute quantity *or* within the
/// percentage of the system quantity, so small bins are judged by units and big ones by
/// share.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountTolerance {
    pub abs_qty: u64,
    /// In basis points: 100 is 1 %.
    pub pct_bp: u32,
}

impl Default for CountTolerance {
    /// Exact counts only: any variance goes to a manager.
    fn default() -> Self {
        Self {
            abs_qty: 0,
            pct_bp: 0,
        }
    }
}

/// Decides once, on the counting device, whether a count approves itself. The decision is
/// recorded in the `counted` event, so every replica agrees on it even if the warehouse's
/// tolerance changes later.
pub fn decide_count(tolerance: CountTolerance, system_qty: i64, counted_qty: i64) -> CountDecision {
    let variance = u128::from(counted_qty.abs_diff(system_qty));
    let within_abs = variance <= u128::from(tolerance.abs_qty);
    // Integer arithmetic in u128 so no quantity can overflow or round.
    let within_pct =
        variance * 10_000 <= u128::from(tolerance.pct_bp) * u128::from(system_qty.unsigned_abs());
    if within_abs || within_pct {
        CountDecision::SelfApproved
    } else {
        CountDecision::NeedsReview
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::exact(0, 0, 10, 10, CountDecision::SelfApproved)]
    #[case::exact_tolerance_rejects_any_variance(0, 0, 10, 9, CountDecision::NeedsReview)]
    #[case::within_abs(2, 0, 10, 8, CountDecision::SelfApproved)]
    #[case::beyond_abs(2, 0, 10, 7, CountDecision::NeedsReview)]
    #[case::within_pct(0, 500, 200, 190, CountDecision::SelfApproved)]
    #[case::beyond_pct(0, 500, 200, 189, CountDecision::NeedsReview)]
    #[case::either_suffices(1, 500, 10, 11, CountDecision::SelfApproved)]
    #[case::negative_system_qty(0, 0, -3, 0, CountDecision::NeedsReview)]
    #[case::huge_values_do_not_overflow(
        u64::MAX,
        u32::MAX,
        i64::MIN,
        i64::MAX,
        CountDecision::SelfApproved
    )]
    fn decides_by_abs_or_pct(
        #[case] abs_qty: u64,
        #[case] pct_bp: u32,
        #[case] system_qty: i64,
        #[case] counted_qty: i64,
        #[case] expected: CountDecision,
    ) {
        let tolerance = CountTolerance { abs_qty, pct_bp };
        assert_eq!(decide_count(tolerance, system_qty, counted_qty), expected);
    }
}
