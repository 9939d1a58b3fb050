//! GS1 Digital Link URIs: `https://id.gs1.org/01/09506000134352/10/ABC123?17=201225`.
//!
//! Any host and any path prefix are accepted (brands put Digital Links on their own
//! domains, under their own paths). The path ends in a primary key AI and its value,
//! followed by qualifier AI/value pairs; the query string may add data AIs. The primary
//! key is the *last* path segment that names a primary key AI and is followed only by
//! AI/value pairs. No qualifier AI is itself a primary key, so this finds the key even
//! under a path prefix that contains key-like segments (`/products/01/x/01/{gtin}`), and
//! the search is linear in the path (see `find_primary_key`). Values are percent-decoded
//! and then validated exactly like element string values; a GTIN in AI 01 may be given as
//! 8, 12, 13 or 14 digits, as the Digital Link standard allows, and is padded to 14.
//!
//! The short names of the 2019 standard (`gtin`, `lot`, `ser`, `sscc`, ...) and `exp` for
//! AI 17 are read as their AIs. Query parameters that are not AIs (`linkType=all`) are
//! ignored, and so is a `#fragment`. The order of qualifiers is not enforced: a
//! warehouse reads labels, it does not certify them.

use super::ai_table::lookup;
use super::elements::{Gs1Elements, Gs1Syntax};
use super::error::{ScanError, ScanErrorKind};
use super::input::{text_of, Symbol};
use crate::event::Date;

/// The AIs that may stand as a Digital Link primary key (the dictionary's `dlpkey`).
pub(crate) const PRIMARY_KEYS: &[&str] = &[
    "00", "01", "253", "255", "401", "402", "414", "415", "417", "8003", "8004", "8006", "8010",
    "8013", "8017", "8018",
];

/// Digital Link short names and the AI each stands for.
const SHORT_NAMES: &[(&str, &str)] = &[
    ("sscc", "00"),
    ("gtin", "01"),
    ("lot", "10"),
    ("exp", "17"),
    ("ser", "21"),
    ("cpv", "22"),
    ("tpx", "235"),
    ("gdti", "253"),
    ("glnx", "254"),
    ("gcn", "255"),
    ("ginc", "401"),
    ("gsin", "402"),
    ("gln", "414"),
    ("party", "417"),
    ("grai", "8003"),
    ("giai", "8004"),
    ("itip", "8006"),
    ("cpid", "8010"),
    ("gmn", "8013"),
    ("gsrnp", "8017"),
    ("gsrn", "8018"),
];

/// Whether the input is an http(s) URI, and so should be read as a Digital Link.
pub(crate) fn looks_like_uri(symbols: &[Symbol]) -> bool {
    scheme_len(symbols).is_some()
}

fn scheme_len(symbols: &[Symbol]) -> Option<usize> {
    ["https://", "http://"].iter().find_map(|scheme| {
        let matches = scheme.chars().enumerate().all(|(idx, expected)| {
            symbols
                .get(idx)
                .is_some_and(|symbol| symbol.ch.eq_ignore_ascii_case(&expected))
        });
        matches.then_some(scheme.len())
    })
}

/// The AI a path segment or query key names, by digits or short name.
fn ai_named_by(key: &[Symbol]) -> Option<String> {
    let text = text_of(key);
    if !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit()) {
        return lookup(&text).map(|_| text);
    }
    SHORT_NAMES
        .iter()
        .find(|(short_name, _)| *short_name == text)
        .map(|(_, ai)| (*ai).to_string())
}

