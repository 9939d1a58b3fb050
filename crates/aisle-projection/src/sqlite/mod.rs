//! The projection on SQLite: the device store and each tenant database of the embedded
//! server.
//!
//! - [`migrations`]: the projection's migration steps, and how a database places them in its
//!   own migration list;
//! - [`SqlLedger`]: the core's `Ledger` over the projection's tables;
//! - [`checksum`]: the pull checksum over the projection;
//! - [`rules`]: which version of the stock rules wrote the projection, and the replay that
//!   rebuilds it from the database's event log;
//! - [`columns`]: how the tables hold ids, lots and stock keys.

pub mod checksum;
pub mod columns;
pub mod ledger;
pub mod migrations;
pub mod rules;

pub use ledger::SqlLedger;
