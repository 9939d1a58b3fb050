//! The typed result of a GS1 scan, and the checks every GS1 field goes through.
//!
//! Element strings, their bracketed human-readable form and Digital Link URIs all end up
//! here as (AI, value) pairs: [`Gs1Elements::add`] validates a value against the AI's
//! format from [`super::ai_table`] (character set, length, check digit), then interprets
//! the AIs a warehouse acts on (SSCC, GTIN, lot, serial, dates, counts, measures, order
//! references, location GLN) and keeps every other valid AI raw, with its number.
//!
//! Repeating an AI with the same value is allowed (labels often carry a field in two
//! symbols); repeating it with a different value, or giving two measures of one family
//! such as 3102 and 3103, is an error, because we could not know which one to believe.

use super::ai_table::{AiEntry, Charset};
use super::date::{parse_yymmdd, DateProblem};
use super::error::{ScanError, ScanErrorKind};
use super::gtin::{verify_check_digit, Gtin};
use super::input::{text_of, Symbol};
use crate::event::Date;
use std::fmt;

/// Which syntax a GS1 scan was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Gs1Syntax {
    /// Concatenated AIs and values with group separators, as GS1-128, GS1 DataMatrix,
    /// GS1 QR Code and GS1 DataBar carry them.
    ElementString,
    /// The human-readable `(01)09506000134352(10)ABC` form.
    Bracketed,
    /// A GS1 Digital Link URI.
    DigitalLink,
}

/// One AI and its value, as scanned (after percent-decoding for Digital Link).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Gs1Element {
    /// The AI's digits, e.g. `"240"` or `"3103"`.
    pub ai: String,
    pub value: String,
}

impl Gs1Element {
    /// The AI's short title from the GS1 table, e.g. `"ADDITIONAL ID"`.
    pub fn title(&self) -> &'static str {
        super::ai_table::lookup(&self.ai).map_or("", |entry| entry.title)
    }
}

/// An 18-digit Serial Shipping Container Code (AI 00) whose check digit is right.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Sscc(String);

impl Sscc {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A 13-digit Global Location Number whose check digit is right.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Gln(String);

impl Gln {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A trade measure from the 31nn-36nn AIs: `mantissa / 10^decimals` in the AI's unit.
/// AI 3103 with value `000525` is 0.525 kg net weight.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Measure {
    /// The full four-digit AI, e.g. `"3103"`.
    pub ai: String,
    pub mantissa: u32,
    /// Number of decimal places: the AI's last digit.
    pub decimals: u8,
}

impl Measure {
    /// What is measured, in which unit, e.g. `"NET WEIGHT (kg)"`.
    pub fn title(&self) -> &'static str {
        super::ai_table::lookup(&self.ai).map_or("", |entry| entry.title)
    }
}

impl fmt::Display for Measure {
    /// The decimal value, e.g. `0.525`; integer arithmetic only, so nothing is rounded.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = format!(
            "{:0>width$}",
            self.mantissa,
            width = usize::from(self.decimals) + 1
        );
        let split_at = digits.len() - usize::from(self.decimals);
        match (digits.get(..split_at), digits.get(split_at..)) {
            (Some(whole), Some(fraction)) if !fraction.is_empty() => {
                write!(f, "{whole}.{fraction}")
            }
            _ => f.write_str(&digits),
        }
    }
}

/// The fields of a GS1 scan: typed accessors for what a warehouse uses, the rest raw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gs1Elements {
    syntax: Gs1Syntax,
    elements: Vec<Gs1Element>,
    sscc: Option<Sscc>,
    gtin: Option<Gtin>,
    content_gtin: Option<Gtin>,
    lot: Option<String>,
    serial: Option<String>,
    production_date: Option<Date>,
    packaging_date: Option<Date>,
    best_before: Option<Date>,
    expiry: Option<Date>,
    count: Option<u32>,
    content_count: Option<u32>,
    measures: Vec<Measure>,
    order_references: Vec<Gs1Element>,
    location_gln: Option<Gln>,
    other: Vec<Gs1Element>,
}

impl Gs1Elements {
    pub(crate) fn new(syntax: Gs1Syntax) -> Self {
        Self {
            syntax,
            elements: Vec::new(),
            sscc: None,
            gtin: None,
            content_gtin: None,
            lot: None,
            serial: None,
            production_date: None,
            packaging_date: None,
            best_before: None,
            expiry: None,
            count: None,
            content_count: None,
            measures: Vec::new(),
            order_references: Vec::new(),
            location_gln: None,
            other: Vec::new(),
        }
    }

