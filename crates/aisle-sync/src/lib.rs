//! aisle-sync: the device's sync engine.
//!
//! It gets every event recorded on this device to the tenant's Aisle server exactly once in
//! effect, and brings back every other device's events, over protocol v1
//! (`docs/protocol.md`). The shape follows atuin's record sync: [`plan::plan`] is a pure
//! function from a snapshot of the outbox and cursors to the next operations, and
//! [`engine::Engine`] executes them against the server and the store, then plans again.
//!
//! - Enrollment ([`enroll`]) trades a one-time code for a device token, which goes to the OS
//!   keyring ([`token`]) and nowhere else; so does the key of the encrypted store file
//!   ([`store_key`]).
//! - Push drains the outbox in hlc order in batches; each event is settled by the server's
//!   answer for it (sent, or quarantined with the reason), so one bad event never blocks
//!   the rest. Failures back off exponentially with full jitter ([`backoff`]).
//! - Pull applies pages through `aisle_store::Store::apply_remote`, moving the cursor in the
//!   same transaction, while the next page is already being fetched. When a page's stock
//!   checksum differs from the server's, the events touching its stock keys are fetched
//!   again and the episode is recorded (`aisle_store::repairs`).
//! - Besides its timer, the background engine syncs on a new local event, on "sync now",
//!   and when the OS reports the network back ([`netwatch`]).
//! - Every exchange measures the offset to the server's clock ([`clock`]), which corrects
//!   the device's hybrid logical clock.
//! - The UI follows a [`status::SyncStatus`] on a `tokio::sync::watch` channel and lists
//!   what needs a person through [`conflicts`].
//!
//! What it must never do: log, persist or display a device token; decide stock semantics
//! (conflicts are derived by `aisle_core::stock` and only surfaced here); or hold an event
//! only in memory (everything it sends comes from, and is settled in, the store).

pub mod backoff;
mod client;
pub mod clock;
pub mod conflicts;
pub mod engine;
pub mod enroll;
mod error;
pub mod master;
pub mod netwatch;
pub mod plan;
pub mod status;
pub mod store_key;
pub mod token;

pub use client::Client;
pub use clock::{DeviceClock, SharedClock};
pub use engine::{Engine, SyncHandle};
pub use enroll::{check_server_url, enroll, DeviceProfile, EnrollForm};
pub use error::SyncError;
pub use status::SyncStatus;
pub use token::{KeyringTokenStore, MemoryTokenStore, Token, TokenStore};

use std::time::Duration;

/// How the engine behaves. The defaults suit a warehouse PC on a normal network.
#[derive(Clone, Debug)]
pub struct SyncConfig {
    /// Events per push request (the server takes at most 1,000).
    pub batch_size: u32,
    /// Events per pull page (the server gives at most 5,000). Large pages apply much
    /// faster (docs/BENCHMARKS.md, "Sync: drain and apply"), so the default is the most.
    pub pull_limit: u32,
    /// How long to wait after a local event for more before syncing.
    pub debounce: Duration,
    /// How often to sync when nothing else asks for it.
    pub interval: Duration,
    /// The first retry delay's upper bound; it doubles per consecutive failure.
    pub backoff_base: Duration,
    /// The largest retry delay.
    pub backoff_cap: Duration,
    /// How long one request may take, end to end.
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    /// Warn when the device clock is further than this from the server's.
    pub clock_warn_threshold_ms: i64,
    /// Whether to pull master data (items, locations, users, pick lists) into the store.
    pub pull_master: bool,
    /// Whether the background engine watches the OS's network addresses and syncs as soon
    /// as one comes up ([`netwatch`]).
    pub watch_network: bool,
    /// How long the network must be quiet after an address came up before that sync (a
    /// network comes up as a burst of addresses).
    pub network_quiet: Duration,
    /// Live sync: while online, keep one pull outstanding that the server holds until
    /// something is new (docs/protocol.md, "Live sync"); the round still runs every
    /// `live_interval`, and every `interval` alone whenever the live pull fails.
    pub live: bool,
    /// How long the server may hold a live pull (it caps this at 25 s).
    pub live_wait: Duration,
    /// While the live channel is in use, the round runs this often instead of every
    /// `interval` (never more often): the live pull keeps the device current, and the round
    /// stays as the safety net (a full pull with its checksum, master data). When the live
    /// pull fails, the round is back to `interval`.
    pub live_interval: Duration,
    /// The event kinds this device reads, declared on every request (`Aisle-Reads`,
    /// docs/protocol.md "Mixed-version fleets"): by default every kind of this build. The
    /// server sends events of other kinds as envelopes, which the store keeps unread, and
    /// the engine applies them at its start once the kinds are read.
    pub reads: Vec<String>,
    /// The Aisle version of the app, declared on every request (`Aisle-Version`) when not
    /// empty; for the server's device list.
    pub app_version: String,
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self {
            batch_size: 500,
            pull_limit: 5_000,
            debounce: Duration::from_millis(250),
            interval: Duration::from_secs(30),
            backoff_base: Duration::from_millis(500),
            backoff_cap: Duration::from_secs(300),
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            clock_warn_threshold_ms: 5_000,
            pull_master: true,
            watch_network: true,
            network_quiet: Duration::from_secs(1),
            live: true,
            live_wait: Duration::from_secs(25),
            live_interval: Duration::from_secs(300),
            reads: aisle_core::event::EVENT_KINDS
                .iter()
                .map(|(kind, _)| (*kind).to_owned())
                .collect(),
            app_version: String::new(),
        }
    }
}

/// Milliseconds since the Unix epoch by this device's (uncorrected) clock.
pub fn system_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as i64)
}
