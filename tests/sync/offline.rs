//! Two devices work offline: they receive, both pick the same last unit, claim the same
//! pick list, and count. They reconnect. Both devices and the server then show identical
//! stock and the same discrepancies, and the device that lost the claim is told who won. A
//! manager's count request made offline on one device is a count task on both.

use crate::support::{fast_config, key, user_of, Proxy, World};
use aisle_core::event::CountDecision;
use aisle_core::stock::CountTaskReason;
use aisle_core::stock::Notice;
use aisle_core::testkit::{claimed, count_requested, counted, pick_list, picked, received};
use aisle_sync::conflicts::open_conflicts;
use aisle_sync::SyncError;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_offline_devices_converge_with_the_server_and_the_same_discrepancies() {
    let world = World::start().await;
    let (proxy_a, proxy_b) = (
        Proxy::start(world.server.addr).await,
        Proxy::start(world.server.addr).await,
    );
    let mut a = world.device("a", Some(&proxy_a.url()), fast_config()).await;
    let mut b = world.device("b", Some(&proxy_b.url()), fast_config()).await;
    let (last_unit, shelf, asked) = (key(&world, 1, 1), key(&world, 2, 2), key(&world, 3, 1));

    a.record(received(&last_unit, 1));
    a.record(received(&shelf, 5));
    a.engine().sync_once().await.expect("a pushes the receipts");
    b.engine().sync_once().await.expect("b pulls them");
    assert_eq!(b.on_hand(&last_unit), 1, "b saw a's receipt");

    proxy_a.set_offline(true);
    proxy_b.set_offline(true);
    a.record(picked(&last_unit, 1));
    a.record(claimed(pick_list(7)));
    a.record(counted(&shelf, 3, 5, CountDecision::NeedsReview));
    let request = a.record(count_requested(&asked, "cycle count"));
    b.record(picked(&last_unit, 1));
    b.record(claimed(pick_list(7)));
    b.record(counted(&shelf, 5, 5, CountDecision::SelfApproved));
    assert_eq!(
        (a.on_hand(&last_unit), b.on_hand(&last_unit)),
        (0, 0),
        "each picked the last unit"
    );
    let error = a.engine().sync_once().await.expect_err("a is offline");
    assert!(error.is_offline(), "{error}");
    assert!(
        !a.engine().status().borrow().online,
        "the status says offline"
    );
    assert_eq!(
        a.engine().status().borrow().pending,
        4,
        "a's four offline events wait"
    );

    proxy_a.set_offline(false);
    proxy_b.set_offline(false);
    for device_idx in [0, 1, 0] {
        let device = if device_idx == 0 { &mut a } else { &mut b };
        match device.engine().sync_now().await {
            Ok(_) => {}
            Err(SyncError::BackingOff { .. }) => {
                panic!("sync now must not wait for our own backoff")
            }
            Err(error) => panic!("sync after reconnecting: {error}"),
        }
    }

    let (view_a, view_b) = (a.view(), b.view());
    assert_eq!(
        view_a, view_b,
        "both devices show identical stock, discrepancies and tasks"
    );
    assert_eq!(
        world.server_view(&a).await,
        view_a.without_tasks(),
        "the server shows the same stock and discrepancies"
    );
    assert_eq!(
        view_a.on_hand.get(&last_unit),
        Some(&-1),
        "two picks of one unit"
    );
    let kinds: Vec<&str> = view_a
        .discrepancies
        .values()
        .map(|d| d.kind.as_str())
        .collect();
    for expected in ["negative_stock", "count_variance", "pick_list_contested"] {
        assert!(
            kinds.contains(&expected),
            "{expected} is open everywhere: {kinds:?}"
        );
    }
    let requested: Vec<_> = view_b
        .tasks
        .iter()
        .flatten()
        .filter(|(_, task)| matches!(task.reason, CountTaskReason::Requested { .. }))
        .collect();
    assert_eq!(
        requested.len(),
        1,
        "a's offline request is a task on b too: {requested:?}"
    );
    assert_eq!(requested[0].1.key, asked);
    assert!(
        matches!(&requested[0].1.reason, CountTaskReason::Requested { requested: order, note, .. }
            if order.id == request.id && note == "cycle count"),
        "{requested:?}"
    );
    let conflicts_b = open_conflicts(&b.recorder).expect("conflicts");
    assert!(
        conflicts_b.iter().any(|c| c.kind == "requested"
            && c.why.contains("cycle count")
            && c.user == Some(user_of(&a.profile))),
        "b's conflicts list the request with who asked and the note: {conflicts_b:#?}"
    );
    let conflicts = open_conflicts(&a.recorder).expect("conflicts");
    assert!(
        conflicts
            .iter()
            .any(|c| c.kind == "negative_stock" && c.task.is_some()),
        "negative stock comes with a count task: {conflicts:#?}"
    );

    let notices_b = b.engine().status().borrow().notices.clone();
    assert!(
        notices_b.iter().any(|notice| matches!(notice,
            Notice::ClaimLost { loser, winner, .. }
                if *loser == b.profile.device && winner.order.device == a.profile.device && winner.user == user_of(&a.profile))),
        "b lost the claim and is told a's device and user won: {notices_b:?}"
    );
    assert!(
        a.engine().status().borrow().notices.is_empty(),
        "the winner is not told it lost"
    );
    let status = a.engine().status().borrow().clone();
    assert_eq!((status.pending, status.quarantined), (0, 0), "{status:?}");
    assert!(
        status.online && status.last_success_ms.is_some(),
        "{status:?}"
    );
    assert!(
        status.clock_offset_ms.is_some(),
        "every exchange measures the clock"
    );
}
