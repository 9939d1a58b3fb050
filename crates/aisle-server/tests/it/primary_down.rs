//! What the server does while a PostgreSQL primary is away (docs/scaling.md, "When a primary
//! fails"), on real clusters: the registry and tenant `home` on one cluster, tenant `away` on
//! a second one that is killed with SIGKILL and started again, as a failover tool would bring
//! a primary back.
//!
//! While `away`'s cluster is down its device's push gets `503` with `Retry-After` and a
//! stable code (never a 500, never a lost or half-written batch), its pull the same, and
//! `home`, on the other cluster, keeps pushing and pulling. Once the cluster is back the same
//! push is accepted, and the log holds each event exactly once.

use crate::support::{
    device_from, post_json, push_to, receipts, result_statuses, try_pull_all_from, Device,
};
use aisle_pgtest::PgCluster;
use aisle_server::pg::registry::PgRegistry;
use aisle_server::{RunningServer, ServerConfig};

/// Enrolls a device over HTTP with `code`, an enrollment code the registry made.
async fn enrolled(http: &reqwest::Client, base: &str, code: &str) -> Device {
    let (status, body) = post_json(
        http,
        &format!("{base}/v1/enroll"),
        None,
        &serde_json::json!({ "code": code, "device_name": "pc" }),
    )
    .await;
    assert_eq!(status, 200, "enrollment succeeds: {body}");
    device_from(&body)
}

/// Every seq in `device`'s tenant log, pulled over HTTP (the status of a refused page).
async fn pulled_seqs(http: &reqwest::Client, base: &str, device: &Device) -> Result<Vec<u64>, u16> {
    try_pull_all_from(http, base, device)
        .await
        .map(|events| events.into_iter().map(|(seq, _)| seq).collect())
        .map_err(|(status, _)| status)
}

/// A push of `batch` as `device`: its status, its `Retry-After` header and its body.
async fn push_with_retry_after(
    http: &reqwest::Client,
    base: &str,
    device: &Device,
    tenant: aisle_core::ids::TenantId,
    batch: &[aisle_core::Event],
) -> (u16, Option<String>, serde_json::Value) {
    let response = http
        .post(format!("{base}/v1/t/{tenant}/events"))
        .bearer_auth(&device.token)
        .json(&serde_json::json!({ "events": batch }))
        .send()
        .await
        .expect("the server answers");
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|value| value.to_str().expect("ascii").to_owned());
    let body: serde_json::Value = response.json().await.expect("json");
    (status, retry_after, body)
}

