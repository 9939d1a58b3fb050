//! The crate graph's edges that the architecture depends on.
//!
//! - Invariant 1: aisle-core is pure. It must not depend, even transitively, on I/O, async
//!   runtimes, databases, HTTP, UI, clocks or randomness.
//! - Invariant 7: the projection's SQL exists once, in aisle-projection, which depends on
//!   aisle-core and its database driver only, so both stores can use it.
//! - The server does not link the device store (issue 13): what both need (the projection,
//!   PINs, master-data values) lives in aisle-projection, aisle-pin and aisle-core.

use cargo_metadata::{CargoOpt, MetadataCommand};
use std::collections::BTreeSet;

const MANIFEST: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");

/// A workspace package's direct normal dependencies, by name: the ones it always builds
/// with, or (`optional`) the ones only a feature turns on.
fn dependencies(package: &str, optional: bool) -> BTreeSet<String> {
    let metadata = MetadataCommand::new()
        .manifest_path(MANIFEST)
        .features(CargoOpt::AllFeatures)
        .exec()
        .expect("cargo metadata must run in the test environment");
    let found = metadata
        .packages
        .iter()
        .find(|candidate| candidate.name.as_str() == package)
        .unwrap_or_else(|| panic!("{package} is in the workspace"));
    found
        .dependencies
        .iter()
        .filter(|dependency| dependency.kind == cargo_metadata::DependencyKind::Normal)
        .filter(|dependency| dependency.optional == optional)
        .map(|dependency| dependency.name.clone())
        .collect()
}

/// A workspace package's direct normal dependencies that it always builds with, by name.
fn direct_dependencies(package: &str) -> BTreeSet<String> {
    dependencies(package, false)
}

/// The packages `package` builds with (normal edges, transitively), as
/// `cargo tree -p PACKAGE` resolves them: that resolution uses only the features the package
/// itself asks for, unlike `cargo metadata`, whose graph unifies features across the whole
/// workspace (tauri turns on uuid's v4 and with it getrandom, which aisle-core never compiles).
fn resolved_tree(package: &str) -> BTreeSet<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = std::process::Command::new(cargo)
        .args([
            "tree",
            "-p",
            package,
            "-e",
            "normal",
            "--prefix",
            "none",
            "--format",
            "{p}",
            "--manifest-path",
            MANIFEST,
        ])
        .output()
        .expect("cargo tree runs");
    assert!(
        output.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

#[test]
fn core_dependency_list_is_pure() {
    let direct = direct_dependencies("aisle-core");
    assert_eq!(
        direct,
        BTreeSet::from(["serde", "thiserror", "uuid"].map(String::from)),
        "aisle-core's direct dependencies changed; a new one must be pure and reviewed"
    );
    // `ts-rs` derives the UI contract's TypeScript (feature `ts`, turned on by aisle-app's
    // tests only): code generation with no I/O of its own, never in a shipped build.
    assert_eq!(
        dependencies("aisle-core", true),
        BTreeSet::from(["ts-rs".to_string()]),
        "aisle-core's optional dependencies changed; a new one must be pure and reviewed"
    );

    let names = resolved_tree("aisle-core");
    assert!(
        names.contains("uuid"),
        "sanity: the tree lists aisle-core's dependencies: {names:?}"
    );
    for forbidden in [
        "tokio",
        "rusqlite",
        "reqwest",
        "axum",
        "tauri",
        "hyper",
        "rand",
        "getrandom",
        "chrono",
        "time",
        "libsqlite3-sys",
    ] {
        assert!(
            !names.contains(forbidden),
            "aisle-core must stay pure but depends on {forbidden} (all: {names:?})"
        );
    }
}

/// aisle-projection is the projection's storage and nothing else: aisle-core, its database
/// driver, what the checksum and the JSON of stored tasks need, and its maps' hasher.
/// PostgreSQL is behind its `pg` feature (aisle-pg, which brings tokio for its blocking
/// facade), so the device store never builds it; a store, the server or a runtime of its own
/// never.
#[test]
fn projection_depends_only_on_core_and_its_driver() {
    assert_eq!(
        dependencies("aisle-projection", true),
        BTreeSet::from(["aisle-pg".to_string()]),
        "aisle-projection's optional dependencies changed; a new one must be reviewed"
    );
    assert_eq!(
        direct_dependencies("aisle-projection"),
        BTreeSet::from(
            [
                "aisle-core",
                // The ledger's maps' hasher (`aisle_projection::FastMap`): no I/O, no state
                // beyond its seed; reviewed 2026-12-06.
                "foldhash",
                "rusqlite",
                "rusqlite_migration",
                "serde_json",
                "sha2",
                "thiserror",
                "uuid",
            ]
            .map(String::from)
        ),
        "aisle-projection's direct dependencies changed; a new one must be reviewed"
    );
    let names = resolved_tree("aisle-projection");
    assert!(
        resolved_tree("aisle-store").contains("aisle-projection")
            && resolved_tree("aisle-server").contains("aisle-projection"),
        "the device store's and the server's projection is aisle-projection's"
    );
    assert!(
        names.contains("aisle-core") && names.contains("rusqlite"),
        "sanity: the tree lists aisle-projection's dependencies: {names:?}"
    );
    for forbidden in [
        "aisle-store",
        "aisle-server",
        "aisle-sync",
        "aisle-app",
        "tokio",
        "axum",
        "reqwest",
    ] {
        assert!(
            !names.contains(forbidden),
            "aisle-projection must not depend on {forbidden} (all: {names:?})"
        );
    }
}

/// The server and the device store share the projection, PINs and master-data values through
/// small crates; the server never links the device store (its keyring, its encrypted file,
/// its outbox), not even through another crate. Its tests may (a device checks the server's
/// checksum), so only normal edges count.
#[test]
fn the_server_does_not_depend_on_the_device_store() {
    let names = resolved_tree("aisle-server");
    assert!(
        names.contains("aisle-projection") && names.contains("aisle-pin"),
        "sanity: the tree lists aisle-server's dependencies: {names:?}"
    );
    assert!(
        !names.contains("aisle-store"),
        "aisle-server must not depend on aisle-store (all: {names:?})"
    );
}

/// aisle-pin is PIN hashing and the PIN policy's rules, nothing else: no database, no
/// keyring, no runtime, so the server and the device store can both link it.
#[test]
fn pin_depends_only_on_argon2_and_serde() {
    assert_eq!(
        direct_dependencies("aisle-pin"),
        BTreeSet::from(["argon2", "serde", "thiserror"].map(String::from)),
        "aisle-pin's direct dependencies changed; a new one must be reviewed"
    );
    let names = resolved_tree("aisle-pin");
    assert!(
        names.contains("argon2"),
        "sanity: the tree lists aisle-pin's dependencies: {names:?}"
    );
    assert!(
        resolved_tree("aisle-store").contains("aisle-pin"),
        "the device store hashes PINs with aisle-pin"
    );
    for forbidden in [
        "aisle-store",
        "aisle-server",
        "aisle-projection",
        "rusqlite",
        "libsqlite3-sys",
        "keyring",
        "tokio",
        "axum",
        "reqwest",
    ] {
        assert!(
            !names.contains(forbidden),
            "aisle-pin must not depend on {forbidden} (all: {names:?})"
        );
    }
}
