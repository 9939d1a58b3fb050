//! aisle-sync's integration tests: the engine's binary against a real server.

mod crash;
mod online;