#[test]
fn while_a_tenant_cluster_is_down_its_devices_get_503_and_other_clusters_work_on() {
    let home_cluster = PgCluster::start().expect("the registry's cluster starts");
    let mut away_cluster = PgCluster::start().expect("the second cluster starts");
    home_cluster
        .create_database("aisle_registry")
        .expect("registry database");
    let registry_url = home_cluster.url("aisle_registry");
    let admin_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let registry =
        PgRegistry::connect(&registry_url, admin_runtime.handle().clone()).expect("registry");
    registry
        .add_cluster("home", &home_cluster.base_url(), None, 1)
        .expect("cluster home");
    registry
        .add_cluster("away", &away_cluster.base_url(), None, 1)
        .expect("cluster away");
    let home = registry
        .add_tenant_on("home", Some("home"), 1)
        .expect("tenant home");
    let away = registry
        .add_tenant_on("away", Some("away"), 1)
        .expect("tenant away");
    // A second tenant on the same cluster whose database no request has opened yet when the
    // primary goes away: its first push opens it, and is refused for now, not for good.
    let cold = registry
        .add_tenant_on("cold", Some("away"), 1)
        .expect("tenant cold");
    let home_warehouse = registry.add_warehouse(home, "main", 1).expect("warehouse");
    let away_warehouse = registry.add_warehouse(away, "main", 1).expect("warehouse");
    let cold_warehouse = registry.add_warehouse(cold, "main", 1).expect("warehouse");

    let code = |tenant, warehouse| {
        registry
            .create_enrollment_code(tenant, warehouse, 3_600_000, aisle_server::now_ms())
            .expect("code")
    };
    let (home_code, away_code) = (code(home, home_warehouse), code(away, away_warehouse));
    let cold_code = code(cold, cold_warehouse);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let server = runtime
        .block_on(RunningServer::start(ServerConfig::postgres(
            registry_url.clone(),
            64,
        )))
        .expect("the server starts on the PostgreSQL registry");
    let base = format!("http://{}", server.addr);
    // A request the server never answered would hang the test: fail it instead.
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .expect("client");

    runtime.block_on(async {
        let home_device = enrolled(&http, &base, &home_code).await;
        let away_device = enrolled(&http, &base, &away_code).await;
        let cold_device = enrolled(&http, &base, &cold_code).await;
        let (status, body) = push_to(
            &http,
            &base,
            &away_device,
            away,
            &receipts(&away_device, 1, 5),
        )
        .await;
        assert_eq!(status, 200, "away pushes while its cluster is up: {body}");
        let (status, body) = push_to(
            &http,
            &base,
            &home_device,
            home,
            &receipts(&home_device, 1, 5),
        )
        .await;
        assert_eq!(status, 200, "home pushes: {body}");

        away_cluster.kill().expect("away's primary is killed");

        // The next batch of `away`'s device, while its primary is away.
        let batch = receipts(&away_device, 6, 5);
        let (status, retry_after, body) =
            push_with_retry_after(&http, &base, &away_device, away, &batch).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (503, Some("database_unavailable")),
            "a push to a tenant whose primary is down: {body}"
        );
        assert!(
            retry_after.is_some(),
            "the 503 says when to try again: {body}"
        );
        assert_eq!(
            pulled_seqs(&http, &base, &away_device).await,
            Err(503),
            "a pull from the tenant whose primary is down"
        );

        // A tenant first opened while its primary is away gets the same answer: a busy
        // database, with `Retry-After`, and it is not marked unavailable (which would
        // refuse it until an operator came).
        let cold_batch = receipts(&cold_device, 1, 5);
        let (status, retry_after, body) =
            push_with_retry_after(&http, &base, &cold_device, cold, &cold_batch).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (503, Some("database_unavailable")),
            "a first push to a tenant whose primary is down: {body}"
        );
        assert!(
            retry_after.is_some(),
            "the 503 says when to try again: {body}"
        );
        // The registry's calls block on its own runtime: off this one's workers.
        let cold_row = tokio::task::block_in_place(|| registry.tenant(cold))
            .expect("registry")
            .expect("tenant cold");
        assert_eq!(
            cold_row.failed_migration, None,
            "a primary that is away marks no tenant"
        );

        // The other cluster's tenant does not notice.
        let (status, body) = push_to(
            &http,
            &base,
            &home_device,
            home,
            &receipts(&home_device, 6, 5),
        )
        .await;
        assert_eq!(
            status, 200,
            "home pushes while the other cluster is down: {body}"
        );
        assert_eq!(
            pulled_seqs(&http, &base, &home_device).await,
            Ok((1..=10).collect::<Vec<u64>>()),
            "home pulls its whole log while the other cluster is down"
        );

        away_cluster.start_again().expect("away's primary is back");

        // The device sends the same batch again, as its outbox would after Retry-After. The
        // pool may need a try or two to notice its old connections died with the primary.
        let mut statuses = Vec::new();
        let mut accepted = None;
        for _ in 0..20 {
            let (status, body) = push_to(&http, &base, &away_device, away, &batch).await;
            statuses.push(status);
            if status == 200 {
                accepted = Some(body);
                break;
            }
            assert_eq!(status, 503, "only 503 while reconnecting: {body}");
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
        let body = accepted.unwrap_or_else(|| panic!("the retried push is accepted: {statuses:?}"));
        assert_eq!(
            result_statuses(&body),
            vec!["applied"; 5],
            "the batch refused while the primary was down was not half-written: {body}"
        );
        assert_eq!(
            pulled_seqs(&http, &base, &away_device).await,
            Ok((1..=10).collect::<Vec<u64>>()),
            "away's log holds each event once, in order, after the primary came back"
        );
        let (status, body) = push_to(&http, &base, &cold_device, cold, &cold_batch).await;
        assert_eq!(
            status, 200,
            "the tenant refused at its first open is served once its primary is back: {body}"
        );
        assert_eq!(result_statuses(&body), vec!["applied"; 5], "{body}");
    });
    drop(server);
}
