//! Fuzzes the scan parser (`aisle_core::scan::parse_scan`): GS1 element strings with and
//! without symbology identifiers and FNC1/GS separators, bracketed strings, Digital Links,
//! retail codes and our own labels, as a keyboard wedge types them.
//!
//! Invariants: nothing panics; an error's position lies within the input (or just after
//! it); a retail code's GTIN parses back to itself; and a GS1 scan's elements, written out
//! again in the bracketed form and in the raw form with 0x1D separators, parse to the same
//! elements. The module has no encoder, so these two writers are the round trip.

#![no_main]

use aisle_core::event::Date;
use aisle_core::scan::{parse_scan, Gs1Element, Gtin, Scan, ScanConfig};
use libfuzzer_sys::fuzz_target;

/// The GS1 group separator (FNC1 in a data position).
const GS: char = '\u{1d}';

fuzz_target!(|data: &[u8]| {
    // Lossy, so that byte-level mutations still reach the parser as text.
    let raw = String::from_utf8_lossy(data);
    let config = ScanConfig::default();
    let today = Date::new(2026, 12, 4).expect("a real date");
    let scan = match parse_scan(&raw, &config, today) {
        Ok(scan) => scan,
        Err(error) => {
            let n_chars = raw.chars().count();
            assert!(
                error.position <= n_chars,
                "error position {} lies past the input of {n_chars} chars: {error:?}",
                error.position
            );
            return;
        }
    };
    match &scan {
        Scan::Gtin(retail) => {
            let again = Gtin::parse(retail.gtin.as_str());
            assert_eq!(
                again.as_ref(),
                Ok(&retail.gtin),
                "a scanned GTIN is a valid GTIN"
            );
        }
        Scan::Gs1(elements) => {
            let bracketed = bracketed(elements.elements());
            match parse_scan(&bracketed, &config, today) {
                Ok(Scan::Gs1(again)) => assert_eq!(
                    again.elements(),
                    elements.elements(),
                    "{raw:?} written bracketed as {bracketed:?} reads differently"
                ),
                other => panic!("{raw:?} written bracketed as {bracketed:?} gives {other:?}"),
            }
            // `]C1` forces an element string: without it an all-digit string of a retail
            // code's length would be read as one. Read without separator substitutes: `<GS>`
            // is made of characters that GS1 data may hold, so a lot `A<GS>B` written raw
            // would be read back as two elements under the default configuration.
            let element_string = element_string(elements.elements());
            let real_separator_only = ScanConfig {
                gs_substitutes: Vec::new(),
                ..ScanConfig::default()
            };
            match parse_scan(&element_string, &real_separator_only, today) {
                Ok(Scan::Gs1(again)) => assert_eq!(
                    again.elements(),
                    elements.elements(),
                    "{raw:?} written raw as {element_string:?} reads differently"
                ),
                other => panic!("{raw:?} written raw as {element_string:?} gives {other:?}"),
            }
        }
        Scan::Location(code) | Scan::Badge(code) | Scan::Sku(code) => {
            assert!(
                !code.is_empty() && code.chars().all(|ch| ch.is_ascii_graphic()),
                "an internal code is printable ASCII: {code:?}"
            );
        }
    }
});

/// `(01)09506000134352(10)AB\(1)`: a `(` in data is escaped, as the parser expects.
fn bracketed(elements: &[Gs1Element]) -> String {
    elements
        .iter()
        .map(|element| format!("({}){}", element.ai, element.value.replace('(', "\\(")))
        .collect()
}

/// `]C1` then AI and value after AI and value, a separator between each two.
fn element_string(elements: &[Gs1Element]) -> String {
    let body: Vec<String> = elements
        .iter()
        .map(|element| format!("{}{}", element.ai, element.value))
        .collect();
    format!("]C1{}", body.join(&GS.to_string()))
}
