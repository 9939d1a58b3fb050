//! aisle-app: what Aisle desktop does, without Tauri.
//!
//! The Tauri command layer in `src-tauri/` is a thin list of wrappers over this crate, so
//! everything a picker or manager can do is testable against a real store file without a
//! window. [`Floor`] is one open warehouse profile: it signs users in against the synced
//! argon2id PIN hashes, turns screen actions into stamped events (UUIDv7 id, hybrid logical
//! clock corrected by the server offset) and records them through `aisle-store`, and
//! answers the manager views. [`views`] holds the JSON shapes the UI sees
//! (`docs/desktop-commands.md`); they are transport types and go no deeper than here.
//!
//! It must never decide stock semantics (that is `aisle_core::stock`), talk to the network
//! (that is `aisle-sync`), or hold a device token.

#[cfg(test)]
mod contract;
mod error;
mod floor;
mod manager;
mod resolve;
mod session;
mod updates;
pub mod views;

pub use error::{AppError, CommandError, ErrorCode};
pub use floor::{Floor, LocalClock, Stamper};
pub use resolve::resolve_scan;
pub use session::IdleTimeout;
