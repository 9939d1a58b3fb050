//! The inventory event vocabulary.
//!
//! Every change to stock is one [`Event`]: an envelope saying who, where and when, and an
//! [`EventBody`] saying what. Events are immutable facts; the stock rules in
//! [`crate::stock`] turn a set of them into on-hand quantities. The JSON form is the wire
//! form (version [`EVENT_VERSION`]); a version this build does not know is refused when
//! decoding, so an old device never silently misreads a new event.
//!
//! Quantities are integers in the item's base unit. Validation of a single event's own
//! fields lives here ([`Event::validate`]); nothing here knows about other events.
//!
//! `count_requested` is a manager's request that a key be counted: it moves no stock and
//! opens a count task, like a short pick does.
//!
//! Every kind but one is a fact from the floor. The exception is `resolved`
//! ([`Resolution`]): an automatic decision of the stock rules, recorded by the server so it
//! is in the audit trail, which changes no stock.

use crate::hlc::Hlc;
use crate::ids::{
    DeviceId, EventId, ItemId, LocationId, PickListId, TaskId, TenantId, UserId, WarehouseId,
};
use serde::{Deserialize, Serialize};
use std::fmt;

mod resolution;

pub use resolution::{ClaimRef, Resolution};

/// The event schema version this build writes and understands.
pub const EVENT_VERSION: u16 = 1;

/// Every kind of event this build reads, with the first Aisle version that read it: what a
/// device declares to the server (docs/protocol.md, "Mixed-version fleets"), and what the
/// server tells a device that cannot read a kind it needs. A new kind is appended with the
/// version that brings it; a test checks every [`EventBody`] is here.
pub const EVENT_KINDS: &[(&str, &str)] = &[
    ("received", "0.1.0"),
    ("picked", "0.1.0"),
    ("moved", "0.1.0"),
    ("adjusted", "0.1.0"),
    ("counted", "0.1.0"),
    ("count_reviewed", "0.1.0"),
    ("short_picked", "0.1.0"),
    ("pick_list_claimed", "0.1.0"),
    ("count_requested", "0.1.0"),
    ("badge_locked", "0.1.0"),
    ("pick_list_cancelled", "0.1.0"),
    ("put_back", "0.1.0"),
    ("resolved", "0.1.0"),
];

/// The kinds every device must read: the movements and counts whose absence would leave
/// no stock to show at all. A device that declares it reads fewer is refused.
pub const REQUIRED_KINDS: &[&str] = &[
    "received",
    "picked",
    "moved",
    "adjusted",
    "counted",
    "count_reviewed",
];

/// The first Aisle version that reads `kind`, or `None` for a kind this build does not
/// know.
pub fn kind_since(kind: &str) -> Option<&'static str> {
    EVENT_KINDS
        .iter()
        .find(|(known, _)| *known == kind)
        .map(|(_, since)| *since)
}

/// The longest note a count request may carry, in characters. It is read on a floor
/// screen next to the task, so a sentence or two is all it needs.
pub const MAX_NOTE_CHARS: usize = 200;

/// The longest ERP reference an event may name (an expected receipt's), in characters: the
/// server's bound on the references the ERP sends.
pub const MAX_REFERENCE_CHARS: usize = 64;

/// The longest badge a `badge_locked` event may name, in characters.
pub const MAX_BADGE_CHARS: usize = 64;

/// The longest reason code an adjustment may carry, in characters ("damaged", "found").
/// Its note is bounded by [`MAX_NOTE_CHARS`], like a count request's.
pub const MAX_REASON_CHARS: usize = 64;

/// The largest quantity one event may receive, pick, move, count or adjust by, in the
/// item's base unit. A billion of anything is far beyond one warehouse slot, and the bound
/// keeps every sum the rules take far inside `i64`, so no event can overflow the arithmetic
/// of the stock it touches.
pub const MAX_EVENT_QTY: i64 = 1_000_000_000;

/// The bound on a count's `system_qty`, which is what a projection said (a sum of many
/// bounded events), so it is wider than [`MAX_EVENT_QTY`] and still far inside `i64`.
pub const MAX_SYSTEM_QTY: i64 = 1_000_000_000_000_000;

/// The schema version of an event; decoding any other number fails.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u16", into = "u16")]
pub struct EventVersion(u16);

impl EventVersion {
    pub const CURRENT: Self = Self(EVENT_VERSION);
}

impl Default for EventVersion {
    fn default() -> Self {
        Self::CURRENT
    }
}

