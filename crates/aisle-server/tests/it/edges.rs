//! The crate edges around the server, as `cargo tree` resolves them for one package and its
//! features (like aisle-core's `purity.rs`): the desktop links aisle-server only with its
//! `demo` feature, and then without the server's command line; aisle-server without its
//! `cli` feature has no clap, indicatif, tracing-subscriber or anyhow.

use std::collections::BTreeMap;

/// The CLI-only dependencies that the `cli` feature brings.
const CLI_ONLY: [&str; 4] = ["clap", "indicatif", "tracing-subscriber", "anyhow"];

/// `cargo tree -p PACKAGE -e normal` with `extra` arguments: each package built, with the
/// features it is built with (`cargo tree` resolves features for this package alone, unlike
/// `cargo metadata`, which unifies them across the workspace).
fn tree(package: &str, extra: &[&str]) -> BTreeMap<String, String> {
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.toml");
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
            "{p}|{f}",
            "--manifest-path",
            manifest,
        ])
        .args(extra)
        .output()
        .expect("cargo tree runs");
    assert!(
        output.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let packages: BTreeMap<String, String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            let (package, features) = line.split_once('|')?;
            let name = package.split_whitespace().next()?;
            Some((name.to_string(), features.trim().to_string()))
        })
        .collect();
    assert!(
        packages.contains_key(package),
        "sanity: the tree lists {package} itself: {packages:?}"
    );
    packages
}

#[test]
fn the_desktop_links_the_server_only_for_the_demo() {
    let with_demo = tree("aisle", &[]);
    let server_features = with_demo
        .get("aisle-server")
        .expect("the desktop's default `demo` feature links aisle-server");
    assert!(
        !server_features.split(',').any(|feature| feature == "cli"),
        "the demo must link aisle-server without its `cli` feature, but has {server_features:?}"
    );
    for cli_only in ["clap", "indicatif"] {
        assert!(
            !with_demo.contains_key(cli_only),
            "the desktop with the demo must not carry {cli_only}"
        );
    }

    let without_demo = tree("aisle", &["--no-default-features"]);
    assert!(
        without_demo.contains_key("aisle-sync"),
        "sanity: the desktop without the demo still syncs: {without_demo:?}"
    );
    assert!(
        !without_demo.contains_key("aisle-server"),
        "the desktop without the `demo` feature must not link aisle-server"
    );
}

#[test]
fn the_server_library_without_cli_has_no_command_line_dependencies() {
    let library = tree("aisle-server", &["--no-default-features"]);
    assert!(
        library.contains_key("axum"),
        "sanity: the tree lists the server's dependencies: {library:?}"
    );
    for cli_only in CLI_ONLY {
        assert!(
            !library.contains_key(cli_only),
            "aisle-server without `cli` must not depend on {cli_only}"
        );
    }

    let binary = tree("aisle-server", &[]);
    for cli_only in CLI_ONLY {
        assert!(
            binary.contains_key(cli_only),
            "sanity: the default `cli` feature brings {cli_only}"
        );
    }
}
