//! The PostgreSQL backend of the server (feature `postgres`): where each tenant's database
//! lives ([`placement`]), the tenant databases' pools, schema and [`crate::storage::Storage`]
//! implementation, and the PostgreSQL registry.
//!
//! Everything here follows aisle-pg's rules, so a server stays correct behind PgBouncer in
//! transaction mode and with several server instances on one cluster: every statement runs in
//! an explicit transaction, locks are transaction-level advisory locks, and nothing is kept in
//! a session. The one exception is live sync's relay ([`live`]), whose own connection, outside
//! the pools, holds a `LISTEN`.

pub mod admin;
pub mod backup;
pub mod live;
pub mod master;
pub mod migrate_all;
pub mod moving;
pub mod placement;
pub mod pools;
pub mod registry;
pub mod reports;
pub mod storage;
pub mod tenant_schema;
#[cfg(test)]
pub(crate) mod testing;

/// The transaction-level advisory lock that serialises a tenant's writes: every push, and
/// every master-data upsert before it bumps the master version, takes it first
/// (`pg_advisory_xact_lock`). A database holds one tenant, so one constant will do. Under
/// it a push numbers its events from `MAX(seq) + 1`, so seqs commit in order and the pull
/// cursor stays exact with concurrent writers on any number of server instances.
pub const PUSH_LOCK: i64 = 0x6169_736c_652d_7075; // "aisle-pu"
