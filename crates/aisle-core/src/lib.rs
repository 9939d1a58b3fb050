//! aisle-core: the rules every Aisle device and the server share.
//!
//! This crate is the domain: identifiers, the hybrid logical clock, the inventory
//! event vocabulary, the stock rules that turn a *set* of events into on-hand
//! quantities, discrepancies and tasks, and the parser that turns raw scanner input
//! into a typed scan.
//!
//! It must never do I/O, read a clock or draw random numbers of its own: time and
//! identifiers are always passed in by the caller. Storage is reached only through
//! the small [`stock::Ledger`] trait, so the device store and the server run the
//! very same rules over their own databases. A test (`tests/it/purity.rs`) checks
//! the dependency list so this stays true.

pub mod barcode;
pub mod calendar;
pub mod event;
pub mod hlc;
pub mod ids;
pub mod receipt;
pub mod role;
pub mod scan;
pub mod stock;
pub mod testkit;

pub use event::{Event, EventBody, EventVersion, Lot};
pub use hlc::{Hlc, HlcClock};
pub use role::{Role, UnknownRole};
