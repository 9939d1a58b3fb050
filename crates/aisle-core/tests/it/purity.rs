//! Architecture invariant 1: aisle-core is pure. It must not depend, even transitively, on
//! I/O, async runtimes, databases, HTTP, UI, clocks or randomness.

use cargo_metadata::{CargoOpt, MetadataCommand};
use std::collections::BTreeSet;

#[test]
fn core_dependency_list_is_pure() {
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    let metadata = MetadataCommand::new()
        .manifest_path(manifest)
        .features(CargoOpt::AllFeatures)
        .exec()
        .expect("cargo metadata must run in the test environment");
    let core = metadata
        .packages
        .iter()
        .find(|package| package.name.as_str() == "aisle-core")
        .expect("aisle-core is in the workspace");

    let direct: BTreeSet<&str> = core
        .dependencies
        .iter()
        .filter(|dependency| dependency.kind == cargo_metadata::DependencyKind::Normal)
        .map(|dependency| dependency.name.as_str())
        .collect();
    assert_eq!(
        direct,
        BTreeSet::from(["serde", "thiserror", "uuid"]),
        "aisle-core's direct dependencies changed; a new one must be pure and reviewed"
    );

    // The packages aisle-core builds with, as `cargo tree -p aisle-core` resolves them: that
    // resolution uses only the features aisle-core itself asks for, unlike `cargo metadata`,
    // whose graph unifies features across the whole workspace (tauri turns on uuid's v4 and
    // with it getrandom, which aisle-core never compiles).
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = std::process::Command::new(cargo)
        .args([
            "tree",
            "-p",
            "aisle-core",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--format",
            "{p}",
            "--manifest-path",
            manifest,
        ])
        .output()
        .expect("cargo tree runs");
    assert!(
        output.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let names: BTreeSet<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_string)
        .collect();
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
