//! aisle-server's integration tests: the real server on 127.0.0.1 port 0, over real SQLite
//! files in temporary directories, driven with reqwest. One module per concern.

mod bad_input;
mod concurrency;
mod durability;
mod idempotency;
mod isolation;
mod stock;
mod support;
mod tenants;
