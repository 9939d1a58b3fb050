//! GS1 element strings: `01095060001343521725123110ABC123` and `(01)…(17)…(10)…`.
//!
//! The raw form is what GS1-128, GS1 DataMatrix, GS1 QR Code and GS1 DataBar carry: AI,
//! value, AI, value, with a group separator (FNC1, sent as 0x1D or a substitute) after
//! every variable-length value that is not last. The AI's length comes from its first two
//! digits and its value's length from the AI table. Fixed-length values are cut at their
//! length whether or not a separator follows (GS1 lists only some of them as "predefined"
//! and so separator-free, but reading the others the same way accepts every valid string
//! and a few sloppy ones besides); variable-length values run to the next separator or the
//! end. One separator at the very start (FNC1 in first position, as some scanners send it)
//! and one at the very end are ignored.
//!
//! The bracketed form is the human-readable interpretation printed under a barcode, which
//! people type or paste. A value runs to the next `(` that opens a run of digits closed by
//! `)`: that is the next AI, and if GS1 has no AI with those digits the scan is refused
//! with `unknown_ai` at them, rather than the unknown AI being swallowed into the value
//! before it. A `(` in data is written `\(`, as the GS1 Barcode Syntax Engine writes it
//! (`\` is not in any GS1 character set, so the escape cannot be data); a `(` that is not
//! followed by digits and `)`, as in the lot `AB(C)1`, is read as data without it.

use super::ai_table::{ai_len_for_prefix, lookup, AiEntry};
use super::elements::{Gs1Elements, Gs1Syntax};
use super::error::{ScanError, ScanErrorKind};
use super::input::Symbol;
use crate::event::Date;

/// Parses a raw element string. `end_at` is the raw position just after the data, where
/// problems found at the end of the input are reported.
pub(crate) fn parse_element_string(
    symbols: &[Symbol],
    end_at: usize,
    today: Date,
) -> Result<Gs1Elements, ScanError> {
    let mut elements = Gs1Elements::new(Gs1Syntax::ElementString);
    let mut symbol_idx = usize::from(symbols.first().is_some_and(|symbol| symbol.is_separator()));
    while let Some(first) = symbols.get(symbol_idx) {
        let (ai, entry) = read_ai(symbols, symbol_idx, end_at)?;
        let value_start = symbol_idx + ai.len();
        let next_separator = symbols
            .iter()
            .skip(value_start)
            .position(|symbol| symbol.is_separator())
            .map_or(symbols.len(), |offset| value_start + offset);
        let value_end = if entry.is_fixed_length() {
            next_separator.min(value_start + entry.max_value_len())
        } else {
            next_separator
        };
        let value = symbols.get(value_start..value_end).unwrap_or(&[]);
        elements.add(&ai, entry, value, first.at, today)?;
        symbol_idx = value_end;
        if symbols
            .get(symbol_idx)
            .is_some_and(|symbol| symbol.is_separator())
        {
            symbol_idx += 1;
        }
    }
    if elements.elements().is_empty() {
        return Err(ScanError::new(end_at, ScanErrorKind::Empty));
    }
    Ok(elements)
}

/// Reads the AI starting at `symbol_idx` of a raw element string.
fn read_ai(
    symbols: &[Symbol],
    symbol_idx: usize,
    end_at: usize,
) -> Result<(String, &'static AiEntry), ScanError> {
    let rest = symbols.get(symbol_idx..).unwrap_or(&[]);
    let Some(first) = rest.first() else {
        return Err(ScanError::new(end_at, ScanErrorKind::TruncatedAi));
    };
    // The symbol that ended a run of digits shorter than the AI needs: a separator or
    // a non-digit where the AI continues, or the end of the input.
    let run_breaker_error = |digit_count: usize| match rest.get(digit_count) {
        Some(symbol) if symbol.is_separator() => {
            ScanError::new(symbol.at, ScanErrorKind::UnexpectedSeparator)
        }
        Some(symbol) => ScanError::new(symbol.at, ScanErrorKind::NonDigit { found: symbol.ch }),
        None => ScanError::new(end_at, ScanErrorKind::TruncatedAi),
    };
    let digits: String = rest
        .iter()
        .take(4)
        .map_while(|symbol| symbol.ch.is_ascii_digit().then_some(symbol.ch))
        .collect();
    if digits.len() < 2 {
        return Err(run_breaker_error(digits.len()));
    }
    let prefix = digits.get(..2).unwrap_or_default();
    let Some(ai_len) = ai_len_for_prefix(prefix) else {
        return Err(ScanError::new(
            first.at,
            ScanErrorKind::UnknownAi {
                ai: prefix.to_string(),
            },
        ));
    };
    let Some(ai) = digits.get(..ai_len) else {
        return Err(run_breaker_error(digits.len()));
    };
    match lookup(ai) {
        Some(entry) => Ok((ai.to_string(), entry)),
        None => Err(ScanError::new(
            first.at,
            ScanErrorKind::UnknownAi { ai: ai.to_string() },
        )),
    }
}