/// Decoding an event of a schema version this build does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported event version {0} (this build understands version {EVENT_VERSION})")]
pub struct UnsupportedVersion(pub u16);

impl TryFrom<u16> for EventVersion {
    type Error = UnsupportedVersion;
    fn try_from(version: u16) -> Result<Self, Self::Error> {
        if version == EVENT_VERSION {
            Ok(Self(version))
        } else {
            Err(UnsupportedVersion(version))
        }
    }
}

impl From<EventVersion> for u16 {
    fn from(version: EventVersion) -> u16 {
        version.0
    }
}

/// A lot or batch number, as printed on the goods (GS1 AI 10).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Lot(String);

impl Lot {
    pub fn new(lot: impl Into<String>) -> Self {
        Self(lot.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Lot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Lot({:?})", self.0)
    }
}

/// A calendar date such as an expiry date, in ISO 8601 form on the wire.
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Date {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

impl Date {
    pub fn new(year: u16, month: u8, day: u8) -> Result<Self, String> {
        if !(1..=12).contains(&month) {
            return Err(format!("month {month} is not 1-12"));
        }
        let last = days_in_month(year, month);
        if day == 0 || day > last {
            return Err(format!(
                "day {day} is not in 1-{last} for {year:04}-{month:02}"
            ));
        }
        Ok(Self { year, month, day })
    }
}

/// A `YYYY-MM-DD` string in the UI contract.
#[cfg(feature = "ts")]
impl ts_rs::TS for Date {
    type WithoutGenerics = Self;
    type OptionInnerType = Self;
    fn name(_: &ts_rs::Config) -> String {
        "string".to_owned()
    }
    fn inline(cfg: &ts_rs::Config) -> String {
        <Self as ts_rs::TS>::name(cfg)
    }
}

/// Days in a month of the proleptic Gregorian calendar.
pub fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ => {
            let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
            if leap {
                29
            } else {
                28
            }
        }
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl From<Date> for String {
    fn from(date: Date) -> String {
        date.to_string()
    }
}

impl TryFrom<String> for Date {
    type Error = String;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        let parts: Vec<&str> = text.split('-').collect();
        let [year, month, day] = parts.as_slice() else {
            return Err(format!("date {text:?} is not YYYY-MM-DD"));
        };
        let number = |part: &str, width: usize| -> Result<u16, String> {
            if part.len() != width || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!("date {text:?} is not YYYY-MM-DD"));
            }
            part.parse()
                .map_err(|_| format!("date {text:?} is not YYYY-MM-DD"))
        };
        let (year, month, day) = (number(year, 4)?, number(month, 2)?, number(day, 2)?);
        Date::new(year, month as u8, day as u8)
    }
}

/// One line of a pick list, as the picking device saw it. The line's quantity travels with
/// the event so that every replica judges an over-pick against the same number.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PickLineRef {
    pub pick_list: PickListId,
    pub line: u32,
    pub line_qty: i64,
}

/// Whether a count was decided on the counting device or waits for a manager.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum CountDecision {
    /// Within the warehouse's variance tolerance: the count is the new baseline.
    SelfApproved,
    /// Outside the tolerance: it takes effect only once a manager approves it.
    NeedsReview,
}

/// A manager's decision on a count that needed review.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewDecision {
    Approved,
    /// The count is not trusted; the location must be counted again.
    Rejected,
}

/// Why a picker could not pick the full quantity.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ShortReason {
    NotFound,
    Damaged,
    WrongItem,
}

