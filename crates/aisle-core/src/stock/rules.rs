//! [`apply`]: the incremental form of the stock rules, over any [`Ledger`].
//!
//! Movements are the hot path (every scan) and touch only their keys' state. Counts,
//! reviews, short picks and claims are rare, so they recompute what they affect from the
//! ledger rather than patching it, which keeps them obviously equal to the definition.
//!
//! Where a rule opens a discrepancy or a count task, or names a claim's winner, it also
//! notes the decision in the `Journal`, at the one place that knows the state changed.

use super::bounded_qty;
use super::{
    Baseline, Claim, CountRecord, CountStatus, CountTask, CountTaskReason, Discrepancy,
    DiscrepancyKind, EventOrder, KeyState, Ledger, Notice, PickLineState, ReviewRecord, StockKey,
};
use crate::event::{
    ClaimRef, CountDecision, Event, EventBody, PickLineRef, Resolution, ReviewDecision,
};
use crate::ids::{EventId, PickListId, TaskId, WarehouseId};

/// What applying one event did besides updating the projection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// What the device should tell its user.
    pub notices: Vec<Notice>,
    /// The decisions the rules took because of this event, in the order they took them.
    /// A claim conflict is repeated each time another claim of the list arrives; its
    /// [`Resolution::event_id`] is the same each time.
    pub resolutions: Vec<Resolution>,
}

/// The decisions taken while applying one event (the cause).
struct Journal {
    cause: EventId,
    resolutions: Vec<Resolution>,
}

/// Applies one event to the ledger. Each event must be applied once: the caller
/// deduplicates by event id. Returns what the device should tell its user.
pub fn apply<L: Ledger>(ledger: &mut L, event: &Event) -> Result<Vec<Notice>, L::Error> {
    Ok(apply_with_resolutions(ledger, event)?.notices)
}

/// [`apply`], also returning the decisions the rules took because of the event, for the
/// one replica that records them (the server).
pub fn apply_with_resolutions<L: Ledger>(
    ledger: &mut L,
    event: &Event,
) -> Result<Applied, L::Error> {
    let mut journal = Journal {
        cause: event.id,
        resolutions: Vec::new(),
    };
    let notices = apply_event(ledger, event, &mut journal)?;
    Ok(Applied {
        notices,
        resolutions: journal.resolutions,
    })
}

fn apply_event<L: Ledger>(
    ledger: &mut L,
    event: &Event,
    journal: &mut Journal,
) -> Result<Vec<Notice>, L::Error> {
    let order = event.order();
    match &event.body {
        EventBody::Received { .. }
        | EventBody::Moved { .. }
        | EventBody::Adjusted { .. }
        | EventBody::PutBack { .. } => {
            apply_deltas(ledger, event, &order, journal)?;
        }
        EventBody::Picked {
            pick_line,
            qty,
            location,
            item,
            lot,
        } => {
            apply_deltas(ledger, event, &order, journal)?;
            if let Some(line) = pick_line {
                let key = event.key(*location, *item, lot);
                track_pick_line(ledger, &key, line, *qty, &order, journal)?;
            }
        }
        EventBody::Counted {
            counted_qty,
            system_qty,
            decision,
            ..
        } => {
            let key = event.subject_key().expect("a count has a key");
            let reviews = ledger.reviews(event.id)?;
            let record = CountRecord {
                key,
                order,
                user: event.user,
                counted_qty: *counted_qty,
                system_qty: *system_qty,
                decision: *decision,
                status: count_status(*decision, &reviews),
            };
            ledger.put_count(&record)?;
            after_count_change(ledger, &record, journal)?;
        }
        EventBody::CountReviewed { counted, decision } => {
            ledger.add_review(&ReviewRecord {
                counted: *counted,
                order,
                user: event.user,
                decision: *decision,
            })?;
            if let Some(mut record) = ledger.count(*counted)? {
                let status = count_status(record.decision, &ledger.reviews(*counted)?);
                if status != record.status {
                    record.status = status;
                    ledger.put_count(&record)?;
                    after_count_change(ledger, &record, journal)?;
                }
            }
        }
        EventBody::ShortPicked { reason, .. } => {
            let key = event.subject_key().expect("a short pick has a key");
            let reason = CountTaskReason::ShortPick {
                short_pick: order,
                reason: *reason,
            };
            let task = CountTask {
                id: TaskId::derived("short_pick", event.id.as_bytes()),
                key,
                reason,
                open: true,
            };
            put_count_task(ledger, task, journal)?;
        }
        EventBody::CountRequested { note, .. } => {
            let key = event.subject_key().expect("a count request has a key");
            let task = CountTask {
                id: TaskId::derived("requested", event.id.as_bytes()),
                key,
                reason: CountTaskReason::Requested {
                    requested: order,
                    user: event.user,
                    note: note.clone(),
                },
                open: true,
            };
            put_count_task(ledger, task, journal)?;
        }
        EventBody::PickListClaimed { pick_list } => {
            ledger.add_claim(&Claim {
                order,
                pick_list: *pick_list,
                user: event.user,
            })?;
            return judge_claims(ledger, event.warehouse, *pick_list, journal);
        }
        // A resolution records a decision taken from the other events; it changes nothing
        // the rules derive, so the projection stays a function of the floor's events.
        EventBody::Resolved { .. } => {}
        // A lockout is a security record for managers; stock rules have nothing to derive.
        EventBody::BadgeLocked { .. } => {}
        // What a cancellation asks of the floor is put-back work, derived from the list's
        // picks by `put_back`; it moves no stock and the rules track nothing of it.
        EventBody::PickListCancelled { .. } => {}
    }
    Ok(Vec::new())
}