/// Parses a Digital Link URI. `end_at` is the raw position just after the URI.
pub(crate) fn parse_digital_link(
    symbols: &[Symbol],
    end_at: usize,
    today: Date,
) -> Result<Gs1Elements, ScanError> {
    let invalid =
        |at: usize, reason| ScanError::new(at, ScanErrorKind::InvalidDigitalLink { reason });
    let position_of = |idx: usize| symbols.get(idx).map_or(end_at, |symbol| symbol.at);

    let authority_start = scheme_len(symbols).unwrap_or(0);
    let authority_end = (authority_start..symbols.len())
        .find(|&idx| {
            symbols
                .get(idx)
                .is_some_and(|symbol| "/?#".contains(symbol.ch))
        })
        .unwrap_or(symbols.len());
    if authority_end == authority_start {
        return Err(invalid(position_of(authority_start), "the uri has no host"));
    }
    let path_end = (authority_end..symbols.len())
        .find(|&idx| {
            symbols
                .get(idx)
                .is_some_and(|symbol| "?#".contains(symbol.ch))
        })
        .unwrap_or(symbols.len());
    let query = match symbols.get(path_end) {
        Some(symbol) if symbol.ch == '?' => {
            let query_start = path_end + 1;
            let query_end = (query_start..symbols.len())
                .find(|&idx| symbols.get(idx).is_some_and(|symbol| symbol.ch == '#'))
                .unwrap_or(symbols.len());
            symbols.get(query_start..query_end).unwrap_or(&[])
        }
        _ => &[],
    };

    let path = symbols.get(authority_end..path_end).unwrap_or(&[]);
    let mut segments: Vec<&[Symbol]> = path.split(|symbol| symbol.ch == '/').skip(1).collect();
    if segments.last().is_some_and(|segment| segment.is_empty()) {
        segments.pop();
    }
    let Some(key_idx) = find_primary_key(&segments, segment_name) else {
        return Err(invalid(
            position_of(authority_end),
            "no gs1 primary key and value at the end of the path",
        ));
    };

    let mut elements = Gs1Elements::new(Gs1Syntax::DigitalLink);
    for pair in segments.get(key_idx..).unwrap_or(&[]).chunks(2) {
        if let [key, value] = pair {
            add_pair(&mut elements, key, value, end_at, today)?;
        }
    }
    for parameter in query.split(|symbol| symbol.ch == '&') {
        let Some(equals_idx) = parameter.iter().position(|symbol| symbol.ch == '=') else {
            continue;
        };
        let key = parameter.get(..equals_idx).unwrap_or(&[]);
        let value = parameter.get(equals_idx + 1..).unwrap_or(&[]);
        if ai_named_by(key).is_some() {
            add_pair(&mut elements, key, value, end_at, today)?;
        }
    }
    Ok(elements)
}

/// What a path segment names, as far as the primary key search cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SegmentName {
    PrimaryKey,
    OtherAi,
    NotAnAi,
}

fn segment_name(segment: &[Symbol]) -> SegmentName {
    match ai_named_by(segment) {
        Some(ai) if PRIMARY_KEYS.contains(&ai.as_str()) => SegmentName::PrimaryKey,
        Some(_) => SegmentName::OtherAi,
        None => SegmentName::NotAnAi,
    }
}

/// The index of the primary key segment: the last that names a primary key AI and is
/// followed by a value and then only AI/value pairs. `name_of` is [`segment_name`]; the
/// tests pass a counting wrapper.
///
/// The search is linear. A candidate key sits an even number of segments before the end,
/// and every second segment after it must name an AI. So walk back from the last pair
/// two segments at a time: the first primary key met is the last candidate, and the
/// first segment that names no AI breaks the tail of every candidate before it, which
/// ends the search. Each segment is named at most once. (Checking each candidate's whole
/// tail afresh, as this once did, is quadratic: a path of thousands of `01` segments
/// ending in a non-AI pair took a fifth of a second.)
fn find_primary_key(
    segments: &[&[Symbol]],
    mut name_of: impl FnMut(&[Symbol]) -> SegmentName,
) -> Option<usize> {
    let mut key_idx = segments.len().checked_sub(2)?;
    loop {
        match name_of(segments.get(key_idx)?) {
            SegmentName::PrimaryKey => return Some(key_idx),
            SegmentName::OtherAi => key_idx = key_idx.checked_sub(2)?,
            SegmentName::NotAnAi => return None,
        }
    }
}

