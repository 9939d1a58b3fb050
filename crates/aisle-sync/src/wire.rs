//! The client's side of protocol v1: the JSON shapes the engine sends and reads.
//!
//! These mirror `aisle_server::wire` field for field. They are restated here rather than
//! imported because the desktop app must not link the server (axum and its stack); the
//! end-to-end tests in the top-level `tests/sync` drive this client against the real
//! server, which is what keeps the two in step. Events are `aisle_core::Event` in their
//! JSON form on both sides.

use aisle_core::ids::{ItemId, LocationId};
use aisle_core::stock::StockKey;
use aisle_core::{Event, Lot};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize)]
pub struct EnrollRequest<'a> {
    pub code: &'a str,
    pub device_name: &'a str,
}

#[derive(Debug, Deserialize)]
pub struct EnrollResponse {
    pub tenant: String,
    pub warehouse: String,
    pub device: String,
    pub token: String,
}

#[derive(Debug, Serialize)]
pub struct PushRequest<'a> {
    pub events: &'a [Event],
}

/// What happened to one pushed event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PushStatus {
    Applied,
    Duplicate,
    Rejected,
}

#[derive(Clone, Debug, Deserialize)]
pub struct PushResult {
    pub id: String,
    pub status: PushStatus,
    #[serde(default)]
    pub seq: Option<u64>,
    /// A stable code such as `payload_mismatch` or `invalid_event`.
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct PushResponse {
    pub results: Vec<PushResult>,
    pub server_time_ms: i64,
}

#[derive(Debug, Deserialize)]
pub struct PulledEvent {
    pub seq: u64,
    pub event: Event,
}

#[derive(Debug, Deserialize)]
pub struct PullResponse {
    pub events: Vec<PulledEvent>,
    /// The `after` for the next page.
    pub next: u64,
    pub server_time_ms: i64,
    /// The stock checksum of the keys this page touches (`aisle_projection::checksum`), in the
    /// server's projection as of `checksum_seq`. Optional so an older server still works.
    #[serde(default)]
    pub checksum: Option<String>,
    #[serde(default)]
    pub checksum_seq: Option<u64>,
}

/// At most this many stock keys in one request for the events touching them.
pub const MAX_TOUCHING_KEYS: usize = 100;

/// A stock key of the device's warehouse, as the server names it.
#[derive(Debug, Serialize)]
pub struct KeyRef<'a> {
    pub location: LocationId,
    pub item: ItemId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lot: Option<&'a str>,
}

impl<'a> KeyRef<'a> {
    pub fn new(key: &'a StockKey) -> Self {
        Self {
            location: key.location,
            item: key.item,
            lot: key.lot.as_ref().map(Lot::as_str),
        }
    }
}

/// `POST /v1/t/{tenant}/events/touching`: the events touching some stock keys.
#[derive(Debug, Serialize)]
pub struct TouchingRequest<'a> {
    pub keys: Vec<KeyRef<'a>>,
    pub after: u64,
    pub limit: u32,
}

#[derive(Debug, Deserialize)]
pub struct TouchingResponse {
    /// Events touching any of the keys with `seq > after`, in seq order.
    pub events: Vec<PulledEvent>,
    /// The `after` for the next page.
    pub next: u64,
    pub server_time_ms: i64,
}

/// Every error answer: a stable code and a message for people.
#[derive(Debug, Deserialize)]
pub struct ErrorBody {
    pub code: String,
    #[serde(default)]
    pub message: String,
}
