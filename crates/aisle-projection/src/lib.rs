//! aisle-projection: the stock projection's storage, once, for every database that keeps one.
//!
//! The stock rules live in `aisle_core::stock` and reach storage only through the core's
//! [`Ledger`](aisle_core::stock::Ledger) trait. This crate is that trait's storage side: the
//! projection's tables (the SQL in `migrations/projection/`), [`sqlite::SqlLedger`] over
//! them, the pull checksum of protocol v1 ([`checksum`]), and the replay that rebuilds the
//! projection from a log when the rules' version moves on ([`sqlite::rules`]). The device
//! store and every tenant database of the server run this same code, so their projections
//! cannot drift apart.
//!
//! Backends sit side by side: [`sqlite`] is the embedded one; `pg` (feature `pg`) is the
//! server's PostgreSQL backend, implementing the same `Ledger` over the same tables in
//! PostgreSQL's dialect (`migrations/projection/pg/`). What is backend-free is at the top
//! level, once: the checksum's definition ([`checksum`]), the columns' words ([`columns`]),
//! and the write-behind cache both ledgers keep within a transaction. The same test bodies
//! run on both backends (`tests/it`).
//!
//! This crate must never decide stock semantics (that is `aisle_core::stock::apply`), own an
//! event log or any other table of a store's own, or hold a secret. It depends on aisle-core
//! and its database drivers only (aisle-pg only with `pg`), never on a store or the server.

pub mod checksum;
pub mod columns;
mod error;
#[cfg(feature = "pg")]
pub mod pg;
pub mod sqlite;
mod write_behind;

pub use error::ProjectionError;

/// A hash map on the apply path, keyed by stock keys or key ids: foldhash, seeded at random
/// per map, instead of the standard library's SipHash (hash-map work was about a sixth of
/// the server process's CPU in a one-device push; docs/BENCHMARKS.md). Its keys come only from authenticated devices' events, each push
/// bounded, so SipHash's stronger defence against chosen collisions buys little here.
pub type FastMap<K, V> = foldhash::HashMap<K, V>;

/// Stock key ids as a ledger knows them, carried between its transactions.
pub type KeyIds = FastMap<aisle_core::stock::StockKey, i64>;
