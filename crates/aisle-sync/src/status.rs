//! What the UI shows about sync, published on a `tokio::sync::watch` channel.

use aisle_core::stock::Notice;
use aisle_store::repairs::{ChecksumRepair, RepairOutcome};
use serde::Serialize;

/// An error as the UI gets it: a stable code to branch on and a message for people.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ErrorInfo {
    pub code: String,
    pub message: String,
    pub at_ms: i64,
}

impl ErrorInfo {
    /// `error` as the UI gets it, stamped with the device time it happened.
    pub fn new(error: &crate::SyncError, at_ms: i64) -> Self {
        Self {
            code: error.code().to_owned(),
            message: error.to_string(),
            at_ms,
        }
    }
}

/// How far a long pull has come (the first sync of a new device, say).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Progress {
    /// `"events"` or `"master"`.
    pub phase: &'static str,
    /// Rows applied so far in this phase.
    pub done: u64,
    /// The total, when the server says it.
    pub total: Option<u64>,
}

/// The sync engine's state, for the status bar and the managers' screens.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SyncStatus {
    /// The last exchange reached the server.
    pub online: bool,
    /// Local events not yet acknowledged by the server.
    pub pending: u64,
    /// Local events the server rejected, waiting for a manager.
    pub quarantined: u64,
    /// Open discrepancies and count tasks: what needs a person.
    pub open_conflicts: u64,
    /// The live channel is in use (docs/protocol.md, "Live sync"): another PC's work
    /// arrives as it happens rather than at the next round.
    pub live: bool,
    /// Events pulled from the server that were new here, since the engine started (by its
    /// rounds and its live pulls): when it moves, what the store shows has changed.
    pub pulled_new: u64,
    /// Master-data pulls that changed the store (the ERP's items, locations and pick lists,
    /// a PC's name, the PIN policy), since the engine started: when it moves, what the store
    /// shows may have changed too.
    pub master_changed: u64,
    /// Device time of the last round that completed.
    pub last_success_ms: Option<i64>,
    pub last_error: Option<ErrorInfo>,
    /// Failures in a row, and when the next try is due while backing off.
    pub consecutive_failures: u32,
    pub next_retry_ms: Option<i64>,
    /// The measured offset to server time and the round trip it was measured with.
    pub clock_offset_ms: Option<i64>,
    pub clock_round_trip_ms: Option<i64>,
    /// Set when the device clock is further off than the threshold.
    pub clock_warning: Option<String>,
    pub progress: Option<Progress>,
    /// Things this device's user must be told, such as a lost pick-list claim.
    pub notices: Vec<Notice>,
    /// Pulled pages whose stock checksum differed from the server's. Each was repaired by
    /// fetching its keys' events again (and, failing that, a rebuild) and is recorded in
    /// the store (`Store::checksum_repairs`); counted over the store's whole life.
    pub checksum_mismatches: u64,
    /// Of those, the ones that still differed after the re-fetch and the rebuild.
    pub checksum_unresolved: u64,
    /// The latest of those repairs.
    pub last_checksum_repair: Option<ChecksumRepairStatus>,
    /// Whether the server offers master data (`None` until asked).
    pub master_data_available: Option<bool>,
    /// The Aisle version this PC needs to read every event the server sent it: events of
    /// kinds this build does not read are kept unread until an update (docs/protocol.md,
    /// "Mixed-version fleets"). `None` when it reads everything it has.
    pub needs_update: Option<String>,
}

/// A checksum repair in brief; the store keeps it whole, keys included.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChecksumRepairStatus {
    /// Device time when it finished.
    pub at_ms: i64,
    /// The stock keys the differing page touched.
    pub n_keys: u64,
    /// Events the server returned for them, and how many this device lacked.
    pub n_fetched: u64,
    pub n_missing: u64,
    pub outcome: RepairOutcome,
}

impl From<&ChecksumRepair> for ChecksumRepairStatus {
    fn from(repair: &ChecksumRepair) -> Self {
        Self {
            at_ms: repair.at_ms,
            n_keys: repair.n_keys,
            n_fetched: repair.n_fetched,
            n_missing: repair.n_missing,
            outcome: repair.outcome,
        }
    }
}
