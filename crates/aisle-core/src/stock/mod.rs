//! The stock rules: how a set of events becomes on-hand quantities, discrepancies and tasks.
//!
//! A stock key is (warehouse, location, item, lot). For each key,
//!
//! ```text
//! on_hand(key) = B.qty + Σ delta(e, key)   over movement events e ordered after B
//! ```
//!
//! where B is the approved `counted` event for the key that is last in the event order
//! (hlc, device, event id), or zero at the beginning of time. Counts are absolute
//! observations and movements are deltas, so a pick made before a count but synced after
//! it is absorbed by the count, and a pick made after it applies on top, whatever order
//! the events arrive in.
//!
//! Everything this module derives is a function of the *set* of events seen, never of their
//! arrival order, so every device and the server converge once they have seen the same
//! events. In particular a discrepancy or task is open exactly while its condition holds:
//!
//! - negative stock: `on_hand < 0` opens a discrepancy and a count task for the key;
//! - a count outside tolerance and not yet reviewed is an open variance;
//! - a rejected count asks for a recount; a short pick asks for a count; so does a manager's
//!   `count_requested`; these tasks close once a count of the key that was not rejected is
//!   ordered after their cause;
//! - picks above a pick line's quantity are an over-pick;
//! - a pick list claimed from two devices is contested: the earliest claim wins and the
//!   other devices get a [`Notice::ClaimLost`].
//!
//! Quantities are bounded per event ([`crate::event::MAX_EVENT_QTY`]), and [`crate::event::Event::validate`]
//! refuses an event beyond the bound. The rules themselves are total all the same: they read
//! every quantity through [`bounded_qty`] and add with saturation, so no input, valid or
//! not and in any order, can panic or wrap. With bounded terms a sum reaches the ends of
//! `i64` only after some nine billion events on one key, so saturation never makes two
//! replicas disagree in practice.
//!
//! The **latest** `count_reviewed` of a count that needed review, in event order, decides
//! it: a manager who rejected by mistake can approve later, and an offline manager's older
//! approval cannot override a rejection that everyone already saw. A count that approved
//! itself within tolerance stays approved; a review of it changes nothing.
//!
//! [`apply`] updates all of this incrementally through the [`Ledger`] trait, which the
//! device store and the server implement over SQLite; [`memory::MemoryLedger`] is the
//! in-memory implementation, and [`reference::evaluate`] restates the rules as a plain
//! function of a set of events, against which the incremental path is property-tested.
//!
//! [`apply_with_resolutions`] is the same, and also says which decisions applying the event
//! took: each discrepancy or count task it opened (except a task a manager requested: the
//! request is already an event with an author, so there is no automatic decision to record),
//! and each losing device of a contested
//! pick list with the claim that won, as a [`crate::event::Resolution`]. The server records
//! them as `resolved` events, so they are in the audit trail. Those events are ignored here:
//! a resolution changes no stock and raises nothing, so everything above stays a function
//! of the set of floor events.

pub mod memory;
pub mod put_back;
pub mod reference;

/// The version of these rules. A projection records the version that wrote it and is rebuilt
/// from its log when opened by a build with a newer one. Version 2: the latest review decides
/// a count (it was the earliest).
pub const RULES_VERSION: u32 = 2;

/// A quantity as the rules read it: clamped to ± [`MAX_EVENT_QTY`]. Validation refuses
/// anything beyond the bound, so for every accepted event this is the identity; it is here so
/// that the rules stay total over events that were never validated (an old file, a fuzzer).
pub fn bounded_qty(qty: i64) -> i64 {
    qty.clamp(-MAX_EVENT_QTY, MAX_EVENT_QTY)
}

/// Adds quantities without wrapping or panicking (see the module docs on bounds).
pub fn saturating_sum(quantities: impl IntoIterator<Item = i64>) -> i64 {
    quantities.into_iter().fold(0, i64::saturating_add)
}

mod rules;
mod tolerance;

pub use rules::{apply, apply_with_resolutions, Applied};
pub use tolerance::{decide_count, CountTolerance};

