//! The projection on PostgreSQL (feature `pg`): each tenant database of the server's
//! PostgreSQL backend. The same tables as on SQLite in PostgreSQL's dialect, the same
//! `Ledger` semantics, and the same checksum, byte for byte, so a device on SQLite verifies
//! what a server on PostgreSQL sends.
//!
//! - [`MIGRATIONS`]: the projection's migrations (`migrations/projection/pg/`), which a
//!   tenant database's own list places among its steps;
//! - [`PgLedger`]: the core's `Ledger` over the projection's tables, in an
//!   [`aisle_pg::PgTx`];
//! - [`checksum`]: the pull checksum over the projection;
//! - [`rules`]: which version of the stock rules wrote the projection, and the replay that
//!   rebuilds it from the tenant's event log.
//!
//! Like everything on PostgreSQL here, it runs from a blocking thread inside an explicit
//! transaction and keeps no session state.

pub mod checksum;
pub mod ledger;
pub mod rules;

pub use ledger::{KnownKey, PgLedger};

use aisle_pg::Migration;

/// The projection's migrations on PostgreSQL, numbered from 1 among themselves. A tenant
/// database's list places each at a number of its own, after the migration that creates
/// `events` (`Migration { version: N, ..MIGRATIONS[0] }`); the projection needs from it
/// `events (seq BIGINT, id uuid, hlc BIGINT, device uuid, payload TEXT)`.
pub const MIGRATIONS: [Migration; 2] = [
    Migration {
        version: 1,
        name: "projection_init",
        sql: include_str!("../../../../migrations/projection/pg/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "projection_lighter_key_writes",
        sql: include_str!("../../../../migrations/projection/pg/0002_lighter_key_writes.sql"),
    },
];