/// A count's status: its own decision, unless it needed review, in which case the
/// latest review in event order decides. A manager who rejected by mistake can approve
/// later, and an offline manager's older approval, synced late, orders before the rejection
/// everyone already saw and so cannot override it. Every replica orders reviews alike.
fn count_status(decision: CountDecision, reviews: &[ReviewRecord]) -> CountStatus {
    match decision {
        CountDecision::SelfApproved => CountStatus::Approved,
        CountDecision::NeedsReview => match reviews.iter().max_by_key(|review| review.order) {
            None => CountStatus::PendingReview,
            Some(review) if review.decision == ReviewDecision::Approved => CountStatus::Approved,
            Some(_) => CountStatus::Rejected,
        },
    }
}

fn apply_deltas<L: Ledger>(
    ledger: &mut L,
    event: &Event,
    order: &EventOrder,
    journal: &mut Journal,
) -> Result<(), L::Error> {
    for (key, delta) in event.deltas() {
        ledger.add_delta(&key, order, delta)?;
        let old = ledger.key_state(&key)?;
        let mut new = old.unwrap_or_default();
        // A movement ordered before the baseline count was already in what was counted.
        if new.baseline.is_none_or(|baseline| *order > baseline.order) {
            new.on_hand = new.on_hand.saturating_add(delta);
        }
        set_key_state(ledger, &key, old, new, journal)?;
    }
    Ok(())
}

/// Stores the key's new state and keeps the negative-stock discrepancy and task in step.
fn set_key_state<L: Ledger>(
    ledger: &mut L,
    key: &StockKey,
    old: Option<KeyState>,
    new: KeyState,
    journal: &mut Journal,
) -> Result<(), L::Error> {
    if old == Some(new) {
        return Ok(());
    }
    ledger.put_key_state(key, &new)?;
    let was_negative = old.is_some_and(|state| state.on_hand < 0);
    let is_negative = new.on_hand < 0;
    if is_negative {
        ledger.open_discrepancy(&Discrepancy {
            id: format!("negative_stock/{}", key_name(key)),
            warehouse: key.warehouse,
            kind: DiscrepancyKind::NegativeStock {
                key: key.clone(),
                on_hand: new.on_hand,
            },
        })?;
    } else if was_negative {
        ledger.resolve_discrepancy(&format!("negative_stock/{}", key_name(key)))?;
    }
    if is_negative != was_negative {
        let task = TaskId::derived("negative_stock", &key.id_bytes());
        ledger.put_task(&CountTask {
            id: task,
            key: key.clone(),
            reason: CountTaskReason::NegativeStock,
            open: is_negative,
        })?;
        if is_negative {
            journal.resolutions.push(Resolution::NegativeStock {
                location: key.location,
                item: key.item,
                lot: key.lot.clone(),
                on_hand: new.on_hand,
                task,
                cause: journal.cause,
            });
        }
    }
    Ok(())
}

/// `warehouse/location/item/lot`, for discrepancy ids.
fn key_name(key: &StockKey) -> String {
    format!(
        "{}/{}/{}/{}",
        key.warehouse,
        key.location,
        key.item,
        key.lot.as_ref().map_or("", |lot| lot.as_str())
    )
}