    pub fn syntax(&self) -> Gs1Syntax {
        self.syntax
    }
    /// Every element in the order scanned, interpreted or not, repeats collapsed.
    pub fn elements(&self) -> &[Gs1Element] {
        &self.elements
    }
    /// The raw value of `ai`, if present.
    pub fn value(&self, ai: &str) -> Option<&str> {
        self.elements
            .iter()
            .find(|element| element.ai == ai)
            .map(|element| element.value.as_str())
    }
    /// AI 00.
    pub fn sscc(&self) -> Option<&Sscc> {
        self.sscc.as_ref()
    }
    /// AI 01: the GTIN of the item the label is on.
    pub fn gtin(&self) -> Option<&Gtin> {
        self.gtin.as_ref()
    }
    /// AI 02: the GTIN of the items inside a logistic unit (with AI 37 giving how many).
    pub fn content_gtin(&self) -> Option<&Gtin> {
        self.content_gtin.as_ref()
    }
    /// AI 10.
    pub fn lot(&self) -> Option<&str> {
        self.lot.as_deref()
    }
    /// AI 21.
    pub fn serial(&self) -> Option<&str> {
        self.serial.as_deref()
    }
    /// AI 11.
    pub fn production_date(&self) -> Option<Date> {
        self.production_date
    }
    /// AI 13.
    pub fn packaging_date(&self) -> Option<Date> {
        self.packaging_date
    }
    /// AI 15.
    pub fn best_before(&self) -> Option<Date> {
        self.best_before
    }
    /// AI 17.
    pub fn expiry(&self) -> Option<Date> {
        self.expiry
    }
    /// AI 30: a variable count of items.
    pub fn count(&self) -> Option<u32> {
        self.count
    }
    /// AI 37: the count of trade items (AI 02) in a logistic unit.
    pub fn content_count(&self) -> Option<u32> {
        self.content_count
    }
    /// AIs 310n-369n, in the order scanned.
    pub fn measures(&self) -> &[Measure] {
        &self.measures
    }
    /// AIs 400-403 (order number, GINC, GSIN, routing code), in the order scanned.
    pub fn order_references(&self) -> &[Gs1Element] {
        &self.order_references
    }
    /// AI 400, the customer's purchase order number.
    pub fn order_number(&self) -> Option<&str> {
        self.order_references
            .iter()
            .find(|element| element.ai == "400")
            .map(|element| element.value.as_str())
    }
    /// AI 414: the GLN of a physical location.
    pub fn location_gln(&self) -> Option<&Gln> {
        self.location_gln.as_ref()
    }
    /// Every valid AI not interpreted above, with its number, in the order scanned.
    pub fn other(&self) -> &[Gs1Element] {
        &self.other
    }

    /// Validates `value` as the data of AI `ai` (described by `entry`, found at `ai_at`)
    /// and records it. `today` resolves the century of two-digit years.
    pub(crate) fn add(
        &mut self,
        ai: &str,
        entry: &AiEntry,
        value: &[Symbol],
        ai_at: usize,
        today: Date,
    ) -> Result<(), ScanError> {
        validate_format(ai, entry, value, ai_at)?;
        let text = text_of(value);
        let conflict = || {
            Err(ScanError::new(
                ai_at,
                ScanErrorKind::ConflictingRepeat { ai: ai.to_string() },
            ))
        };
        if let Some(earlier) = self.elements.iter().find(|element| element.ai == ai) {
            return if earlier.value == text {
                Ok(())
            } else {
                conflict()
            };
        }
        let is_measure = ai.len() == 4
            && ai.starts_with('3')
            && matches!(ai.as_bytes().get(1), Some(b'1'..=b'6'));
        if is_measure
            && self
                .measures
                .iter()
                .any(|measure| measure.ai.get(..3) == ai.get(..3))
        {
            return conflict();
        }

        let element = Gs1Element {
            ai: ai.to_string(),
            value: text.clone(),
        };
        self.elements.push(element.clone());
        let date = |day_zero_allowed| read_date(ai, value, today, day_zero_allowed);
        match ai {
            "00" => self.sscc = Some(Sscc(text)),
            "01" => self.gtin = Some(Gtin::from_verified_digits(&text)),
            "02" => self.content_gtin = Some(Gtin::from_verified_digits(&text)),
            "10" => self.lot = Some(text),
            "21" => self.serial = Some(text),
            "11" => self.production_date = Some(date(true)?),
            "13" => self.packaging_date = Some(date(true)?),
            "15" => self.best_before = Some(date(true)?),
            "17" => self.expiry = Some(date(true)?),
            // Due date and sell-by are checked like the other dates but kept raw: nothing
            // in the warehouse acts on them.
            "12" | "16" => {
                date(true)?;
                self.other.push(element);
            }
            "30" => self.count = text.parse().ok(),
            "37" => self.content_count = text.parse().ok(),
            "400" | "401" | "402" | "403" => self.order_references.push(element),
            "414" => self.location_gln = Some(Gln(text)),
            _ if is_measure => self.measures.push(Measure {
                ai: ai.to_string(),
                mantissa: text.parse().unwrap_or(0),
                decimals: ai
                    .bytes()
                    .last()
                    .map_or(0, |digit| digit.wrapping_sub(b'0')),
            }),
            _ => self.other.push(element),
        }
        Ok(())
    }
}