use crate::event::{
    CountDecision, Event, EventBody, Lot, ReviewDecision, ShortReason, MAX_EVENT_QTY,
};
use crate::hlc::Hlc;
use crate::ids::{DeviceId, EventId, ItemId, LocationId, PickListId, TaskId, UserId, WarehouseId};
use serde::{Deserialize, Serialize};

/// Where stock is: one item (and lot) at one location of one warehouse.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct StockKey {
    pub warehouse: WarehouseId,
    pub location: LocationId,
    pub item: ItemId,
    pub lot: Option<Lot>,
}

impl StockKey {
    /// Bytes that name the key, for deriving stable ids.
    fn id_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(64);
        bytes.extend_from_slice(self.warehouse.as_bytes());
        bytes.extend_from_slice(self.location.as_bytes());
        bytes.extend_from_slice(self.item.as_bytes());
        if let Some(lot) = &self.lot {
            bytes.extend_from_slice(lot.as_str().as_bytes());
        }
        bytes
    }
}

/// The total order of events: hlc, then device, then event id.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EventOrder {
    pub hlc: Hlc,
    pub device: DeviceId,
    pub id: EventId,
}

impl Event {
    pub fn order(&self) -> EventOrder {
        EventOrder {
            hlc: self.hlc,
            device: self.device,
            id: self.id,
        }
    }

    fn key(&self, location: LocationId, item: ItemId, lot: &Option<Lot>) -> StockKey {
        StockKey {
            warehouse: self.warehouse,
            location,
            item,
            lot: lot.clone(),
        }
    }

    /// The signed quantity changes this event makes, one per stock key it touches, each
    /// read through [`bounded_qty`]. Counts and decisions are not deltas and give none.
    pub fn deltas(&self) -> Vec<(StockKey, i64)> {
        match &self.body {
            EventBody::Received {
                location,
                item,
                lot,
                qty,
                ..
            } => vec![(self.key(*location, *item, lot), bounded_qty(*qty))],
            EventBody::Picked {
                location,
                item,
                lot,
                qty,
                ..
            } => vec![(self.key(*location, *item, lot), -bounded_qty(*qty))],
            EventBody::Moved {
                from,
                to,
                item,
                lot,
                qty,
                ..
            } => {
                vec![
                    (self.key(*from, *item, lot), -bounded_qty(*qty)),
                    (self.key(*to, *item, lot), bounded_qty(*qty)),
                ]
            }
            EventBody::Adjusted {
                location,
                item,
                lot,
                delta,
                ..
            } => vec![(self.key(*location, *item, lot), bounded_qty(*delta))],
            EventBody::PutBack {
                location,
                item,
                lot,
                qty,
                ..
            } => vec![(self.key(*location, *item, lot), bounded_qty(*qty))],
            EventBody::Counted { .. }
            | EventBody::CountReviewed { .. }
            | EventBody::ShortPicked { .. }
            | EventBody::PickListClaimed { .. }
            | EventBody::PickListCancelled { .. }
            | EventBody::CountRequested { .. }
            | EventBody::BadgeLocked { .. }
            | EventBody::Resolved { .. } => Vec::new(),
        }
    }

    /// Every stock key this event is about, as far as the event itself says: the keys of
    /// its movement deltas, the key a count, short pick or count request is about, and the
    /// key an automatic decision names. A count review names a count, not a key (a
    /// projection resolves it), and a claim or a cancellation names a list: both give none.
    /// The server sends these with an event a device cannot read yet, so the device can
    /// mark the stock it cannot show exactly (docs/protocol.md, "Mixed-version fleets").
    pub fn stock_keys(&self) -> Vec<StockKey> {
        let mut keys: Vec<StockKey> = self.deltas().into_iter().map(|(key, _)| key).collect();
        keys.extend(self.subject_key());
        if let EventBody::Resolved { resolution } = &self.body {
            if let Some((location, item, lot)) = resolution.stock_key() {
                keys.push(self.key(location, item, lot));
            }
        }
        keys.sort();
        keys.dedup();
        keys
    }

