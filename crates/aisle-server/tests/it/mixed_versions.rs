//! Mixed-version fleets over HTTP, read as plain JSON (not through the device's engine): a
//! pull that declares an older set of kinds in `Aisle-Reads` gets the others as envelopes
//! with the keys they touch, every seq exactly once; no header is the old answer; a bad
//! header is `400 bad_reads`; and `events/touching` leaves the unread kinds out.

use crate::support::{event, World};
use aisle_core::testkit::{count_requested, key, picked, received};
use serde_json::{json, Value};

/// Every kind this build writes but `resolved` and `count_requested`.
fn older_reads() -> String {
    aisle_core::event::EVENT_KINDS
        .iter()
        .map(|(kind, _)| *kind)
        .filter(|kind| !["resolved", "count_requested"].contains(kind))
        .collect::<Vec<_>>()
        .join(",")
}

async fn get(world: &World, token: &str, path: &str, reads: Option<&str>) -> (u16, Value) {
    let mut request = world.http.get(world.url(path)).bearer_auth(token);
    if let Some(reads) = reads {
        request = request.header("Aisle-Reads", reads);
    }
    let response = request.send().await.expect("answered");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json"))
}

fn seqs(list: &Value) -> Vec<u64> {
    list.as_array()
        .map(|list| {
            list.iter()
                .map(|entry| entry["seq"].as_u64().expect("seq"))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_declaring_older_kinds_gets_envelopes_with_their_keys() {
    let world = World::start(8).await;
    let (tenant, warehouse) = world.tenant("acme");
    let device = world.enroll(tenant, warehouse, "dock").await;
    let (short, asked) = (key(1, 1, None), key(2, 1, Some("L7")));
    let events = [
        event(&device, 1, 1_000, received(&short, 1)),
        event(&device, 2, 1_001, picked(&short, 3)),
        event(&device, 3, 1_002, count_requested(&asked, "")),
    ];
    let (status, body) = world.push(&device, &events).await;
    assert_eq!(status, 200, "{body}");
    let path = format!("/v1/t/{tenant}/events?after=0");

    let (status, everything) = get(&world, &device.token, &path, None).await;
    assert_eq!(status, 200);
    assert!(
        everything.get("unread").is_none(),
        "no header: the answer as before"
    );
    let all = seqs(&everything["events"]);
    assert_eq!(
        all.len(),
        4,
        "three events and the server's negative-stock resolution"
    );

    let (status, older) = get(&world, &device.token, &path, Some(&older_reads())).await;
    assert_eq!(status, 200, "{older}");
    let kinds = |list: &Value, field: &str| -> Vec<String> {
        list.as_array()
            .expect("list")
            .iter()
            .map(|entry| match field {
                "event" => entry["event"]["body"]["type"]
                    .as_str()
                    .expect("type")
                    .to_owned(),
                _ => entry["kind"].as_str().expect("kind").to_owned(),
            })
            .collect()
    };
    assert_eq!(kinds(&older["events"], "event"), ["received", "picked"]);
    assert_eq!(
        kinds(&older["unread"], "kind"),
        ["resolved", "count_requested"],
        "in seq order: the resolution follows the pick that caused it"
    );
    let mut both = seqs(&older["events"]);
    both.extend(seqs(&older["unread"]));
    both.sort_unstable();
    assert_eq!(both, all, "every seq once, in one list or the other");
    assert_eq!(older["next"], json!(all[3]));
    let request = &older["unread"][1];
    assert_eq!(request["needs"], json!("0.1.0"));
    assert_eq!(
        request["keys"],
        json!([{ "location": asked.location, "item": asked.item, "lot": "L7" }])
    );
    assert_eq!(
        request["event"]["id"],
        json!(events[2].id),
        "the event as stored"
    );
    assert_eq!(
        older["unread"][0]["keys"],
        json!([{ "location": short.location, "item": short.item }]),
        "the resolution's key, computed by the server"
    );

    // Touching the short key: the resolution is left out, the pull brings it.
    let touching = world
        .http
        .post(world.url(&format!("/v1/t/{tenant}/events/touching")))
        .bearer_auth(&device.token)
        .header("Aisle-Reads", older_reads())
        .json(&json!({ "keys": [{ "location": short.location, "item": short.item }] }))
        .send()
        .await
        .expect("answered");
    assert_eq!(touching.status().as_u16(), 200);
    let touching: Value = touching.json().await.expect("json");
    assert_eq!(kinds(&touching["events"], "event"), ["received", "picked"]);

    let (status, refused) = get(&world, &device.token, &path, Some("received,picked")).await;
    assert_eq!((status, refused["code"].as_str()), (400, Some("bad_reads")));
    assert!(
        refused["message"]
            .as_str()
            .expect("message")
            .contains("missing moved"),
        "{refused}"
    );
}
