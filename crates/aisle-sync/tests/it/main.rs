//! aisle-sync's integration tests: the engine's binary against a real server.

mod bad_event;
mod crash;
mod live_pg;
mod online;