/// What happened. Tagged by `type` on the wire.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventBody {
    Received {
        location: LocationId,
        item: ItemId,
        lot: Option<Lot>,
        expiry: Option<Date>,
        qty: i64,
        /// The reference of the expected receipt (the ERP's inbound ASN) this was received
        /// against, when the receiver chose one. Absent on the wire when `None`, so receipts
        /// from before the field read the same.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        receipt: Option<String>,
    },
    Picked {
        pick_line: Option<PickLineRef>,
        location: LocationId,
        item: ItemId,
        lot: Option<Lot>,
        qty: i64,
    },
    Moved {
        from: LocationId,
        to: LocationId,
        item: ItemId,
        lot: Option<Lot>,
        qty: i64,
        /// The person was told the source held less than `qty` and moved anyway. Absent
        /// on the wire when false, so events from before the field read the same.
        #[serde(default, skip_serializing_if = "is_false")]
        over_source_confirmed: bool,
    },
    Adjusted {
        location: LocationId,
        item: ItemId,
        lot: Option<Lot>,
        delta: i64,
        reason: String,
        note: String,
    },
    Counted {
        count_task: Option<TaskId>,
        location: LocationId,
        item: ItemId,
        lot: Option<Lot>,
        counted_qty: i64,
        /// What the device's projection said when the count was taken.
        system_qty: i64,
        /// True when `system_qty` was hidden from the person counting.
        blind: bool,
        decision: CountDecision,
    },
    CountReviewed {
        counted: EventId,
        decision: ReviewDecision,
    },
    ShortPicked {
        pick_line: PickLineRef,
        location: LocationId,
        item: ItemId,
        lot: Option<Lot>,
        qty_short: i64,
        reason: ShortReason,
    },
    PickListClaimed {
        pick_list: PickListId,
    },
    /// A manager asks for the key to be counted. It moves no stock; it opens a count task
    /// that a count of the key ordered after the request closes.
    CountRequested {
        location: LocationId,
        item: ItemId,
        lot: Option<Lot>,
        /// Why, in the manager's words (may be empty).
        note: String,
    },
    /// A badge was locked on the recording device after too many wrong PINs in a row. It
    /// moves no stock and raises nothing; it is in the log so a manager, on the PC and on
    /// the server, sees who was locked out where and when. The event's `user` is the
    /// badge's owner, and its `device` the PC the PINs were typed on.
    BadgeLocked {
        badge: String,
        /// Wrong PINs in a row that caused the lock.
        failures: u32,
        /// When the lock ends, in ms since the epoch by the device's clock.
        locked_until_ms: u64,
    },
    /// The ERP cancelled a pick list (`POST …/erp/pick_lists/{reference}/cancel`). Recorded
    /// by the server only, with the id [`Event::cancellation_id`] derives from the list, so a
    /// list is cancelled once. It changes no stock: what was picked for the list becomes
    /// put-back work ([`crate::stock::put_back`]), whenever the picks sync.
    PickListCancelled {
        pick_list: PickListId,
    },
    /// Goods picked for a pick list that the ERP cancelled, put back on a shelf: stock
    /// comes back at `location` (the line's own, or one a manager chose). It closes the
    /// list's put-back work for `line` and `lot` by `qty` (see [`crate::stock::put_back`]).
    PutBack {
        pick_list: PickListId,
        line: u32,
        location: LocationId,
        item: ItemId,
        lot: Option<Lot>,
        qty: i64,
    },
    /// An automatic decision of the stock rules, recorded by the server (see
    /// [`Resolution`]). It changes no stock and raises nothing.
    Resolved {
        #[serde(flatten)]
        resolution: Resolution,
    },
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// One inventory event: the envelope and the body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub v: EventVersion,
    pub id: EventId,
    pub tenant: TenantId,
    pub warehouse: WarehouseId,
    pub device: DeviceId,
    pub user: UserId,
    pub hlc: Hlc,
    /// The offset to server time (ms) that the device's clock was corrected by when it
    /// stamped this event; kept so a bad clock can be diagnosed after the fact.
    pub clock_correction_ms: i64,
    /// The id of an event of the same device that the server refused and that this one
    /// records again (a manager's "record it again now" for an event stamped by a clock far
    /// ahead). Absent on the wire when `None`, so events without it read as before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<EventId>,
    pub body: EventBody,
}

/// An event whose own fields make no sense.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidEvent {
    #[error("quantity must be positive, got {0}")]
    NonPositiveQty(i64),
    #[error("quantity {0} is beyond the bound of {MAX_EVENT_QTY} per event")]
    QtyOutOfRange(i64),
    #[error("a counted quantity cannot be negative, got {0}")]
    NegativeCount(i64),
    #[error("an adjustment must change stock: delta is 0")]
    ZeroAdjustment,
    #[error("an adjustment needs a reason code")]
    MissingReason,
    #[error("a move needs two different locations")]
    MoveToSameLocation,
    #[error("pick line quantity must be positive, got {0}")]
    BadPickLineQty(i64),
    #[error("lot must be 1-20 printable characters")]
    BadLot,
    #[error("hlc wall time {0} ms is beyond the 47-bit range")]
    HlcOutOfRange(u64),
    #[error("only the server records resolutions")]
    ResolutionNotFromServer,
    #[error("the server's identity records nothing but resolutions")]
    FloorEventFromServer,
    #[error("bad resolution: {0}")]
    BadResolution(&'static str),
    #[error("a floor event's id must be a UUIDv7, got version {0}")]
    IdNotV7(usize),
    #[error("an event cannot record itself again")]
    ReplacesItself,
    #[error("a note must be at most {MAX_NOTE_CHARS} characters with no control characters other than line breaks")]
    BadNote,
    #[error(
        "a reason code must be at most {MAX_REASON_CHARS} characters with no control characters"
    )]
    BadReason,
    #[error("a badge must be 1-{MAX_BADGE_CHARS} characters with no control characters")]
    BadBadge,
    #[error(
        "only the server records a pick list's cancellation, with the id derived from the list"
    )]
    CancellationNotFromServer,
    #[error("an expected receipt's reference must be 1-{MAX_REFERENCE_CHARS} characters with no control characters")]
    BadReceipt,
}

