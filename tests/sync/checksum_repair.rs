//! A device whose log lacks an event the server has heals by fetching the events of the
//! differing checksum's stock keys again, and the episode is recorded in its store.
//!
//! The divergence is the honest one the protocol documents (`docs/protocol.md`, "Operations:
//! backup and restore"): the operator restores the tenant from a backup, the server hands
//! the rolled-back seqs out again to new events, and a device whose cursor was already past
//! them never pulls those events by seq. The next page that touches the same stock key
//! carries a checksum the device cannot match, and the repair fetches the missing event by
//! key. Where the device instead holds an event the server lost, no re-fetch can help, and
//! the record says the difference is unresolved.

use crate::support::{fast_config, key, World};
use aisle_core::testkit::{picked, received};
use aisle_store::repairs::RepairOutcome;
use aisle_store::Store;
use aisle_sync::{Engine, KeyringTokenStore};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_missing_an_event_refetches_its_keys_and_records_the_repair() {
    let world = World::start().await;
    let mut a = world.device("a", None, fast_config()).await;
    let mut b = world.device("b", None, fast_config()).await;
    let mut c = world.device("c", None, fast_config()).await;
    let (shelf, bin) = (key(&world, 1, 1), key(&world, 2, 2));

    a.record(received(&shelf, 5));
    a.engine().sync_once().await.expect("a pushes seq 1");
    b.engine().sync_once().await.expect("b pulls seq 1");
    let backup = world.devices_dir.path().join("tenant-backup.sqlite3");
    let saved = aisle_server::backup::backup_tenant(world.data_dir(), world.tenant, &backup)
        .expect("backup");
    assert_eq!(saved.last_seq, 1, "the backup ends at seq 1");

    a.record(received(&bin, 3));
    a.engine().sync_once().await.expect("a pushes seq 2");
    b.engine().sync_once().await.expect("b pulls seq 2");
    assert_eq!(b.on_hand(&bin), 3, "b has a's second receipt");
    aisle_server::backup::restore_tenant(
        world.data_dir(),
        &world.registry,
        world.tenant,
        &backup,
        aisle_server::backup::RestoreOptions::default(),
    )
    .expect("restore");

    // The restored server gives seq 2 again, to c's receipt; b's cursor is past it.
    let missed = c.record(received(&shelf, 2));
    c.engine().sync_once().await.expect("c pushes seq 2 again");
    c.record(picked(&shelf, 1));
    c.engine().sync_once().await.expect("c pushes seq 3");
    assert_eq!(
        world.server_view(&c).await.on_hand.get(&shelf),
        Some(&6),
        "the server: 5 + 2 - 1"
    );

    b.engine()
        .sync_once()
        .await
        .expect("b pulls seq 3 and repairs");
    assert_eq!(
        b.on_hand(&shelf),
        6,
        "b fetched c's receipt by key and agrees with the server"
    );
    assert!(
        b.recorder
            .load_events()
            .expect("log")
            .iter()
            .any(|event| event.id == missed.id),
        "the missed event is in b's log now"
    );
    let repairs = b.recorder.checksum_repairs(10).expect("repairs");
    assert_eq!(repairs.len(), 1, "one episode recorded: {repairs:?}");
    let healed = &repairs[0];
    assert_eq!(
        (healed.outcome, healed.n_missing, healed.n_fetched),
        (RepairOutcome::Refetched, 1, 3),
        "three events touch the shelf up to the checksum's seq; b lacked one: {healed:?}"
    );
    assert_eq!(
        healed.keys,
        std::slice::from_ref(&shelf),
        "the page touched the shelf only"
    );
    assert_eq!(
        (healed.after_seq, healed.checksum_seq),
        (2, 3),
        "the page after seq 2, checked as of seq 3"
    );
    {
        let status = b.engine().status().borrow().clone();
        assert_eq!(
            (status.checksum_mismatches, status.checksum_unresolved),
            (1, 0),
            "{status:?}"
        );
        let last = status
            .last_checksum_repair
            .expect("the status shows the repair");
        assert_eq!(
            (last.outcome, last.n_missing),
            (RepairOutcome::Refetched, 1)
        );
    }

    // b still holds a's receipt of the bin, which the restore took from the server: no
    // event can be fetched to match, and the record says so.
    c.record(picked(&bin, 1));
    c.engine().sync_once().await.expect("c pushes seq 4");
    b.engine().sync_once().await.expect("b pulls seq 4");
    let repairs = b.recorder.checksum_repairs(10).expect("repairs");
    assert_eq!(repairs.len(), 2, "{repairs:?}");
    let unresolved = &repairs[0];
    assert_eq!(
        (unresolved.outcome, unresolved.n_missing),
        (RepairOutcome::Unresolved, 0),
        "nothing was missing for the bin, and neither the re-fetch nor a rebuild matches: {unresolved:?}"
    );
    assert_eq!(
        unresolved.keys,
        std::slice::from_ref(&bin),
        "the page touched the bin only"
    );
    assert_eq!(b.on_hand(&bin), 2, "b keeps what its log says: 3 - 1");

    // The record outlives the engine: a new one over the same file reports both.
    drop(b.engine.take());
    let engine = Engine::with_token_store(
        Store::open(
            &b.db_path,
            b.profile.store_profile(),
            &aisle_sync::store_key::load(
                &KeyringTokenStore::new(crate::support::KEYRING_SERVICE),
                &b.profile.name,
            )
            .expect("keyring")
            .expect("the store key is kept"),
        )
        .expect("reopen"),
        &b.profile,
        &KeyringTokenStore::new(crate::support::KEYRING_SERVICE),
        fast_config(),
        b.clock.clone(),
    )
    .expect("engine");
    let status = engine.status().borrow().clone();
    assert_eq!(
        (status.checksum_mismatches, status.checksum_unresolved),
        (2, 1),
        "counted from the store's record: {status:?}"
    );
}