/// Decodes and records one AI/value pair from the path or the query.
fn add_pair(
    elements: &mut Gs1Elements,
    key: &[Symbol],
    raw_value: &[Symbol],
    end_at: usize,
    today: Date,
) -> Result<(), ScanError> {
    let ai_at = key.first().map_or(end_at, |symbol| symbol.at);
    let Some(ai) = ai_named_by(key) else {
        return Err(ScanError::new(
            ai_at,
            ScanErrorKind::UnknownAi { ai: text_of(key) },
        ));
    };
    let Some(entry) = lookup(&ai) else {
        return Err(ScanError::new(ai_at, ScanErrorKind::UnknownAi { ai }));
    };
    let mut value = percent_decode(raw_value)?;
    let is_short_gtin = ai == "01"
        && [8, 12, 13].contains(&value.len())
        && value.iter().all(|symbol| symbol.ch.is_ascii_digit());
    if is_short_gtin {
        let at = value.first().map_or(ai_at, |symbol| symbol.at);
        let padding = vec![Symbol { ch: '0', at }; 14 - value.len()];
        value.splice(0..0, padding);
    }
    elements.add(&ai, entry, &value, ai_at, today)
}

/// Percent-decodes a path segment or query value. Each decoded character keeps the
/// position of its `%`. Escapes of non-ASCII bytes are refused: no GS1 character set
/// contains them.
fn percent_decode(raw: &[Symbol]) -> Result<Vec<Symbol>, ScanError> {
    let mut decoded = Vec::with_capacity(raw.len());
    let mut symbol_idx = 0;
    while let Some(symbol) = raw.get(symbol_idx) {
        if symbol.ch != '%' {
            decoded.push(*symbol);
            symbol_idx += 1;
            continue;
        }
        let hex_digit = |offset: usize| {
            raw.get(symbol_idx + offset)
                .and_then(|digit| digit.ch.to_digit(16))
        };
        let byte = match (hex_digit(1), hex_digit(2)) {
            (Some(high), Some(low)) => high * 16 + low,
            _ => {
                return Err(ScanError::new(
                    symbol.at,
                    ScanErrorKind::InvalidPercentEncoding,
                ))
            }
        };
        let ch = char::from_u32(byte)
            .filter(char::is_ascii)
            .ok_or_else(|| ScanError::new(symbol.at, ScanErrorKind::InvalidPercentEncoding))?;
        decoded.push(Symbol { ch, at: symbol.at });
        symbol_idx += 3;
    }
    Ok(decoded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::input::symbols_of;

    /// Finds the key in `path` and counts how many segments the search named.
    fn search(path: &str) -> (Option<usize>, usize, usize) {
        let symbols = symbols_of(path);
        let segments: Vec<&[Symbol]> = symbols.split(|symbol| symbol.ch == '/').skip(1).collect();
        let mut n_named = 0;
        let found = find_primary_key(&segments, |segment| {
            n_named += 1;
            segment_name(segment)
        });
        (found, n_named, segments.len())
    }

    /// Regression: the search re-checked the whole tail of every candidate, so a crafted
    /// path took time quadratic in its number of segments. Counting the segments named
    /// pins the linear walk without timing anything.
    #[test]
    fn primary_key_search_names_each_segment_at_most_once() {
        let no_key = format!("{}/x/y", "/01".repeat(2000));
        let (found, n_named, n_segments) = search(&no_key);
        assert_eq!(
            found, None,
            "the last pair's key x is no AI, so no key has only pairs after it"
        );
        assert!(
            n_named <= n_segments,
            "named {n_named} of {n_segments} segments; the old search named about half a million"
        );

        let deep_key = format!("/01/09506000134352{}", "/10/A".repeat(2000));
        let (found, n_named, n_segments) = search(&deep_key);
        assert_eq!(
            found,
            Some(0),
            "the GTIN is the key behind 2000 qualifier pairs"
        );
        assert!(
            n_named <= n_segments,
            "named {n_named} of {n_segments} segments"
        );
    }

    #[test]
    fn primary_key_is_the_last_one_followed_only_by_pairs() {
        assert_eq!(search("/products/01/x/01/09506000134352").0, Some(3));
        assert_eq!(search("/01/09506000134352/10/A/21/B").0, Some(0));
        assert_eq!(search("/01/09506000134352/10").0, None, "an odd tail");
        assert_eq!(search("/01").0, None, "a key without a value");
        assert_eq!(search("").0, None);
    }
}
