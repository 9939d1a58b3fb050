//! Mixed-version fleets (docs/protocol.md, "Mixed-version fleets"): a PC whose build reads
//! fewer event kinds than the server writes keeps syncing. Its engine declares an older
//! capability set (`Aisle-Reads` without `resolved` and `count_requested`) against today's
//! real server; the server sends those events as envelopes with the stock keys they touch,
//! the PC keeps them unread and marks the keys, and once it runs a build that reads them it
//! applies them and the marks go.

use crate::support::{fast_config, key, Device, World};
use aisle_core::stock::CountTaskReason;
use aisle_core::testkit::{count_requested, picked, received};
use aisle_sync::SyncConfig;

/// What a build from before `resolved` and `count_requested` declares.
fn older_build() -> SyncConfig {
    SyncConfig {
        reads: aisle_core::event::EVENT_KINDS
            .iter()
            .map(|(kind, _)| *kind)
            .filter(|kind| !["resolved", "count_requested"].contains(kind))
            .map(str::to_owned)
            .collect(),
        ..fast_config()
    }
}

fn task_reasons(device: &Device) -> Vec<&'static str> {
    let mut reasons: Vec<&'static str> = device
        .recorder
        .open_tasks()
        .expect("tasks")
        .iter()
        .map(|task| match task.reason {
            CountTaskReason::Requested { .. } => "requested",
            CountTaskReason::NegativeStock => "negative_stock",
            _ => "other",
        })
        .collect();
    reasons.sort_unstable();
    reasons
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pc_one_version_behind_keeps_syncing_and_catches_up_after_its_update() {
    let world = World::start().await;
    let mut new = world.device("new", None, fast_config()).await;
    let mut old = world.device("old", None, older_build()).await;
    let (short, asked, elsewhere) = (key(&world, 1, 1), key(&world, 2, 1), key(&world, 3, 1));
    new.record(received(&short, 10));
    new.record(received(&asked, 4));
    new.engine().sync_once().await.expect("new pushes");
    old.engine()
        .sync_once()
        .await
        .expect("old pulls the receipts");
    assert_eq!(old.on_hand(&short), 10);

    // Today's kinds: a pick past what is there (the server records a `resolved` negative
    // stock with its count task) and a manager's count request.
    new.record(picked(&short, 12));
    new.record(count_requested(&asked, "the label looks wrong"));
    new.engine().sync_once().await.expect("new pushes");
    new.engine()
        .sync_once()
        .await
        .expect("new pulls the resolution");
    assert_eq!(task_reasons(&new), ["negative_stock", "requested"]);

    // The older PC does not stop: it applies what it reads and keeps the rest unread.
    old.engine()
        .sync_once()
        .await
        .expect("a pull with events the PC cannot read still succeeds");
    assert_eq!(
        old.recorder.n_unread().expect("unread"),
        2,
        "resolved and count_requested"
    );
    assert_eq!(
        old.on_hand(&short),
        -2,
        "the pick, which it reads, is applied"
    );
    assert_eq!(
        old.recorder.needs_update(&short).expect("mark").as_deref(),
        Some("0.1.0"),
        "the key the resolution names is marked with the version that reads it"
    );
    assert_eq!(
        old.recorder.needs_update(&asked).expect("mark").as_deref(),
        Some("0.1.0")
    );
    assert_eq!(old.recorder.needs_update(&elsewhere).expect("mark"), None);
    assert_eq!(
        old.engine().status().borrow().needs_update.as_deref(),
        Some("0.1.0"),
        "the sync panel names the version that reads everything"
    );
    assert_eq!(
        task_reasons(&old),
        ["negative_stock"],
        "its own rules see the negative stock; the requested count comes with its event"
    );
    assert_eq!(
        old.engine().status().borrow().checksum_mismatches,
        0,
        "stock the unread events touch is not compared, so no false repair"
    );

    // It keeps working both ways: its own receipt reaches the server and the newer PC,
    // and the newer PC's next event reaches it.
    let receipt = old.record(received(&elsewhere, 5));
    old.engine().sync_once().await.expect("old pushes");
    assert!(world
        .server_events(&old)
        .await
        .iter()
        .any(|event| event.id == receipt.id));
    new.record(received(&short, 2));
    new.engine().sync_once().await.expect("new syncs");
    old.engine().sync_once().await.expect("old pulls again");
    assert_eq!(old.on_hand(&short), 0);
    assert_eq!(new.on_hand(&elsewhere), 5);
    assert_eq!(
        old.recorder.n_unread().expect("unread"),
        2,
        "the same two, once each"
    );
    // A page of nothing but an event it cannot read is kept too.
    new.record(count_requested(&elsewhere, ""));
    new.engine()
        .sync_once()
        .await
        .expect("new pushes the request");
    old.engine()
        .sync_once()
        .await
        .expect("old pulls a page of one envelope");
    assert_eq!(old.recorder.n_unread().expect("unread"), 3);
    assert!(old
        .recorder
        .needs_update(&elsewhere)
        .expect("mark")
        .is_some());

    // The update: the same store under a build that reads every kind.
    old.restart_engine(fast_config());
    assert_eq!(
        old.recorder.n_unread().expect("unread"),
        0,
        "applied at start"
    );
    for marked in [&short, &asked, &elsewhere] {
        assert_eq!(old.recorder.needs_update(marked).expect("mark"), None);
    }
    assert!(
        task_reasons(&old).contains(&"requested"),
        "the requested count is open"
    );
    assert_eq!(task_reasons(&old), task_reasons(&new));
    assert_eq!(old.engine().status().borrow().needs_update, None);
    old.engine()
        .sync_once()
        .await
        .expect("old syncs after the update");
    assert_eq!(
        old.recorder.event_count().expect("count"),
        world.server_events(&old).await.len() as u64,
        "every event of the server, once"
    );
    assert_eq!(old.view(), new.view(), "the two PCs agree again");
    let report = old.recorder.rebuild_projection().expect("rebuild");
    assert!(report.differences.is_empty(), "{:?}", report.differences);
}
