//! The stock rules restated as one plain function of a set of events.
//!
//! [`evaluate`] follows the definitions in the module docs of [`crate::stock`] literally,
//! with no incremental state. It is slow and obviously right; the incremental [`super::apply`]
//! is property-tested against it, and stores can compare their projections with it.
//! `resolved` events are in the set like any other and, as the rules say, change nothing.

use super::memory::Snapshot;
use super::{
    bounded_qty, saturating_sum, Claim, CountStatus, CountTask, CountTaskReason, Discrepancy,
    DiscrepancyKind, EventOrder, StockKey,
};
use crate::event::{CountDecision, Event, EventBody, ReviewDecision};
use crate::ids::{EventId, PickListId, TaskId, WarehouseId};
use std::collections::{BTreeMap, BTreeSet};

struct Count<'a> {
    event: &'a Event,
    key: StockKey,
    status: CountStatus,
}

/// Evaluates the rules over a set of events (duplicates by id are ignored).
pub fn evaluate<'a>(events: impl IntoIterator<Item = &'a Event>) -> Snapshot {
    let mut unique: BTreeMap<EventOrder, &Event> = BTreeMap::new();
    let mut ids = BTreeSet::new();
    for event in events {
        if ids.insert(event.id) {
            unique.insert(event.order(), event);
        }
    }
    let events: Vec<&Event> = unique.into_values().collect();

    // The latest review of each count, in event order, decides it (events are in order,
    // so the last one written stands).
    let mut deciding_review: BTreeMap<EventId, ReviewDecision> = BTreeMap::new();
    for event in &events {
        if let EventBody::CountReviewed { counted, decision } = &event.body {
            deciding_review.insert(*counted, *decision);
        }
    }
    let counts: Vec<Count> = events
        .iter()
        .filter_map(|event| match &event.body {
            EventBody::Counted { decision, .. } => {
                let status = match (decision, deciding_review.get(&event.id)) {
                    (CountDecision::SelfApproved, _) => CountStatus::Approved,
                    (CountDecision::NeedsReview, None) => CountStatus::PendingReview,
                    (CountDecision::NeedsReview, Some(ReviewDecision::Approved)) => {
                        CountStatus::Approved
                    }
                    (CountDecision::NeedsReview, Some(ReviewDecision::Rejected)) => {
                        CountStatus::Rejected
                    }
                };
                Some(Count {
                    event,
                    key: event.subject_key().expect("count has a key"),
                    status,
                })
            }
            _ => None,
        })
        .collect();

    let mut snapshot = Snapshot::default();
    let mut keys: BTreeSet<StockKey> = counts.iter().map(|count| count.key.clone()).collect();
    for event in &events {
        keys.extend(event.deltas().into_iter().map(|(key, _)| key));
    }
    for key in keys {
        let baseline = counts
            .iter()
            .filter(|count| count.key == key && count.status == CountStatus::Approved)
            .max_by_key(|count| count.event.order());
        let (base_qty, base_order) = match baseline {
            Some(count) => match count.event.body {
                EventBody::Counted { counted_qty, .. } => {
                    (bounded_qty(counted_qty), Some(count.event.order()))
                }
                _ => unreachable!(),
            },
            None => (0, None),
        };
        let moved = saturating_sum(
            events
                .iter()
                .filter(|event| base_order.is_none_or(|base| event.order() > base))
                .flat_map(|event| event.deltas())
                .filter(|(delta_key, _)| *delta_key == key)
                .map(|(_, delta)| delta),
        );
        let on_hand = base_qty.saturating_add(moved);
        if on_hand < 0 {
            let id = format!(
                "negative_stock/{}/{}/{}/{}",
                key.warehouse,
                key.location,
                key.item,
                key.lot.as_ref().map_or("", |lot| lot.as_str())
            );
            let kind = DiscrepancyKind::NegativeStock {
                key: key.clone(),
                on_hand,
            };
            snapshot.discrepancies.insert(
                id.clone(),
                Discrepancy {
                    id,
                    warehouse: key.warehouse,
                    kind,
                },
            );
            let task = CountTask {
                id: TaskId::derived("negative_stock", &key.id_bytes()),
                key: key.clone(),
                reason: CountTaskReason::NegativeStock,
                open: true,
            };
            snapshot.tasks.insert(task.id, task);
        }
        snapshot.on_hand.insert(key, on_hand);
    }

    let latest_live_count = |key: &StockKey| {
        counts
            .iter()
            .filter(|count| &count.key == key && count.status != CountStatus::Rejected)
            .map(|count| count.event.order())
            .max()
    };
    for count in &counts {
        let EventBody::Counted {
            counted_qty,
            system_qty,
            ..
        } = count.event.body
        else {
            unreachable!()
        };
        match count.status {
            CountStatus::PendingReview => {
                let id = format!("count_variance/{}", count.event.id);
                let kind = DiscrepancyKind::CountVariance {
                    key: count.key.clone(),
                    counted: count.event.id,
                    user: count.event.user,
                    counted_qty,
                    system_qty,
                };
                snapshot.discrepancies.insert(
                    id.clone(),
                    Discrepancy {
                        id,
                        warehouse: count.key.warehouse,
                        kind,
                    },
                );
            }
            CountStatus::Rejected
                if latest_live_count(&count.key)
                    .is_none_or(|latest| latest <= count.event.order()) =>
            {
                let task = CountTask {
                    id: TaskId::derived("recount", count.event.id.as_bytes()),
                    key: count.key.clone(),
                    reason: CountTaskReason::Recount {
                        counted: count.event.order(),
                    },
                    open: true,
                };
                snapshot.tasks.insert(task.id, task);
            }
            CountStatus::Rejected | CountStatus::Approved => {}
        }
    }

    let mut picked: BTreeMap<(PickListId, u32), (WarehouseId, i64, i64)> = BTreeMap::new();
    let mut claims: BTreeMap<PickListId, (WarehouseId, Vec<Claim>)> = BTreeMap::new();
    for event in &events {
        match &event.body {
            EventBody::ShortPicked { reason, .. } => {
                let key = event.subject_key().expect("short pick has a key");
                if latest_live_count(&key).is_none_or(|latest| latest <= event.order()) {
                    let task = CountTask {
                        id: TaskId::derived("short_pick", event.id.as_bytes()),
                        key,
                        reason: CountTaskReason::ShortPick {
                            short_pick: event.order(),
                            reason: *reason,
                        },
                        open: true,
                    };
                    snapshot.tasks.insert(task.id, task);
                }
            }
            EventBody::CountRequested { note, .. } => {
                let key = event.subject_key().expect("a count request has a key");
                if latest_live_count(&key).is_none_or(|latest| latest <= event.order()) {
                    let task = CountTask {
                        id: TaskId::derived("requested", event.id.as_bytes()),
                        key,
                        reason: CountTaskReason::Requested {
                            requested: event.order(),
                            user: event.user,
                            note: note.clone(),
                        },
                        open: true,
                    };
                    snapshot.tasks.insert(task.id, task);
                }
            }
            EventBody::Picked {
                pick_line: Some(line),
                qty,
                ..
            } => {
                // Events are in order, so the last write of the line quantity is the last pick's.
                let entry =
                    picked
                        .entry((line.pick_list, line.line))
                        .or_insert((event.warehouse, 0, 0));
                entry.1 = saturating_sum([entry.1, bounded_qty(*qty)]);
                entry.2 = bounded_qty(line.line_qty);
            }
            EventBody::PickListClaimed { pick_list } => {
                let claim = Claim {
                    order: event.order(),
                    pick_list: *pick_list,
                    user: event.user,
                };
                claims
                    .entry(*pick_list)
                    .or_insert((event.warehouse, Vec::new()))
                    .1
                    .push(claim);
            }
            _ => {}
        }
    }
    for ((pick_list, line), (warehouse, total, line_qty)) in picked {
        if total > line_qty {
            let id = format!("over_pick/{pick_list}/{line}");
            let kind = DiscrepancyKind::OverPick {
                pick_list,
                line,
                picked: total,
                line_qty,
            };
            snapshot.discrepancies.insert(
                id.clone(),
                Discrepancy {
                    id,
                    warehouse,
                    kind,
                },
            );
        }
    }
    for (pick_list, (warehouse, claims)) in claims {
        let winner = claims[0].clone();
        let losers: Vec<Claim> = claims
            .into_iter()
            .filter(|claim| claim.order.device != winner.order.device)
            .collect();
        if !losers.is_empty() {
            let id = format!("pick_list_contested/{pick_list}");
            let kind = DiscrepancyKind::PickListContested {
                pick_list,
                winner,
                losers,
            };
            snapshot.discrepancies.insert(
                id.clone(),
                Discrepancy {
                    id,
                    warehouse,
                    kind,
                },
            );
        }
    }
    snapshot
}
