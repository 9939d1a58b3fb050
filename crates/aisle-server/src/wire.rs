//! Protocol v1 wire types: every JSON shape the server reads or writes, in one place.
//!
//! Requests are decoded here and converted to domain types ([`aisle_core::Event`]) before
//! anything deeper sees them. An event of an unknown schema version `v` is told apart from
//! merely malformed JSON, so an old server answers a newer device precisely.

use crate::error::AppError;
use aisle_core::event::{Event, EVENT_VERSION};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// At most this many events in one push.
pub const MAX_EVENTS: usize = 1_000;
/// At most this many bytes in one request body (4 MiB).
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// The default and largest page of a pull.
pub const DEFAULT_PULL_LIMIT: u32 = 500;
pub const MAX_PULL_LIMIT: u32 = 5_000;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrollRequest {
    pub code: String,
    pub device_name: String,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EnrollResponse {
    #[schema(format = Uuid)]
    pub tenant: String,
    #[schema(format = Uuid)]
    pub warehouse: String,
    #[schema(format = Uuid)]
    pub device: String,
    /// Shown once; the server keeps only its SHA-256.
    pub token: String,
}

#[derive(Debug, Deserialize)]
struct PushRequestRaw<'a> {
    #[serde(borrow)]
    events: Vec<&'a RawValue>,
}

/// Decodes a push body into events. Any event that does not decode fails the whole
/// request, naming its index: `unsupported_event_version` if its `v` is not ours,
/// otherwise `bad_json`. Too many events is `payload_too_large`.
pub fn decode_push(body: &[u8]) -> Result<Vec<Event>, AppError> {
    let raw: PushRequestRaw<'_> =
        serde_json::from_slice(body).map_err(|error| AppError::BadJson(error.to_string()))?;
    if raw.events.len() > MAX_EVENTS {
        return Err(AppError::PayloadTooLarge);
    }
    let mut events = Vec::with_capacity(raw.events.len());
    for (event_idx, raw_event) in raw.events.iter().enumerate() {
        match serde_json::from_str::<Event>(raw_event.get()) {
            Ok(event) => events.push(event),
            Err(error) => {
                if let Some(version) = foreign_version(raw_event) {
                    return Err(AppError::UnsupportedEventVersion(version));
                }
                return Err(AppError::BadJson(format!("events[{event_idx}]: {error}")));
            }
        }
    }
    Ok(events)
}

/// The event's `v`, if it is a number other than the version this build understands.
fn foreign_version(raw_event: &RawValue) -> Option<u64> {
    #[derive(Deserialize)]
    struct Probe {
        v: Option<serde_json::Value>,
    }
    let probe: Probe = serde_json::from_str(raw_event.get()).ok()?;
    let version = probe.v?.as_u64()?;
    (version != u64::from(EVENT_VERSION)).then_some(version)
}

