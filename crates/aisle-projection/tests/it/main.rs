//! aisle-projection's tests: the same bodies against every backend (SQLite, and PostgreSQL
//! with the `pg` feature), and a randomized check that the two give the same rows and the
//! same checksum for the same events.

mod backend;
mod checksum;
mod ledger;
mod rules;
mod same_on_both;
mod scenario;
