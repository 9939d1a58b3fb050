//! What can be wrong with a scan, and where.
//!
//! Every failure is a [`ScanError`]: a [`ScanErrorKind`] saying what is wrong and the
//! position where it was found. Positions count *characters* (Unicode scalar values), from
//! zero, in the raw input exactly as the scanner delivered it, before any trimming,
//! symbology-identifier stripping or separator substitution, so the UI can underline the
//! offending character in what the user sees. A problem found at the very end of the input
//! (a truncated field, say) is reported at the input's length.
//!
//! Kinds carry a stable [`ScanErrorKind::code`] so the UI can react to a kind without
//! matching on message strings.

/// A scan that could not be understood: what is wrong, and at which character.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} at position {}{}", .kind.headline(), .position, .kind.detail_suffix())]
pub struct ScanError {
    /// Zero-based character offset into the raw input (not a byte offset).
    pub position: usize,
    pub kind: ScanErrorKind,
}

impl ScanError {
    pub(crate) fn new(position: usize, kind: ScanErrorKind) -> Self {
        Self { position, kind }
    }

    /// The stable machine-readable code of the kind, e.g. `"bad_check_digit"`.
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }
}

/// What is wrong with a scan. Application identifiers are given as their digits, e.g. `"17"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanErrorKind {
    /// Nothing was scanned (or only whitespace, a symbology identifier or separators).
    Empty,
    /// More characters than any barcode carries; refused before parsing.
    InputTooLong { max_chars: usize },
    /// The input matches none of the formats this parser knows.
    UnrecognisedFormat,
    /// A `]` that does not start a three-character symbology identifier such as `]C1`.
    InvalidSymbologyIdentifier,
    /// A digit was required here.
    NonDigit { found: char },
    /// This character is not allowed here (outside the field's character set).
    InvalidCharacter { found: char },
    /// A GS1 mod-10 check digit does not match the digits before it.
    BadCheckDigit { expected: u8, found: u8 },
    /// A numeric code of a length that no GTIN or UPC-E form has.
    WrongLength {
        expected: &'static str,
        found: usize,
    },
    /// Digits where an application identifier belongs that are not one in the GS1 table.
    UnknownAi { ai: String },
    /// The input ends inside an application identifier.
    TruncatedAi,
    /// A group separator where an application identifier should start.
    UnexpectedSeparator,
    /// A field's value has fewer characters than its format requires.
    TooShort {
        ai: String,
        expected: usize,
        found: usize,
    },
    /// A field's value has more characters than its format allows.
    TooLong { ai: String, max: usize },
    /// A YYMMDD date whose month is not 01-12.
    InvalidMonth { ai: String, month: u8 },
    /// A YYMMDD date whose day does not exist in its month.
    InvalidDay {
        ai: String,
        day: u8,
        days_in_month: u8,
    },
    /// A date whose year, after the century rule, does not fit the calendar type.
    DateOutOfRange { ai: String },
    /// The same application identifier twice with different values (or two measures of
    /// one family, such as 3102 and 3103).
    ConflictingRepeat { ai: String },
    /// A human-readable `(01)…(10)…` element string that is not well formed.
    MalformedBracketedAi,
    /// A URI that is not a usable GS1 Digital Link.
    InvalidDigitalLink { reason: &'static str },
    /// A `%` not followed by two hex digits, or an escape that decodes to non-ASCII.
    InvalidPercentEncoding,
    /// An internal code (location, badge, SKU) with nothing after its prefix.
    EmptyInternalCode,
    /// An internal code longer than [`super::INTERNAL_CODE_MAX_CHARS`].
    InternalCodeTooLong { max_chars: usize },
}

