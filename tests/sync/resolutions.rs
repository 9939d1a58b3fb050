//! Every automatic resolution is itself an event: two devices that conflict while offline
//! sync through the real server, and each device's audit trail then holds the server's one
//! `resolved` event for each decision, naming the winner or the key and its count task.

use crate::support::{fast_config, key, user_of, Device, World};
use aisle_core::event::{EventBody, Resolution};
use aisle_core::ids::DeviceId;
use aisle_core::stock::CountTaskReason;
use aisle_core::testkit::{claimed, pick_list, picked, received};
use aisle_core::Event;
use aisle_store::floor::HistoryFilter;

/// The resolutions in the device's audit trail (newest first).
fn resolutions_in_history(device: &Device) -> Vec<(Event, Resolution)> {
    device
        .recorder
        .history(&HistoryFilter::default(), 0, 1_000)
        .expect("history")
        .into_iter()
        .filter_map(|event| match &event.body {
            EventBody::Resolved { resolution } => Some((event.clone(), resolution.clone())),
            _ => None,
        })
        .collect()
}

/// Each device has every event the server has, and its projection equals a rebuild.
async fn assert_converged(world: &World, devices: &mut [&mut Device]) {
    let n_on_server = world.server_events(&*devices[0]).await.len() as u64;
    for device in devices.iter_mut() {
        assert_eq!(
            device.recorder.event_count().expect("count"),
            n_on_server,
            "device {} holds every event, resolutions included",
            device.profile.device
        );
        let view = device.view();
        let report = device.recorder.rebuild_projection().expect("rebuild");
        assert!(report.differences.is_empty(), "{:?}", report.differences);
        assert_eq!(device.view(), view, "the resolutions changed nothing");
        assert_eq!(
            device.engine().status().borrow().checksum_mismatches,
            0,
            "every pulled checksum agreed"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pick_list_claimed_on_two_offline_devices_is_resolved_once_in_both_histories() {
    let world = World::start().await;
    let mut a = world.device("a", None, fast_config()).await;
    let mut b = world.device("b", None, fast_config()).await;
    // Neither has synced: both claim the list offline.
    let claim_a = a.record(claimed(pick_list(7)));
    let claim_b = b.record(claimed(pick_list(7)));
    let a_first = claim_a.order() < claim_b.order();
    let (winner_claim, loser_claim) = if a_first {
        (&claim_a, &claim_b)
    } else {
        (&claim_b, &claim_a)
    };
    // The later claim reaches the server first; the earlier one arrives after it and wins.
    {
        let (early, late) = if a_first {
            (&mut a, &mut b)
        } else {
            (&mut b, &mut a)
        };
        late.engine()
            .sync_once()
            .await
            .expect("the later claimer syncs");
        early
            .engine()
            .sync_once()
            .await
            .expect("the earlier claimer syncs");
        late.engine()
            .sync_once()
            .await
            .expect("the later claimer pulls");
    }

    let server = DeviceId::server(world.tenant, world.warehouse);
    for device in [&a, &b] {
        let resolved = resolutions_in_history(device);
        assert_eq!(
            resolved.len(),
            1,
            "device {}: exactly one resolution: {resolved:?}",
            device.profile.device
        );
        let (event, resolution) = &resolved[0];
        assert_eq!(event.device, server, "authored by the server");
        let Resolution::ClaimConflict { winner, loser, .. } = resolution else {
            panic!("a claim conflict: {resolution:?}")
        };
        assert_eq!(
            (winner.event, winner.device, winner.user),
            (winner_claim.id, winner_claim.device, winner_claim.user),
            "names the winning claim, device and user"
        );
        assert_eq!(
            winner.user,
            user_of(if a_first { &a.profile } else { &b.profile }),
            "the winner's user is the one who claimed on that device"
        );
        assert_eq!(
            (loser.event, loser.device),
            (loser_claim.id, loser_claim.device)
        );
    }
    assert_eq!(
        resolutions_in_history(&a)[0].0,
        resolutions_in_history(&b)[0].0,
        "the same event on both"
    );
    assert_converged(&world, &mut [&mut a, &mut b]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_offline_devices_picking_the_last_unit_get_one_negative_stock_resolution() {
    let world = World::start().await;
    let mut a = world.device("a", None, fast_config()).await;
    let mut b = world.device("b", None, fast_config()).await;
    let last_unit = key(&world, 1, 1);
    a.record(received(&last_unit, 1));
    a.engine().sync_once().await.expect("a pushes the receipt");
    b.engine().sync_once().await.expect("b pulls it");
    // Both pick the last unit before either syncs again.
    a.record(picked(&last_unit, 1));
    let second_pick = b.record(picked(&last_unit, 1));
    a.engine().sync_once().await.expect("a syncs");
    b.engine().sync_once().await.expect("b syncs");
    a.engine().sync_once().await.expect("a pulls");

    for device in [&a, &b] {
        let resolved = resolutions_in_history(device);
        let [(
            _,
            Resolution::NegativeStock {
                location,
                item,
                on_hand,
                task,
                cause,
                ..
            },
        )] = &resolved[..]
        else {
            panic!("one negative-stock resolution: {resolved:?}")
        };
        assert_eq!(
            (*location, *item, *on_hand, *cause),
            (last_unit.location, last_unit.item, -1, second_pick.id),
            "names the key, how far below zero, and the pick that took it there"
        );
        let open_tasks = device.recorder.open_tasks().expect("tasks");
        assert!(
            open_tasks
                .iter()
                .any(|open| open.id == *task && open.reason == CountTaskReason::NegativeStock),
            "the count task it names is open on device {}: {open_tasks:?}",
            device.profile.device
        );
    }
    assert_converged(&world, &mut [&mut a, &mut b]).await;
}
