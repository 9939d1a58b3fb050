//! GTINs and the plain retail barcodes that carry them: EAN-13, EAN-8, UPC-A, UPC-E and
//! GTIN-14 (ITF-14 or a bare 14-digit number).
//!
//! Every form is normalised to the 14-digit GTIN, left-padded with zeros, which is how
//! items are keyed; the scan also records which form was read, because a UPC-E and the
//! UPC-A it expands to are the same item but not the same label.
//!
//! An 8-digit code is ambiguous: it may be an EAN-8, or a UPC-E with its number system
//! and check digit. The symbology identifier settles it when the wedge sends one (`]E4`
//! is EAN-8, `]E0` UPC-E). Without one the rule is: a code starting with `0` whose UPC-E
//! check digit is right is a UPC-E (EAN-8 codes starting with 0 are restricted-circulation
//! "velocity codes", rare in a warehouse, while UPC-E with number system 0 is common);
//! otherwise it is an EAN-8 if the EAN-8 check digit is right; otherwise a UPC-E with
//! number system 1 if that check digit is right; otherwise the preferred reading's error
//! is reported (UPC-E for a leading 0, EAN-8 otherwise). A 6-digit code is a UPC-E printed without number system and
//! check digit: number system 0 is assumed and the check digit computed.
//!
//! Under `]E3` the wedge sends an EAN-13, UPC-A or UPC-E together with the 2- or 5-digit
//! add-on printed beside it; the add-on is kept apart ([`GtinScan::add_on`]) and the
//! GTIN read from the main code alone.

use super::error::{ScanError, ScanErrorKind};
use super::input::{Symbol, Symbology};
use std::fmt;

/// A 14-digit GTIN whose check digit is right. Shorter GTINs are left-padded with zeros.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Gtin(String);

impl Gtin {
    /// Reads a GTIN-8, -12, -13 or -14 from its digits (as typed into an item master, say).
    /// Error positions are offsets into `digits`.
    pub fn parse(digits: &str) -> Result<Self, ScanError> {
        let symbols = super::input::symbols_of(digits);
        let first_non_digit = symbols.iter().find(|symbol| !symbol.ch.is_ascii_digit());
        if let Some(symbol) = first_non_digit {
            return Err(ScanError::new(
                symbol.at,
                ScanErrorKind::NonDigit { found: symbol.ch },
            ));
        }
        if ![8, 12, 13, 14].contains(&symbols.len()) {
            return Err(ScanError::new(
                0,
                ScanErrorKind::WrongLength {
                    expected: "8, 12, 13 or 14",
                    found: symbols.len(),
                },
            ));
        }
        verify_check_digit(&symbols)?;
        Ok(Self::from_verified_digits(digits))
    }

    /// Pads verified digits (up to 14, check digit included) to a GTIN-14.
    pub(crate) fn from_verified_digits(digits: &str) -> Self {
        Self(format!("{digits:0>14}"))
    }

    /// The 14 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Gtin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Gtin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Gtin({})", self.0)
    }
}

/// Which retail barcode form a plain GTIN scan came from.
///
/// Eight digits are ambiguous. With `]E4` they are an EAN-8 and with `]E0` a UPC-E.
/// Without an identifier: a UPC-E if they start with `0` and the UPC-E check digit is
/// right, else an EAN-8 if its check digit is right, else a UPC-E with number system 1
/// if that check digit is right; if none is right, the error is UPC-E's for a leading `0`
/// and EAN-8's otherwise. Six digits are a
/// UPC-E without number system (0 is assumed) and check digit (it is computed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GtinSymbology {
    Ean13,
    Ean8,
    UpcA,
    /// A zero-suppressed UPC-A; [`GtinScan::scanned`] holds the short form.
    UpcE,
    Gtin14,
}

/// A plain product barcode: what was printed and the GTIN it stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GtinScan {
    pub symbology: GtinSymbology,
    pub gtin: Gtin,
    /// The digits as scanned (6 or 8 for UPC-E), after trimming, without any add-on.
    pub scanned: String,
    /// The 2- or 5-digit add-on printed beside an EAN-13, UPC-A or UPC-E and sent with it
    /// under `]E3`: a periodical's issue number or a book's price, say. It is not part of
    /// the GTIN, which names the same item with or without it.
    pub add_on: Option<String>,
}

/// The GS1 mod-10 check digit for `data_digits` (everything but the check digit), or
/// `None` if they are not all ASCII digits. Weights 3 and 1 alternate from the right.
pub fn gs1_check_digit(data_digits: &str) -> Option<u8> {
    let mut sum: u32 = 0;
    for (idx_from_right, byte) in data_digits.bytes().rev().enumerate() {
        if !byte.is_ascii_digit() {
            return None;
        }
        let weight = if idx_from_right % 2 == 0 { 3 } else { 1 };
        // Only the sum's last digit matters; reducing as we go keeps any length safe.
        sum = (sum + weight * u32::from(byte - b'0')) % 10;
    }
    u8::try_from((10 - sum) % 10).ok()
}

