//! Updates served by the tenant's server (docs/protocol.md, "Updates"), over HTTP as a PC's
//! updater sees them: releases signed with updater keys the test makes (minisign, as `tauri
//! signer` does), checked with the verifier the Tauri updater uses (`minisign-verify`), so
//! a check, a download and its signature are tested end to end against the real server; a
//! tampered artifact fails that check; a pin and a rollout decide what each device sees.

use crate::support::World;
use crate::updater_keys::UpdaterKeys;
use aisle_server::registry::{NewRelease, UpdatePolicy};
use aisle_server::Registry as _;
use base64::Engine as _;
use serde_json::Value;

/// The Tauri updater's check of a downloaded artifact: the configured public key against the
/// served signature.
fn updater_accepts(public: &str, signature: &str, artifact: &[u8]) -> bool {
    let decode = |text: &str| {
        String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .expect("base64"),
        )
        .expect("utf-8")
    };
    let key = minisign_verify::PublicKey::decode(&decode(public)).expect("public key");
    let signature = minisign_verify::Signature::decode(&decode(signature)).expect("signature");
    key.verify(artifact, &signature, true).is_ok()
}

fn release(version: &str, channel: &str, keys: &UpdaterKeys, artifact: &[u8]) -> NewRelease {
    NewRelease {
        target: "linux-x86_64".into(),
        version: version.into(),
        channel: channel.into(),
        file_name: format!("Aisle_{version}_amd64.AppImage.tar.gz"),
        signature: keys.sign(artifact),
        notes: format!("Aisle {version}"),
    }
}