    /// The stock key a count, short pick or count request is about.
    pub fn subject_key(&self) -> Option<StockKey> {
        match &self.body {
            EventBody::Counted {
                location,
                item,
                lot,
                ..
            }
            | EventBody::ShortPicked {
                location,
                item,
                lot,
                ..
            }
            | EventBody::CountRequested {
                location,
                item,
                lot,
                ..
            } => Some(self.key(*location, *item, lot)),
            _ => None,
        }
    }
}

/// The last approved count of a key: the base that later movements add to.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Baseline {
    pub order: EventOrder,
    pub qty: i64,
}

/// The projected state of one stock key.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct KeyState {
    pub baseline: Option<Baseline>,
    pub on_hand: i64,
}

/// Where a count stands.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CountStatus {
    Approved,
    PendingReview,
    Rejected,
}

impl CountStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approved => "approved",
            Self::PendingReview => "pending_review",
            Self::Rejected => "rejected",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "approved" => Some(Self::Approved),
            "pending_review" => Some(Self::PendingReview),
            "rejected" => Some(Self::Rejected),
            _ => None,
        }
    }
}

/// A `counted` event as the rules keep it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountRecord {
    pub key: StockKey,
    pub order: EventOrder,
    pub user: UserId,
    pub counted_qty: i64,
    pub system_qty: i64,
    pub decision: CountDecision,
    pub status: CountStatus,
}

/// A `count_reviewed` event as the rules keep it. A review may arrive before its count.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewRecord {
    pub counted: EventId,
    pub order: EventOrder,
    pub user: UserId,
    pub decision: ReviewDecision,
}

/// What has been picked against one pick line.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PickLineState {
    pub picked_total: i64,
    /// The line quantity carried by the last pick in event order.
    pub line_qty: i64,
    pub line_qty_order: EventOrder,
}

/// One claim of a pick list.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Claim {
    pub order: EventOrder,
    pub pick_list: PickListId,
    pub user: UserId,
}

/// Why a count task exists.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CountTaskReason {
    /// The key's on-hand quantity is below zero.
    NegativeStock,
    /// A picker could not pick the full quantity here.
    ShortPick {
        short_pick: EventOrder,
        reason: ShortReason,
    },
    /// A manager rejected a count of this key.
    Recount { counted: EventOrder },
    /// A manager asked for this key to be counted (`count_requested`), saying why.
    Requested {
        requested: EventOrder,
        user: UserId,
        note: String,
    },
}

impl CountTaskReason {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::NegativeStock => "negative_stock",
            Self::ShortPick { .. } => "short_pick",
            Self::Recount { .. } => "recount",
            Self::Requested { .. } => "requested",
        }
    }
}

/// A task for a person: count this key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountTask {
    pub id: TaskId,
    pub key: StockKey,
    pub reason: CountTaskReason,
    pub open: bool,
}

/// Something that needs a person's eyes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discrepancy {
    /// A natural key, the same on every replica (e.g. `negative_stock/<key>`).
    pub id: String,
    pub warehouse: WarehouseId,
    pub kind: DiscrepancyKind,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DiscrepancyKind {
    NegativeStock {
        key: StockKey,
        on_hand: i64,
    },
    CountVariance {
        key: StockKey,
        counted: EventId,
        user: UserId,
        counted_qty: i64,
        system_qty: i64,
    },
    OverPick {
        pick_list: PickListId,
        line: u32,
        picked: i64,
        line_qty: i64,
    },
    PickListContested {
        pick_list: PickListId,
        winner: Claim,
        losers: Vec<Claim>,
    },
    /// An event on a lot-tracked item that names no lot. It is still a fact and its stock
    /// counts (on the key without a lot), but a manager must find out which lot it was.
    /// The rules do not know which items are lot-tracked (that is master data), so this is
    /// opened by the server when it accepts such an event, never by [`apply`].
    LotMissing {
        key: StockKey,
        event: EventId,
        /// The event's type, as on the wire (`received`, `picked`, ...).
        event_kind: String,
    },
}