/// Checks that the last of `digits` (all ASCII digits) is the check digit of the others.
pub(crate) fn verify_check_digit(digits: &[Symbol]) -> Result<(), ScanError> {
    let Some((check, data)) = digits.split_last() else {
        return Ok(());
    };
    let data_text: String = data.iter().map(|symbol| symbol.ch).collect();
    verify_check_digit_against(&data_text, *check)
}

/// Checks `check` against the check digit computed over `data_digits`.
fn verify_check_digit_against(data_digits: &str, check: Symbol) -> Result<(), ScanError> {
    let found = check
        .ch
        .to_digit(10)
        .and_then(|digit| u8::try_from(digit).ok());
    match (gs1_check_digit(data_digits), found) {
        (Some(expected), Some(found)) if expected == found => Ok(()),
        (Some(expected), Some(found)) => Err(ScanError::new(
            check.at,
            ScanErrorKind::BadCheckDigit { expected, found },
        )),
        _ => Err(ScanError::new(
            check.at,
            ScanErrorKind::NonDigit { found: check.ch },
        )),
    }
}

/// Expands the 6 data digits of a UPC-E (number system and check digit excluded) to the
/// 11 data digits of its UPC-A, by the last digit's rule.
fn expand_upc_e_data(number_system: char, six: &[char; 6]) -> String {
    let [d1, d2, d3, d4, d5, d6] = *six;
    let body: [char; 10] = match d6 {
        '0'..='2' => [d1, d2, d6, '0', '0', '0', '0', d3, d4, d5],
        '3' => [d1, d2, d3, '0', '0', '0', '0', '0', d4, d5],
        '4' => [d1, d2, d3, d4, '0', '0', '0', '0', '0', d5],
        _ => [d1, d2, d3, d4, d5, '0', '0', '0', '0', d6],
    };
    std::iter::once(number_system).chain(body).collect()
}

/// Reads a UPC-E of 8 digits (number system, six data digits, check digit).
fn read_upc_e8(digits: &[Symbol]) -> Result<GtinScan, ScanError> {
    let chars: Vec<char> = digits.iter().map(|symbol| symbol.ch).collect();
    let (Some(number_system), Some(check), Some(six)) = (
        digits.first(),
        digits.last(),
        chars
            .get(1..7)
            .and_then(|slice| <&[char; 6]>::try_from(slice).ok()),
    ) else {
        return Err(ScanError::new(0, ScanErrorKind::UnrecognisedFormat));
    };
    if !matches!(number_system.ch, '0' | '1') {
        return Err(ScanError::new(
            number_system.at,
            ScanErrorKind::InvalidCharacter {
                found: number_system.ch,
            },
        ));
    }
    let upc_a_data = expand_upc_e_data(number_system.ch, six);
    verify_check_digit_against(&upc_a_data, *check)?;
    Ok(GtinScan {
        symbology: GtinSymbology::UpcE,
        gtin: Gtin::from_verified_digits(&format!("{upc_a_data}{}", check.ch)),
        scanned: chars.iter().collect(),
        add_on: None,
    })
}

/// Reads a UPC-E printed as its six data digits only.
fn read_upc_e6(digits: &[Symbol]) -> GtinScan {
    let chars: Vec<char> = digits.iter().map(|symbol| symbol.ch).collect();
    let six: [char; 6] = std::array::from_fn(|idx| chars.get(idx).copied().unwrap_or('0'));
    let upc_a_data = expand_upc_e_data('0', &six);
    let check = gs1_check_digit(&upc_a_data).unwrap_or(0);
    GtinScan {
        symbology: GtinSymbology::UpcE,
        gtin: Gtin::from_verified_digits(&format!("{upc_a_data}{check}")),
        scanned: chars.iter().collect(),
        add_on: None,
    }
}

fn read_with_check_digit(
    digits: &[Symbol],
    symbology: GtinSymbology,
) -> Result<GtinScan, ScanError> {
    verify_check_digit(digits)?;
    let text: String = digits.iter().map(|symbol| symbol.ch).collect();
    Ok(GtinScan {
        symbology,
        gtin: Gtin::from_verified_digits(&text),
        scanned: text,
        add_on: None,
    })
}

/// Applies the 8-digit rule from the module documentation.
fn read_eight_digits(digits: &[Symbol]) -> Result<GtinScan, ScanError> {
    let starts_with_zero = digits.first().is_some_and(|symbol| symbol.ch == '0');
    let as_upc_e = read_upc_e8(digits);
    if starts_with_zero && as_upc_e.is_ok() {
        return as_upc_e;
    }
    let as_ean8 = read_with_check_digit(digits, GtinSymbology::Ean8);
    match (as_ean8, as_upc_e) {
        (Ok(ean8), _) => Ok(ean8),
        (Err(_), Ok(upc_e)) => Ok(upc_e),
        // Neither reading works: report the one the rule would have preferred.
        (Err(_), Err(upc_e_error)) if starts_with_zero => Err(upc_e_error),
        (Err(ean8_error), Err(_)) => Err(ean8_error),
    }
}

