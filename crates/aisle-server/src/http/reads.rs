//! Mixed-version fleets: what a device reads (docs/protocol.md, "Mixed-version fleets").
//!
//! A device names the event kinds it reads in the `Aisle-Reads` header of every request. A
//! pulled event of a kind it does not read still goes to it, in an [`UnreadEvent`] envelope
//! with the stock keys the event touches (computed here, from the event), so an older build
//! keeps syncing: it stores the envelope, marks those keys, and applies the event once an
//! update reads its kind. A device without the header reads every kind (as before the
//! header existed); one that leaves out a kind of the stock's core is refused with
//! `400 bad_reads`.

use crate::error::AppError;
use crate::wire::RawPulledEvent;
use aisle_core::Event;
use aisle_protocol::{KeyRef, UnreadEvent, READS_HEADER};
use axum::http::HeaderMap;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::collections::BTreeSet;

/// The kinds a request's device does not read among those this server writes; `None` when
/// it reads them all (no header, or a header naming every kind).
pub(crate) fn unread_kinds(
    headers: &HeaderMap,
) -> Result<Option<BTreeSet<&'static str>>, AppError> {
    let Some(value) = headers.get(READS_HEADER) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| AppError::BadReads(format!("{READS_HEADER} is not ascii")))?;
    let reads = aisle_protocol::parse_reads(value).map_err(AppError::BadReads)?;
    let unread: BTreeSet<&'static str> = aisle_core::event::EVENT_KINDS
        .iter()
        .map(|(kind, _)| *kind)
        .filter(|kind| !reads.contains(*kind))
        .collect();
    Ok(Some(unread).filter(|unread| !unread.is_empty()))
}

/// Just enough of a stored event to know its kind without decoding the rest.
#[derive(Deserialize)]
struct KindProbe<'a> {
    #[serde(borrow)]
    body: BodyProbe<'a>,
}

#[derive(Deserialize)]
struct BodyProbe<'a> {
    #[serde(rename = "type", borrow)]
    kind: &'a str,
}

/// The stored event's kind.
fn kind_of(event: &RawValue) -> Result<String, AppError> {
    let probe: KindProbe<'_> = serde_json::from_str(event.get())
        .map_err(|error| AppError::Internal(crate::error::ServerError::from(error)))?;
    Ok(probe.body.kind.to_owned())
}

/// An envelope as the server sends it: the stored JSON passed through.
pub(crate) type RawUnreadEvent = UnreadEvent<Box<RawValue>>;

/// Splits a page's events into those the device reads and envelopes for the rest.
pub(crate) fn split(
    events: Vec<RawPulledEvent>,
    unread: Option<&BTreeSet<&'static str>>,
) -> Result<(Vec<RawPulledEvent>, Vec<RawUnreadEvent>), AppError> {
    let Some(unread) = unread else {
        return Ok((events, Vec::new()));
    };
    let mut read = Vec::with_capacity(events.len());
    let mut envelopes = Vec::new();
    for pulled in events {
        let kind = kind_of(&pulled.event)?;
        if !unread.contains(kind.as_str()) {
            read.push(pulled);
            continue;
        }
        let event: Event = serde_json::from_str(pulled.event.get())
            .map_err(|error| AppError::Internal(crate::error::ServerError::from(error)))?;
        envelopes.push(UnreadEvent {
            seq: pulled.seq,
            needs: aisle_core::event::kind_since(&kind)
                .unwrap_or(env!("CARGO_PKG_VERSION"))
                .to_owned(),
            kind,
            keys: event.stock_keys().iter().map(KeyRef::new).collect(),
            event: pulled.event,
        });
    }
    Ok((read, envelopes))
}

/// The events the device reads, for an answer (`events/touching`) that has no envelopes:
/// the others reach the device through its pull, as envelopes.
pub(crate) fn readable(
    events: Vec<RawPulledEvent>,
    unread: Option<&BTreeSet<&'static str>>,
) -> Result<Vec<RawPulledEvent>, AppError> {
    let Some(unread) = unread else {
        return Ok(events);
    };
    let mut read = Vec::with_capacity(events.len());
    for pulled in events {
        if !unread.contains(kind_of(&pulled.event)?.as_str()) {
            read.push(pulled);
        }
    }
    Ok(read)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(READS_HEADER, HeaderValue::from_str(value).expect("header"));
        headers
    }

    #[test]
    fn a_device_that_reads_everything_gets_no_envelopes() {
        assert_eq!(unread_kinds(&HeaderMap::new()).expect("no header"), None);
        let all: Vec<&str> = aisle_core::event::EVENT_KINDS
            .iter()
            .map(|(kind, _)| *kind)
            .collect();
        assert_eq!(unread_kinds(&headers(&all.join(","))).expect("all"), None);
        // A newer device reads kinds this server does not know: still nothing unread.
        let newer = format!("{},relabelled", all.join(","));
        assert_eq!(unread_kinds(&headers(&newer)).expect("newer"), None);
    }

    #[test]
    fn an_older_device_names_what_it_cannot_read() {
        let older = aisle_core::event::EVENT_KINDS
            .iter()
            .map(|(kind, _)| *kind)
            .filter(|kind| !["resolved", "count_requested"].contains(kind))
            .collect::<Vec<_>>()
            .join(", ");
        let unread = unread_kinds(&headers(&older))
            .expect("parsed")
            .expect("some");
        assert_eq!(unread, BTreeSet::from(["count_requested", "resolved"]));
    }

    #[test]
    fn a_header_without_the_core_kinds_or_with_junk_is_refused() {
        let error = unread_kinds(&headers("received,picked")).expect_err("refused");
        assert_eq!(error.code(), "bad_reads");
        assert!(error.to_string().contains("missing moved"), "{error}");
        let error = unread_kinds(&headers("received,Picked;drop")).expect_err("refused");
        assert!(error.to_string().contains("\"Picked;drop\""), "{error}");
    }
}