/// Parses the bracketed human-readable form. `end_at` as for [`parse_element_string`].
pub(crate) fn parse_bracketed(
    symbols: &[Symbol],
    end_at: usize,
    today: Date,
) -> Result<Gs1Elements, ScanError> {
    let mut elements = Gs1Elements::new(Gs1Syntax::Bracketed);
    let mut symbol_idx = 0;
    while let Some(open) = symbols.get(symbol_idx) {
        if open.ch != '(' {
            return Err(ScanError::new(open.at, ScanErrorKind::MalformedBracketedAi));
        }
        let digit_count = symbols
            .iter()
            .skip(symbol_idx + 1)
            .take_while(|symbol| symbol.ch.is_ascii_digit())
            .count();
        let close_idx = symbol_idx + 1 + digit_count;
        match symbols.get(close_idx) {
            Some(close) if close.ch == ')' && digit_count > 0 => {}
            Some(other) => {
                return Err(ScanError::new(
                    other.at,
                    ScanErrorKind::MalformedBracketedAi,
                ))
            }
            None => return Err(ScanError::new(end_at, ScanErrorKind::MalformedBracketedAi)),
        }
        let ai: String = symbols
            .get(symbol_idx + 1..close_idx)
            .unwrap_or(&[])
            .iter()
            .map(|symbol| symbol.ch)
            .collect();
        let ai_at = symbols
            .get(symbol_idx + 1)
            .map_or(open.at, |digit| digit.at);
        let Some(entry) = lookup(&ai) else {
            return Err(ScanError::new(ai_at, ScanErrorKind::UnknownAi { ai }));
        };
        let (value, value_end) = read_bracketed_value(symbols, close_idx + 1);
        elements.add(&ai, entry, &value, ai_at, today)?;
        symbol_idx = value_end;
    }
    if elements.elements().is_empty() {
        return Err(ScanError::new(end_at, ScanErrorKind::Empty));
    }
    Ok(elements)
}

/// Reads the value that starts at `value_start`, up to the next bracketed AI or the end,
/// turning each `\(` into a `(` positioned at its backslash. Returns the value and the
/// index just after it.
fn read_bracketed_value(symbols: &[Symbol], value_start: usize) -> (Vec<Symbol>, usize) {
    let mut value = Vec::new();
    let mut symbol_idx = value_start;
    while let Some(symbol) = symbols.get(symbol_idx) {
        let escapes_a_parenthesis = symbol.ch == '\\'
            && symbols
                .get(symbol_idx + 1)
                .is_some_and(|next| next.ch == '(');
        if escapes_a_parenthesis {
            value.push(Symbol {
                ch: '(',
                at: symbol.at,
            });
            symbol_idx += 2;
            continue;
        }
        if opens_bracketed_ai(symbols, symbol_idx) {
            break;
        }
        value.push(*symbol);
        symbol_idx += 1;
    }
    (value, symbol_idx)
}

/// Whether `(`, one or more digits and `)` start at `symbol_idx`: the opening of an AI,
/// known or not. Each run of digits is looked at only from the `(` just before it, so
/// reading a whole value stays linear in its length.
fn opens_bracketed_ai(symbols: &[Symbol], symbol_idx: usize) -> bool {
    let rest = symbols.get(symbol_idx..).unwrap_or(&[]);
    if rest.first().map(|symbol| symbol.ch) != Some('(') {
        return false;
    }
    let digit_count = rest
        .iter()
        .skip(1)
        .take_while(|symbol| symbol.ch.is_ascii_digit())
        .count();
    digit_count > 0 && rest.get(digit_count + 1).map(|symbol| symbol.ch) == Some(')')
}
