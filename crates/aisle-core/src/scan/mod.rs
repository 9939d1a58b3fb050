//! Scanner input parsing: from what a barcode scanner typed to a typed [`Scan`].
//!
//! Scanners on the floor are keyboard wedges: they "type" the barcode, so this module gets
//! a string and must work out what was scanned. [`parse_scan`] recognises
//!
//! - plain retail codes: EAN-13, EAN-8, UPC-A, UPC-E (expanded) and GTIN-14, with their
//!   check digits ([`Scan::Gtin`]);
//! - GS1 element strings from GS1-128, GS1 DataMatrix, GS1 QR Code and GS1 DataBar, in raw
//!   or bracketed `(01)…(10)…` form, and GS1 Digital Link URIs ([`Scan::Gs1`]);
//! - our own labels for locations, user badges and items, by a configurable prefix
//!   ([`Scan::Location`], [`Scan::Badge`], [`Scan::Sku`]).
//!
//! It decides in this order, after trimming whitespace the wedge adds around the code:
//!
//! 1. A symbology identifier is stripped. A GS1 one (`]C1`, `]e0`, `]d2`, `]Q3`, `]J1`)
//!    means an element string; `]E0`/`]E4` mean an EAN/UPC code, and `]E3` one with its
//!    2- or 5-digit add-on ([`GtinScan::add_on`]); others (`]C0`, `]Q1`, ...) leave the
//!    decision to the content.
//! 2. An internal prefix (longest first) makes an internal code.
//! 3. `http://` or `https://` makes a Digital Link.
//! 4. A leading `(` makes a bracketed element string.
//! 5. A group separator (0x1D or a configured substitute) makes a raw element string.
//! 6. All digits: 6, 8, 12, 13 or 14 of them make a plain retail code (see
//!    [`GtinSymbology`] for the 6- and 8-digit rules), even one whose check digit is
//!    wrong: at those lengths a mistyped or misread retail code is the likelier story, and
//!    reading it as an element string would turn a typo into, say, a lot number. Any
//!    other number of digits is an element string (`3103001250` is a net weight of
//!    1.250 kg, `37120` a count of 120). An all-digit element string that has a retail
//!    code's length can only be told apart by its symbology identifier (`]C1`).
//! 7. Anything else starting with a digit is tried as an element string (`10ABC123` is a
//!    valid one); if that fails and the length is that of a retail code, the retail
//!    code's error is reported instead, since a mistyped EAN is the likelier story.
//!
//! Every failure is a [`ScanError`] with a position; the parser never panics, whatever
//! the input (a property test feeds it arbitrary strings). It has no clock: the caller
//! passes today's date, which the GS1 century rule needs to read two-digit years.

mod ai_table;
mod date;
mod digital_link;
mod element_string;
mod elements;
mod error;
mod gtin;
mod input;

pub use elements::{Gln, Gs1Element, Gs1Elements, Gs1Syntax, Measure, Sscc};
pub use error::{ScanError, ScanErrorKind};
pub use gtin::{gs1_check_digit, Gtin, GtinScan, GtinSymbology};

use crate::event::{Date, Lot};
use input::{Symbol, Symbology};

/// The longest internal code (after its prefix) that is accepted.
pub const INTERNAL_CODE_MAX_CHARS: usize = 64;

/// Inputs longer than this are refused unread. The largest GS1 DataMatrix holds 3116
/// digits and a QR Code 7089, so no genuine scan comes near it.
pub const MAX_INPUT_CHARS: usize = 8192;

/// How this site's scanners and labels behave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanConfig {
    /// Strings the wedge sends in place of the GS1 group separator (0x1D), which a
    /// keyboard cannot type. The real 0x1D is always understood. Applied only to GS1
    /// element strings, never to internal codes or URIs.
    pub gs_substitutes: Vec<String>,
    /// Prefix of location labels, e.g. `L:A-01-03`. An empty prefix turns the kind off.
    pub location_prefix: String,
    /// Prefix of user badges, e.g. `U:0042`.
    pub badge_prefix: String,
    /// Prefix of our own item labels, e.g. `S:BOLT-M6`.
    pub sku_prefix: String,
}

