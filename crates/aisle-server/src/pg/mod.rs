//! The PostgreSQL backend of the server (feature `postgres`): where each tenant's database
//! lives ([`placement`]), the tenant databases' pools, schema and [`crate::storage::Storage`]
//! implementation, and the PostgreSQL registry.
//!
//! Everything here follows aisle-pg's rules, so a server stays correct behind PgBouncer in
//! transaction mode and with several server instances on one cluster: every statement runs in
//! an explicit transaction, locks are transaction-level advisory locks, and nothing is kept in
//! a session.

pub mod placement;
