//! [`AppError`]: every way a desktop action can fail, each with the stable code the UI
//! branches on (`docs/desktop-commands.md`).

use aisle_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("no warehouse profile is open: enroll this PC or start the demo")]
    NoProfile,
    #[error("sign in first: scan your badge and enter your PIN")]
    NotSignedIn,
    #[error("only a manager can do this")]
    Forbidden,
    #[error("that badge and PIN do not match a user of this warehouse")]
    BadPin,
    /// Too many wrong PINs in a row for this badge on this PC.
    #[error("this badge is locked on this PC after {failures} wrong PINs in a row: try again in {}", wait_text(*.wait_s))]
    BadgeLocked { failures: u32, wait_s: u64 },
    /// The PIN was right but shorter than the tenant's minimum for the role.
    #[error(
        "your PIN has fewer than the {min_digits} digits a {role} needs: ask IT for a longer PIN"
    )]
    PinTooShort { role: &'static str, min_digits: u8 },
    #[error("the scan could not be read: {0}")]
    BadScan(String),
    #[error("no item of this warehouse has the barcode {0}")]
    UnknownBarcode(String),
    #[error("no location of this warehouse has the code {0}")]
    UnknownLocation(String),
    #[error("wrong location: expected {expected}, scanned {scanned}")]
    WrongLocation { expected: String, scanned: String },
    #[error("wrong item: expected {expected}, scanned {scanned}")]
    WrongItem { expected: String, scanned: String },
    #[error("{0}")]
    BadQuantity(String),
    #[error("a move needs two different locations: {0} is both the source and the target")]
    SameLocation(String),
    #[error("{location} holds {holds}. Move {qty} anyway?")]
    MoveExceedsSource {
        location: String,
        holds: i64,
        qty: i64,
    },
    #[error("{sku} is lot-tracked: scan or type its lot{}", lot_hint(.lots))]
    LotRequired {
        sku: String,
        /// The lots the location holds of the item, as "lot: qty", to offer.
        lots: Vec<String>,
    },
    #[error("{0} was not found")]
    NotFound(String),
    /// Typed text that fits more than one thing; the message names up to three of them
    /// (made by [`could_be`]). The code is `not_found`: no one thing was found.
    #[error("{0}")]
    Ambiguous(String),
    #[error("{0}")]
    BadSetting(String),
    #[error("{0}")]
    BadNote(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// "45 seconds", "2 minutes", "1 hour": how long until a lock ends, rounded up.
fn wait_text(wait_s: u64) -> String {
    let plural = |n: u64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    match wait_s {
        0..=90 => plural(wait_s.max(1), "second"),
        91..=5_400 => plural(wait_s.div_ceil(60), "minute"),
        _ => plural(wait_s.div_ceil(3_600), "hour"),
    }
}

/// " (here: L2405A: 12, L2406B: 3)" when the location holds lots of the item.
fn lot_hint(lots: &[String]) -> String {
    if lots.is_empty() {
        String::new()
    } else {
        format!(" (here: {})", lots.join(", "))
    }
}

/// `"bolt m" could be Bolt M6 x 20 or Bolt M8 x 40: type more of the name`, naming
/// `names` (the first few) of `n_found` `nouns` in all.
pub(crate) fn could_be(
    typed: &str,
    names: &[String],
    n_found: usize,
    noun: &str,
    hint: &str,
) -> AppError {
    let n_more = n_found.saturating_sub(names.len());
    let listed = match (names, n_more) {
        ([.., last], 0) if names.len() > 1 => {
            format!("{} or {last}", names[..names.len() - 1].join(", "))
        }
        (_, 0) => names.join(", "),
        (_, 1) => format!("{} or 1 more {noun}", names.join(", ")),
        (_, _) => format!("{} or {n_more} more {noun}s", names.join(", ")),
    };
    AppError::Ambiguous(format!("{typed:?} could be {listed}: {hint}"))
}

impl AppError {
    /// The stable, machine-readable code the UI matches on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoProfile => "no_profile",
            Self::NotSignedIn => "not_signed_in",
            Self::Forbidden => "forbidden",
            Self::BadPin => "bad_pin",
            Self::BadgeLocked { .. } => "badge_locked",
            Self::PinTooShort { .. } => "pin_too_short",
            Self::BadScan(_) => "bad_scan",
            Self::UnknownBarcode(_) => "unknown_barcode",
            Self::UnknownLocation(_) => "unknown_location",
            Self::WrongLocation { .. } => "wrong_location",
            Self::WrongItem { .. } => "wrong_item",
            Self::BadQuantity(_) => "bad_quantity",
            Self::SameLocation(_) => "same_location",
            Self::MoveExceedsSource { .. } => "move_exceeds_source",
            Self::LotRequired { .. } => "lot_required",
            Self::NotFound(_) | Self::Ambiguous(_) => "not_found",
            Self::BadSetting(_) => "bad_settings",
            Self::BadNote(_) => "bad_note",
            Self::Store(StoreError::DiskFull) => "disk_full",
            Self::Store(StoreError::TooNew { .. }) => "store_too_new",
            Self::Store(StoreError::Locked { .. }) => "store_locked",
            // A busy database clears up by itself, so the UI may offer a retry.
            Self::Store(error) if error.is_retryable() => "store_busy",
            Self::Store(_) => "store_error",
        }
    }
}
