//! Turning raw wedge input into positioned symbols.
//!
//! A keyboard wedge delivers a barcode as typed characters: often with a trailing CR, LF
//! or TAB, sometimes with a symbology identifier (`]C1`) in front, and with the GS1 group
//! separator either as the real control character 0x1D or as some printable stand-in
//! (`<GS>`, `~`, ...) because a keyboard cannot type 0x1D. This module strips the noise and
//! turns the rest into [`Symbol`]s, each remembering the character position in the raw
//! input it came from, so errors found later still point at what the user scanned.

use super::error::{ScanError, ScanErrorKind};

/// The ASCII group separator that GS1 uses for FNC1 between fields.
pub(crate) const GROUP_SEPARATOR: char = '\u{1D}';

/// One character of the input, or a group separator standing for several raw characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Symbol {
    pub ch: char,
    /// Character offset of this symbol's first raw character.
    pub at: usize,
}

impl Symbol {
    pub fn is_separator(self) -> bool {
        self.ch == GROUP_SEPARATOR
    }
}

/// Every character of `raw`, positioned.
pub(crate) fn symbols_of(raw: &str) -> Vec<Symbol> {
    raw.chars()
        .enumerate()
        .map(|(at, ch)| Symbol { ch, at })
        .collect()
}

/// The symbols as a string, for fields already known to be clean.
pub(crate) fn text_of(symbols: &[Symbol]) -> String {
    symbols.iter().map(|symbol| symbol.ch).collect()
}

/// Whether `symbols` begin with exactly the characters of `prefix`.
pub(crate) fn starts_with(symbols: &[Symbol], prefix: &str) -> bool {
    let mut remaining = symbols.iter();
    prefix
        .chars()
        .all(|expected| remaining.next().is_some_and(|symbol| symbol.ch == expected))
}

/// Drops whitespace and NULs at both ends: wedges append CR, LF or TAB as a terminator and
/// some pad with spaces, and no barcode format we read begins or ends with whitespace.
pub(crate) fn trim_wedge_noise(symbols: &[Symbol]) -> &[Symbol] {
    let is_noise = |symbol: &Symbol| symbol.ch.is_ascii_whitespace() || symbol.ch == '\0';
    let start = symbols
        .iter()
        .position(|symbol| !is_noise(symbol))
        .unwrap_or(symbols.len());
    let end = symbols
        .iter()
        .rposition(|symbol| !is_noise(symbol))
        .map_or(start, |last| last + 1);
    symbols.get(start..end).unwrap_or(&[])
}

/// What a symbology identifier (ISO/IEC 15424) at the start of the input said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Symbology {
    /// No identifier was sent.
    Unknown,
    /// A GS1 carrier with FNC1 in first position: GS1-128 `]C1`, GS1 DataBar `]e0`,
    /// GS1 DataMatrix `]d2`, GS1 QR Code `]Q3`, GS1 DotCode `]J1`.
    Gs1ElementString,
    /// EAN-13, UPC-A or UPC-E (`]E0`).
    EanUpc,
    /// EAN-13, UPC-A or UPC-E followed by its 2- or 5-digit add-on (`]E3`).
    EanUpcWithAddOn,
    /// EAN-8 (`]E4`).
    Ean8,
    /// Some other symbology (plain Code 128 `]C0`, Code 39 `]A0`, QR `]Q1`, ...): the
    /// content decides.
    Other,
}

/// Splits a leading `]` + symbology character + modifier off the input.
pub(crate) fn strip_symbology_identifier(
    symbols: &[Symbol],
) -> Result<(Symbology, &[Symbol]), ScanError> {
    let Some(first) = symbols.first() else {
        return Ok((Symbology::Unknown, symbols));
    };
    if first.ch != ']' {
        return Ok((Symbology::Unknown, symbols));
    }
    let (Some(code), Some(modifier)) = (symbols.get(1), symbols.get(2)) else {
        return Err(ScanError::new(
            first.at,
            ScanErrorKind::InvalidSymbologyIdentifier,
        ));
    };
    if !code.ch.is_ascii_alphabetic() || !modifier.ch.is_ascii_alphanumeric() {
        return Err(ScanError::new(
            first.at,
            ScanErrorKind::InvalidSymbologyIdentifier,
        ));
    }
    let symbology = match (code.ch, modifier.ch) {
        ('C', '1') | ('e', '0') | ('d', '2') | ('Q', '3') | ('J', '1') => {
            Symbology::Gs1ElementString
        }
        ('E', '0') => Symbology::EanUpc,
        ('E', '3') => Symbology::EanUpcWithAddOn,
        ('E', '4') => Symbology::Ean8,
        _ => Symbology::Other,
    };
    Ok((symbology, symbols.get(3..).unwrap_or(&[])))
}

/// Replaces every occurrence of a substitute string by one [`GROUP_SEPARATOR`] symbol
/// positioned at the substitute's first character. Longer substitutes are tried first so
/// that a substitute containing another (`^]` and `]`, say) wins.
pub(crate) fn substitute_separators(symbols: &[Symbol], substitutes: &[String]) -> Vec<Symbol> {
    let mut ordered: Vec<&str> = substitutes
        .iter()
        .map(String::as_str)
        .filter(|substitute| !substitute.is_empty())
        .collect();
    ordered.sort_by_key(|substitute| std::cmp::Reverse(substitute.chars().count()));

    let mut output = Vec::with_capacity(symbols.len());
    let mut symbol_idx = 0;
    while let Some(rest) = symbols.get(symbol_idx..) {
        let Some(first) = rest.first() else { break };
        match ordered
            .iter()
            .find(|substitute| starts_with(rest, substitute))
        {
            Some(substitute) => {
                output.push(Symbol {
                    ch: GROUP_SEPARATOR,
                    at: first.at,
                });
                symbol_idx += substitute.chars().count();
            }
            None => {
                output.push(*first);
                symbol_idx += 1;
            }
        }
    }
    output
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitution_keeps_raw_positions() {
        let symbols = symbols_of("10A<GS>17");
        let substituted = substitute_separators(&symbols, &["<GS>".to_string()]);
        let rendered: String = substituted.iter().map(|symbol| symbol.ch).collect();
        assert_eq!(rendered, "10A\u{1D}17");
        assert_eq!(substituted[3].at, 3, "the separator sits where <GS> began");
        assert_eq!(
            substituted[4].at, 7,
            "characters after it keep their raw offsets"
        );
    }

    #[test]
    fn trimming_all_noise_leaves_nothing() {
        let symbols = symbols_of(" \r\n\t");
        assert!(trim_wedge_noise(&symbols).is_empty());
    }
}