impl Default for ScanConfig {
    /// Separators `<GS>`, `{GS}`, `^]` and `~`; prefixes `L:`, `U:` and `S:`, which cannot
    /// start any GS1 or retail code.
    ///
    /// `{GS}`, `^]` and `~` hold a character outside the GS1 character set 82, so they can
    /// never be data. `<GS>` is made only of characters that set allows: a lot or serial
    /// holding the literal text `<GS>` would be split there (the fuzzer found it). It stays
    /// in the defaults because many wedges are set up to send it and no label seen in the
    /// field carries it; a site whose labels might should remove it from its scanner setup.
    fn default() -> Self {
        Self {
            gs_substitutes: ["<GS>", "{GS}", "^]", "~"].map(str::to_string).to_vec(),
            location_prefix: "L:".to_string(),
            badge_prefix: "U:".to_string(),
            sku_prefix: "S:".to_string(),
        }
    }
}

/// What was scanned.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(
    clippy::large_enum_variant,
    reason = "a scan is handled one at a time and never stored in bulk; boxing would only make matching clumsier"
)]
pub enum Scan {
    /// A plain retail barcode.
    Gtin(GtinScan),
    /// A GS1 element string or Digital Link.
    Gs1(Gs1Elements),
    /// One of our location labels; the code after the prefix.
    Location(String),
    /// A user badge; the code after the prefix.
    Badge(String),
    /// One of our item labels; the SKU after the prefix.
    Sku(String),
}

impl Scan {
    /// The item's GTIN: a plain code's, or a GS1 scan's AI 01, or failing that AI 02 (the
    /// content of a logistic unit, which is what gets received from a pallet label).
    pub fn gtin(&self) -> Option<&Gtin> {
        match self {
            Self::Gtin(scan) => Some(&scan.gtin),
            Self::Gs1(elements) => elements.gtin().or(elements.content_gtin()),
            Self::Location(_) | Self::Badge(_) | Self::Sku(_) => None,
        }
    }

    /// AI 10 as the event vocabulary's [`Lot`].
    pub fn lot(&self) -> Option<Lot> {
        self.gs1().and_then(Gs1Elements::lot).map(Lot::new)
    }

    /// AI 21.
    pub fn serial(&self) -> Option<&str> {
        self.gs1().and_then(Gs1Elements::serial)
    }

    /// AI 17. Best-before (AI 15) is a different promise and is not substituted.
    pub fn expiry(&self) -> Option<Date> {
        self.gs1().and_then(Gs1Elements::expiry)
    }

    /// AI 15.
    pub fn best_before(&self) -> Option<Date> {
        self.gs1().and_then(Gs1Elements::best_before)
    }

    /// How many: AI 30 (variable count), or failing that AI 37 (count of contained items).
    pub fn count(&self) -> Option<u32> {
        self.gs1()
            .and_then(|elements| elements.count().or(elements.content_count()))
    }

    /// AI 00.
    pub fn sscc(&self) -> Option<&Sscc> {
        self.gs1().and_then(Gs1Elements::sscc)
    }

    /// The GS1 fields, if this is a GS1 scan.
    pub fn gs1(&self) -> Option<&Gs1Elements> {
        match self {
            Self::Gs1(elements) => Some(elements),
            _ => None,
        }
    }
}

