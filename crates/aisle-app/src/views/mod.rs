//! The JSON shapes the UI sends and receives (`docs/desktop-commands.md`), with camelCase
//! fields. They are converted from and to domain types at this edge and go no deeper.

mod shell;

pub use shell::*;

use aisle_core::event::{Date, EventBody, Resolution};
use aisle_core::ids::{EventId, ItemId, LocationId, PickListId, TaskId, UserId};
use aisle_core::Event;
use aisle_core::Role;
use aisle_store::master::{Item, Location, User};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "User"))]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    pub id: UserId,
    pub name: String,
    pub badge: String,
    pub role: Role,
}

impl From<&User> for UserView {
    fn from(user: &User) -> Self {
        Self {
            id: user.id,
            name: user.name.clone(),
            badge: user.badge.clone(),
            role: user.role,
        }
    }
}

/// The session as the UI follows it: who is signed in (nobody once the session went idle)
/// and the profile's idle timeout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "SessionState"))]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    pub user: Option<UserView>,
    pub idle_timeout_minutes: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "Location"))]
#[serde(rename_all = "camelCase")]
pub struct LocationView {
    pub id: LocationId,
    pub code: String,
    pub name: String,
    pub walk_order: i64,
}

impl From<&Location> for LocationView {
    fn from(location: &Location) -> Self {
        Self {
            id: location.id,
            code: location.code.clone(),
            name: location.name.clone(),
            walk_order: location.walk_order,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "Item"))]
#[serde(rename_all = "camelCase")]
pub struct ItemView {
    pub id: ItemId,
    pub sku: String,
    pub name: String,
    pub base_unit: String,
    pub lot_tracked: bool,
}

impl From<&Item> for ItemView {
    fn from(item: &Item) -> Self {
        Self {
            id: item.id,
            sku: item.sku.clone(),
            name: item.name.clone(),
            base_unit: item.base_unit.clone(),
            lot_tracked: item.lot_tracked,
        }
    }
}

/// What a scan turned out to be, with what the barcode itself says filled in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Resolved {
    Location {
        location: LocationView,
    },
    #[serde(rename_all = "camelCase")]
    Item {
        item: ItemView,
        #[serde(skip_serializing_if = "Option::is_none")]
        #[cfg_attr(test, ts(optional))]
        lot: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        #[cfg_attr(test, ts(optional))]
        expiry: Option<Date>,
        /// Base units the barcode says it holds (its GS1 count times the pack size), if it
        /// says so.
        #[serde(skip_serializing_if = "Option::is_none")]
        #[cfg_attr(test, ts(optional))]
        quantity: Option<i64>,
        /// Base units in one scan of this barcode.
        pack_size: i64,
    },
    Badge {
        badge: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct ReceiveArgs {
    pub location: LocationId,
    pub item: ItemId,
    pub lot: Option<String>,
    pub expiry: Option<Date>,
    pub qty: i64,
    /// The reference of the expected receipt (the delivery note) this is received against.
    #[serde(default)]
    pub receipt: Option<String>,
}

/// The reference of an expected receipt, as typed or scanned from the delivery note.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ExpectedReceiptArgs {
    pub reference: String,
}

/// An expected receipt (the ERP's inbound ASN) with expected against received per line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ExpectedReceiptView {
    pub reference: String,
    pub supplier: String,
    pub lines: Vec<ExpectedLineView>,
    /// What was received against it that no line expects.
    pub unexpected: Vec<ExpectedLineView>,
}

/// One line of an expected receipt: `difference` = `received` - `expected` (above zero an
/// over-receipt, below zero an under-receipt). An unexpected item has `expected` 0.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ExpectedLineView {
    pub line: u32,
    pub item: ItemView,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub lot: Option<String>,
    pub expected: i64,
    pub received: i64,
    pub difference: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct MoveArgs {
    pub from: LocationId,
    pub to: LocationId,
    pub item: ItemId,
    pub lot: Option<String>,
    pub qty: i64,
    /// The person was told the source holds less than `qty` and confirmed the move.
    #[serde(default)]
    #[cfg_attr(test, ts(as = "Option<_>"))]
    pub confirm_over_source: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct CountArgs {
    pub location: LocationId,
    pub item: ItemId,
    pub lot: Option<String>,
    pub counted_qty: i64,
    pub task: Option<TaskId>,
}

/// A manager's request that a key be counted.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct RequestCountArgs {
    pub location: LocationId,
    pub item: ItemId,
    pub lot: Option<String>,
    /// Why, for the person who counts (optional).
    #[serde(default)]
    #[cfg_attr(test, ts(as = "Option<_>"))]
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "PickLineArgs"))]
#[cfg_attr(test, ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct PickArgs {
    pub pick_list: PickListId,
    pub line: u32,
    pub location: LocationId,
    pub item: ItemId,
    pub lot: Option<String>,
    pub qty: i64,
}

