// A build script, so that Cargo takes the `[build-dependencies]` hakari writes into account.
fn main() {}
