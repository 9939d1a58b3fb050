//! A device of tenant A tries to reach tenant B (and other boundaries): every attempt is
//! refused with its documented status and code, nothing reaches B, and the security audit
//! log names the device and the reason.

use crate::support::{get_json, push_to, receipts, stored_events, World};
use aisle_server::Registry as _;

/// Tenant A with one device, tenant B with one device that has pushed one event.
async fn two_tenants() -> (World, crate::support::Device, crate::support::Device) {
    let world = World::start(8).await;
    let (tenant_a, warehouse_a) = world.tenant("a");
    let (tenant_b, warehouse_b) = world.tenant("b");
    let device_a = world.enroll(tenant_a, warehouse_a, "a-1").await;
    let device_b = world.enroll(tenant_b, warehouse_b, "b-1").await;
    let (status, body) = world.push(&device_b, &receipts(&device_b, 1, 1)).await;
    assert_eq!(status, 200, "b's own push works: {body}");
    (world, device_a, device_b)
}

fn assert_b_untouched(world: &World, device_b: &crate::support::Device) {
    let stored = stored_events(world.dir.path(), device_b.tenant);
    assert_eq!(stored.len(), 1, "b holds only its own event: {stored:?}");
    assert_eq!(stored[0].tenant, device_b.tenant);
}

fn assert_audited(world: &World, device: &crate::support::Device, reason: &str) {
    let log = world.registry.audit_log().expect("audit log");
    assert!(
        log.iter()
            .any(|row| row.device == Some(device.device) && row.reason == reason),
        "an audit row names device {} and reason {reason}: {log:?}",
        device.device
    );
    let text = format!("{log:?}");
    assert!(
        !text.contains(&device.token),
        "the audit log never holds a token"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forging_tenant_b_in_the_url_is_refused() {
    let (world, device_a, device_b) = two_tenants().await;
    let mut events = receipts(&device_a, 100, 2);
    // Even events that name B throughout are refused when the token is A's.
    for event in &mut events {
        event.tenant = device_b.tenant;
        event.warehouse = device_b.warehouse;
    }
    let (status, body) = push_to(
        &world.http,
        &world.url(""),
        &device_a,
        device_b.tenant,
        &events,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("tenant_mismatch")),
        "{body}"
    );
    let (status, body) = get_json(
        &world.http,
        &world.url(&format!("/v1/t/{}/events?after=0", device_b.tenant)),
        &device_a.token,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("tenant_mismatch")),
        "{body}"
    );
    assert!(body.get("events").is_none(), "no event of B is returned");
    let (status, body) = get_json(
        &world.http,
        &world.url(&format!("/v1/t/{}/stock", device_b.tenant)),
        &device_a.token,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("tenant_mismatch")),
        "{body}"
    );
    assert_b_untouched(&world, &device_b);
    assert_audited(&world, &device_a, "tenant_mismatch");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forging_tenant_b_in_event_fields_is_refused() {
    let (world, device_a, device_b) = two_tenants().await;
    let cases = [
        ("tenant", "tenant_mismatch"),
        ("warehouse", "warehouse_mismatch"),
        ("device", "device_mismatch"),
    ];
    for (field, code) in cases {
        let mut events = receipts(&device_a, 200, 3);
        // The forged event is last, after two honest ones: the whole batch is refused.
        let forged = &mut events[2];
        match field {
            "tenant" => forged.tenant = device_b.tenant,
            "warehouse" => forged.warehouse = device_b.warehouse,
            _ => forged.device = device_b.device,
        }
        let (status, body) = world.push(&device_a, &events).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some(code)),
            "forging {field}: {body}"
        );
        assert_audited(&world, &device_a, code);
    }
    assert!(
        stored_events(world.dir.path(), device_a.tenant).is_empty(),
        "no part of a refused batch is written to A either"
    );
    assert_b_untouched(&world, &device_b);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pulling_another_warehouse_is_refused_and_pulls_see_only_their_own() {
    let (world, device_a, device_b) = two_tenants().await;
    let (status, body) = get_json(
        &world.http,
        &world.url(&format!(
            "/v1/t/{}/events?after=0&warehouse={}",
            device_a.tenant, device_b.warehouse
        )),
        &device_a.token,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("warehouse_mismatch")),
        "{body}"
    );
    assert_audited(&world, &device_a, "warehouse_mismatch");

    // A second warehouse of A: its device must not see the first warehouse's events.
    let other_warehouse = world
        .registry
        .add_warehouse(device_a.tenant, "other", 1)
        .expect("warehouse");
    let device_other = world.enroll(device_a.tenant, other_warehouse, "a-2").await;
    let (status, body) = world.push(&device_a, &receipts(&device_a, 300, 4)).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        world.pull_all(&device_other).await.is_empty(),
        "a device pulls only its own warehouse's events"
    );
    assert_eq!(world.pull_all(&device_a).await.len(), 4);
    assert_b_untouched(&world, &device_b);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_is_refused_when_replayed() {
    let (world, device_a, device_b) = two_tenants().await;
    assert!(world
        .registry
        .revoke_device(device_a.device, aisle_server::now_ms())
        .expect("revoke"));
    let (status, body) = world.push(&device_a, &receipts(&device_a, 400, 1)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("revoked_token")),
        "{body}"
    );
    let (status, body) = push_to(
        &world.http,
        &world.url(""),
        &device_a,
        device_b.tenant,
        &receipts(&device_a, 401, 1),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("revoked_token")),
        "{body}"
    );
    assert!(stored_events(world.dir.path(), device_a.tenant).is_empty());
    assert_b_untouched(&world, &device_b);
    assert_audited(&world, &device_a, "revoked_token");
}