impl ScanErrorKind {
    /// A stable snake_case code for the UI and logs; never changes once released.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "empty",
            Self::InputTooLong { .. } => "input_too_long",
            Self::UnrecognisedFormat => "unrecognised_format",
            Self::InvalidSymbologyIdentifier => "invalid_symbology_identifier",
            Self::NonDigit { .. } => "non_digit",
            Self::InvalidCharacter { .. } => "invalid_character",
            Self::BadCheckDigit { .. } => "bad_check_digit",
            Self::WrongLength { .. } => "wrong_length",
            Self::UnknownAi { .. } => "unknown_ai",
            Self::TruncatedAi => "truncated_ai",
            Self::UnexpectedSeparator => "unexpected_separator",
            Self::TooShort { .. } => "too_short",
            Self::TooLong { .. } => "too_long",
            Self::InvalidMonth { .. } => "invalid_month",
            Self::InvalidDay { .. } => "invalid_day",
            Self::DateOutOfRange { .. } => "date_out_of_range",
            Self::ConflictingRepeat { .. } => "conflicting_repeat",
            Self::MalformedBracketedAi => "malformed_bracketed_ai",
            Self::InvalidDigitalLink { .. } => "invalid_digital_link",
            Self::InvalidPercentEncoding => "invalid_percent_encoding",
            Self::EmptyInternalCode => "empty_internal_code",
            Self::InternalCodeTooLong { .. } => "internal_code_too_long",
        }
    }

    /// The first half of the message, which comes before "at position N".
    fn headline(&self) -> &'static str {
        match self {
            Self::Empty => "empty scan",
            Self::InputTooLong { .. } => "scan too long",
            Self::UnrecognisedFormat => "unrecognised scan format",
            Self::InvalidSymbologyIdentifier => "malformed symbology identifier",
            Self::NonDigit { .. } => "expected a digit",
            Self::InvalidCharacter { .. } => "character not allowed",
            Self::BadCheckDigit { .. } => "bad check digit",
            Self::WrongLength { .. } => "wrong number of digits",
            Self::UnknownAi { .. } => "unknown application identifier",
            Self::TruncatedAi => "input ends inside an application identifier",
            Self::UnexpectedSeparator => "unexpected group separator",
            Self::TooShort { .. } => "value too short",
            Self::TooLong { .. } => "value too long",
            Self::InvalidMonth { .. } => "invalid month",
            Self::InvalidDay { .. } => "invalid day",
            Self::DateOutOfRange { .. } => "date out of range",
            Self::ConflictingRepeat { .. } => {
                "application identifier repeated with a different value"
            }
            Self::MalformedBracketedAi => "malformed bracketed application identifier",
            Self::InvalidDigitalLink { .. } => "invalid gs1 digital link",
            Self::InvalidPercentEncoding => "invalid percent-encoding",
            Self::EmptyInternalCode => "internal code has nothing after its prefix",
            Self::InternalCodeTooLong { .. } => "internal code too long",
        }
    }

    /// The part after "at position N", with its leading ": ", or nothing.
    fn detail_suffix(&self) -> String {
        let detail = match self {
            Self::InputTooLong { max_chars } | Self::InternalCodeTooLong { max_chars } => {
                format!("at most {max_chars} characters are accepted")
            }
            Self::NonDigit { found } | Self::InvalidCharacter { found } => {
                format!("found {found:?}")
            }
            Self::BadCheckDigit { expected, found } => {
                format!("expected {expected}, found {found}")
            }
            Self::WrongLength { expected, found } => {
                format!("expected {expected} digits, found {found}")
            }
            Self::UnknownAi { ai } => format!("no ai {ai} in the gs1 table"),
            Self::TooShort {
                ai,
                expected,
                found,
            } => format!("ai {ai} needs at least {expected} characters, found {found}"),
            Self::TooLong { ai, max } => format!("ai {ai} allows at most {max} characters"),
            Self::InvalidMonth { ai, month } => format!("ai {ai} has month {month:02}"),
            Self::InvalidDay {
                ai,
                day,
                days_in_month,
            } => format!("ai {ai} has day {day:02} in a month of {days_in_month} days"),
            Self::DateOutOfRange { ai } | Self::ConflictingRepeat { ai } => format!("ai {ai}"),
            Self::InvalidDigitalLink { reason } => (*reason).to_string(),
            Self::Empty
            | Self::UnrecognisedFormat
            | Self::InvalidSymbologyIdentifier
            | Self::TruncatedAi
            | Self::UnexpectedSeparator
            | Self::MalformedBracketedAi
            | Self::InvalidPercentEncoding
            | Self::EmptyInternalCode => return String::new(),
        };
        format!(": {detail}")
    }
}