/// Checks a value against the parts of its AI's format: character set, length and check
/// digit. The value has been cut from the input already, so a value longer than the
/// format allows is reported at its first surplus character.
fn validate_format(
    ai: &str,
    entry: &AiEntry,
    value: &[Symbol],
    ai_at: usize,
) -> Result<(), ScanError> {
    let too_short = |expected: usize| {
        ScanError::new(
            ai_at,
            ScanErrorKind::TooShort {
                ai: ai.to_string(),
                expected,
                found: value.len(),
            },
        )
    };
    let mut offset = 0;
    for part in entry.parts {
        let remaining = value.len().saturating_sub(offset);
        if part.optional && remaining == 0 {
            // Only optional parts follow an optional one (a table property), so the value
            // is complete.
            break;
        }
        let take = part.max.min(remaining);
        if take < part.min {
            // A started optional part must be finished; a missing required part means the
            // value is short of the whole required length.
            let expected = if part.optional {
                offset + part.min
            } else {
                entry.min_value_len()
            };
            return Err(too_short(expected));
        }
        let chunk = value.get(offset..offset + take).unwrap_or(&[]);
        for symbol in chunk {
            if !part.charset.allows(symbol.ch) {
                let kind = if part.charset == Charset::Numeric {
                    ScanErrorKind::NonDigit { found: symbol.ch }
                } else {
                    ScanErrorKind::InvalidCharacter { found: symbol.ch }
                };
                return Err(ScanError::new(symbol.at, kind));
            }
        }
        if part.check_digit {
            verify_check_digit(chunk)?;
        }
        offset += take;
    }
    match value.get(offset) {
        Some(surplus) => Err(ScanError::new(
            surplus.at,
            ScanErrorKind::TooLong {
                ai: ai.to_string(),
                max: entry.max_value_len(),
            },
        )),
        None => Ok(()),
    }
}

/// Reads a YYMMDD value (already checked to be six digits) as a date, with errors pointing
/// at the month or day digits.
fn read_date(
    ai: &str,
    value: &[Symbol],
    today: Date,
    day_zero_allowed: bool,
) -> Result<Date, ScanError> {
    let position = |offset: usize| {
        value
            .get(offset)
            .or(value.first())
            .map_or(0, |symbol| symbol.at)
    };
    let digits: [u8; 6] = std::array::from_fn(|idx| {
        value
            .get(idx)
            .and_then(|symbol| u8::try_from(symbol.ch).ok())
            .unwrap_or(b'0')
    });
    parse_yymmdd(digits, today, day_zero_allowed).map_err(|problem| {
        let ai = ai.to_string();
        match problem {
            DateProblem::Month(month) => {
                ScanError::new(position(2), ScanErrorKind::InvalidMonth { ai, month })
            }
            DateProblem::Day { day, days_in_month } => ScanError::new(
                position(4),
                ScanErrorKind::InvalidDay {
                    ai,
                    day,
                    days_in_month,
                },
            ),
            DateProblem::YearOutOfRange => {
                ScanError::new(position(0), ScanErrorKind::DateOutOfRange { ai })
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_render_with_their_decimals() {
        let measure = |ai: &str, mantissa| Measure {
            ai: ai.to_string(),
            mantissa,
            decimals: ai.bytes().last().unwrap() - b'0',
        };
        assert_eq!(measure("3103", 525).to_string(), "0.525");
        assert_eq!(measure("3102", 123456).to_string(), "1234.56");
        assert_eq!(measure("3100", 42).to_string(), "42");
        assert_eq!(measure("3105", 7).to_string(), "0.00007");
    }
}
