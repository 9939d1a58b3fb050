//! The device's side of protocol v1: enrollment, push, pull, the events touching stock
//! keys, stock, and the one error body every endpoint answers with.
//!
//! The pulled-event shapes are generic over how the event is held: a device decodes each
//! into an [`Event`] (the default), while the server passes the JSON it stored through
//! untouched (`PullResponse<Box<RawValue>>`), so a page of thousands of events is never
//! decoded and encoded again. The JSON is the same either way.

use aisle_core::ids::{DeviceId, EventId, ItemId, LocationId, TenantId, WarehouseId};
use aisle_core::stock::{Discrepancy, StockKey};
use aisle_core::{Event, Lot};
use serde::{Deserialize, Serialize};

/// `POST /v1/enroll`: a one-time enrollment code traded for a device token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EnrollRequest {
    pub code: String,
    pub device_name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrollResponse {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub tenant: TenantId,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub warehouse: WarehouseId,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub device: DeviceId,
    /// Shown once; the server keeps only its SHA-256.
    pub token: String,
}

/// A push (`POST /v1/t/{tenant}/events`): at most 1,000 events and 4 MiB.
///
/// The server decodes a push event by event (so it can name the one that does not decode),
/// which is why this shape is only ever written.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushRequest<'a> {
    /// Events in `aisle_core::Event`'s JSON form (schema version `v` = 1). A `resolved`
    /// event is answered `rejected` / `server_only`: only the server records those.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<crate::openapi::Event>))]
    pub events: &'a [Event],
}

/// What happened to one pushed event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PushStatus {
    Applied,
    Duplicate,
    Rejected,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushResult {
    /// The pushed event's id; results come in the order of the push.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: EventId,
    pub status: PushStatus,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub seq: Option<u64>,
    /// A stable code: `payload_mismatch`, `invalid_event`, or `server_only` (a `resolved`
    /// event: only the server records those).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reason: Option<String>,
    /// For people: what exactly was invalid.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub message: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushResponse {
    pub results: Vec<PushResult>,
    pub server_time_ms: i64,
}

/// The query of `GET /v1/t/{tenant}/events`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct PullQuery {
    #[serde(default)]
    pub after: u64,
    /// Events per page (default 500); the server clamps it to 1..=5,000.
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 5_000))]
    pub limit: Option<u32>,
    /// Optional; when given it must be the device's own warehouse.
    pub warehouse: Option<String>,
    /// Live sync: when nothing is after `after`, wait up to this many seconds (the server
    /// caps it at 25) for a push to the warehouse or a master-data change before answering.
    /// Absent or 0: answer at once. The answer's `Aisle-Live` header says why it came.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", param(minimum = 0, maximum = 25))]
    pub wait: Option<u32>,
}

/// The answer header of a pull that asked to `wait`: why it came (docs/protocol.md).
pub const LIVE_HEADER: &str = "aisle-live";

/// One event of a pull, with its seq in the warehouse's log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(bound = ""))]
pub struct PulledEvent<E = Event> {
    pub seq: u64,
    /// An `aisle_core::Event` in its JSON form, exactly as it was pushed, or a `resolved`
    /// event the server recorded (authored by its own device identity in the warehouse).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub event: E,
}

/// The request header in which a device names the event kinds it reads, comma-separated
/// (`received,picked,…`; [`aisle_core::event::EVENT_KINDS`] for this build). Sent on every
/// request; absent, the server takes it that the device reads every kind. It must include
/// [`aisle_core::event::REQUIRED_KINDS`] (docs/protocol.md, "Mixed-version fleets").
pub const READS_HEADER: &str = "aisle-reads";

/// The request header with the Aisle version of the device's build (`0.1.0`), for the
/// server's device list and logs. Informational: what the device reads is [`READS_HEADER`].
pub const VERSION_HEADER: &str = "aisle-version";

/// The longest [`READS_HEADER`] value a server reads.
pub const MAX_READS_BYTES: usize = 2_048;

/// The kinds a [`READS_HEADER`] value names, or why it is refused: each a known shape of
/// name (lowercase letters and underscores), at most 64 of them, and every required kind.
/// A name this side does not know is kept (a device newer than the server reads more).
pub fn parse_reads(value: &str) -> Result<std::collections::BTreeSet<String>, String> {
    if value.len() > MAX_READS_BYTES {
        return Err(format!(
            "{READS_HEADER} is longer than {MAX_READS_BYTES} bytes"
        ));
    }
    let mut kinds = std::collections::BTreeSet::new();
    for kind in value
        .split(',')
        .map(str::trim)
        .filter(|kind| !kind.is_empty())
    {
        if kind.len() > 64 || !kind.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            return Err(format!(
                "{READS_HEADER} names {kind:?}, which is not an event kind"
            ));
        }
        kinds.insert(kind.to_owned());
    }
    if kinds.len() > 64 {
        return Err(format!("{READS_HEADER} names more than 64 kinds"));
    }
    let missing: Vec<&str> = aisle_core::event::REQUIRED_KINDS
        .iter()
        .copied()
        .filter(|kind| !kinds.contains(*kind))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "{READS_HEADER} must include every kind of protocol v1's stock; missing {}",
            missing.join(", ")
        ));
    }
    Ok(kinds)
}

