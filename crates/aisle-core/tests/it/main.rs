//! aisle-core's integration tests: one binary, one module per concern.

mod calendar;
mod fixture;
mod props;
mod purity;
mod resolutions;
mod scan;
mod stock;