/// Putting back goods picked for a cancelled pick list: `qty` of line `line` (and `lot`)
/// at `location`, the line's own location or another one a manager chose.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct PutBackArgs {
    pub pick_list: PickListId,
    pub line: u32,
    pub location: LocationId,
    pub lot: Option<String>,
    pub qty: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct ShortPickArgs {
    pub pick_list: PickListId,
    pub line: u32,
    pub qty_short: i64,
    pub reason: aisle_core::event::ShortReason,
    /// The lot, for a lot-tracked item on a line that names none.
    #[serde(default)]
    pub lot: Option<String>,
}

/// What a location holds of one item in one lot (`lot` is `None` for stock without a lot),
/// for the move screen's source and the lot prompt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct LotStockView {
    pub lot: Option<String>,
    pub on_hand: i64,
    /// The Aisle version needed to show this stock exactly: an event this version cannot
    /// read yet touches it (docs/protocol.md, "Mixed-version fleets"). Absent when exact.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub needs_update: Option<String>,
}

/// What recording one action did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "Recorded"))]
#[serde(rename_all = "camelCase")]
pub struct RecordedView {
    pub event_id: EventId,
    /// The new on-hand of the key the screen is about.
    pub on_hand: i64,
    /// Sentences for the user, e.g. that someone else's claim on a pick list won.
    pub notices: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "CountRecorded"))]
#[serde(rename_all = "camelCase")]
pub struct CountedView {
    #[serde(flatten)]
    pub recorded: RecordedView,
    pub decision: aisle_core::event::CountDecision,
    /// Only shown after the count: counts are blind.
    pub expected: i64,
    pub variance: i64,
    /// The Aisle version needed to show this stock exactly: an event this version cannot
    /// read yet touches it (docs/protocol.md, "Mixed-version fleets"). Absent when exact.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub needs_update: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "PickListSummary"))]
#[serde(rename_all = "camelCase")]
pub struct PickListSummaryView {
    pub id: PickListId,
    pub reference: String,
    pub n_lines: u32,
    pub n_done: u32,
    /// The name of the user whose claim won, absent while nobody has claimed the list.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub claimed_by: Option<String>,
    /// The name of the PC the winning claim was made on, as the server's master data names
    /// it; absent when the list is unclaimed or the server has not named that PC yet.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub claimed_on: Option<String>,
    /// The winning claim was made on this PC (the screen says "on this PC" rather than its
    /// name).
    pub claimed_here: bool,
    /// The ERP cancelled the list: nothing more is picked, and `put_back_due` units picked
    /// for it wait to go back on a shelf (a cancelled list is listed only while they do).
    pub cancelled: bool,
    pub put_back_due: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct PickLineView {
    pub id: u32,
    pub location: LocationView,
    pub item: ItemView,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub lot: Option<String>,
    pub qty: i64,
    pub picked: i64,
    pub done: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct PickListView {
    pub id: PickListId,
    pub reference: String,
    /// The lines to pick; none once the ERP cancelled the list.
    pub lines: Vec<PickLineView>,
    pub notices: Vec<String>,
    /// The ERP cancelled the list: `put_backs` is what must go back on a shelf.
    pub cancelled: bool,
    pub put_backs: Vec<PutBackView>,
}

/// Units picked for one line (and lot) of a cancelled pick list that must go back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct PutBackView {
    pub line: u32,
    /// Where the line was picked from: where it goes back unless a manager says otherwise.
    pub location: LocationView,
    pub item: ItemView,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub lot: Option<String>,
    pub picked: i64,
    pub due: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "StockRow"))]
#[serde(rename_all = "camelCase")]
pub struct StockRowView {
    pub location: LocationView,
    pub item: ItemView,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub lot: Option<String>,
    pub on_hand: i64,
    /// The Aisle version needed to show this stock exactly: an event this version cannot
    /// read yet touches it (docs/protocol.md, "Mixed-version fleets"). Absent when exact.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub needs_update: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    pub event_id: EventId,
    pub kind: &'static str,
    pub hlc_ms: u64,
    pub device: String,
    /// The PC's name, when the server's master data has brought it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub device_name: Option<String>,
    pub user: String,
    pub summary: String,
}

/// Turns ids into what a person reads: a location's code, an item's SKU, a user's name.
pub trait Names {
    fn location(&self, id: LocationId) -> String;
    fn item(&self, id: ItemId) -> String;
    fn user(&self, id: UserId) -> String;
    fn pick_list(&self, id: PickListId) -> String;
    /// The count a review decides, in words (`8 x BOLT-M6 at A-01-01 by Ana`), when it is
    /// known here.
    fn count(&self, counted: EventId) -> Option<String>;
}

