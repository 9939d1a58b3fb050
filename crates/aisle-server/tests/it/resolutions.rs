//! The server records every automatic decision of the stock rules as a `resolved` event in
//! the same transaction as the push that caused it, once, authored by its own identity in
//! the warehouse; every device pulls it. Devices cannot author one.

use crate::support::{event, get_json, result_statuses, stored_events, Device, World};
use aisle_core::event::{EventBody, Resolution};
use aisle_core::ids::{DeviceId, EventId, PickListId};
use aisle_core::stock::reference::evaluate;
use aisle_core::testkit::{claimed, key, picked, received};
use aisle_core::{Event, Hlc};
use aisle_server::Registry as _;

const T: u64 = 1_700_000_000_000;

/// The resolutions among `events`, with the seq each was pulled at.
fn resolutions(events: &[(u64, Event)]) -> Vec<(u64, &Event, &Resolution)> {
    events
        .iter()
        .filter_map(|(seq, event)| match &event.body {
            EventBody::Resolved { resolution } => Some((*seq, event, resolution)),
            _ => None,
        })
        .collect()
}

async fn two_devices(world: &World) -> (Device, Device) {
    let (tenant, warehouse) = world.tenant("t");
    (
        world.enroll(tenant, warehouse, "pc-a").await,
        world.enroll(tenant, warehouse, "pc-b").await,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pick_list_claimed_from_two_devices_is_resolved_once_and_both_devices_pull_it() {
    let world = World::start(8).await;
    let (a, b) = two_devices(&world).await;
    let list = PickListId::new_v7(1, [7; 10]);
    // Both claimed while offline; a claimed first, but b's push arrives first.
    let claim_a = event(&a, 1, T + 100, claimed(list));
    let claim_b = event(&b, 2, T + 200, claimed(list));
    for (device, claim) in [(&b, &claim_b), (&a, &claim_a)] {
        let (status, body) = world.push(device, std::slice::from_ref(claim)).await;
        assert_eq!(result_statuses(&body), ["applied"], "{status} {body}");
    }
    // The same decision again: b re-sends its batch, then claims once more.
    let (_, body) = world.push(&b, std::slice::from_ref(&claim_b)).await;
    assert_eq!(result_statuses(&body), ["duplicate"], "{body}");
    let (_, body) = world
        .push(&b, &[event(&b, 3, T + 300, claimed(list))])
        .await;
    assert_eq!(result_statuses(&body), ["applied"], "{body}");

    let server = DeviceId::server(a.tenant, a.warehouse);
    let pulled_by_a = world.pull_all(&a).await;
    let pulled_by_b = world.pull_all(&b).await;
    assert_eq!(pulled_by_a, pulled_by_b, "both devices pull the same log");
    let resolved = resolutions(&pulled_by_a);
    assert_eq!(resolved.len(), 1, "exactly one decision: {resolved:?}");
    let (seq, recorded, resolution) = resolved[0];
    let Resolution::ClaimConflict {
        pick_list,
        winner,
        loser,
    } = resolution
    else {
        panic!("a claim conflict: {resolution:?}")
    };
    assert_eq!(*pick_list, list);
    assert_eq!(
        (winner.event, winner.device, winner.user),
        (claim_a.id, a.device, claim_a.user),
        "the earliest claim won, though it arrived last"
    );
    assert_eq!((loser.event, loser.device), (claim_b.id, b.device));
    assert_eq!(recorded.device, server, "authored by the server's identity");
    assert_eq!(recorded.validate(), Ok(()), "devices will accept it");
    let claim_a_seq = pulled_by_a
        .iter()
        .find(|(_, event)| event.id == claim_a.id)
        .map(|(seq, _)| *seq)
        .expect("a's claim is in the log");
    assert_eq!(
        seq,
        claim_a_seq + 1,
        "recorded right after the push that decided it"
    );

    let (status, body) = get_json(
        &world.http,
        &world.url(&format!("/v1/t/{}/stock", a.tenant)),
        &a.token,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["discrepancies"][0]["kind"]["winner"]["order"]["id"],
        claim_a.id.to_string(),
        "the derived discrepancy names the same winner: {body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negative_stock_is_resolved_with_its_count_task_each_time_it_goes_negative() {
    let world = World::start(8).await;
    let (a, b) = two_devices(&world).await;
    let bin = key(1, 1, None);
    let pick = event(&a, 1, T + 100, picked(&bin, 2));
    let receipt = event(&b, 2, T + 50, received(&bin, 5));
    let pick_again = event(&a, 3, T + 300, picked(&bin, 4));
    // The pick arrives before the receipt made earlier on another device: the server sees
    // -2 until the receipt comes; later a second pick goes negative again.
    for (device, pushed) in [(&a, &pick), (&b, &receipt), (&a, &pick_again)] {
        let (_, body) = world.push(device, std::slice::from_ref(pushed)).await;
        assert_eq!(result_statuses(&body), ["applied"], "{body}");
    }
    let pulled = world.pull_all(&b).await;
    let floor: Vec<Event> = [&pick, &receipt, &pick_again]
        .into_iter()
        .cloned()
        .collect();
    let open_tasks = evaluate(&floor).tasks;
    let decided: Vec<(EventId, i64)> = resolutions(&pulled)
        .into_iter()
        .map(|(_, recorded, resolution)| match resolution {
            Resolution::NegativeStock {
                location,
                item,
                lot,
                on_hand,
                task,
                cause,
            } => {
                assert_eq!((*location, *item, lot), (bin.location, bin.item, &None));
                assert!(
                    open_tasks.contains_key(task),
                    "names the count task the rules derive: {open_tasks:?}"
                );
                let cause_event = floor.iter().find(|event| event.id == *cause);
                assert!(
                    cause_event.is_some_and(|cause_event| recorded.hlc > cause_event.hlc),
                    "stamped after its cause"
                );
                (*cause, *on_hand)
            }
            other => panic!("only negative stock was decided: {other:?}"),
        })
        .collect();
    assert_eq!(
        decided,
        vec![(pick.id, -2), (pick_again.id, -1)],
        "one resolution each time the key went below zero, naming the event that did it"
    );
    assert_eq!(
        stored_events(world.dir.path(), a.tenant).len(),
        5,
        "three floor events and two resolutions"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_cannot_push_a_resolution() {
    let world = World::start(8).await;
    let (a, b) = two_devices(&world).await;
    let decision = Resolution::ClaimConflict {
        pick_list: PickListId::new_v7(1, [7; 10]),
        winner: aisle_core::event::ClaimRef {
            event: EventId::new_v7(1, [1; 10]),
            device: a.device,
            user: aisle_core::testkit::user(1),
        },
        loser: aisle_core::event::ClaimRef {
            event: EventId::new_v7(1, [2; 10]),
            device: b.device,
            user: aisle_core::testkit::user(1),
        },
    };
    // Signed as the device itself: refused, and the rest of the batch still goes in.
    let mut own = decision
        .clone()
        .into_event(a.tenant, a.warehouse, Hlc::new(T, 0));
    own.device = a.device;
    let bin = key(1, 1, None);
    let batch = [
        event(&a, 1, T + 1, received(&bin, 1)),
        own.clone(),
        event(&a, 2, T + 2, received(&bin, 1)),
    ];
    let (status, body) = world.push(&a, &batch).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        result_statuses(&body),
        ["applied", "rejected", "applied"],
        "{body}"
    );
    assert_eq!(body["results"][1]["reason"], "server_only", "{body}");

    // Signed as the server, it crosses the device boundary: the whole batch is refused.
    let as_server = decision.into_event(a.tenant, a.warehouse, Hlc::new(T, 0));
    assert_eq!(as_server.validate(), Ok(()), "a well-formed server event");
    let (status, body) = world
        .push(
            &a,
            &[event(&a, 3, T + 3, received(&bin, 1)), as_server.clone()],
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("device_mismatch")),
        "{body}"
    );
    assert!(
        world
            .registry
            .audit_log()
            .expect("audit log")
            .iter()
            .any(|row| row.device == Some(a.device) && row.reason == "device_mismatch"),
        "the forgery is audited"
    );

    let stored = stored_events(world.dir.path(), a.tenant);
    assert_eq!(stored.len(), 2, "only the two honest receipts: {stored:?}");
    assert!(
        stored
            .iter()
            .all(|event| event.id != own.id && event.id != as_server.id),
        "no pushed resolution is stored"
    );
}