/// An event a device said it cannot read ([`READS_HEADER`]), sent in its place in a pull:
/// the device stores it unread, marks the stock keys it touches, and applies it once an
/// update can read it. `event` is the event's JSON exactly as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(bound = ""))]
pub struct UnreadEvent<R> {
    pub seq: u64,
    /// The event's kind (its body's `type`).
    pub kind: String,
    /// The first Aisle version that reads `kind` (`0.3.0`).
    pub needs: String,
    /// The stock keys the event touches, computed by the server
    /// (`aisle_core::Event::stock_keys`); empty for a kind about lists, not stock.
    pub keys: Vec<KeyRef>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub event: R,
}

/// A page of pulled events. `R` is how the events a device cannot read are held: raw JSON on
/// both sides (a server passes its stored text through, a device stores it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(bound = ""))]
pub struct PullResponse<E = Event, R = E> {
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<PulledEvent>))]
    pub events: Vec<PulledEvent<E>>,
    /// The page's events of kinds the device said it cannot read, in seq order, instead of
    /// in `events` (absent when none). `next` covers both lists.
    #[serde(default = "Vec::new", skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub unread: Vec<UnreadEvent<R>>,
    /// The `after` to ask for next: the last seq returned, or the request's `after`.
    pub next: u64,
    /// SHA-256 hex of the on-hand quantities of the stock keys this page's events touch, in
    /// the server's projection as of `checksum_seq`. Always sent; a device still reads a
    /// page without it.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = String, required = true))]
    pub checksum: Option<String>,
    /// The warehouse's last seq when the checksum was taken: a device can compare the
    /// checksum once it has applied exactly the events up to this seq.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = u64, required = true))]
    pub checksum_seq: Option<u64>,
    pub server_time_ms: i64,
}

/// A stock key of the device's warehouse (`POST /v1/t/{tenant}/events/touching`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct KeyRef {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub location: LocationId,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub item: ItemId,
    /// Absent (or empty) when the stock has no lot.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub lot: Option<String>,
}

impl KeyRef {
    /// The key as the wire names it (the warehouse is the device's own).
    pub fn new(key: &StockKey) -> Self {
        Self {
            location: key.location,
            item: key.item,
            lot: key.lot.as_ref().map(|lot| Lot::as_str(lot).to_owned()),
        }
    }

    /// The key in `warehouse`; an empty lot is no lot, as in storage.
    pub fn to_stock_key(&self, warehouse: WarehouseId) -> StockKey {
        StockKey {
            warehouse,
            location: self.location,
            item: self.item,
            lot: self
                .lot
                .as_deref()
                .filter(|lot| !lot.is_empty())
                .map(Lot::new),
        }
    }
}

/// `POST /v1/t/{tenant}/events/touching`: the events touching some stock keys, for a device
/// whose pulled checksum differed from the server's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TouchingRequest {
    /// 1 to 100 stock keys.
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 100))]
    pub keys: Vec<KeyRef>,
    /// Only events with a greater seq (default 0).
    #[serde(default)]
    pub after: u64,
    /// Events per page (default 500, at most 5,000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 5_000))]
    pub limit: Option<u32>,
    /// Optional; when given it must be the device's own warehouse.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warehouse: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(bound = ""))]
pub struct TouchingResponse<E = Event> {
    /// Events touching any of the keys with `seq > after`, in seq order, at most `limit`.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<PulledEvent>))]
    pub events: Vec<PulledEvent<E>>,
    /// The `after` to ask for next: the last seq returned, or the request's `after`.
    pub next: u64,
    pub server_time_ms: i64,
}

/// The query of `GET /v1/t/{tenant}/stock`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct StockQuery {
    pub item: Option<String>,
    pub location: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StockRow {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub location: LocationId,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub item: ItemId,
    /// Absent when the stock has no lot.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub lot: Option<String>,
    pub on_hand: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StockResponse {
    pub rows: Vec<StockRow>,
    /// Open discrepancies of the warehouse (about the filtered item/location when given),
    /// in aisle-core's `Discrepancy` form.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub discrepancies: Vec<Discrepancy>,
    pub server_time_ms: i64,
}

/// The body of every error: a stable `code` to match on and a `message` for people, with
/// the details some codes carry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// Stable, e.g. `tenant_mismatch`; see the error table in `docs/protocol.md`.
    pub code: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub message: String,
    /// With `bad_json` for a push whose one event does not decode: that event's index in
    /// `events`, so a device can set that one event aside and send the rest.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub event_index: Option<usize>,
    /// With `payload_too_large`: the limits the request went over.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub limit: Option<PayloadLimit>,
}

impl ErrorBody {
    /// A body with only a code and a message.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            event_index: None,
            limit: None,
        }
    }
}

/// The size limits of a request, as `payload_too_large` names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PayloadLimit {
    /// At most this many events in one push.
    pub events: usize,
    /// At most this many bytes in one request body.
    pub bytes: usize,
}

impl PayloadLimit {
    /// Protocol v1's limits.
    pub const V1: Self = Self {
        events: crate::MAX_EVENTS,
        bytes: crate::MAX_BODY_BYTES,
    };
}