async fn check(world: &World, token: &str, tenant: &str, current: &str) -> (u16, Value) {
    let response = world
        .http
        .get(world.url(&format!("/v1/t/{tenant}/updates/linux-x86_64/{current}")))
        .bearer_auth(token)
        .send()
        .await
        .expect("answered");
    let status = response.status().as_u16();
    let body = response.bytes().await.expect("body");
    let json = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body).expect("json")
    };
    (status, json)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pc_checks_downloads_and_verifies_an_update_from_its_tenants_server() {
    let world = World::start(8).await;
    let (tenant, warehouse) = world.tenant("acme");
    let device = world.enroll(tenant, warehouse, "dock").await;
    let keys = UpdaterKeys::generate();
    // Big enough to take several reads of the streamed answer.
    let artifact: Vec<u8> = (0..700_000u32).map(|n| (n % 251) as u8).collect();
    let old: Vec<u8> = b"an older release".to_vec();
    world
        .registry
        .add_release(&release("0.2.0", "stable", &keys, &old), &old, 1)
        .expect("0.2.0");
    world
        .registry
        .add_release(&release("0.3.0", "stable", &keys, &artifact), &artifact, 2)
        .expect("0.3.0");
    world
        .registry
        .add_release(&release("0.4.0-beta.1", "beta", &keys, &old), &old, 3)
        .expect("beta");
    let refused = world
        .registry
        .add_release(&release("0.3.0", "stable", &keys, &old), &old, 4)
        .expect_err("a release is never replaced");
    assert!(refused.to_string().contains("exists"), "{refused}");

    let (status, due) = check(&world, &device.token, &tenant.to_string(), "0.1.0").await;
    assert_eq!(status, 200, "{due}");
    assert_eq!(due["version"], "0.3.0", "the newest of the stable channel");
    assert_eq!(due["notes"], "Aisle 0.3.0");
    let url = due["url"].as_str().expect("url");
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");

    // The download, with the same token, and the updater's signature check.
    let download = world
        .http
        .get(url)
        .bearer_auth(&device.token)
        .send()
        .await
        .expect("answered");
    assert_eq!(download.status().as_u16(), 200);
    let downloaded = download.bytes().await.expect("bytes").to_vec();
    assert_eq!(downloaded, artifact, "the artifact, byte for byte");
    let signature = due["signature"].as_str().expect("signature");
    assert!(updater_accepts(&keys.public, signature, &downloaded));
    let mut tampered = downloaded.clone();
    tampered[123_456] ^= 0x01;
    assert!(
        !updater_accepts(&keys.public, signature, &tampered),
        "a tampered artifact is refused"
    );
    let stranger = UpdaterKeys::generate();
    assert!(
        !updater_accepts(&stranger.public, signature, &downloaded),
        "a release signed with other keys is refused"
    );

    let (status, _) = check(&world, &device.token, &tenant.to_string(), "0.3.0").await;
    assert_eq!(status, 204, "nothing newer than what it runs");
    let (status, _) = check(&world, &device.token, &tenant.to_string(), "1.0").await;
    assert_eq!(status, 400, "not a semantic version");
    let (status, _) = check(&world, "not-a-token", &tenant.to_string(), "0.1.0").await;
    assert_eq!(status, 401);
    let (other, _) = world.tenant("other");
    let (status, _) = check(&world, &device.token, &other.to_string(), "0.1.0").await;
    assert_eq!(status, 403, "another tenant's path");

    // A pinned version, then the beta channel.
    let pinned = UpdatePolicy {
        pin: Some(semver::Version::new(0, 2, 0)),
        ..UpdatePolicy::default()
    };
    world
        .registry
        .set_update_policy(tenant, &pinned, 5)
        .expect("pin");
    let (_, due) = check(&world, &device.token, &tenant.to_string(), "0.1.0").await;
    assert_eq!(due["version"], "0.2.0", "the pin, not the newest");
    let (status, _) = check(&world, &device.token, &tenant.to_string(), "0.2.0").await;
    assert_eq!(status, 204, "nothing past the pin");
    let beta = UpdatePolicy {
        channel: "beta".into(),
        ..UpdatePolicy::default()
    };
    world
        .registry
        .set_update_policy(tenant, &beta, 6)
        .expect("beta");
    let (_, due) = check(&world, &device.token, &tenant.to_string(), "0.3.0").await;
    assert_eq!(due["version"], "0.4.0-beta.1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollout_offers_a_release_to_the_same_share_of_devices_at_every_check() {
    let world = World::start(8).await;
    let (tenant, warehouse) = world.tenant("acme");
    let keys = UpdaterKeys::generate();
    let artifact = b"0.3.0".to_vec();
    world
        .registry
        .add_release(&release("0.3.0", "stable", &keys, &artifact), &artifact, 1)
        .expect("0.3.0");
    let mut devices = Vec::new();
    for n in 0..24 {
        devices.push(world.enroll(tenant, warehouse, &format!("pc-{n}")).await);
    }
    let offered = |statuses: &[u16]| statuses.iter().filter(|status| **status == 200).count();
    let at = |rollout_pct| {
        world
            .registry
            .set_update_policy(
                tenant,
                &UpdatePolicy {
                    rollout_pct,
                    ..UpdatePolicy::default()
                },
                i64::from(rollout_pct),
            )
            .expect("rollout")
    };
    at(50);
    let mut first = Vec::new();
    for device in &devices {
        first.push(
            check(&world, &device.token, &tenant.to_string(), "0.2.0")
                .await
                .0,
        );
    }
    let mut again = Vec::new();
    for device in &devices {
        again.push(
            check(&world, &device.token, &tenant.to_string(), "0.2.0")
                .await
                .0,
        );
    }
    assert_eq!(
        first, again,
        "each device gets the same answer at every check"
    );
    let half = offered(&first);
    assert!(
        (1..devices.len()).contains(&half),
        "half of 24 devices is some but not all: {half}"
    );
    at(0);
    for device in &devices {
        assert_eq!(
            check(&world, &device.token, &tenant.to_string(), "0.2.0")
                .await
                .0,
            204
        );
    }
    at(100);
    for device in &devices {
        assert_eq!(
            check(&world, &device.token, &tenant.to_string(), "0.2.0")
                .await
                .0,
            200
        );
    }
}