/// Splits an `]E3` transmission into the main code and its add-on. The main code is a
/// UPC-E (8 digits), UPC-A (12) or EAN-13 (13) and the add-on 2 or 5 digits; the six sums
/// are all different, so the total length alone says where the add-on starts.
fn split_add_on(digits: &[Symbol]) -> Option<(&[Symbol], &[Symbol])> {
    let add_on_len = match digits.len() {
        10 | 14 | 15 => 2,
        13 | 17 | 18 => 5,
        _ => return None,
    };
    let main_len = digits.len() - add_on_len;
    Some((digits.get(..main_len)?, digits.get(main_len..)?))
}

/// Reads a plain retail barcode. `digits` is the trimmed input without symbology
/// identifier; `symbology` is what the identifier (if any) said.
pub(crate) fn read_plain_code(
    digits: &[Symbol],
    symbology: Symbology,
) -> Result<GtinScan, ScanError> {
    if let Some(symbol) = digits.iter().find(|symbol| !symbol.ch.is_ascii_digit()) {
        return Err(ScanError::new(
            symbol.at,
            ScanErrorKind::NonDigit { found: symbol.ch },
        ));
    }
    let wrong_length = |expected| {
        let at = digits.first().map_or(0, |symbol| symbol.at);
        Err(ScanError::new(
            at,
            ScanErrorKind::WrongLength {
                expected,
                found: digits.len(),
            },
        ))
    };
    match (symbology, digits.len()) {
        (Symbology::EanUpcWithAddOn, _) => match split_add_on(digits) {
            Some((main, add_on)) => {
                let mut scan = read_plain_code(main, Symbology::EanUpc)?;
                scan.add_on = Some(add_on.iter().map(|symbol| symbol.ch).collect());
                Ok(scan)
            }
            None => wrong_length("10, 13, 14, 15, 17 or 18"),
        },
        (Symbology::Ean8, 8) => read_with_check_digit(digits, GtinSymbology::Ean8),
        (Symbology::Ean8, _) => wrong_length("8"),
        (Symbology::EanUpc, 6) => Ok(read_upc_e6(digits)),
        (Symbology::EanUpc, 8) => read_upc_e8(digits),
        (Symbology::EanUpc, 12) => read_with_check_digit(digits, GtinSymbology::UpcA),
        (Symbology::EanUpc, 13) => read_with_check_digit(digits, GtinSymbology::Ean13),
        (Symbology::EanUpc, _) => wrong_length("6, 8, 12 or 13"),
        (_, 6) => Ok(read_upc_e6(digits)),
        (_, 8) => read_eight_digits(digits),
        (_, 12) => read_with_check_digit(digits, GtinSymbology::UpcA),
        (_, 13) => read_with_check_digit(digits, GtinSymbology::Ean13),
        (_, 14) => read_with_check_digit(digits, GtinSymbology::Gtin14),
        _ => wrong_length("6, 8, 12, 13 or 14"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::input::symbols_of;

    #[test]
    fn upc_e_expands_by_its_last_digit() {
        let expand = |code: &str| {
            let chars: Vec<char> = code.chars().collect();
            let six: [char; 6] = std::array::from_fn(|idx| chars[idx + 1]);
            expand_upc_e_data(chars[0], &six)
        };
        assert_eq!(expand("0425261"), "04210000526", "last digit 0-2");
        assert_eq!(expand("0123453"), "01230000045", "last digit 3");
        assert_eq!(expand("0123454"), "01234000005", "last digit 4");
        assert_eq!(expand("0123456"), "01234500006", "last digit 5-9");
    }

    #[test]
    fn check_digit_of_known_codes() {
        assert_eq!(gs1_check_digit("400638133393"), Some(1));
        assert_eq!(gs1_check_digit("0950600013435"), Some(2));
        assert_eq!(gs1_check_digit("12a"), None);
    }

    #[test]
    fn eight_digits_prefer_upc_e_when_starting_with_zero() {
        // 01234565 is a valid EAN-8 *and* a valid UPC-E; the documented rule picks UPC-E.
        let scan =
            read_plain_code(&symbols_of("01234565"), Symbology::Unknown).expect("valid either way");
        assert_eq!(scan.symbology, GtinSymbology::UpcE);
        let forced =
            read_plain_code(&symbols_of("01234565"), Symbology::Ean8).expect("valid as EAN-8");
        assert_eq!(forced.symbology, GtinSymbology::Ean8);
    }
}
