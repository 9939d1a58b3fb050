//! Decoding a push body. The shapes of protocol v1 live in `aisle_protocol`; a push is the
//! one request the server decodes by hand, event by event, so that it can name the event
//! that does not decode and tell an event of an unknown schema version `v` apart from
//! merely malformed JSON (an old server answers a newer device precisely).

use crate::error::AppError;
use aisle_core::event::{Event, EVENT_VERSION};
use aisle_protocol::MAX_EVENTS;
use serde::Deserialize;
use serde_json::value::RawValue;

/// A pulled event as the server holds it: the JSON it stored, passed through untouched.
pub type RawPulledEvent = aisle_protocol::PulledEvent<Box<RawValue>>;

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
                return Err(AppError::BadEvent {
                    event_index: event_idx,
                    detail: error.to_string(),
                });
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
            matches!(
                decode_push(body),
                Err(AppError::BadEvent { event_index: 0, .. })
            ),
            "a version-1 event with missing fields is bad json about that event"
        );
        assert!(matches!(decode_push(b"{"), Err(AppError::BadJson(_))));
    }
}
