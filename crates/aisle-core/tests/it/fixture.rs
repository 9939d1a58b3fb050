pub use aisle_core::testkit::*;
