//! What needs a person after a sync, in who / what / why form for the managers' screen.
//!
//! Conflicts are not decided here. The stock rules (`aisle_core::stock`) derive them from
//! the set of events, on every device and on the server alike, and the store keeps them as
//! open discrepancies and count tasks; they close by themselves once the events that settle
//! them (a count, a review) have synced. This module only lists them:
//!
//! - negative stock → a count task for the key;
//! - a pick list claimed from two devices → the earliest claim wins; the losing device is
//!   told which device and user won ([`aisle_core::stock::Notice::ClaimLost`], also
//!   published in the sync status);
//! - a count outside tolerance (for instance, taken while stock was moving) → a variance for
//!   a manager's review;
//! - picks above a line's quantity → an over-pick; a short pick or a rejected count → a
//!   count task.

use aisle_core::ids::{DeviceId, TaskId, UserId};
use aisle_core::stock::{CountTask, CountTaskReason, Discrepancy, DiscrepancyKind};
use aisle_store::{Store, StoreError};
use serde::Serialize;

/// One thing that needs a person.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Conflict {
    /// A stable id, the same on every replica.
    pub id: String,
    /// `negative_stock`, `count_variance`, `over_pick`, `pick_list_contested`, or the
    /// count task's reason.
    pub kind: &'static str,
    /// Who is involved, when one device or user is.
    pub device: Option<DeviceId>,
    pub user: Option<UserId>,
    /// What, in a sentence.
    pub what: String,
    /// Why it needs a person, in a sentence.
    pub why: String,
    /// The count task that resolves it, if there is one.
    pub task: Option<TaskId>,
}

/// Every open conflict in the store: discrepancies first, then count tasks.
pub fn open_conflicts(store: &Store) -> Result<Vec<Conflict>, StoreError> {
    let tasks = store.open_tasks()?;
    let mut conflicts: Vec<Conflict> = store
        .open_discrepancies()?
        .iter()
        .map(|discrepancy| from_discrepancy(discrepancy, &tasks))
        .collect();
    conflicts.extend(tasks.iter().map(from_task));
    Ok(conflicts)
}

fn from_discrepancy(discrepancy: &Discrepancy, tasks: &[CountTask]) -> Conflict {
    let mut conflict = Conflict {
        id: discrepancy.id.clone(),
        kind: discrepancy.kind.as_str(),
        device: None,
        user: None,
        what: String::new(),
        why: String::new(),
        task: None,
    };
    match &discrepancy.kind {
        DiscrepancyKind::NegativeStock { key, on_hand } => {
            conflict.what = format!(
                "item {} at location {} shows {on_hand} on hand",
                key.item, key.location
            );
            conflict.why = "stock cannot be below zero: something was picked or moved that the system did not know was there; count the location".into();
            conflict.task = tasks
                .iter()
                .find(|task| &task.key == key && task.reason == CountTaskReason::NegativeStock)
                .map(|task| task.id);
        }
        DiscrepancyKind::CountVariance {
            key,
            user,
            counted_qty,
            system_qty,
            ..
        } => {
            conflict.user = Some(*user);
            conflict.what = format!(
                "item {} at location {} was counted at {counted_qty}, the system expected {system_qty}",
                key.item, key.location
            );
            conflict.why = "the difference is outside the warehouse's tolerance (stock may have moved during the count); a manager must approve or reject the count".into();
        }
        DiscrepancyKind::LotMissing {
            key, event_kind, ..
        } => {
            conflict.what = format!(
                "item {} at location {}: a {event_kind} event names no lot",
                key.item, key.location
            );
            conflict.why = "the item is lot-tracked, so its stock must be held per lot; find which lot it was and move or adjust it there".into();
        }
        DiscrepancyKind::OverPick {
            pick_list,
            line,
            picked,
            line_qty,
        } => {
            conflict.what =
                format!("pick list {pick_list} line {line}: {picked} picked of {line_qty}");
            conflict.why = "more was picked than the line asks for, possibly from two devices; check the order before it ships".into();
        }
        DiscrepancyKind::PickListContested {
            pick_list,
            winner,
            losers,
        } => {
            conflict.device = Some(winner.order.device);
            conflict.user = Some(winner.user);
            let loser_devices: Vec<String> = losers
                .iter()
                .map(|loser| loser.order.device.to_string())
                .collect();
            conflict.what = format!(
                "pick list {pick_list} was claimed by device {} (user {}) and also by {}",
                winner.order.device,
                winner.user,
                loser_devices.join(", ")
            );
            conflict.why =
                "the earliest claim wins; the other devices were told to stop picking this list"
                    .into();
        }
    }
    conflict
}

fn from_task(task: &CountTask) -> Conflict {
    let why = match &task.reason {
        CountTaskReason::NegativeStock => "the key shows negative stock".to_owned(),
        CountTaskReason::ShortPick { reason, .. } => {
            format!("a picker could not pick the full quantity here ({reason:?})")
        }
        CountTaskReason::Recount { .. } => "a manager rejected the last count".to_owned(),
        CountTaskReason::Requested { user, note, .. } if note.is_empty() => {
            format!("a manager (user {user}) asked for a count")
        }
        CountTaskReason::Requested { user, note, .. } => {
            format!("a manager (user {user}) asked for a count: {note}")
        }
    };
    Conflict {
        id: task.id.to_string(),
        kind: task.reason.as_str(),
        device: None,
        // A requested count names the manager who asked; the other tasks have no author.
        user: match &task.reason {
            CountTaskReason::Requested { user, .. } => Some(*user),
            _ => None,
        },
        what: format!(
            "count item {} at location {}",
            task.key.item, task.key.location
        ),
        why,
        task: Some(task.id),
    }
}