/// Recomputes the key from its latest approved count: `B.qty + Σ deltas after B`.
fn recompute_key<L: Ledger>(
    ledger: &mut L,
    key: &StockKey,
    journal: &mut Journal,
) -> Result<(), L::Error> {
    let old = ledger.key_state(key)?;
    let baseline = ledger.latest_count(key, true)?.map(|count| Baseline {
        order: count.order,
        qty: bounded_qty(count.counted_qty),
    });
    let after = ledger.sum_deltas_after(key, baseline.as_ref().map(|baseline| &baseline.order))?;
    let on_hand = baseline
        .map_or(0, |baseline| baseline.qty)
        .saturating_add(after);
    set_key_state(ledger, key, old, KeyState { baseline, on_hand }, journal)
}

fn after_count_change<L: Ledger>(
    ledger: &mut L,
    count: &CountRecord,
    journal: &mut Journal,
) -> Result<(), L::Error> {
    recompute_key(ledger, &count.key, journal)?;
    let variance_id = format!("count_variance/{}", count.order.id);
    if count.status == CountStatus::PendingReview {
        ledger.open_discrepancy(&Discrepancy {
            id: variance_id,
            warehouse: count.key.warehouse,
            kind: DiscrepancyKind::CountVariance {
                key: count.key.clone(),
                counted: count.order.id,
                user: count.user,
                counted_qty: count.counted_qty,
                system_qty: count.system_qty,
            },
        })?;
        // A count is pending review only from its own arrival until its first review
        // arrives (a review approves or rejects, never un-decides), so this runs once per
        // count.
        journal.resolutions.push(Resolution::CountVariance {
            location: count.key.location,
            item: count.key.item,
            lot: count.key.lot.clone(),
            counted: count.order.id,
            counted_qty: count.counted_qty,
            system_qty: count.system_qty,
        });
    } else {
        ledger.resolve_discrepancy(&variance_id)?;
    }
    if count.status == CountStatus::Rejected {
        // The count just became rejected (first, or again after a later approval was
        // overridden by a still later rejection), so its recount task was closed or absent.
        let task = CountTask {
            id: recount_task_id(count.order.id),
            key: count.key.clone(),
            reason: CountTaskReason::Recount {
                counted: count.order,
            },
            open: true,
        };
        put_count_task(ledger, task, journal)?;
    }
    reevaluate_count_tasks(ledger, &count.key, journal)
}

fn recount_task_id(counted: EventId) -> TaskId {
    TaskId::derived("recount", counted.as_bytes())
}

/// Stores a short-pick, recount or requested task that was not open before, open unless a
/// later count already covers it.
fn put_count_task<L: Ledger>(
    ledger: &mut L,
    mut task: CountTask,
    journal: &mut Journal,
) -> Result<(), L::Error> {
    let latest = ledger
        .latest_count(&task.key, false)?
        .map(|count| count.order);
    task.open = is_task_open(ledger, &task.reason, latest)?;
    ledger.put_task(&task)?;
    if task.open {
        journal
            .resolutions
            .extend(task_raised(&task, journal.cause));
    }
    Ok(())
}

/// The decision to open a short-pick or recount task. A task a manager requested is no
/// automatic decision: the `count_requested` event already records who asked and when, and
/// whether it is open again after a covering count was rejected follows from that rejection,
/// which is recorded itself (as the recount it raises). So it has none.
fn task_raised(task: &CountTask, cause: EventId) -> Option<Resolution> {
    let (location, item, lot) = (task.key.location, task.key.item, task.key.lot.clone());
    Some(match &task.reason {
        CountTaskReason::ShortPick { short_pick, reason } => Resolution::ShortPick {
            location,
            item,
            lot,
            task: task.id,
            short_pick: short_pick.id,
            reason: *reason,
            cause,
        },
        CountTaskReason::Recount { counted } => Resolution::Recount {
            location,
            item,
            lot,
            task: task.id,
            counted: counted.id,
            cause,
        },
        CountTaskReason::Requested { .. } => return None,
        CountTaskReason::NegativeStock => {
            unreachable!("negative-stock tasks are raised by set_key_state")
        }
    })
}

/// A short-pick, recount or requested task is open until a count of its key that was not
/// rejected is ordered after its cause; a recount task also needs its count still rejected.
fn is_task_open<L: Ledger>(
    ledger: &mut L,
    reason: &CountTaskReason,
    latest_live_count: Option<EventOrder>,
) -> Result<bool, L::Error> {
    let covered_after =
        |cause: &EventOrder| latest_live_count.is_some_and(|latest| latest > *cause);
    Ok(match reason {
        CountTaskReason::NegativeStock => {
            unreachable!("negative-stock tasks follow on_hand, not counts")
        }
        CountTaskReason::ShortPick { short_pick, .. } => !covered_after(short_pick),
        CountTaskReason::Requested { requested, .. } => !covered_after(requested),
        CountTaskReason::Recount { counted } => {
            let still_rejected = ledger
                .count(counted.id)?
                .is_some_and(|count| count.status == CountStatus::Rejected);
            still_rejected && !covered_after(counted)
        }
    })
}

