//! The production PIN cost is the one release builds hash at: the `test-pin-cost` feature,
//! which lowers it for test suites, must reach no shipped binary (issue 12 §3).

/// The features `package`'s normal (non-dev) build turns on for aisle-store, as cargo
/// resolves them; with `dev` the dev-dependencies count too.
fn store_features(package: &str, dev: bool) -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.toml");
    let edges = if dev { "normal,dev" } else { "normal" };
    let output = std::process::Command::new(cargo)
        .args([
            "tree",
            "-p",
            package,
            "-e",
            edges,
            "--prefix",
            "none",
            "--format",
            "{p} [{f}]",
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
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| line.starts_with("aisle-store "))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn release_builds_hash_pins_at_the_production_cost() {
    for package in ["aisle-server", "aisle", "aisle-sync", "aisle-app"] {
        let features = store_features(package, false);
        assert!(!features.is_empty(), "{package} builds with aisle-store");
        assert!(
            !features.contains("test-pin-cost"),
            "{package}'s build lowers the PIN cost: {features}"
        );
    }
    // The check can fail: test builds do lower it.
    assert!(store_features("aisle-server", true).contains("test-pin-cost"));
}
