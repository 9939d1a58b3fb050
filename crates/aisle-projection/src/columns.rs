//! How the projection's columns hold core values, whatever the dialect: a lot as text ('' for
//! none), count and review decisions and count statuses as their words. Each backend reads
//! and writes ids in its own type (a 16-byte blob on SQLite, `uuid` on PostgreSQL); the
//! values here are the same in both, which is what keeps their rows, and so their
//! checksums, alike.

use aisle_core::event::{CountDecision, Lot, ReviewDecision};
use aisle_core::stock::CountStatus;

use crate::ProjectionError;

/// A lot as its column holds it: the lot's text, or '' for a key without one.
pub fn lot_to_sql(lot: &Option<Lot>) -> &str {
    lot.as_ref().map_or("", |lot| lot.as_str())
}

/// A lot column's value as a lot ('' is none).
pub fn lot_from_sql(lot: String) -> Option<Lot> {
    if lot.is_empty() {
        None
    } else {
        Some(Lot::new(lot))
    }
}

/// A count decision's word in `counts.decision`.
pub fn count_decision_to_sql(decision: CountDecision) -> &'static str {
    match decision {
        CountDecision::SelfApproved => "self_approved",
        CountDecision::NeedsReview => "needs_review",
    }
}

/// `counts.decision`'s word as a decision.
pub fn count_decision_from_sql(word: &str) -> Option<CountDecision> {
    match word {
        "self_approved" => Some(CountDecision::SelfApproved),
        "needs_review" => Some(CountDecision::NeedsReview),
        _ => None,
    }
}

/// A review decision's word in `count_reviews.decision`.
pub fn review_decision_to_sql(decision: ReviewDecision) -> &'static str {
    match decision {
        ReviewDecision::Approved => "approved",
        ReviewDecision::Rejected => "rejected",
    }
}

/// `count_reviews.decision`'s word as a decision.
pub fn review_decision_from_sql(word: &str) -> Option<ReviewDecision> {
    match word {
        "approved" => Some(ReviewDecision::Approved),
        "rejected" => Some(ReviewDecision::Rejected),
        _ => None,
    }
}

/// `counts.status`'s word as a status.
pub fn count_status_from_sql(word: &str) -> Option<CountStatus> {
    CountStatus::parse(word)
}

/// The error for a stored word that no value has.
pub fn corrupt(what: &str, value: &str) -> ProjectionError {
    ProjectionError::Corrupt(format!("bad {what}: {value:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_reads_back_as_its_value() {
        for decision in [CountDecision::SelfApproved, CountDecision::NeedsReview] {
            assert_eq!(
                count_decision_from_sql(count_decision_to_sql(decision)),
                Some(decision)
            );
        }
        for decision in [ReviewDecision::Approved, ReviewDecision::Rejected] {
            assert_eq!(
                review_decision_from_sql(review_decision_to_sql(decision)),
                Some(decision)
            );
        }
        assert_eq!(
            count_decision_from_sql("maybe"),
            None,
            "unknown words are refused"
        );
        assert_eq!(lot_from_sql(lot_to_sql(&None).to_owned()), None);
        let lot = Some(Lot::new("L-1"));
        assert_eq!(lot_from_sql(lot_to_sql(&lot).to_owned()), lot);
    }
}