fn reevaluate_count_tasks<L: Ledger>(
    ledger: &mut L,
    key: &StockKey,
    journal: &mut Journal,
) -> Result<(), L::Error> {
    let latest = ledger.latest_count(key, false)?.map(|count| count.order);
    for mut task in ledger.count_tasks(key)? {
        if task.reason == CountTaskReason::NegativeStock {
            continue;
        }
        let open = is_task_open(ledger, &task.reason, latest)?;
        if open != task.open {
            task.open = open;
            ledger.put_task(&task)?;
            if open {
                // Reopened: the count that covered it was rejected.
                journal
                    .resolutions
                    .extend(task_raised(&task, journal.cause));
            }
        }
    }
    Ok(())
}

/// `key` is the picked key, which the over-pick decision names.
fn track_pick_line<L: Ledger>(
    ledger: &mut L,
    key: &StockKey,
    line: &PickLineRef,
    qty: i64,
    order: &EventOrder,
    journal: &mut Journal,
) -> Result<(), L::Error> {
    let old = ledger.pick_line(line.pick_list, line.line)?;
    let mut new = old.unwrap_or(PickLineState {
        picked_total: 0,
        line_qty: bounded_qty(line.line_qty),
        line_qty_order: *order,
    });
    new.picked_total = new.picked_total.saturating_add(bounded_qty(qty));
    if *order > new.line_qty_order {
        new.line_qty = bounded_qty(line.line_qty);
        new.line_qty_order = *order;
    }
    ledger.put_pick_line(line.pick_list, line.line, &new)?;
    let id = format!("over_pick/{}/{}", line.pick_list, line.line);
    let was_over = old.is_some_and(|state| state.picked_total > state.line_qty);
    if new.picked_total > new.line_qty {
        ledger.open_discrepancy(&Discrepancy {
            id,
            warehouse: key.warehouse,
            kind: DiscrepancyKind::OverPick {
                pick_list: line.pick_list,
                line: line.line,
                picked: new.picked_total,
                line_qty: new.line_qty,
            },
        })?;
        if !was_over {
            journal.resolutions.push(Resolution::OverPick {
                pick_list: line.pick_list,
                line: line.line,
                picked: new.picked_total,
                line_qty: new.line_qty,
                location: key.location,
                item: key.item,
                lot: key.lot.clone(),
                cause: journal.cause,
            });
        }
    } else if was_over {
        ledger.resolve_discrepancy(&id)?;
    }
    Ok(())
}

/// The earliest claim wins. Claims from other devices lose and are told which claim won;
/// a device claiming its own list twice is not a conflict.
fn judge_claims<L: Ledger>(
    ledger: &mut L,
    warehouse: WarehouseId,
    pick_list: PickListId,
    journal: &mut Journal,
) -> Result<Vec<Notice>, L::Error> {
    let mut claims = ledger.claims(pick_list)?;
    claims.sort();
    let Some(winner) = claims.first().cloned() else {
        return Ok(Vec::new());
    };
    let losers: Vec<Claim> = claims
        .into_iter()
        .filter(|claim| claim.order.device != winner.order.device)
        .collect();
    if losers.is_empty() {
        return Ok(Vec::new());
    }
    let notices = losers
        .iter()
        .map(|loser| Notice::ClaimLost {
            pick_list,
            loser: loser.order.device,
            winner: winner.clone(),
        })
        .collect();
    // One decision per losing device, naming its earliest claim (claims are sorted).
    let claim_ref = |claim: &Claim| ClaimRef {
        event: claim.order.id,
        device: claim.order.device,
        user: claim.user,
    };
    let mut devices_told = Vec::new();
    for loser in &losers {
        if !devices_told.contains(&loser.order.device) {
            devices_told.push(loser.order.device);
            journal.resolutions.push(Resolution::ClaimConflict {
                pick_list,
                winner: claim_ref(&winner),
                loser: claim_ref(loser),
            });
        }
    }
    ledger.open_discrepancy(&Discrepancy {
        id: format!("pick_list_contested/{pick_list}"),
        warehouse,
        kind: DiscrepancyKind::PickListContested {
            pick_list,
            winner,
            losers,
        },
    })?;
    Ok(notices)
}
