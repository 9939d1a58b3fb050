//! aisle-protocol's integration tests.

mod edges;
mod shapes;
