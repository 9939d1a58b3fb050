//! [`AppError`]: every way a desktop action can fail, each with the stable [`ErrorCode`] the
//! UI branches on (`docs/desktop-commands.md`), and [`CommandError`], the `{code, message}`
//! every desktop command fails with.
//!
//! [`ErrorCode`] is the one list of codes: the UI's `ERROR_CODES` is generated from it
//! (`ui/src/contract.ts`, see `crate::contract`).

use aisle_store::StoreError;
use serde::Serialize;

/// Declares [`ErrorCode`] with its wire word per variant and the list of all of them.
macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident => $code:literal,)*) => {
        /// A stable, machine-readable code such as `disk_full`; the UI matches on it and
        /// never on a message. It serialises as its word.
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)*
        }

        impl ErrorCode {
            /// Every code, in the order the UI lists them.
            pub const ALL: &'static [ErrorCode] = &[$(Self::$variant,)*];

            /// The word on the wire.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $code,)*
                }
            }
        }
    };
}

error_codes! {
    NoProfile => "no_profile",
    NotSignedIn => "not_signed_in",
    Forbidden => "forbidden",
    BadScan => "bad_scan",
    UnknownBarcode => "unknown_barcode",
    UnknownLocation => "unknown_location",
    WrongLocation => "wrong_location",
    WrongItem => "wrong_item",
    BadQuantity => "bad_quantity",
    BadPin => "bad_pin",
    /// Too many wrong PINs: the badge is locked for a while (the message says how long).
    BadgeLocked => "badge_locked",
    /// A PIN shorter than the warehouse's policy allows.
    PinTooShort => "pin_too_short",
    /// Enrolling this PC with a server failed (the message says why).
    EnrollFailed => "enroll_failed",
    /// The database is busy; it clears up by itself, so the UI may offer a retry.
    StoreBusy => "store_busy",
    DiskFull => "disk_full",
    /// The store file was written by a newer Aisle.
    StoreTooNew => "store_too_new",
    /// The device store does not open with its key (missing or wrong): what to do, not SQLite's words.
    StoreLocked => "store_locked",
    StoreError => "store_error",
    NotFound => "not_found",
    SyncError => "sync_error",
    DemoFailed => "demo_failed",
    BadSettings => "bad_settings",
    BadNote => "bad_note",
    SameLocation => "same_location",
    MoveExceedsSource => "move_exceeds_source",
    LotRequired => "lot_required",
    /// The ERP cancelled the pick list: nothing more is picked for it, and what was picked
    /// goes back (the message says what).
    PickListCancelled => "pick_list_cancelled",
    SerialError => "serial_error",
    /// This build has no updater key, or the update failed its checks (the message says
    /// which); nothing was installed.
    UpdateFailed => "update_failed",
    /// An update waits until the events this PC recorded are sent (the message says how
    /// many).
    UpdateBlocked => "update_blocked",
}