impl DiscrepancyKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::NegativeStock { .. } => "negative_stock",
            Self::CountVariance { .. } => "count_variance",
            Self::OverPick { .. } => "over_pick",
            Self::PickListContested { .. } => "pick_list_contested",
            Self::LotMissing { .. } => "lot_missing",
        }
    }

    /// The stock key this is about, when it is about one.
    pub fn key(&self) -> Option<&StockKey> {
        match self {
            Self::NegativeStock { key, .. }
            | Self::CountVariance { key, .. }
            | Self::LotMissing { key, .. } => Some(key),
            Self::OverPick { .. } | Self::PickListContested { .. } => None,
        }
    }
}

/// Something a device should tell its user right away.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Notice {
    /// `loser` claimed a pick list that `winner` had claimed first.
    ClaimLost {
        pick_list: PickListId,
        loser: DeviceId,
        winner: Claim,
    },
}

/// Where the rules keep their state. The device store and the server implement it over a
/// database transaction; [`memory::MemoryLedger`] keeps it in maps.
///
/// [`apply`] calls these with each event exactly once: deduplicating events by id is the
/// caller's job, because only the caller knows its event log.
pub trait Ledger {
    type Error;

    /// The key's state, or `None` if nothing has touched it yet.
    fn key_state(&mut self, key: &StockKey) -> Result<Option<KeyState>, Self::Error>;
    fn put_key_state(&mut self, key: &StockKey, state: &KeyState) -> Result<(), Self::Error>;
    /// Remembers a movement so a later-arriving count can re-add what came after it.
    fn add_delta(
        &mut self,
        key: &StockKey,
        order: &EventOrder,
        delta: i64,
    ) -> Result<(), Self::Error>;
    /// The sum of the key's deltas ordered strictly after `after` (all of them if `None`).
    fn sum_deltas_after(
        &mut self,
        key: &StockKey,
        after: Option<&EventOrder>,
    ) -> Result<i64, Self::Error>;

    fn count(&mut self, counted: EventId) -> Result<Option<CountRecord>, Self::Error>;
    /// Inserts the count or replaces it (its status can change when a review arrives).
    fn put_count(&mut self, count: &CountRecord) -> Result<(), Self::Error>;
    /// The key's count that is last in event order, among approved counts only, or among
    /// all counts that were not rejected.
    fn latest_count(
        &mut self,
        key: &StockKey,
        approved_only: bool,
    ) -> Result<Option<CountRecord>, Self::Error>;

    fn add_review(&mut self, review: &ReviewRecord) -> Result<(), Self::Error>;
    fn reviews(&mut self, counted: EventId) -> Result<Vec<ReviewRecord>, Self::Error>;

    fn pick_line(
        &mut self,
        pick_list: PickListId,
        line: u32,
    ) -> Result<Option<PickLineState>, Self::Error>;
    fn put_pick_line(
        &mut self,
        pick_list: PickListId,
        line: u32,
        state: &PickLineState,
    ) -> Result<(), Self::Error>;

    fn add_claim(&mut self, claim: &Claim) -> Result<(), Self::Error>;
    fn claims(&mut self, pick_list: PickListId) -> Result<Vec<Claim>, Self::Error>;

    /// Every count task of the key, open or closed.
    fn count_tasks(&mut self, key: &StockKey) -> Result<Vec<CountTask>, Self::Error>;
    /// Inserts the task or replaces it by id.
    fn put_task(&mut self, task: &CountTask) -> Result<(), Self::Error>;

    /// Opens the discrepancy or refreshes its details.
    fn open_discrepancy(&mut self, discrepancy: &Discrepancy) -> Result<(), Self::Error>;
    /// Marks the discrepancy resolved, if it exists.
    fn resolve_discrepancy(&mut self, id: &str) -> Result<(), Self::Error>;
    /// Whether the discrepancy is open now (false for one never opened). The rules do not
    /// read it; the server does, to tell an ERP when one opens and closes.
    fn discrepancy_open(&mut self, id: &str) -> Result<bool, Self::Error>;
}