/// A count in words, as a review names it: `8 x BOLT-M6 lot L1 at A-01-01 by Ana`. None for
/// an event that is no count.
pub fn count_words(event: &Event, names: &dyn Names) -> Option<String> {
    let EventBody::Counted {
        location,
        item,
        lot,
        counted_qty,
        ..
    } = &event.body
    else {
        return None;
    };
    Some(format!(
        "{counted_qty} x {}{} at {} by {}",
        names.item(*item),
        lot.as_ref()
            .map(|lot| format!(" lot {}", lot.as_str()))
            .unwrap_or_default(),
        names.location(*location),
        names.user(event.user)
    ))
}

impl HistoryEntry {
    pub fn from_event(event: &Event, names: &dyn Names) -> Self {
        let lot = |lot: &Option<aisle_core::Lot>| {
            lot.as_ref()
                .map(|lot| format!(" lot {}", lot.as_str()))
                .unwrap_or_default()
        };
        let summary = match &event.body {
            EventBody::Received {
                location,
                item,
                lot: l,
                qty,
                ..
            } => format!(
                "received {qty} x {}{} at {}",
                names.item(*item),
                lot(l),
                names.location(*location)
            ),
            EventBody::Picked {
                location,
                item,
                lot: l,
                qty,
                ..
            } => format!(
                "picked {qty} x {}{} at {}",
                names.item(*item),
                lot(l),
                names.location(*location)
            ),
            EventBody::Moved {
                from,
                to,
                item,
                lot: l,
                qty,
                ..
            } => format!(
                "moved {qty} x {}{} from {} to {}",
                names.item(*item),
                lot(l),
                names.location(*from),
                names.location(*to)
            ),
            EventBody::Adjusted {
                location,
                item,
                delta,
                reason,
                ..
            } => format!(
                "adjusted {} by {delta:+} at {} ({reason})",
                names.item(*item),
                names.location(*location)
            ),
            EventBody::Counted {
                location,
                item,
                lot: l,
                counted_qty,
                system_qty,
                ..
            } => format!(
                "counted {counted_qty} x {}{} at {} (system said {system_qty})",
                names.item(*item),
                lot(l),
                names.location(*location)
            ),
            EventBody::CountReviewed { counted, decision } => {
                let verb = match decision {
                    aisle_core::event::ReviewDecision::Approved => "approved",
                    aisle_core::event::ReviewDecision::Rejected => "rejected",
                };
                match names.count(*counted) {
                    Some(words) => format!("{verb} the count of {words}"),
                    // The count is not on this device (yet): say so rather than show its id.
                    None => format!("{verb} a count not on this PC"),
                }
            }
            EventBody::ShortPicked {
                location,
                item,
                qty_short,
                reason,
                ..
            } => format!(
                "short-picked {qty_short} x {} at {} ({reason:?})",
                names.item(*item),
                names.location(*location)
            ),
            EventBody::PickListClaimed { pick_list } => {
                format!("claimed pick list {}", names.pick_list(*pick_list))
            }
            EventBody::PickListCancelled { pick_list } => format!(
                "the ERP cancelled pick list {}",
                names.pick_list(*pick_list)
            ),
            EventBody::PutBack {
                pick_list,
                location,
                item,
                lot: l,
                qty,
                ..
            } => format!(
                "put back {qty} x {}{} at {} (pick list {} was cancelled)",
                names.item(*item),
                lot(l),
                names.location(*location),
                names.pick_list(*pick_list)
            ),
            EventBody::CountRequested {
                location,
                item,
                lot: l,
                note,
            } => format!(
                "asked for a count of {}{} at {}{}",
                names.item(*item),
                lot(l),
                names.location(*location),
                if note.is_empty() {
                    String::new()
                } else {
                    format!(": {note}")
                }
            ),
            EventBody::BadgeLocked {
                badge,
                failures,
                locked_until_ms,
            } => format!(
                "badge {badge} locked on its PC after {failures} wrong PINs in a row, for {} s",
                locked_until_ms
                    .saturating_sub(event.hlc.wall_ms)
                    .div_ceil(1000)
            ),
            EventBody::Resolved { resolution } => resolution_summary(resolution, names),
        };
        Self {
            event_id: event.id,
            kind: event.kind(),
            hlc_ms: event.hlc.wall_ms,
            device: event.device.to_string(),
            device_name: None,
            // Nobody decided a resolution by hand: the stock rules did, on the server.
            user: match event.body {
                EventBody::Resolved { .. } => String::new(),
                _ => names.user(event.user),
            },
            summary,
        }
    }
}