/// Parses one scan. `today` is the caller's current date, used only to resolve the century
/// of GS1 two-digit years. Error positions are character offsets into `raw`.
pub fn parse_scan(raw: &str, config: &ScanConfig, today: Date) -> Result<Scan, ScanError> {
    if raw.chars().nth(MAX_INPUT_CHARS).is_some() {
        return Err(ScanError::new(
            MAX_INPUT_CHARS,
            ScanErrorKind::InputTooLong {
                max_chars: MAX_INPUT_CHARS,
            },
        ));
    }
    let all_symbols = input::symbols_of(raw);
    let trimmed = input::trim_wedge_noise(&all_symbols);
    let Some(last) = trimmed.last() else {
        return Err(ScanError::new(0, ScanErrorKind::Empty));
    };
    // Before separator substitution every symbol is one raw character, so this is the raw
    // position just after the data.
    let end_at = last.at + 1;
    let (symbology, content) = input::strip_symbology_identifier(trimmed)?;
    let Some(first) = content.first() else {
        return Err(ScanError::new(end_at, ScanErrorKind::Empty));
    };

    match symbology {
        Symbology::Gs1ElementString => return read_gs1(content, config, end_at, today),
        Symbology::EanUpc | Symbology::EanUpcWithAddOn | Symbology::Ean8 => {
            return gtin::read_plain_code(content, symbology).map(Scan::Gtin)
        }
        Symbology::Unknown | Symbology::Other => {}
    }
    if let Some(scan) = read_internal_code(content, config, end_at)? {
        return Ok(scan);
    }
    if digital_link::looks_like_uri(content) {
        return digital_link::parse_digital_link(content, end_at, today).map(Scan::Gs1);
    }
    if first.ch == '('
        || input::substitute_separators(content, &config.gs_substitutes)
            .iter()
            .any(|symbol| symbol.is_separator())
    {
        return read_gs1(content, config, end_at, today);
    }

    let is_retail_length = [6, 8, 12, 13, 14].contains(&content.len());
    let all_digits = content.iter().all(|symbol| symbol.ch.is_ascii_digit());
    if all_digits && is_retail_length {
        return gtin::read_plain_code(content, symbology).map(Scan::Gtin);
    }
    if all_digits {
        return read_gs1(content, config, end_at, today);
    }
    if first.ch.is_ascii_digit() {
        return match read_gs1(content, config, end_at, today) {
            Ok(scan) => Ok(scan),
            Err(_) if is_retail_length => gtin::read_plain_code(content, symbology).map(Scan::Gtin),
            Err(element_string_error) => Err(element_string_error),
        };
    }
    Err(ScanError::new(first.at, ScanErrorKind::UnrecognisedFormat))
}

/// Reads a bracketed or raw element string, substituting separators in the raw form.
fn read_gs1(
    content: &[Symbol],
    config: &ScanConfig,
    end_at: usize,
    today: Date,
) -> Result<Scan, ScanError> {
    let elements = if content.first().is_some_and(|symbol| symbol.ch == '(') {
        element_string::parse_bracketed(content, end_at, today)?
    } else {
        let substituted = input::substitute_separators(content, &config.gs_substitutes);
        element_string::parse_element_string(&substituted, end_at, today)?
    };
    Ok(Scan::Gs1(elements))
}

/// Recognises an internal code by its prefix, the longest matching prefix winning so that
/// overlapping prefixes ("L:" and "LX:") stay usable. Codes are printable ASCII without
/// spaces, as our own label printer produces them.
fn read_internal_code(
    content: &[Symbol],
    config: &ScanConfig,
    end_at: usize,
) -> Result<Option<Scan>, ScanError> {
    type MakeScan = fn(String) -> Scan;
    let mut kinds: Vec<(&str, MakeScan)> = vec![
        (config.location_prefix.as_str(), Scan::Location),
        (config.badge_prefix.as_str(), Scan::Badge),
        (config.sku_prefix.as_str(), Scan::Sku),
    ];
    kinds.sort_by_key(|(prefix, _)| std::cmp::Reverse(prefix.chars().count()));
    let Some((prefix, make_scan)) = kinds
        .into_iter()
        .find(|(prefix, _)| !prefix.is_empty() && input::starts_with(content, prefix))
    else {
        return Ok(None);
    };
    let code = content.get(prefix.chars().count()..).unwrap_or(&[]);
    if code.is_empty() {
        return Err(ScanError::new(end_at, ScanErrorKind::EmptyInternalCode));
    }
    if let Some(surplus) = code.get(INTERNAL_CODE_MAX_CHARS) {
        return Err(ScanError::new(
            surplus.at,
            ScanErrorKind::InternalCodeTooLong {
                max_chars: INTERNAL_CODE_MAX_CHARS,
            },
        ));
    }
    if let Some(bad) = code.iter().find(|symbol| !symbol.ch.is_ascii_graphic()) {
        return Err(ScanError::new(
            bad.at,
            ScanErrorKind::InvalidCharacter { found: bad.ch },
        ));
    }
    Ok(Some(make_scan(input::text_of(code))))
}
