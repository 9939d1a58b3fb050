//! Scanner input parsing (being written).