/// What the rules decided and why, in a sentence.
fn resolution_summary(resolution: &Resolution, names: &dyn Names) -> String {
    let key = |location: &LocationId, item: &ItemId, lot: &Option<aisle_core::Lot>| {
        format!(
            "{}{} at {}",
            names.item(*item),
            lot.as_ref()
                .map(|lot| format!(" lot {}", lot.as_str()))
                .unwrap_or_default(),
            names.location(*location)
        )
    };
    match resolution {
        Resolution::ClaimConflict {
            pick_list,
            winner,
            loser,
        } => format!(
            "pick list {} claimed from two devices: the earliest claim, {} on device {}, won; {} on device {} was told",
            names.pick_list(*pick_list),
            names.user(winner.user),
            winner.device,
            names.user(loser.user),
            loser.device
        ),
        Resolution::NegativeStock {
            location,
            item,
            lot,
            on_hand,
            ..
        } => format!(
            "{} went to {on_hand}: count task raised",
            key(location, item, lot)
        ),
        Resolution::OverPick {
            pick_list,
            line,
            picked,
            line_qty,
            ..
        } => format!(
            "pick list {} line {line}: {picked} picked of {line_qty}: over-pick flagged",
            names.pick_list(*pick_list)
        ),
        Resolution::ShortPick {
            location,
            item,
            lot,
            reason,
            ..
        } => format!(
            "short pick of {} ({reason:?}): count task raised",
            key(location, item, lot)
        ),
        Resolution::CountVariance {
            location,
            item,
            lot,
            counted_qty,
            system_qty,
            ..
        } => format!(
            "count of {}: {counted_qty} against {system_qty} is outside tolerance: waits for a manager's review",
            key(location, item, lot)
        ),
        Resolution::Recount {
            location, item, lot, ..
        } => format!(
            "count of {} rejected: recount task raised",
            key(location, item, lot)
        ),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "LookupAnswer"))]
#[serde(rename_all = "camelCase")]
pub struct LookupView {
    pub resolved: Resolved,
    pub rows: Vec<StockRowView>,
    pub history: Vec<HistoryEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "CountTask"))]
#[serde(rename_all = "camelCase")]
pub struct CountTaskView {
    pub id: TaskId,
    pub location: LocationView,
    pub item: ItemView,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub lot: Option<String>,
    pub reason: String,
    /// Who asked for the count, when a manager did (`reason` is `requested`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub requested_by: Option<String>,
    /// The manager's note on a requested count (may be empty).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub note: Option<String>,
    /// The Aisle version needed to show this stock exactly: an event this version cannot
    /// read yet touches it (docs/protocol.md, "Mixed-version fleets"). Absent when exact.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub needs_update: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "Variance"))]
#[serde(rename_all = "camelCase")]
pub struct VarianceView {
    pub counted_event: EventId,
    pub location: LocationView,
    pub item: ItemView,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub lot: Option<String>,
    pub counted_qty: i64,
    pub expected: i64,
    pub variance: i64,
    pub user: String,
    /// When the count was taken: its hlc's wall-clock milliseconds.
    pub hlc_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "Discrepancy"))]
#[serde(rename_all = "camelCase")]
pub struct DiscrepancyView {
    pub id: String,
    pub kind: String,
    pub summary: String,
    /// The stock key's location, item and lot, when the discrepancy is about one key.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub location: Option<LocationView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub item: Option<ItemView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub lot: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "QuarantinedEvent"))]
#[serde(rename_all = "camelCase")]
pub struct QuarantinedView {
    pub event_id: EventId,
    pub kind: &'static str,
    pub reason: String,
    pub attempts: u32,
    pub summary: String,
    /// The server refused it as stamped too far ahead (`clock_ahead`): a manager can record
    /// it again now, with the corrected time.
    pub can_record_again: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "HistoryFilter"))]
#[cfg_attr(test, ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct HistoryArgs {
    pub item: Option<ItemId>,
    pub location: Option<LocationId>,
    /// A user's id, badge or name.
    pub user: Option<String>,
    /// A device's id.
    pub device: Option<String>,
    pub page: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "HistoryPage"))]
#[serde(rename_all = "camelCase")]
pub struct HistoryPageView {
    pub entries: Vec<HistoryEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub next_page: Option<u32>,
}

/// One point of the stock-over-time chart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "SeriesPoint"))]
#[serde(rename_all = "camelCase")]
pub struct StockPoint {
    pub hlc_ms: u64,
    pub on_hand: i64,
    /// The counted minus the expected quantity, on points that are counts.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub variance: Option<i64>,
}