impl Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// So a test reads `assert_eq!(error.code(), "bad_pin")`, the word the UI sees.
impl PartialEq<&str> for ErrorCode {
    fn eq(&self, word: &&str) -> bool {
        self.as_str() == *word
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The one error shape every desktop command returns to the UI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct CommandError {
    /// What went wrong, for the UI to branch on.
    #[cfg_attr(test, ts(type = "ErrorCode"))]
    pub code: ErrorCode,
    /// A human-readable sentence the UI may show as is.
    pub message: String,
}

impl CommandError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl From<AppError> for CommandError {
    fn from(error: AppError) -> Self {
        Self::new(error.code(), error.to_string())
    }
}

impl From<StoreError> for CommandError {
    fn from(error: StoreError) -> Self {
        Self::from(AppError::Store(error))
    }
}

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
    #[error("Cancelled by the ERP: {reference} is not picked any more{}", put_back_hint(.put_back))]
    PickListCancelled {
        reference: String,
        /// What to put back, as "4 x SKU to L-01", to say.
        put_back: Vec<String>,
    },
    /// Installing an update now would leave events in the outbox for another version.
    #[error("{} waiting to be sent: sync first, then install (an update never takes queued events with it)", waiting(*.pending))]
    UpdateBlocked { pending: u64 },
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

/// ": put back 4 x BOLT-M6 to A-01-1, ..." when something picked for the list is due back.
fn put_back_hint(put_back: &[String]) -> String {
    if put_back.is_empty() {
        String::new()
    } else {
        format!(": put back {}", put_back.join(", "))
    }
}

/// " (here: L2405A, L2406B: 3)" when the location holds lots of the item.
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
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::NoProfile => ErrorCode::NoProfile,
            Self::NotSignedIn => ErrorCode::NotSignedIn,
            Self::Forbidden => ErrorCode::Forbidden,
            Self::BadPin => ErrorCode::BadPin,
            Self::BadgeLocked { .. } => ErrorCode::BadgeLocked,
            Self::PinTooShort { .. } => ErrorCode::PinTooShort,
            Self::BadScan(_) => ErrorCode::BadScan,
            Self::UnknownBarcode(_) => ErrorCode::UnknownBarcode,
            Self::UnknownLocation(_) => ErrorCode::UnknownLocation,
            Self::WrongLocation { .. } => ErrorCode::WrongLocation,
            Self::WrongItem { .. } => ErrorCode::WrongItem,
            Self::BadQuantity(_) => ErrorCode::BadQuantity,
            Self::SameLocation(_) => ErrorCode::SameLocation,
            Self::MoveExceedsSource { .. } => ErrorCode::MoveExceedsSource,
            Self::LotRequired { .. } => ErrorCode::LotRequired,
            Self::PickListCancelled { .. } => ErrorCode::PickListCancelled,
            Self::UpdateBlocked { .. } => ErrorCode::UpdateBlocked,
            Self::NotFound(_) | Self::Ambiguous(_) => ErrorCode::NotFound,
            Self::BadSetting(_) => ErrorCode::BadSettings,
            Self::BadNote(_) => ErrorCode::BadNote,
            Self::Store(StoreError::DiskFull) => ErrorCode::DiskFull,
            Self::Store(StoreError::TooNew { .. }) => ErrorCode::StoreTooNew,
            Self::Store(StoreError::Locked { .. }) => ErrorCode::StoreLocked,
            // A busy database clears up by itself, so the UI may offer a retry.
            Self::Store(error) if error.is_retryable() => ErrorCode::StoreBusy,
            Self::Store(_) => ErrorCode::StoreError,
        }
    }
}

/// "1 event recorded on this PC is", "3 events recorded on this PC are".
fn waiting(pending: u64) -> String {
    if pending == 1 {
        "1 event recorded on this PC is".to_owned()
    } else {
        format!("{pending} events recorded on this PC are")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_serialises_as_its_word_and_is_listed_once() {
        let mut seen = std::collections::BTreeSet::new();
        for &code in ErrorCode::ALL {
            assert_eq!(
                serde_json::to_value(code).unwrap(),
                serde_json::json!(code.as_str()),
                "the UI matches on the serialised word"
            );
            assert!(
                code.as_str()
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{code} is snake_case"
            );
            assert!(seen.insert(code.as_str()), "{code} is listed twice");
        }
    }

    #[test]
    fn app_errors_reach_the_ui_as_code_and_message() {
        let error = AppError::WrongLocation {
            expected: "A-01".into(),
            scanned: "B-07".into(),
        };
        let json = serde_json::to_value(CommandError::from(error)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "code": "wrong_location",
                "message": "wrong location: expected A-01, scanned B-07"
            }),
            "the UI expects exactly {{code, message}} with a stable code"
        );
        let full = serde_json::to_value(CommandError::from(StoreError::DiskFull)).unwrap();
        assert_eq!(full["code"], "disk_full");
    }
}
