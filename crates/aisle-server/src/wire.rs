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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollRequest {
    pub code: String,
    pub device_name: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct EnrollResponse {
    pub tenant: String,
    pub warehouse: String,
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PushStatus {
    Applied,
    Duplicate,
    Rejected,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushResult {
    pub id: String,
    pub status: PushStatus,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub seq: Option<u64>,
    /// A stable code: `payload_mismatch` or `invalid_event`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reason: Option<String>,
    /// For people: what exactly was invalid.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub message: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct PushResponse {
    pub results: Vec<PushResult>,
    pub server_time_ms: i64,
}

#[derive(Debug, Deserialize)]
pub struct PullQuery {
    #[serde(default)]
    pub after: u64,
    pub limit: Option<u32>,
    /// Optional; when given it must be the device's own warehouse.
    pub warehouse: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct PulledEvent {
    pub seq: u64,
    pub event: Box<RawValue>,
}

#[derive(Debug, Serialize)]
pub struct PullResponse {
    pub events: Vec<PulledEvent>,
    /// The `after` to ask for next: the last seq returned, or the request's `after`.
    pub next: u64,
    pub server_time_ms: i64,
}

#[derive(Debug, Deserialize)]
pub struct StockQuery {
    pub item: Option<String>,
    pub location: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq, Clone)]
pub struct StockRow {
    pub location: String,
    pub item: String,
    /// Absent when the stock has no lot.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub lot: Option<String>,
    pub on_hand: i64,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct StockResponse {
    pub rows: Vec<StockRow>,
    /// Open discrepancies of the warehouse (about the filtered item/location when given),
    /// in aisle-core's `Discrepancy` form.
    pub discrepancies: Vec<aisle_core::stock::Discrepancy>,
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
