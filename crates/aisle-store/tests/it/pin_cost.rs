//! The production PIN cost is the one release builds hash at: the `test-pin-cost` feature,
//! which lowers it for test suites, must reach no shipped binary (issue 12 §3).

/// The features `package`'s normal (non-dev) build turns on for aisle-pin (where the PIN
/// cost is set; aisle-store passes its own `test-pin-cost` on to it), as cargo
/// resolves them; with `dev` the dev-dependencies count too.
fn pin_features(package: &str, dev: bool) -> String {
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
        .filter(|line| line.starts_with("aisle-pin "))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn release_builds_hash_pins_at_the_production_cost() {
    for package in ["aisle-server", "aisle", "aisle-sync", "aisle-app"] {
        let features = pin_features(package, false);
        assert!(!features.is_empty(), "{package} builds with aisle-pin");
        assert!(
            !features.contains("test-pin-cost"),
            "{package}'s build lowers the PIN cost: {features}"
        );
    }
    // The check can fail: test builds do lower it.
    assert!(pin_features("aisle-server", true).contains("test-pin-cost"));
}