impl Event {
    /// Checks this event's own fields. It says nothing about whether stock allows it:
    /// a pick of stock the system thinks is not there still happened on the floor.
    pub fn validate(&self) -> Result<(), InvalidEvent> {
        if self.hlc.wall_ms > crate::hlc::MAX_WALL_MS {
            return Err(InvalidEvent::HlcOutOfRange(self.hlc.wall_ms));
        }
        if self.replaces == Some(self.id) {
            return Err(InvalidEvent::ReplacesItself);
        }
        // The server's identity in this warehouse authors resolutions and nothing else. It
        // is a UUIDv8 and enrolled devices are UUIDv7, so a scan's event skips the hash.
        let by_server = self.device.as_uuid().get_version_num() == 8
            && self.device == DeviceId::server(self.tenant, self.warehouse);
        match (&self.body, by_server) {
            (EventBody::Resolved { .. }, false) => {
                return Err(InvalidEvent::ResolutionNotFromServer)
            }
            (EventBody::Resolved { resolution }, true) if resolution.event_id() != self.id => {
                return Err(InvalidEvent::BadResolution(
                    "the id is not the one derived from the decision",
                ));
            }
            (EventBody::Resolved { .. }, true) => {}
            (EventBody::PickListCancelled { pick_list }, true)
                if Self::cancellation_id(*pick_list) == self.id => {}
            (EventBody::PickListCancelled { .. }, _) => {
                return Err(InvalidEvent::CancellationNotFromServer)
            }
            (_, true) => return Err(InvalidEvent::FloorEventFromServer),
            // Devices stamp UUIDv7 ids. Anything else is refused, so a device cannot take an
            // id from the server's derived (UUIDv8) space and suppress a resolution with it.
            (_, false) if self.id.as_uuid().get_version_num() != 7 => {
                return Err(InvalidEvent::IdNotV7(self.id.as_uuid().get_version_num()))
            }
            (_, false) => {}
        }
        let positive = |qty: i64| {
            if qty <= 0 {
                Err(InvalidEvent::NonPositiveQty(qty))
            } else if qty > MAX_EVENT_QTY {
                Err(InvalidEvent::QtyOutOfRange(qty))
            } else {
                Ok(())
            }
        };
        let lot_ok = |lot: &Option<Lot>| match lot {
            Some(lot)
                if lot.0.is_empty()
                    || lot.0.chars().count() > 20
                    || lot.0.chars().any(char::is_control) =>
            {
                Err(InvalidEvent::BadLot)
            }
            _ => Ok(()),
        };
        let note_ok = |note: &str| {
            let control = |c: char| c.is_control() && c != '\n';
            if note.chars().count() > MAX_NOTE_CHARS || note.chars().any(control) {
                Err(InvalidEvent::BadNote)
            } else {
                Ok(())
            }
        };
        let badge_ok = |badge: &str| {
            if badge.is_empty()
                || badge.chars().count() > MAX_BADGE_CHARS
                || badge.chars().any(char::is_control)
            {
                Err(InvalidEvent::BadBadge)
            } else {
                Ok(())
            }
        };
        let line_ok = |line: &PickLineRef| {
            if line.line_qty > 0 && line.line_qty <= MAX_EVENT_QTY {
                Ok(())
            } else {
                Err(InvalidEvent::BadPickLineQty(line.line_qty))
            }
        };
        match &self.body {
            EventBody::Received {
                qty, lot, receipt, ..
            } => {
                positive(*qty)?;
                if let Some(reference) = receipt {
                    if reference.trim().is_empty()
                        || reference.chars().count() > MAX_REFERENCE_CHARS
                        || reference.chars().any(char::is_control)
                    {
                        return Err(InvalidEvent::BadReceipt);
                    }
                }
                lot_ok(lot)
            }
            EventBody::Picked {
                qty,
                lot,
                pick_line,
                ..
            } => {
                positive(*qty)?;
                if let Some(line) = pick_line {
                    line_ok(line)?;
                }
                lot_ok(lot)
            }
            EventBody::PutBack { qty, lot, .. } => {
                positive(*qty)?;
                lot_ok(lot)
            }
            EventBody::Moved {
                from, to, qty, lot, ..
            } => {
                positive(*qty)?;
                if from == to {
                    return Err(InvalidEvent::MoveToSameLocation);
                }
                lot_ok(lot)
            }
            EventBody::Adjusted {
                delta,
                reason,
                note,
                lot,
                ..
            } => {
                if *delta == 0 {
                    return Err(InvalidEvent::ZeroAdjustment);
                }
                if delta.unsigned_abs() > MAX_EVENT_QTY as u64 {
                    return Err(InvalidEvent::QtyOutOfRange(*delta));
                }
                if reason.trim().is_empty() {
                    return Err(InvalidEvent::MissingReason);
                }
                if reason.chars().count() > MAX_REASON_CHARS || reason.chars().any(char::is_control)
                {
                    return Err(InvalidEvent::BadReason);
                }
                note_ok(note)?;
                lot_ok(lot)
            }
            EventBody::Counted {
                counted_qty,
                system_qty,
                lot,
                ..
            } => {
                if *counted_qty < 0 {
                    return Err(InvalidEvent::NegativeCount(*counted_qty));
                }
                if *counted_qty > MAX_EVENT_QTY {
                    return Err(InvalidEvent::QtyOutOfRange(*counted_qty));
                }
                // What the device's projection said: a sum of bounded events, so it may lie
                // beyond one event's bound, but never near the ends of `i64`.
                if system_qty.unsigned_abs() > MAX_SYSTEM_QTY as u64 {
                    return Err(InvalidEvent::QtyOutOfRange(*system_qty));
                }
                lot_ok(lot)
            }
            EventBody::CountReviewed { .. }
            | EventBody::PickListClaimed { .. }
            | EventBody::PickListCancelled { .. } => Ok(()),
            EventBody::BadgeLocked { badge, .. } => badge_ok(badge),
            EventBody::CountRequested { lot, note, .. } => {
                note_ok(note)?;
                lot_ok(lot)
            }
            EventBody::Resolved { resolution } => resolution.validate(lot_ok),
            EventBody::ShortPicked {
                qty_short,
                pick_line,
                lot,
                ..
            } => {
                positive(*qty_short)?;
                line_ok(pick_line)?;
                lot_ok(lot)
            }
        }
    }

