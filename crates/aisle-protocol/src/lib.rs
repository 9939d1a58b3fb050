//! aisle-protocol: every JSON shape of sync protocol v1, once.
//!
//! The server (`aisle-server`) writes these shapes and the device's sync engine
//! (`aisle-sync`) reads them, and the other way round; the demo seeds its server with them
//! and the server's OpenAPI document is derived from them (feature `openapi`). Ids on the
//! wire are the typed ids of [`aisle_core::ids`], which serialise as plain UUID strings, so
//! a shape cannot carry an item's id where a location's belongs. Events are
//! [`aisle_core::Event`] in its JSON form on both sides.
//!
//! - [`sync`]: enrollment, push, pull, events touching stock keys, stock, and the error body.
//! - [`master`]: the device's master-data download and the ERP integration API.
//! - [`erp_out`]: the business messages the server derives for ERPs, and their feed.
//!
//! What it must never do: depend on anything but aisle-core, serde, serde_json and uuid
//! (utoipa only behind `openapi`; a test pins the edges), know about HTTP routing,
//! storage or clocks, or change a shape of protocol v1: a field may only be added, and only
//! as optional. Domain rules (what a valid record is) live with the code that converts a
//! shape to a domain type at the edge.

pub mod erp_out;
pub mod master;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod sync;

pub use erp_out::*;
pub use master::*;
pub use sync::*;

/// At most this many events in one push.
pub const MAX_EVENTS: usize = 1_000;
/// At most this many bytes in one request body (4 MiB).
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// The default and largest page of a pull.
pub const DEFAULT_PULL_LIMIT: u32 = 500;
pub const MAX_PULL_LIMIT: u32 = 5_000;
/// At most this many stock keys in one request for the events touching them.
pub const MAX_TOUCHING_KEYS: usize = 100;
/// The default and largest page of events touching keys.
pub const DEFAULT_TOUCHING_LIMIT: u32 = 500;
pub const MAX_TOUCHING_LIMIT: u32 = 5_000;
/// The default and largest page of a master-data pull, in rows.
pub const DEFAULT_MASTER_LIMIT: u32 = 500;
pub const MAX_MASTER_LIMIT: u32 = 5_000;
