//! Fuzzes the server's decoding of a push body: `wire::decode_push` turns bytes into
//! `aisle_core::Event`s (or a specific refusal), and each event is then checked with
//! `Event::validate`, as the storage does before it records one.
//!
//! Invariants: nothing panics; a refusal is one of the three documented codes; and every
//! decoded event re-serialises, as the server stores it, to JSON that decodes to the same
//! event with the same verdict from `validate`. That last one is what pulls rely on: the
//! stored payload is what other devices receive.

#![no_main]

use aisle_core::event::Event;
use aisle_server::wire::decode_push;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let events = match decode_push(body) {
        Ok(events) => events,
        Err(refusal) => {
            let code = refusal.code();
            assert!(
                matches!(
                    code,
                    "bad_json" | "payload_too_large" | "unsupported_event_version"
                ),
                "a push body is refused with a documented code, not {code:?}: {refusal}"
            );
            return;
        }
    };
    for event in &events {
        let verdict = event.validate();
        let stored = serde_json::to_string(event).expect("an event always serialises");
        let pulled: Event = serde_json::from_str(&stored)
            .unwrap_or_else(|error| panic!("stored payload {stored} does not decode: {error}"));
        assert_eq!(
            &pulled, event,
            "the stored payload {stored} changed the event"
        );
        assert_eq!(
            pulled.validate(),
            verdict,
            "validation of the stored payload differs"
        );
    }
    // The events pushed again, as the server would store them, decode to the same batch.
    let payloads: Vec<String> = events
        .iter()
        .map(|event| serde_json::to_string(event).expect("serialises"))
        .collect();
    let again = format!("{{\"events\":[{}]}}", payloads.join(","));
    let decoded_again = decode_push(again.as_bytes())
        .unwrap_or_else(|refusal| panic!("re-encoded batch {again} is refused: {refusal}"));
    assert_eq!(
        decoded_again, events,
        "the re-encoded batch decodes differently"
    );
});
