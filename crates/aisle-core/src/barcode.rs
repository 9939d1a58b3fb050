//! A barcode an item answers to, with the number of base units one scan of it counts.
//!
//! Master data carries these from the server to every device; both the device store and the
//! server keep them, so the value lives here, with no storage of its own.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Barcode {
    pub code: String,
    /// Base units in one scan of this code (1 for a single, 12 for a case of 12).
    pub pack_qty: i64,
}
