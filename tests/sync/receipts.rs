//! Expected receipts end to end, through a real engine and a real server: the ERP announces
//! a delivery, the PC pulls it with master data, the floor receives against it (one line
//! short, one over), and the ERP's feed carries each `goods.received` with the delivery's
//! reference and expected against received per line.

use crate::cancel::{erp, erp_keys};
use crate::support::{fast_config, World};
use aisle_core::event::EventBody;
use aisle_core::stock::StockKey;
use aisle_sync::SyncConfig;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_the_erp_announced_is_received_against_and_reported_line_by_line() {
    let world = World::start().await;
    let http = reqwest::Client::new();
    let (master_key, feed_key) = erp_keys(&world);
    let tenant = world.tenant;
    let url = |path: &str| world.server.url(&format!("/v1/t/{tenant}/erp/{path}"));
    erp(
        &http,
        "PUT",
        &url("items"),
        &master_key,
        json!({ "items": [
        { "sku": "BOLT", "name": "Bolt" }, { "sku": "NUT", "name": "Nut" } ] }),
    )
    .await;
    erp(
        &http,
        "PUT",
        &url("locations"),
        &master_key,
        json!({ "locations": [
        { "warehouse": "main", "code": "DOCK-1" } ] }),
    )
    .await;
    erp(
        &http,
        "PUT",
        &url("expected_receipts"),
        &master_key,
        json!({ "expected_receipts": [
        { "warehouse": "main", "reference": "ASN-7", "supplier": "Bolt & Co", "lines": [
            { "line": 1, "sku": "BOLT", "qty": 10 },
            { "line": 2, "sku": "NUT", "qty": 4 } ] } ] }),
    )
    .await;

    let config = SyncConfig {
        pull_master: true,
        ..fast_config()
    };
    let mut pc = world.device("dock-1", None, config).await;
    pc.engine()
        .sync_once()
        .await
        .expect("the PC pulls master data");
    let asn = pc
        .recorder
        .expected_receipt("ASN-7")
        .expect("read")
        .expect("the PC knows the delivery");
    assert_eq!((asn.supplier.as_str(), asn.lines.len()), ("Bolt & Co", 2));
    let dock = pc
        .recorder
        .location_by_code("DOCK-1")
        .expect("read")
        .expect("DOCK-1")
        .id;
    let against = |item, qty| {
        let mut body = aisle_core::testkit::received(
            &StockKey {
                warehouse: world.warehouse,
                location: dock,
                item,
                lot: None,
            },
            qty,
        );
        if let EventBody::Received { receipt, .. } = &mut body {
            *receipt = Some("ASN-7".to_owned());
        }
        body
    };
    let (bolt, nut) = (asn.lines[0].item, asn.lines[1].item);
    pc.record(against(bolt, 7));
    pc.record(against(nut, 5));
    pc.engine().sync_once().await.expect("the PC pushes");

    let page = erp(&http, "GET", &url("feed"), &feed_key, Value::Null).await;
    let received: Vec<&Value> = page["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|entry| &entry["message"])
        .filter(|message| message["type"] == "goods.received")
        .collect();
    assert_eq!(received.len(), 2, "{page}");
    let last = &received[1]["data"]["receipt"];
    assert_eq!(last["reference"], "ASN-7", "{last}");
    let lines: Vec<(i64, i64, i64)> = last["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|line| {
            (
                line["expected"].as_i64().expect("expected"),
                line["received"].as_i64().expect("received"),
                line["difference"].as_i64().expect("difference"),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [(10, 7, -3), (4, 5, 1)],
        "BOLT short by 3, NUT over by 1"
    );
}
