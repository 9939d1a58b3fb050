//! Tenant databases: a failed migration takes only its own tenant out of service, and
//! pools evicted under a low cap reopen transparently.

use crate::support::{receipts, World};
use aisle_server::Registry as _;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_migration_refuses_only_that_tenant() {
    let world = World::start(8).await;
    let (healthy, healthy_warehouse) = world.tenant("healthy");
    let (broken, broken_warehouse) = world.tenant("broken");
    let healthy_device = world.enroll(healthy, healthy_warehouse, "h").await;
    let broken_device = world.enroll(broken, broken_warehouse, "b").await;
    // A file that migration 1 cannot apply to: it already has an `events` table.
    let path = aisle_server::tenant_db_path(world.dir.path(), broken);
    let conn = rusqlite::Connection::open(&path).expect("create");
    conn.execute_batch("CREATE TABLE events (x INTEGER);")
        .expect("sabotage");
    drop(conn);

    let (status, body) = world
        .push(&broken_device, &receipts(&broken_device, 1, 1))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (503, Some("tenant_unavailable")),
        "{body}"
    );
    let message = body["message"].as_str().expect("message");
    assert!(
        !message.contains("events") && !message.contains("sqlite"),
        "no internal detail reaches the client: {message}"
    );
    let state = world.registry.tenant(broken).expect("db").expect("tenant");
    assert!(
        state.failed_migration.is_some(),
        "the registry marks the tenant: {state:?}"
    );
    let (status, body) = world
        .push(&healthy_device, &receipts(&healthy_device, 1, 1))
        .await;
    assert_eq!(status, 200, "other tenants keep serving: {body}");
    // Once the operator fixes the file and clears the mark, the tenant migrates and serves.
    std::fs::remove_file(&path).expect("remove the sabotaged file");
    world
        .registry
        .clear_tenant_failure(broken)
        .expect("clear the mark");
    let (status, body) = world
        .push(&broken_device, &receipts(&broken_device, 1, 1))
        .await;
    assert_eq!(status, 200, "the repaired tenant serves again: {body}");
    let healthy_state = world.registry.tenant(healthy).expect("db").expect("tenant");
    assert_eq!(
        (healthy_state.schema_version, healthy_state.failed_migration),
        (aisle_server::migrate::TENANT_SCHEMA_VERSION, None),
        "the registry records the migrated version"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evicted_tenants_reopen_with_their_data() {
    let world = World::start(1).await;
    let mut devices = Vec::new();
    for n in 0..3 {
        let (tenant, warehouse) = world.tenant(&format!("t{n}"));
        devices.push(world.enroll(tenant, warehouse, "pc").await);
    }
    for round in 0..2u64 {
        for device in &devices {
            let (status, body) = world.push(device, &receipts(device, round * 10, 5)).await;
            assert_eq!(status, 200, "{body}");
        }
    }
    for device in &devices {
        assert_eq!(
            world.pull_all(device).await.len(),
            10,
            "a pool closed by the cap of 1 reopens with everything"
        );
    }
}
