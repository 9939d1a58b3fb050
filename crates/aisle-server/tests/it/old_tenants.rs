//! Upgrade tests from every shipped tenant schema: server data directories written by the
//! old code (the `aisle-server` binary built at the last main-line commit of each tenant
//! schema: a tenant `acme`, a warehouse `north`, one PC enrolled over HTTP and 40 scan events
//! pushed; tests/fixtures/README.md), served by today's server. Its registry and tenant
//! database upgrade on open; a PC enrolled today pulls the 40 events, the server's stock is
//! what they add up to, and a new push lands on top.

use crate::support::{device_from, event, get_json, post_json, pull_all_from, push_to};
use aisle_core::ids::{ItemId, LocationId};
use aisle_core::testkit::received;
use aisle_core::EventBody;
use aisle_server::{registry_path, Registry as _, RunningServer, ServerConfig, SqliteRegistry};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// The tenant schemas with a fixture made by the old code (today's, 11, is every other test's).
const OLD_SCHEMAS: std::ops::RangeInclusive<u32> = 1..=10;

/// A scan's location, item and signed quantity.
fn scan(event: &aisle_core::Event) -> Option<(LocationId, ItemId, i64)> {
    match &event.body {
        EventBody::Received {
            location,
            item,
            qty,
            ..
        } => Some((*location, *item, *qty)),
        EventBody::Picked {
            location,
            item,
            qty,
            ..
        } => Some((*location, *item, -qty)),
        _ => None,
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read fixture dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_from_every_shipped_tenant_schema_upgrades_with_its_events_and_stock() {
    let http = reqwest::Client::new();
    for schema in OLD_SCHEMAS {
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(format!("tests/fixtures/tenant-schema-{schema}"));
        let dir = tempfile::tempdir().expect("tempdir");
        copy_dir(&fixture, dir.path());
        // The registry upgrades on its first open, here, before the server opens it too.
        let registry = SqliteRegistry::open(&registry_path(dir.path())).expect("registry");
        let tenant = registry.resolve_tenant("acme").expect("the old tenant");
        let warehouse = registry
            .resolve_warehouse(tenant, "north")
            .expect("the old warehouse");
        let code = registry
            .create_enrollment_code(tenant, warehouse, 3_600_000, aisle_server::now_ms())
            .expect("code");
        let server = RunningServer::start(ServerConfig::new(dir.path().to_owned(), 8))
            .await
            .unwrap_or_else(|error| panic!("schema {schema}: the server starts: {error}"));
        let base = server.url("");
        let (status, body) = post_json(
            &http,
            &server.url("/v1/enroll"),
            None,
            &json!({ "code": code, "device_name": "today" }),
        )
        .await;
        assert_eq!(status, 200, "schema {schema}: {body}");
        let today = device_from(&body);

        let pulled = pull_all_from(&http, &base, &today).await;
        let scans: Vec<(LocationId, ItemId, i64)> = pulled
            .iter()
            .map(|(_, event)| event)
            .filter(|event| event.device != today.device)
            .filter_map(scan)
            .collect();
        assert_eq!(scans.len(), 40, "schema {schema}: the old PC's 40 scans");
        let mut expected: BTreeMap<(String, String), i64> = BTreeMap::new();
        for (location, item, delta) in &scans {
            *expected
                .entry((location.to_string(), item.to_string()))
                .or_default() += delta;
        }
        let stock = |body: &Value| -> BTreeMap<(String, String), i64> {
            body["rows"]
                .as_array()
                .expect("rows")
                .iter()
                .map(|row| {
                    (
                        (
                            row["location"].as_str().expect("location").to_owned(),
                            row["item"].as_str().expect("item").to_owned(),
                        ),
                        row["on_hand"].as_i64().expect("on hand"),
                    )
                })
                .filter(|(_, on_hand)| *on_hand != 0)
                .collect()
        };
        let (status, body) = get_json(
            &http,
            &server.url(&format!("/v1/t/{tenant}/stock")),
            &today.token,
        )
        .await;
        assert_eq!(status, 200, "schema {schema}: {body}");
        expected.retain(|_, on_hand| *on_hand != 0);
        assert_eq!(
            stock(&body),
            expected,
            "schema {schema}: the stock the scans add up to"
        );

        // Work goes on on the upgraded tenant.
        let key = aisle_core::stock::StockKey {
            warehouse,
            location: scans[0].0,
            item: scans[0].1,
            lot: None,
        };
        let (status, body) = push_to(
            &http,
            &base,
            &today,
            tenant,
            &[event(
                &today,
                1,
                aisle_server::now_ms() as u64,
                received(&key, 5),
            )],
        )
        .await;
        assert_eq!(status, 200, "schema {schema}: {body}");
        let (_, body) = get_json(
            &http,
            &server.url(&format!("/v1/t/{tenant}/stock")),
            &today.token,
        )
        .await;
        let after = stock(&body);
        let before = expected
            .get(&(key.location.to_string(), key.item.to_string()))
            .copied()
            .unwrap_or(0);
        assert_eq!(
            after
                .get(&(key.location.to_string(), key.item.to_string()))
                .copied()
                .unwrap_or(0),
            before + 5,
            "schema {schema}: a new receipt adds to the old stock"
        );
        // The projection the server kept through the upgrade is the one its log rebuilds to:
        // replay the log into the file, serve it again, and the stock and discrepancies are
        // the same.
        let served = |body: &Value| json!([body["rows"], body["discrepancies"]]);
        let upgraded = served(&body);
        drop(server);
        let mut conn = rusqlite::Connection::open(aisle_server::tenant_db_path(dir.path(), tenant))
            .expect("the tenant file");
        let tx = conn.transaction().expect("transaction");
        let replayed = aisle_server::rebuild::replay(&tx).expect("replay");
        tx.commit().expect("commit");
        drop(conn);
        assert!(
            replayed >= 41,
            "schema {schema}: the log replayed ({replayed} events)"
        );
        let server = RunningServer::start(ServerConfig::new(dir.path().to_owned(), 8))
            .await
            .expect("the server starts again");
        let (_, body) = get_json(
            &http,
            &server.url(&format!("/v1/t/{tenant}/stock")),
            &today.token,
        )
        .await;
        assert_eq!(
            served(&body),
            upgraded,
            "schema {schema}: the projection equals a rebuild"
        );
        drop(server);
    }
}
