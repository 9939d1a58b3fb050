//! Put-back work: what was picked for a pick list the ERP cancelled and is not back on a
//! shelf yet.
//!
//! A cancellation is the ERP's change of the list's master record (status `cancelled`); the
//! stock rules know nothing of it. What a person must do about it is derived here from the
//! list's events alone:
//!
//! ```text
//! due(line, lot) = max(0, Σ picked(line, lot) − Σ put_back(line, lot))
//! ```
//!
//! over every `picked` event of the list and every `put_back` event naming it, in any order.
//! It is a function of the set of events, so every replica agrees on it once they have seen
//! the same events, and a pick made offline before the device heard of the cancellation is
//! absorbed into the put-back when it syncs, whenever that is. The put-back itself is a
//! movement like any other ([`crate::event::EventBody::PutBack`]: stock comes back at its
//! location), so the stock it returns is counted by the ordinary rules.

use crate::event::{Event, EventBody, Lot};
use crate::ids::PickListId;
use crate::stock::saturating_sum;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A pick line and a lot picked on it.
type LineLot = (u32, Option<Lot>);

/// Units of one line (and lot) of a cancelled pick list still to be put back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PutBackDue {
    pub line: u32,
    pub lot: Option<Lot>,
    /// Units picked for the line and lot, by every device.
    pub picked: i64,
    /// Units put back so far.
    pub put_back: i64,
    /// `picked - put_back`, never below zero.
    pub due: i64,
}

/// Picked and put back per (line, lot) of `pick_list`, from `events` (any events: those not
/// about the list are skipped). Every (line, lot) that was picked or put back is listed, in
/// line and lot order, with what is still due; [`outstanding`] keeps those with work left.
pub fn tally<'a>(
    pick_list: PickListId,
    events: impl IntoIterator<Item = &'a Event>,
) -> Vec<PutBackDue> {
    let mut sums: BTreeMap<LineLot, (Vec<i64>, Vec<i64>)> = BTreeMap::new();
    for event in events {
        match &event.body {
            EventBody::Picked {
                pick_line: Some(line),
                lot,
                qty,
                ..
            } if line.pick_list == pick_list => {
                let entry = sums.entry((line.line, lot.clone())).or_default();
                entry.0.push(super::bounded_qty(*qty));
            }
            EventBody::PutBack {
                pick_list: list,
                line,
                lot,
                qty,
                ..
            } if *list == pick_list => {
                let entry = sums.entry((*line, lot.clone())).or_default();
                entry.1.push(super::bounded_qty(*qty));
            }
            _ => {}
        }
    }
    sums.into_iter()
        .map(|((line, lot), (picked, put_back))| {
            let picked = saturating_sum(picked);
            let put_back = saturating_sum(put_back);
            PutBackDue {
                line,
                lot,
                picked,
                put_back,
                due: picked.saturating_sub(put_back).max(0),
            }
        })
        .collect()
}

/// The (line, lot)s of [`tally`] with units still to put back.
pub fn outstanding<'a>(
    pick_list: PickListId,
    events: impl IntoIterator<Item = &'a Event>,
) -> Vec<PutBackDue> {
    tally(pick_list, events)
        .into_iter()
        .filter(|due| due.due > 0)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::PickLineRef;
    use crate::testkit;

    fn put_back(list: PickListId, line: u32, lot: Option<&str>, qty: i64) -> EventBody {
        EventBody::PutBack {
            pick_list: list,
            line,
            location: crate::ids::LocationId::new_v7(1, [9; 10]),
            item: crate::ids::ItemId::new_v7(1, [8; 10]),
            lot: lot.map(Lot::new),
            qty,
        }
    }

    fn picked(list: PickListId, line: u32, lot: Option<&str>, qty: i64) -> EventBody {
        let key = testkit::key(1, 1, lot);
        let mut body = testkit::picked(&key, qty);
        if let EventBody::Picked { pick_line, .. } = &mut body {
            *pick_line = Some(PickLineRef {
                pick_list: list,
                line,
                line_qty: 10,
            });
        }
        body
    }

    #[test]
    fn what_was_picked_is_due_until_it_is_put_back_per_line_and_lot() {
        let list = testkit::pick_list(1);
        let other = testkit::pick_list(2);
        let mut events = testkit::Events::default();
        let made = [
            events.make(1, 1_000, 0, picked(list, 1, Some("A"), 4)),
            events.make(1, 1_001, 0, picked(list, 1, Some("B"), 2)),
            events.make(2, 1_002, 0, picked(list, 2, None, 3)),
            events.make(2, 1_003, 0, picked(other, 1, None, 7)),
            events.make(1, 1_004, 0, put_back(list, 1, Some("A"), 3)),
            events.make(1, 1_005, 0, put_back(list, 2, None, 5)),
        ];
        let due = outstanding(list, made.iter());
        assert_eq!(
            due.iter()
                .map(|d| (d.line, d.lot.as_ref().map(|l| l.as_str().to_owned()), d.due))
                .collect::<Vec<_>>(),
            vec![(1, Some("A".to_owned()), 1), (1, Some("B".to_owned()), 2)],
            "line 2 was put back in full (more than picked counts as all of it)"
        );
        // The same set in any order gives the same work.
        let mut reversed: Vec<&Event> = made.iter().collect();
        reversed.reverse();
        assert_eq!(outstanding(list, reversed), due);
        assert!(outstanding(other, made[4..].iter()).is_empty());
        assert_eq!(tally(other, made.iter())[0].due, 7);
    }
}
