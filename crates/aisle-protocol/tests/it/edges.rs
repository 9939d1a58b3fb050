//! Architecture invariant 6: the wire shapes live in aisle-protocol, which depends only on
//! aisle-core, serde, serde_json and uuid (utoipa only behind the `openapi` feature),
//! and the device's sync engine reaches them without linking the server.

use cargo_metadata::{CargoOpt, DependencyKind, Metadata, MetadataCommand, Package};
use std::collections::BTreeSet;

fn metadata() -> Metadata {
    MetadataCommand::new()
        .manifest_path(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
        .features(CargoOpt::AllFeatures)
        .exec()
        .expect("cargo metadata must run in the test environment")
}

fn package<'a>(metadata: &'a Metadata, name: &str) -> &'a Package {
    metadata
        .packages
        .iter()
        .find(|package| package.name.as_str() == name)
        .unwrap_or_else(|| panic!("{name} is in the workspace"))
}

/// The names of a package's normal (not dev, not build) dependencies, each with whether it
/// is optional.
fn normal_dependencies(package: &Package) -> BTreeSet<(&str, bool)> {
    package
        .dependencies
        .iter()
        .filter(|dependency| dependency.kind == DependencyKind::Normal)
        .map(|dependency| (dependency.name.as_str(), dependency.optional))
        .collect()
}

#[test]
fn the_protocol_depends_only_on_core_serde_serde_json_and_uuid() {
    let metadata = metadata();
    let protocol = package(&metadata, "aisle-protocol");
    assert_eq!(
        normal_dependencies(protocol),
        BTreeSet::from([
            ("aisle-core", false),
            ("serde", false),
            ("uuid", false),
            ("utoipa", true),
            ("serde_json", false),
        ]),
        "aisle-protocol's dependencies changed; the wire shapes must stay buildable by every \
         deployable (utoipa only as optional, for the OpenAPI document)"
    );
    let openapi = protocol
        .features
        .get("openapi")
        .expect("the openapi feature exists");
    assert_eq!(
        openapi.iter().map(String::as_str).collect::<BTreeSet<_>>(),
        BTreeSet::from(["dep:utoipa"]),
        "the openapi feature turns on the optional dependency and nothing else"
    );
    let default = protocol.features.get("default");
    assert!(
        default.is_none_or(Vec::is_empty),
        "the device builds the protocol without utoipa: no default features ({default:?})"
    );
}

#[test]
fn the_sync_engine_and_the_server_share_the_protocol_and_not_each_other() {
    let metadata = metadata();
    let sync = normal_dependencies(package(&metadata, "aisle-sync"));
    assert!(
        sync.contains(&("aisle-protocol", false)),
        "aisle-sync speaks protocol v1 through aisle-protocol: {sync:?}"
    );
    assert!(
        !sync.iter().any(|(name, _)| *name == "aisle-server"),
        "aisle-sync must not depend on aisle-server (only its tests may run it): {sync:?}"
    );
    let server = normal_dependencies(package(&metadata, "aisle-server"));
    assert!(
        server.contains(&("aisle-protocol", false)),
        "aisle-server writes protocol v1 through aisle-protocol: {server:?}"
    );
    assert!(
        !server.iter().any(|(name, _)| *name == "aisle-sync"),
        "aisle-server must not depend on the device's sync engine: {server:?}"
    );
}