    /// The id of `pick_list`'s cancellation: one per list, so the ERP cancelling twice (or
    /// through two server instances) records it once.
    pub fn cancellation_id(pick_list: PickListId) -> EventId {
        EventId::derived("pick_list_cancelled", pick_list.as_bytes())
    }

    /// The event recording the ERP's cancellation of `pick_list` in `warehouse`, authored by
    /// the server's identity there and stamped `hlc` (the server's clock).
    pub fn pick_list_cancelled(
        tenant: TenantId,
        warehouse: WarehouseId,
        pick_list: PickListId,
        hlc: Hlc,
    ) -> Event {
        Event {
            v: EventVersion::CURRENT,
            id: Self::cancellation_id(pick_list),
            tenant,
            warehouse,
            device: DeviceId::server(tenant, warehouse),
            user: UserId::server(tenant, warehouse),
            hlc,
            clock_correction_ms: 0,
            replaces: None,
            body: EventBody::PickListCancelled { pick_list },
        }
    }

    /// The short name of the event's type, as on the wire.
    pub fn kind(&self) -> &'static str {
        match &self.body {
            EventBody::Received { .. } => "received",
            EventBody::Picked { .. } => "picked",
            EventBody::Moved { .. } => "moved",
            EventBody::Adjusted { .. } => "adjusted",
            EventBody::Counted { .. } => "counted",
            EventBody::CountReviewed { .. } => "count_reviewed",
            EventBody::ShortPicked { .. } => "short_picked",
            EventBody::PickListClaimed { .. } => "pick_list_claimed",
            EventBody::CountRequested { .. } => "count_requested",
            EventBody::BadgeLocked { .. } => "badge_locked",
            EventBody::PutBack { .. } => "put_back",
            EventBody::PickListCancelled { .. } => "pick_list_cancelled",
            EventBody::Resolved { .. } => "resolved",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(body: EventBody) -> Event {
        Event {
            v: EventVersion::CURRENT,
            id: EventId::new_v7(1_700_000_000_000, [1; 10]),
            tenant: TenantId::new_v7(1, [2; 10]),
            warehouse: WarehouseId::new_v7(1, [3; 10]),
            device: DeviceId::new_v7(1, [4; 10]),
            user: UserId::new_v7(1, [5; 10]),
            hlc: Hlc::new(1_700_000_000_000, 3),
            clock_correction_ms: -250,
            replaces: None,
            body,
        }
    }

    /// The kinds a device declares are exactly the kinds this build decodes: serde's own
    /// list of the body's tags (from an unknown tag's error) against [`EVENT_KINDS`].
    #[test]
    fn event_kinds_lists_every_kind_of_event_body_once() {
        let error = serde_json::from_value::<EventBody>(serde_json::json!({ "type": "?" }))
            .expect_err("an unknown tag");
        let message = error.to_string();
        let expected = message
            .split_once("expected one of ")
            .unwrap_or_else(|| panic!("serde names the tags: {message}"))
            .1;
        let tags: Vec<&str> = expected
            .split(", ")
            .map(|tag| tag.trim_matches('`'))
            .collect();
        let listed: Vec<&str> = EVENT_KINDS.iter().map(|(kind, _)| *kind).collect();
        assert_eq!(tags, listed, "EVENT_KINDS in the body's order");
        for required in REQUIRED_KINDS {
            assert!(kind_since(required).is_some(), "{required} is a kind");
        }
        assert_eq!(kind_since("relabelled"), None);
    }

    #[test]
    fn only_the_server_records_a_cancellation_and_with_the_lists_own_id() {
        let list = PickListId::new_v7(1, [6; 10]);
        let floor = sample(EventBody::PickListClaimed { pick_list: list });
        let cancelled = Event::pick_list_cancelled(floor.tenant, floor.warehouse, list, floor.hlc);
        assert_eq!(cancelled.validate(), Ok(()));
        assert_eq!(cancelled.kind(), "pick_list_cancelled");
        let mut forged = cancelled.clone();
        forged.device = floor.device;
        assert_eq!(
            forged.validate(),
            Err(InvalidEvent::CancellationNotFromServer),
            "a device cannot cancel a list"
        );
        let mut other_id = cancelled.clone();
        other_id.id = Event::cancellation_id(PickListId::new_v7(1, [7; 10]));
        assert_eq!(
            other_id.validate(),
            Err(InvalidEvent::CancellationNotFromServer)
        );
    }

    #[test]
    fn a_floor_event_needs_a_v7_id() {
        let mut event = sample(EventBody::PickListClaimed {
            pick_list: PickListId::new_v7(1, [6; 10]),
        });
        assert_eq!(event.validate(), Ok(()));
        event.id = EventId::derived("resolution/claim_conflict", b"forged");
        assert_eq!(event.validate(), Err(InvalidEvent::IdNotV7(8)));
    }

    /// A move's confirmation that it took more than the source held is on the wire only
    /// when true, so a move from before the field, and an old device reading a new one,
    /// see the same event.
    #[test]
    fn a_confirmed_over_move_says_so_and_a_plain_one_reads_as_before() {
        let body = |over_source_confirmed| EventBody::Moved {
            from: LocationId::new_v7(1, [6; 10]),
            to: LocationId::new_v7(1, [9; 10]),
            item: ItemId::new_v7(1, [7; 10]),
            lot: None,
            qty: 20,
            over_source_confirmed,
        };
        let plain = serde_json::to_value(sample(body(false))).expect("serialize");
        assert!(
            plain["body"].get("over_source_confirmed").is_none(),
            "absent when false: {plain}"
        );
        let back: Event = serde_json::from_value(plain).expect("a move without the field");
        assert_eq!(back.body, body(false));
        let confirmed = serde_json::to_value(sample(body(true))).expect("serialize");
        assert_eq!(confirmed["body"]["over_source_confirmed"], true);
    }

    #[test]
    fn wire_form_is_tagged_and_versioned() {
        let event = sample(EventBody::Received {
            location: LocationId::new_v7(1, [6; 10]),
            item: ItemId::new_v7(1, [7; 10]),
            lot: Some(Lot::new("L42")),
            expiry: Some(Date::new(2027, 2, 28).expect("valid date")),
            qty: 12,
            receipt: None,
        });
        let json = serde_json::to_value(&event).expect("serialize");
        assert_eq!(json["v"], 1, "every event carries its schema version");
        assert_eq!(
            json["body"]["type"], "received",
            "bodies are tagged by type"
        );
        assert_eq!(
            json["body"]["expiry"], "2027-02-28",
            "dates are ISO 8601 on the wire"
        );
        assert_eq!(json["hlc"]["counter"], 3);
        let back: Event = serde_json::from_value(json).expect("deserialize");
        assert_eq!(back, event);
    }

    #[test]
    fn unknown_version_is_refused_with_a_clear_message() {
        let mut json = serde_json::to_value(sample(EventBody::PickListClaimed {
            pick_list: PickListId::new_v7(1, [8; 10]),
        }))
        .expect("serialize");
        json["v"] = 2.into();
        let err = serde_json::from_value::<Event>(json).expect_err("version 2 is unknown");
        assert!(
            err.to_string().contains("unsupported event version 2"),
            "got: {err}"
        );
    }

    #[test]
    fn validation_catches_nonsense_fields() {
        let loc = LocationId::new_v7(1, [6; 10]);
        let item = ItemId::new_v7(1, [7; 10]);
        let cases = [
            (
                EventBody::Received {
                    location: loc,
                    item,
                    lot: None,
                    expiry: None,
                    qty: 0,
                    receipt: None,
                },
                InvalidEvent::NonPositiveQty(0),
            ),
            (
                EventBody::Moved {
                    from: loc,
                    to: loc,
                    item,
                    lot: None,
                    qty: 1,
                    over_source_confirmed: false,
                },
                InvalidEvent::MoveToSameLocation,
            ),
            (
                EventBody::Adjusted {
                    location: loc,
                    item,
                    lot: None,
                    delta: 0,
                    reason: "damage".into(),
                    note: String::new(),
                },
                InvalidEvent::ZeroAdjustment,
            ),
            (
                EventBody::Adjusted {
                    location: loc,
                    item,
                    lot: None,
                    delta: 3,
                    reason: " ".into(),
                    note: String::new(),
                },
                InvalidEvent::MissingReason,
            ),
            (
                EventBody::Counted {
                    count_task: None,
                    location: loc,
                    item,
                    lot: None,
                    counted_qty: -1,
                    system_qty: 0,
                    blind: true,
                    decision: CountDecision::SelfApproved,
                },
                InvalidEvent::NegativeCount(-1),
            ),
            (
                EventBody::Received {
                    location: loc,
                    item,
                    lot: Some(Lot::new("")),
                    expiry: None,
                    qty: 1,
                    receipt: None,
                },
                InvalidEvent::BadLot,
            ),
            (
                EventBody::CountRequested {
                    location: loc,
                    item,
                    lot: None,
                    note: "x".repeat(MAX_NOTE_CHARS + 1),
                },
                InvalidEvent::BadNote,
            ),
            (
                EventBody::CountRequested {
                    location: loc,
                    item,
                    lot: None,
                    note: "bell \u{7}".into(),
                },
                InvalidEvent::BadNote,
            ),
            (
                EventBody::CountRequested {
                    location: loc,
                    item,
                    lot: Some(Lot::new("")),
                    note: String::new(),
                },
                InvalidEvent::BadLot,
            ),
        ];
        for (body, expected) in cases {
            assert_eq!(
                sample(body.clone()).validate(),
                Err(expected),
                "body {body:?}"
            );
        }
    }

    /// Regression: a receipt of `i64::MAX` was accepted, and the next event on its key
    /// overflowed the stock arithmetic (a panic on the server, a 500 on every retry).
    #[test]
    fn quantities_are_bounded_per_event() {
        let loc = LocationId::new_v7(1, [6; 10]);
        let to = LocationId::new_v7(1, [9; 10]);
        let item = ItemId::new_v7(1, [7; 10]);
        let received = |qty| EventBody::Received {
            location: loc,
            item,
            lot: None,
            expiry: None,
            qty,
            receipt: None,
        };
        let picked = |qty| EventBody::Picked {
            pick_line: None,
            location: loc,
            item,
            lot: None,
            qty,
        };
        let moved = |qty| EventBody::Moved {
            from: loc,
            to,
            item,
            lot: None,
            qty,
            over_source_confirmed: false,
        };
        let adjusted = |delta| EventBody::Adjusted {
            location: loc,
            item,
            lot: None,
            delta,
            reason: "damage".into(),
            note: String::new(),
        };
        let counted = |counted_qty, system_qty| EventBody::Counted {
            count_task: None,
            location: loc,
            item,
            lot: None,
            counted_qty,
            system_qty,
            blind: false,
            decision: CountDecision::SelfApproved,
        };
        let at_bound = [
            received(MAX_EVENT_QTY),
            picked(MAX_EVENT_QTY),
            moved(MAX_EVENT_QTY),
            adjusted(MAX_EVENT_QTY),
            adjusted(-MAX_EVENT_QTY),
            counted(MAX_EVENT_QTY, -5),
            counted(0, MAX_SYSTEM_QTY),
        ];
        for body in at_bound {
            assert_eq!(
                sample(body.clone()).validate(),
                Ok(()),
                "{body:?} is in bounds"
            );
        }
        let beyond = [
            (received(MAX_EVENT_QTY + 1), MAX_EVENT_QTY + 1),
            (received(i64::MAX), i64::MAX),
            (picked(i64::MAX), i64::MAX),
            (moved(MAX_EVENT_QTY + 1), MAX_EVENT_QTY + 1),
            (adjusted(MAX_EVENT_QTY + 1), MAX_EVENT_QTY + 1),
            (adjusted(i64::MIN), i64::MIN),
            (counted(MAX_EVENT_QTY + 1, 0), MAX_EVENT_QTY + 1),
            (counted(1, i64::MIN), i64::MIN),
        ];
        for (body, qty) in beyond {
            assert_eq!(
                sample(body.clone()).validate(),
                Err(InvalidEvent::QtyOutOfRange(qty)),
                "{body:?} is out of bounds"
            );
        }
        let huge_line = EventBody::Picked {
            pick_line: Some(PickLineRef {
                pick_list: PickListId::new_v7(1, [8; 10]),
                line: 1,
                line_qty: i64::MAX,
            }),
            location: loc,
            item,
            lot: None,
            qty: 1,
        };
        assert_eq!(
            sample(huge_line).validate(),
            Err(InvalidEvent::BadPickLineQty(i64::MAX))
        );
    }

    #[test]
    fn a_count_request_is_tagged_and_takes_a_note_up_to_the_bound() {
        let request = sample(EventBody::CountRequested {
            location: LocationId::new_v7(1, [6; 10]),
            item: ItemId::new_v7(1, [7; 10]),
            lot: Some(Lot::new("L42")),
            note: format!("{}\n", "é".repeat(MAX_NOTE_CHARS - 1)),
        });
        assert_eq!(
            request.validate(),
            Ok(()),
            "the bound is in characters, and a line break is allowed"
        );
        assert_eq!(request.kind(), "count_requested");
        let json = serde_json::to_value(&request).expect("serialize");
        assert_eq!(json["body"]["type"], "count_requested");
        assert_eq!(json["v"], 1, "a new kind does not change the event version");
        let back: Event = serde_json::from_value(json).expect("deserialize");
        assert_eq!(back, request);
    }

    /// Regression: an adjustment's note and reason took 1 MB each.
    #[test]
    fn an_adjustment_note_and_reason_are_bounded() {
        let adjusted = |reason: String, note: String| {
            sample(EventBody::Adjusted {
                location: LocationId::new_v7(1, [6; 10]),
                item: ItemId::new_v7(1, [7; 10]),
                lot: None,
                delta: -2,
                reason,
                note,
            })
        };
        let within = adjusted(
            "r".repeat(MAX_REASON_CHARS),
            format!("{}\n", "é".repeat(MAX_NOTE_CHARS - 1)),
        );
        assert_eq!(
            within.validate(),
            Ok(()),
            "both at their bound, in characters"
        );
        assert_eq!(
            adjusted("damaged".into(), "x".repeat(1 << 20)).validate(),
            Err(InvalidEvent::BadNote),
            "a 1 MB note"
        );
        assert_eq!(
            adjusted("damaged".into(), "x".repeat(MAX_NOTE_CHARS + 1)).validate(),
            Err(InvalidEvent::BadNote),
            "one character over"
        );
        assert_eq!(
            adjusted("r".repeat(MAX_REASON_CHARS + 1), String::new()).validate(),
            Err(InvalidEvent::BadReason),
            "a reason code one character over"
        );
        assert_eq!(
            adjusted("damaged\u{0}".into(), String::new()).validate(),
            Err(InvalidEvent::BadReason),
            "a control character in a reason code"
        );
    }

    #[test]
    fn dates_are_checked() {
        assert!(Date::new(2024, 2, 29).is_ok(), "2024 is a leap year");
        assert!(Date::new(2023, 2, 29).is_err(), "2023 is not");
        assert!(
            Date::new(1900, 2, 29).is_err(),
            "centuries are not leap years unless /400"
        );
        assert!(Date::try_from("2026-13-01".to_string()).is_err());
        assert!(Date::try_from("2026-1-01".to_string()).is_err());
    }
}