/// What happened to one pushed event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PushStatus {
    Applied,
    Duplicate,
    Rejected,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PushResult {
    pub id: String,
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

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PushResponse {
    pub results: Vec<PushResult>,
    pub server_time_ms: i64,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PullQuery {
    #[serde(default)]
    pub after: u64,
    /// Events per page (default 500); the server clamps it to 1..=5,000.
    #[param(minimum = 1, maximum = 5_000)]
    pub limit: Option<u32>,
    /// Optional; when given it must be the device's own warehouse.
    pub warehouse: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PulledEvent {
    pub seq: u64,
    /// An `aisle_core::Event` in its JSON form, exactly as it was pushed, or a `resolved`
    /// event the server recorded (authored by its own device identity in the warehouse).
    #[schema(value_type = Object)]
    pub event: Box<RawValue>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PullResponse {
    pub events: Vec<PulledEvent>,
    /// The `after` to ask for next: the last seq returned, or the request's `after`.
    pub next: u64,
    /// SHA-256 hex of the on-hand quantities of the stock keys this page's events touch, in
    /// the server's projection as of `checksum_seq` (`aisle_projection::checksum`).
    pub checksum: String,
    /// The warehouse's last seq when the checksum was taken: a device can compare the
    /// checksum once it has applied exactly the events up to this seq.
    pub checksum_seq: u64,
    pub server_time_ms: i64,
}

// Re-fetching by stock key (`POST /v1/t/{tenant}/events/touching`), for a device whose
// pulled checksum differed from the server's.

/// At most this many stock keys in one request for the events touching them.
pub const MAX_TOUCHING_KEYS: usize = 100;
/// The default and largest page of events touching keys.
pub const DEFAULT_TOUCHING_LIMIT: u32 = 500;
pub const MAX_TOUCHING_LIMIT: u32 = 5_000;

/// A stock key of the device's warehouse.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyRef {
    #[schema(format = Uuid)]
    pub location: String,
    #[schema(format = Uuid)]
    pub item: String,
    /// Absent (or empty) when the stock has no lot.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub lot: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TouchingRequest {
    /// 1 to 100 stock keys.
    #[schema(min_items = 1, max_items = 100)]
    pub keys: Vec<KeyRef>,
    /// Only events with a greater seq (default 0).
    #[serde(default)]
    pub after: u64,
    /// Events per page (default 500, at most 5,000).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 5_000)]
    pub limit: Option<u32>,
    /// Optional; when given it must be the device's own warehouse.
    #[serde(default)]
    pub warehouse: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TouchingResponse {
    /// Events touching any of the keys with `seq > after`, in seq order, at most `limit`.
    pub events: Vec<PulledEvent>,
    /// The `after` to ask for next: the last seq returned, or the request's `after`.
    pub next: u64,
    pub server_time_ms: i64,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StockQuery {
    pub item: Option<String>,
    pub location: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq, Clone, utoipa::ToSchema)]
pub struct StockRow {
    pub location: String,
    pub item: String,
    /// Absent when the stock has no lot.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub lot: Option<String>,
    pub on_hand: i64,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StockResponse {
    pub rows: Vec<StockRow>,
    /// Open discrepancies of the warehouse (about the filtered item/location when given),
    /// in aisle-core's `Discrepancy` form.
    #[schema(value_type = Vec<Object>)]
    pub discrepancies: Vec<aisle_core::stock::Discrepancy>,
    pub server_time_ms: i64,
}

// Master data: the device's download (`GET /v1/t/{tenant}/master`).

/// The default and largest page of a master-data pull, in rows.
pub const DEFAULT_MASTER_LIMIT: u32 = 500;
pub const MAX_MASTER_LIMIT: u32 = 5_000;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MasterQuery {
    /// The `next` of the previous page; 0 (the default) for everything.
    #[serde(default)]
    pub after: u64,
    /// Rows per page (default 500); the server clamps it to 1..=5,000.
    #[param(minimum = 1, maximum = 5_000)]
    pub limit: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MasterBarcode {
    pub code: String,
    /// Base units in one scan of this code (1 for a single, 12 for a case of 12).
    pub pack_qty: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MasterItem {
    #[schema(format = Uuid)]
    pub id: String,
    pub sku: String,
    pub name: String,
    pub base_unit: String,
    pub lot_tracked: bool,
    pub barcodes: Vec<MasterBarcode>,
    pub version: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MasterLocation {
    #[schema(format = Uuid)]
    pub id: String,
    pub warehouse: String,
    pub code: String,
    pub name: String,
    /// Pickers are routed through locations in ascending walk order.
    pub walk_order: i64,
    pub version: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MasterUser {
    #[schema(format = Uuid)]
    pub id: String,
    pub badge: String,
    pub name: String,
    /// `picker`, `manager` or `admin`.
    pub role: String,
    /// An argon2id PHC string; devices check PINs against it offline.
    pub pin_hash: String,
    pub active: bool,
    pub version: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MasterPickLine {
    pub line: u32,
    pub item: String,
    pub location: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub lot: Option<String>,
    pub qty: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MasterPickList {
    #[schema(format = Uuid)]
    pub id: String,
    pub warehouse: String,
    pub reference: String,
    /// `open`, `done` or `cancelled`.
    pub status: String,
    pub lines: Vec<MasterPickLine>,
    pub version: u64,
}

/// One of the device's warehouse's PCs, by the name it was enrolled with.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MasterDevice {
    #[schema(format = Uuid)]
    pub id: String,
    pub name: String,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MasterResponse {
    pub items: Vec<MasterItem>,
    pub locations: Vec<MasterLocation>,
    pub users: Vec<MasterUser>,
    pub pick_lists: Vec<MasterPickList>,
    /// Every PC enrolled in the device's warehouse (revoked ones too: their events stay in
    /// the trail), whole on every page: not versioned, so a device never pages on it.
    #[serde(default)]
    pub devices: Vec<MasterDevice>,
    /// The `after` to ask for next: the highest version in the page, or the request's
    /// `after` when the page is empty.
    pub next: u64,
    pub server_time_ms: i64,
    /// The tenant's PIN policy, whole on every page. Absent from older servers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin_policy: Option<MasterPinPolicy>,
}

/// The fewest digits a PIN may have, per role. A device refuses to sign in a manager or
/// admin whose typed PIN is shorter than `manager_min_digits`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MasterPinPolicy {
    #[schema(minimum = 4, maximum = 12)]
    pub picker_min_digits: u8,
    #[schema(minimum = 4, maximum = 12)]
    pub manager_min_digits: u8,
}

// The ERP integration API (`/v1/t/{tenant}/erp/...`). Rows are named by natural keys;
// warehouses by name or id.

fn default_base_unit() -> String {
    "each".to_owned()
}

fn default_true() -> bool {
    true
}

fn default_status() -> String {
    "open".to_owned()
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErpItem {
    #[schema(min_length = 1, max_length = 64)]
    pub sku: String,
    pub name: String,
    #[serde(default = "default_base_unit")]
    pub base_unit: String,
    #[serde(default)]
    pub lot_tracked: bool,
    #[serde(default)]
    pub barcodes: Vec<MasterBarcode>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErpItems {
    pub items: Vec<ErpItem>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErpLocation {
    /// The warehouse's name or id.
    #[schema(min_length = 1)]
    pub warehouse: String,
    #[schema(min_length = 1, max_length = 64)]
    pub code: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub walk_order: i64,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErpLocations {
    pub locations: Vec<ErpLocation>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErpUser {
    #[schema(min_length = 1, max_length = 64)]
    pub badge: String,
    pub name: String,
    /// `picker`, `manager` or `admin`.
    pub role: String,
    /// An argon2id PHC string made at least at the server's PIN cost (128 MiB, 3 passes);
    /// a cheaper one is refused with `weak_pin_hash`. Send this or `pin`, not both.
    #[serde(default)]
    pub pin_hash: Option<String>,
    /// The plain PIN, 4 to 12 digits and at least the tenant's minimum for the role
    /// (`pin_too_short` otherwise). The server hashes it at its PIN cost and never stores,
    /// logs or echoes it. Send this or `pin_hash`, not both.
    #[serde(default)]
    #[schema(pattern = "^[0-9]{4,12}$")]
    pub pin: Option<String>,
    #[serde(default = "default_true")]
    pub active: bool,
    /// The warehouses the user works in, by name or id. Only their devices get the user;
    /// a warehouse no longer named takes the user off its devices. Empty: no device.
    pub warehouses: Vec<String>,
}

impl std::fmt::Debug for ErpUser {
    // Hand-written so neither a plain PIN nor a hash reaches a log through `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ErpUser")
            .field("badge", &self.badge)
            .field("role", &self.role)
            .field("active", &self.active)
            .field("warehouses", &self.warehouses)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErpUsers {
    pub users: Vec<ErpUser>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErpPickLine {
    pub line: u32,
    pub sku: String,
    /// The location's code in the list's warehouse.
    pub location: String,
    #[serde(default)]
    pub lot: Option<String>,
    pub qty: i64,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErpPickList {
    /// The warehouse's name or id.
    #[schema(min_length = 1)]
    pub warehouse: String,
    #[schema(min_length = 1, max_length = 64)]
    pub reference: String,
    /// `open` (the default), `done` or `cancelled`.
    #[serde(default = "default_status")]
    pub status: String,
    pub lines: Vec<ErpPickLine>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErpPickLists {
    pub pick_lists: Vec<ErpPickList>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErpUpsertResponse {
    pub upserted: usize,
    /// The master version of the last record written: devices that pulled up to it have
    /// the batch.
    pub version: u64,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ErpStockQuery {
    /// A warehouse's name or id; all of the tenant's warehouses when absent.
    pub warehouse: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErpStockRow {
    pub warehouse: String,
    pub location: String,
    /// Absent when master data has no such location.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub location_code: Option<String>,
    pub item: String,
    /// Absent when master data has no such item.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sku: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub lot: Option<String>,
    pub on_hand: i64,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErpStockResponse {
    pub rows: Vec<ErpStockRow>,
    pub server_time_ms: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_version_is_told_apart_from_bad_json() {
        let body = br#"{"events":[{"v":7,"id":"x"}]}"#;
        assert!(
            matches!(decode_push(body), Err(AppError::UnsupportedEventVersion(7))),
            "a version-7 event is an unsupported version, not merely bad json"
        );
        let body = br#"{"events":[{"v":1,"id":"x"}]}"#;
        assert!(
            matches!(decode_push(body), Err(AppError::BadJson(_))),
            "a version-1 event with missing fields is bad json"
        );
        assert!(matches!(decode_push(b"{"), Err(AppError::BadJson(_))));
    }
}
