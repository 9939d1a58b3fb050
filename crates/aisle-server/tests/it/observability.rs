//! What the server says about itself and its data: the pull checksum (reproduced by a real
//! device store), the Prometheus metrics and the OpenAPI document.

use crate::support::{event, get_json, push_to, receipts, World};
use aisle_core::testkit::{key, moved, picked, received};
use aisle_core::Event;
use aisle_store::{Profile, Store};
use serde_json::Value;

/// One pulled page as the device sees it.
struct Page {
    events: Vec<Event>,
    next: u64,
    checksum: String,
    checksum_seq: u64,
}

async fn pull_page(world: &World, device: &crate::support::Device, after: u64, limit: u32) -> Page {
    let (status, body) = get_json(
        &world.http,
        &world.url(&format!(
            "/v1/t/{}/events?after={after}&limit={limit}",
            device.tenant
        )),
        &device.token,
    )
    .await;
    assert_eq!(status, 200, "pull succeeds: {body}");
    let events = body["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|entry| serde_json::from_value(entry["event"].clone()).expect("an event"))
        .collect();
    Page {
        events,
        next: body["next"].as_u64().expect("next"),
        checksum: body["checksum"].as_str().expect("checksum").to_owned(),
        checksum_seq: body["checksum_seq"].as_u64().expect("checksum_seq"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_store_reproduces_the_pull_checksum_once_it_has_applied_through_checksum_seq() {
    let world = World::start(8).await;
    let (tenant, warehouse) = world.tenant("acme");
    let device = world.enroll(tenant, warehouse, "dock").await;
    let a = key(1, 1, None);
    let b = key(2, 1, Some("LOT-7"));
    let bodies = [
        received(&a, 10),
        received(&b, 4),
        picked(&a, 3),
        moved(&a, 3, 2),
        received(&a, 5),
        picked(&b, 1),
        received(&a, 1),
    ];
    let events: Vec<Event> = bodies
        .into_iter()
        .enumerate()
        .map(|(n, body)| event(&device, n as u64 + 1, 1_700_000_000_000 + n as u64, body))
        .collect();
    let (status, body) = world.push(&device, &events).await;
    assert_eq!(status, 200, "{body}");

    let first = pull_page(&world, &device, 0, 3).await;
    let rest = pull_page(&world, &device, first.next, 100).await;
    assert_eq!(
        (first.next, first.checksum_seq),
        (3, 7),
        "a page that is not the tail says the checksum is of the projection through seq 7"
    );
    assert_eq!(
        (rest.next, rest.checksum_seq),
        (7, 7),
        "the tail page ends at the checksum's seq"
    );
    let empty = pull_page(&world, &device, rest.next, 100).await;
    assert_eq!(
        empty.checksum,
        aisle_projection::checksum::stock_checksum(&[]),
        "an empty page's checksum is the checksum of no rows"
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let profile = Profile { tenant, warehouse };
    let mut store = Store::open(
        &dir.path().join("device.sqlite3"),
        profile,
        &aisle_store::StoreKey::from_bytes([9; 32]),
    )
    .expect("store");
    store
        .apply_remote(&first.events, None)
        .expect("apply page 1");
    assert_ne!(
        store.page_checksum(&first.events).expect("checksum"),
        first.checksum,
        "a device that applied only through seq 3 is not comparable with a checksum of seq 7"
    );
    store
        .apply_remote(&rest.events, None)
        .expect("apply page 2");
    for page in [&first, &rest] {
        assert_eq!(
            store.page_checksum(&page.events).expect("checksum"),
            page.checksum,
            "with every event through checksum_seq applied, the device's projection gives the server's checksum"
        );
    }

    // The definition is the pure function over (key, on hand): page 2 touches a, b and the
    // move's target, whose quantities are known here.
    let mut a_warehouse = a.clone();
    a_warehouse.warehouse = warehouse;
    let mut b_warehouse = b.clone();
    b_warehouse.warehouse = warehouse;
    let mut moved_to = key(3, 1, None);
    moved_to.warehouse = warehouse;
    let rows = [(a_warehouse, 11), (b_warehouse, 3), (moved_to, 2)];
    assert_eq!(
        aisle_projection::checksum::stock_checksum(&rows),
        rest.checksum,
        "the checksum is stock_checksum over the touched keys' on-hand quantities"
    );
}

/// The value of the series `name` whose labels include every one of `labels`.
fn series_value(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter(|line| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .find(|line| labels.iter().all(|label| line.contains(label)))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_events_and_refusals_without_naming_a_tenant() {
    let world = World::start(1).await;
    let (acme, acme_warehouse) = world.tenant("acme");
    let (globex, globex_warehouse) = world.tenant("globex");
    let device = world.enroll(acme, acme_warehouse, "dock").await;
    let other = world.enroll(globex, globex_warehouse, "dock").await;

    let batch = receipts(&device, 1, 3);
    assert_eq!(world.push(&device, &batch).await.0, 200);
    assert_eq!(world.push(&device, &batch).await.0, 200, "duplicates");
    let mut invalid = receipts(&device, 10, 1);
    if let aisle_core::EventBody::Received { qty, .. } = &mut invalid[0].body {
        *qty = 0;
    }
    assert_eq!(world.push(&device, &invalid).await.0, 200, "one rejected");
    assert_eq!(world.pull_all(&device).await.len(), 3);
    // The other tenant's pool evicts acme's under the cap of one.
    assert_eq!(world.push(&other, &receipts(&other, 1, 1)).await.0, 200);
    let (status, _) = push_to(&world.http, &world.url(""), &device, globex, &batch).await;
    assert_eq!(status, 403, "a push into another tenant is refused");

    let response = world
        .http
        .get(world.url("/metrics"))
        .send()
        .await
        .expect("metrics answer");
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let text = response.text().await.expect("text");
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );

    let mode = r#"isolation_mode="database_per_tenant""#;
    let events_route = r#"route="/v1/t/{tenant}/events""#;
    let expectations: &[(&str, &[&str], f64)] = &[
        (
            "aisle_http_requests_total",
            &[
                mode,
                events_route,
                r#"method="POST""#,
                r#"status_class="2xx""#,
                r#"code="ok""#,
            ],
            4.0,
        ),
        (
            "aisle_http_requests_total",
            &[
                mode,
                events_route,
                r#"method="POST""#,
                r#"status_class="4xx""#,
                r#"code="tenant_mismatch""#,
            ],
            1.0,
        ),
        (
            "aisle_http_requests_total",
            &[mode, events_route, r#"method="GET""#, r#"code="ok""#],
            2.0,
        ),
        (
            "aisle_http_requests_total",
            &[mode, r#"route="/v1/enroll""#, r#"code="ok""#],
            2.0,
        ),
        (
            "aisle_events_pushed_total",
            &[mode, r#"result="applied""#],
            4.0,
        ),
        (
            "aisle_events_pushed_total",
            &[mode, r#"result="duplicate""#],
            3.0,
        ),
        (
            "aisle_events_pushed_total",
            &[mode, r#"result="rejected""#],
            1.0,
        ),
        (
            "aisle_isolation_refusals_total",
            &[mode, r#"reason="tenant_mismatch""#],
            1.0,
        ),
        ("aisle_tenant_pools_open", &[mode], 1.0),
    ];
    for (name, labels, expected) in expectations {
        assert_eq!(
            series_value(&text, name, labels),
            Some(*expected),
            "{name} {labels:?} in:\n{text}"
        );
    }
    let evictions = series_value(&text, "aisle_tenant_pool_evictions_total", &[mode]);
    assert!(
        evictions.is_some_and(|n| n >= 1.0),
        "two tenants under a cap of one evict: {evictions:?}\n{text}"
    );
    for id in [
        acme.to_string(),
        globex.to_string(),
        device.device.to_string(),
    ] {
        assert!(
            !text.contains(&id),
            "no series names a tenant or device ({id})"
        );
    }
    for line in text.lines().filter(|line| !line.starts_with('#')) {
        assert!(
            line.contains(mode),
            "every series carries the isolation mode: {line}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_describes_every_endpoint() {
    let world = World::start(4).await;
    let response = world
        .http
        .get(world.url("/v1/openapi.json"))
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), 200);
    let document: Value = response.json().await.expect("valid json");
    let version = document["openapi"].as_str().expect("an openapi version");
    assert!(version.starts_with("3."), "OpenAPI 3: {version}");
    let paths = document["paths"].as_object().expect("paths");
    let expected: &[(&str, &[&str])] = &[
        ("/healthz", &["get"]),
        ("/readyz", &["get"]),
        ("/metrics", &["get"]),
        ("/v1/openapi.json", &["get"]),
        ("/v1/enroll", &["post"]),
        ("/v1/t/{tenant}/events", &["get", "post"]),
        ("/v1/t/{tenant}/stock", &["get"]),
        ("/v1/t/{tenant}/master", &["get"]),
        ("/v1/t/{tenant}/erp/items", &["put"]),
        ("/v1/t/{tenant}/erp/locations", &["put"]),
        ("/v1/t/{tenant}/erp/users", &["put"]),
        ("/v1/t/{tenant}/erp/pick_lists", &["put"]),
        (
            "/v1/t/{tenant}/erp/pick_lists/{reference}/cancel",
            &["post"],
        ),
        ("/v1/t/{tenant}/erp/expected_receipts", &["put"]),
        ("/v1/t/{tenant}/erp/stock", &["get"]),
    ];
    for (path, methods) in expected {
        let operations = paths
            .get(*path)
            .unwrap_or_else(|| panic!("{path} is described; paths: {:?}", paths.keys()));
        for method in *methods {
            assert!(
                operations.get(*method).is_some(),
                "{method} {path} is described"
            );
        }
    }
    let pull = &paths["/v1/t/{tenant}/events"]["get"];
    let pull_schema = document["components"]["schemas"]["PullResponse"]["properties"].clone();
    assert!(
        pull_schema.get("checksum").is_some() && pull_schema.get("checksum_seq").is_some(),
        "the pull answer's checksum is described: {pull_schema}"
    );
    assert!(
        pull["security"].is_array(),
        "pulls need the device token: {pull}"
    );
}
