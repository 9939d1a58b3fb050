//! Aisle's workspace-hack, managed by `cargo hakari` (its configuration is
//! `.config/hakari.toml`). It has no code: its dependencies carry the union of the features the
//! workspace turns on for each third-party crate, so that building one package (the server's
//! `.deb`, the desktop's bundle) reuses what the workspace's test build compiled instead of
//! compiling a second copy of a crate for a different feature set. See ARCHITECTURE.md, "Build".
//!
//! It must never hold code, and it is not a dependency of the crates whose dependency edges a
//! test pins (aisle-core, aisle-pin, aisle-projection, aisle-protocol). After changing a
//! dependency, run `cargo hakari generate && cargo hakari manage-deps` (`cargo install
//! cargo-hakari`).
