//! Grouped pushes on a real cluster: pushes that queue behind a running one commit together,
//! and a group that fails is split so only the failing push fails.

use crate::pg::pools::PgPoolConfig;
use crate::pg::testing::PgFixture;
use crate::pg::PUSH_LOCK;
use crate::storage::conformance::{context, event, Backend};
use crate::storage::Storage;
use aisle_core::testkit::{adjusted, key, received};
use aisle_core::Event;
use aisle_protocol::PushStatus;
use std::time::{Duration, Instant};

const T: u64 = 1_700_000_000_000;
const NOW_MS: i64 = T as i64 + 3_600_000;

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "timed out: {what}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn pushes_queued_behind_a_running_one_commit_as_one_group_and_a_failing_one_alone() {
    let fixture = PgFixture::start(PgPoolConfig::default());
    let tenant = fixture.add_tenant();
    let context = context(tenant);
    let storage = &fixture.storage;
    let bin = |n: u16| key(n, 1, None);
    storage
        .push(&context, &[event(tenant, 1, received(&bin(1), 1))], NOW_MS)
        .expect("the first push makes the database");
    Backend::refuse_outbox_type(&fixture, tenant, "stock.adjusted");
    let batch = |n: u64, failing: bool| -> Vec<Event> {
        let mut batch: Vec<Event> = (0..3)
            .map(|i| event(tenant, 100 * n + i, received(&bin(n as u16), 1)))
            .collect();
        if failing {
            batch.push(event(tenant, 100 * n + 50, adjusted(&bin(n as u16), -1)));
        }
        batch
    };
    let metrics = storage.pools.metrics().clone();
    for round in 0..2u64 {
        let context = &context;
        // A transaction of another instance holds the tenant's push lock.
        let mut holder = storage.pools.connect(context).expect("a connection");
        let held = holder.transaction().expect("begin");
        held.advisory_lock(PUSH_LOCK).expect("the push lock");
        let (groups, split) = (metrics.push_groups.get(), metrics.push_groups_split.get());
        let answers = std::thread::scope(|scope| {
            // The first push runs, and waits in the database for the lock.
            let first =
                scope.spawn(|| storage.push(context, &batch(10 * round + 2, false), NOW_MS));
            wait_until("the first push waits for the lock", || {
                storage.push_queues.waiting(tenant) == 0 && fixture.connections_to(tenant) >= 2
            });
            // Three more queue behind it; in the second round the middle one fails.
            let mut queued = Vec::new();
            for n in 3..=5 {
                let failing = round == 1 && n == 4;
                let events = batch(10 * round + n, failing);
                queued.push(scope.spawn(move || (failing, storage.push(context, &events, NOW_MS))));
                wait_until("the push queues", || {
                    storage.push_queues.waiting(tenant) == (n - 2) as usize
                });
            }
            held.rollback().expect("release the lock");
            let first = first.join().expect("first").expect("the first push");
            assert!(first
                .iter()
                .all(|result| result.status == PushStatus::Applied));
            queued
                .into_iter()
                .map(|push| push.join().expect("pusher"))
                .collect::<Vec<_>>()
        });
        for (failing, answer) in &answers {
            match answer {
                Ok(results) => {
                    assert!(!failing);
                    assert_eq!(results.len(), 3);
                    assert!(results
                        .iter()
                        .all(|result| result.status == PushStatus::Applied));
                }
                Err(error) => assert!(failing, "only the failing push fails: {error}"),
            }
        }
        assert!(answers
            .iter()
            .any(|(failing, answer)| *failing == answer.is_err()));
        assert_eq!(
            metrics.push_groups.get() - groups,
            1,
            "the three queued pushes ran as one group"
        );
        assert_eq!(
            metrics.push_groups_split.get() - split,
            round,
            "the group with the failing push was split"
        );
    }
    assert_eq!(metrics.grouped_pushes.get(), 6);
    // Seqs are dense and in queue order; nothing of the failed push is in the log; the
    // stock is what the applied receipts add up to.
    let log = crate::storage::conformance::pull_all(storage, &context, 100);
    assert_eq!(
        log.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(),
        (1..=1 + 4 * 3 + 3 * 3).collect::<Vec<_>>()
    );
    let bins: Vec<u16> = log[1..]
        .iter()
        .map(|(_, event)| {
            (2..=15)
                .find(|n| event.deltas()[0].0 == bin(*n))
                .expect("a known bin")
        })
        .collect();
    let mut expected = Vec::new();
    for n in [2, 3, 4, 5, 12, 13, 15] {
        expected.extend([n; 3]);
    }
    assert_eq!(
        bins, expected,
        "each push's events together, in queue order"
    );
}

/// Tenant migration 9: the log keeps no (hlc, device, id) index for pushes to write, and the
/// lookup of what was received against an expected receipt is served by the partial index,
/// which holds only the `received` events that name a receipt.
#[test]
fn received_against_a_receipt_is_read_through_its_partial_index() {
    let fixture = PgFixture::start(PgPoolConfig::default());
    let tenant = fixture.add_tenant();
    let context = context(tenant);
    let storage = &fixture.storage;
    let events: Vec<Event> = (1..=6)
        .map(|n| received_against(tenant, n, (n % 3 == 0).then_some("ASN-1")))
        .collect();
    storage.push(&context, &events, NOW_MS).expect("push");
    let mut conn = storage.pools.connect(&context).expect("a connection");
    let tx = conn.transaction().expect("begin");
    let indexes = index_names(&tx, "events");
    assert!(
        !indexes
            .iter()
            .any(|name| name == "events_order" || name == "events_received_by_receipt"),
        "{indexes:?}"
    );
    let definition: String = tx
        .query_one(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'events_received_against_receipt'",
            &[],
        )
        .expect("the receipts' index")
        .get(0);
    assert!(
        definition.contains("strpos"),
        "only the events naming a receipt: {definition}"
    );
    // Rows matching the index's predicate: the two receipts against ASN-1 only.
    let indexed: i64 = tx
        .query_one(
            "SELECT count(*) FROM events WHERE kind = 'received' AND strpos(payload, '\"receipt\"') > 0",
            &[],
        )
        .expect("count")
        .get(0);
    assert_eq!(indexed, 2);
    assert_eq!(received_against_asn_1_through_the_index(&tx).len(), 2);
}

/// Projection migration 2 (tenant migration 11): a new stock key writes no index that
/// repeats the unique index's prefix, the stock of one location is still read through an
/// index (that prefix), and the key states' pages keep room for updates in place.
#[test]
fn a_new_key_writes_no_redundant_index_and_a_location_is_still_read_by_index() {
    let fixture = PgFixture::start(PgPoolConfig::default());
    let tenant = fixture.add_tenant();
    let context = context(tenant);
    let storage = &fixture.storage;
    let events: Vec<Event> = [(1, 1), (1, 2), (2, 1), (3, 3)]
        .into_iter()
        .map(|(location, item)| {
            event(
                tenant,
                u64::from(location * 10 + item),
                received(&key(location, item, None), 5),
            )
        })
        .collect();
    storage.push(&context, &events, NOW_MS).expect("push");
    let at_location_1 = storage
        .stock(
            &context,
            crate::storage::StockFilter {
                item: None,
                location: Some(key(1, 1, None).location),
            },
        )
        .expect("stock");
    assert_eq!(
        at_location_1
            .rows
            .iter()
            .map(|row| (row.item, row.on_hand))
            .collect::<Vec<_>>(),
        {
            let mut expected = vec![(key(1, 1, None).item, 5), (key(1, 2, None).item, 5)];
            expected.sort();
            expected
        }
    );
    let mut conn = storage.pools.connect(&context).expect("a connection");
    let tx = conn.transaction().expect("begin");
    let indexes = index_names(&tx, "stock_keys");
    assert_eq!(
        indexes,
        [
            "stock_keys_by_item",
            "stock_keys_pkey",
            "stock_keys_warehouse_location_item_lot_key"
        ]
    );
    tx.batch_execute("SET LOCAL enable_seqscan = off")
        .expect("no seq scans");
    let plan = plan_of(
        &tx,
        &format!(
            "SELECT key_id FROM stock_keys WHERE warehouse = '{}' AND location = '{}'",
            key(1, 1, None).warehouse.as_uuid(),
            key(1, 1, None).location.as_uuid()
        ),
    );
    assert!(
        plan.iter()
            .any(|line| line.contains("stock_keys_warehouse_location_item_lot_key")),
        "{plan:#?}"
    );
    let options: Option<Vec<String>> = tx
        .query_one(
            "SELECT reloptions FROM pg_class WHERE relname = 'key_states'",
            &[],
        )
        .expect("key_states")
        .get(0);
    assert_eq!(options, Some(vec!["fillfactor=70".to_owned()]));
}

/// The names of `table`'s indexes, sorted.
fn index_names(tx: &aisle_pg::PgTx<'_>, table: &str) -> Vec<String> {
    tx.query(
        "SELECT indexname::text FROM pg_indexes WHERE tablename = $1 ORDER BY indexname",
        &[&table],
    )
    .expect("indexes")
    .iter()
    .map(|row| row.get(0))
    .collect()
}

/// The lines of `sql`'s plan (`EXPLAIN`).
fn plan_of(tx: &aisle_pg::PgTx<'_>, sql: &str) -> Vec<String> {
    tx.query(&format!("EXPLAIN {sql}"), &[])
        .expect("explain")
        .iter()
        .map(|row| row.get(0))
        .collect()
}

/// The events received against ASN-1 in the test warehouse, looked up with
/// `RECEIVED_AGAINST_SQL` in `tx` with seq scans off, after checking that its plan reads the
/// receipts' partial index. Sorted by id.
fn received_against_asn_1_through_the_index(tx: &aisle_pg::PgTx<'_>) -> Vec<Event> {
    tx.batch_execute("SET LOCAL enable_seqscan = off")
        .expect("no seq scans");
    let warehouse = aisle_core::testkit::warehouse();
    let sql = super::RECEIVED_AGAINST_SQL
        .replace("$1", &format!("'{}'::uuid", warehouse.as_uuid()))
        .replace("$2", "'ASN-1'");
    let plan = plan_of(tx, &sql);
    assert!(
        plan.iter()
            .any(|line| line.contains("events_received_against_receipt")),
        "{plan:#?}"
    );
    let mut found: Vec<Event> = tx
        .query(&sql, &[])
        .expect("the lookup")
        .iter()
        .map(|row| serde_json::from_str(row.get(0)).expect("an event"))
        .collect();
    found.sort_by_key(|event| event.id);
    found
}

/// A receipt of one unit in bin 1, against the expected receipt `reference` if one is named.
fn received_against(
    tenant: aisle_core::ids::TenantId,
    serial: u64,
    reference: Option<&str>,
) -> Event {
    let mut body = received(&key(1, 1, None), 1);
    if let aisle_core::event::EventBody::Received { receipt, .. } = &mut body {
        *receipt = reference.map(str::to_owned);
    }
    event(tenant, serial, body)
}

/// A tenant database at schema 8 with receipts in its log is upgraded when the server first
/// opens it: the receipts' new partial index is built over the rows already there, and the
/// lookup finds, through it, the events received against a receipt before the upgrade.
#[test]
fn a_schema_8_database_keeps_finding_its_receipts_after_the_upgrade() {
    let fixture = PgFixture::start(PgPoolConfig::default());
    let tenant = fixture.add_tenant();
    let database = fixture.database(tenant);
    let pool = crate::pg::registry::pool(&fixture.cluster.url(&database), 1).expect("pool");
    {
        let mut conn = aisle_pg::connect(&pool, fixture._runtime.handle()).expect("connect");
        let tx = conn.transaction().expect("begin");
        let schema_8 = &crate::pg::tenant_schema::MIGRATIONS[..8];
        assert_eq!(schema_8.last().map(|m| m.version), Some(8));
        aisle_pg::migrate(&tx, schema_8).expect("schema 8");
        // The log as a server of schema 8 wrote it: two receipts against ASN-1, one plain.
        for (seq, reference) in [(1_i64, Some("ASN-1")), (2, None), (3, Some("ASN-1"))] {
            let event = received_against(tenant, seq as u64, reference);
            tx.execute(
                "INSERT INTO events (seq, id, warehouse, device, hlc, kind, received_ms, payload)
                 VALUES ($1, $2, $3, $4, $5, 'received', 0, $6)",
                &[
                    &seq,
                    event.id.as_uuid(),
                    event.warehouse.as_uuid(),
                    event.device.as_uuid(),
                    &event.hlc.to_packed(),
                    &serde_json::to_string(&event).expect("payload"),
                ],
            )
            .expect("a logged event");
        }
        tx.commit().expect("commit");
    }
    drop(pool);
    // The server's first open migrates it.
    let context = context(tenant);
    let storage = &fixture.storage;
    storage
        .push(&context, &[received_against(tenant, 10, None)], NOW_MS)
        .expect("a push after the upgrade");
    let mut conn = storage.pools.connect(&context).expect("a connection");
    let tx = conn.transaction().expect("begin");
    let version: i32 = tx
        .query_one("SELECT MAX(version) FROM aisle_migrations", &[])
        .expect("version")
        .get(0);
    assert_eq!(
        u32::try_from(version).ok(),
        Some(crate::pg::tenant_schema::TENANT_SCHEMA_VERSION)
    );
    let found = received_against_asn_1_through_the_index(&tx);
    let mut expected: Vec<Event> = [1, 3]
        .into_iter()
        .map(|serial| received_against(tenant, serial, Some("ASN-1")))
        .collect();
    expected.sort_by_key(|event| event.id);
    assert_eq!(found, expected, "the receipts logged before the upgrade");
}

/// Key states kept between pushes (`key_cache`): a push uses what its tenant's last push in
/// this process left while the database is as that push left it, and reads the database
/// again once anything else has written the key tables: another server instance's push, or
/// SQL by hand (the marker's triggers see every writer). A stale copy would show here as
/// stock that misses the other writer's change.
#[test]
fn kept_key_states_are_used_only_while_nothing_else_wrote_the_keys() {
    use crate::pg::placement::Placements;
    use crate::pg::pools::PgTenantPools;
    use crate::pg::storage::PgStorage;
    use std::sync::Arc;

    let a = PgFixture::start(PgPoolConfig::default());
    let tenant = a.add_tenant();
    let context = context(tenant);
    // A second server instance: its own pools and storage, the same placements and cluster.
    let b_metrics = crate::metrics::PoolMetrics::default();
    let b = PgStorage::new(
        PgTenantPools::new(
            Arc::clone(&a.placements) as Arc<dyn Placements>,
            PgPoolConfig::default(),
            a._runtime.handle().clone(),
        )
        .with_metrics(b_metrics.clone()),
    );
    let bin = key(1, 1, None);
    let mut serial = 0;
    let mut receive = |storage: &PgStorage, qty: i64| {
        serial += 1;
        let results = storage
            .push(
                &context,
                &[event(tenant, serial, received(&bin, qty))],
                NOW_MS,
            )
            .expect("push");
        assert_eq!(results[0].status, PushStatus::Applied);
    };
    let on_hand = || -> i64 {
        a.cluster
            .psql(&a.database(tenant), "SELECT on_hand FROM key_states")
            .expect("psql")
            .trim()
            .parse()
            .expect("one key's on_hand")
    };
    let (hits, misses) = (&a.metrics.key_cache_hits, &a.metrics.key_cache_misses);

    receive(&a.storage, 5);
    assert_eq!((hits.get(), misses.get()), (0, 1), "nothing kept yet");
    receive(&a.storage, 1);
    assert_eq!((hits.get(), misses.get()), (1, 1), "the first push's keys");
    assert_eq!(on_hand(), 6);

    receive(&b, 10);
    assert_eq!(b_metrics.key_cache_misses.get(), 1);
    assert_eq!(on_hand(), 16);
    receive(&a.storage, 1);
    assert_eq!(
        (hits.get(), misses.get()),
        (1, 2),
        "the other instance wrote since"
    );
    assert_eq!(on_hand(), 17, "the other instance's receipt is counted");
    receive(&a.storage, 1);
    assert_eq!((hits.get(), misses.get()), (2, 2));
    assert_eq!(on_hand(), 18);

    a.cluster
        .psql(
            &a.database(tenant),
            "UPDATE key_states SET on_hand = on_hand + 100",
        )
        .expect("a write by hand");
    receive(&a.storage, 1);
    assert_eq!(
        (hits.get(), misses.get()),
        (2, 3),
        "the write by hand cleared the marker"
    );
    assert_eq!(on_hand(), 119, "the write by hand is kept");
    receive(&a.storage, 1);
    assert_eq!((hits.get(), misses.get()), (3, 3));
    assert_eq!(on_hand(), 120);
}

/// The on-hand quantities of `key`'s stock rows, as the stock report answers them.
fn on_hand_rows(
    storage: &crate::pg::storage::PgStorage,
    context: &crate::auth::TenantContext,
    key: &aisle_core::stock::StockKey,
) -> Vec<i64> {
    let stock = storage
        .stock(
            context,
            crate::storage::StockFilter {
                item: Some(key.item),
                location: Some(key.location),
            },
        )
        .expect("stock");
    stock.rows.iter().map(|row| row.on_hand).collect()
}

/// A push asks the log about its first event only (`Dedup::FirstOfEach`). A batch pushed
/// again starts with a logged event, and then every id is asked about; one whose logged
/// event is further in is caught by the log's unique index and run again asking about
/// every id; in a group, such a member makes the group split. Every way, each event is
/// logged and counted once, and the answers are those of asking about every id.
#[test]
fn a_push_taken_as_new_that_was_not_is_answered_as_if_every_id_had_been_asked_about() {
    let fixture = PgFixture::start(PgPoolConfig::default());
    let tenant = fixture.add_tenant();
    let context = context(tenant);
    let storage = &fixture.storage;
    let bin = key(1, 1, None);
    let e = |serial: u64| event(tenant, serial, received(&bin, 1));
    let metrics = storage.pools.metrics().clone();
    let statuses = |results: &[aisle_protocol::PushResult]| {
        results
            .iter()
            .map(|result| (result.status, result.seq))
            .collect::<Vec<_>>()
    };
    use PushStatus::{Applied, Duplicate};
    let on_hand = || on_hand_rows(storage, &context, &bin);

    let first = storage
        .push(&context, &[e(1), e(2), e(3)], NOW_MS)
        .expect("a new batch");
    assert_eq!(
        statuses(&first),
        [(Applied, Some(1)), (Applied, Some(2)), (Applied, Some(3))]
    );
    assert_eq!(metrics.push_reruns.get(), 0, "a new batch runs once");

    // Pushed again, its answer lost: the first event is logged, so every id is asked.
    let again = storage
        .push(&context, &[e(1), e(2), e(3), e(4)], NOW_MS)
        .expect("the batch again, one event longer");
    assert_eq!(
        statuses(&again),
        [
            (Duplicate, Some(1)),
            (Duplicate, Some(2)),
            (Duplicate, Some(3)),
            (Applied, Some(4))
        ]
    );
    assert_eq!(
        metrics.push_reruns.get(),
        0,
        "found by the first event's probe"
    );

    // A new first event and a logged one further in: the INSERT meets the unique index,
    // nothing of that attempt is written, and the rerun answers as asking about every id.
    let mixed = storage
        .push(&context, &[e(5), e(2), e(6)], NOW_MS)
        .expect("a batch with a logged event past its first");
    assert_eq!(
        statuses(&mixed),
        [(Applied, Some(5)), (Duplicate, Some(2)), (Applied, Some(6))]
    );
    assert_eq!(metrics.push_reruns.get(), 1, "run again once");

    // In a group: the member with a logged event past its first fails the group, and each
    // member then runs alone, asking about every id.
    let mut holder = storage.pools.connect(&context).expect("a connection");
    let held = holder.transaction().expect("begin");
    held.advisory_lock(PUSH_LOCK).expect("the push lock");
    let split = metrics.push_groups_split.get();
    let (waiting, members) = std::thread::scope(|scope| {
        let context = &context;
        let waiting = scope.spawn(|| storage.push(context, &[e(7)], NOW_MS));
        wait_until("the first push waits for the lock", || {
            storage.push_queues.waiting(tenant) == 0 && fixture.connections_to(tenant) >= 2
        });
        let mut queued = Vec::new();
        for (n, batch) in [vec![e(8), e(3)], vec![e(9)]].into_iter().enumerate() {
            queued.push(scope.spawn(move || storage.push(context, &batch, NOW_MS)));
            wait_until("the push queues", || {
                storage.push_queues.waiting(tenant) == n + 1
            });
        }
        held.rollback().expect("release the lock");
        (
            waiting.join().expect("pusher").expect("the waiting push"),
            queued
                .into_iter()
                .map(|push| push.join().expect("pusher").expect("a queued push"))
                .collect::<Vec<_>>(),
        )
    });
    assert_eq!(statuses(&waiting), [(Applied, Some(7))]);
    assert_eq!(
        statuses(&members[0]),
        [(Applied, Some(8)), (Duplicate, Some(3))]
    );
    assert_eq!(statuses(&members[1]), [(Applied, Some(9))]);
    assert_eq!(
        metrics.push_groups_split.get() - split,
        1,
        "the group split"
    );
    assert_eq!(
        metrics.push_reruns.get(),
        1,
        "its members asked about every id at once"
    );

    // The log holds each event once, in seq order, and the stock counts each once.
    let log = crate::storage::conformance::pull_all(storage, &context, 100);
    assert_eq!(
        log.iter()
            .map(|(seq, event)| (*seq, event.id))
            .collect::<Vec<_>>(),
        [1, 2, 3, 4, 5, 6, 7, 8, 9]
            .into_iter()
            .map(|serial| (serial, e(serial).id))
            .collect::<Vec<_>>()
    );
    assert_eq!(on_hand(), [9]);

    // Events whose rules write their row at once (a claim, a count's review) meet their own
    // table's key before the log's INSERT when taken as new: run again all the same.
    let list = aisle_core::testkit::pick_list(1);
    let claim = event(tenant, 10, aisle_core::testkit::claimed(list));
    assert_eq!(
        statuses(
            &storage
                .push(&context, std::slice::from_ref(&claim), NOW_MS)
                .expect("a claim")
        ),
        [(Applied, Some(10))]
    );
    assert_eq!(
        statuses(
            &storage
                .push(&context, &[e(11), claim], NOW_MS)
                .expect("a logged claim past the first event")
        ),
        [(Applied, Some(11)), (Duplicate, Some(10))]
    );
    assert_eq!(metrics.push_reruns.get(), 2, "the claim's batch ran again");
    let count = event(
        tenant,
        12,
        aisle_core::testkit::counted(&bin, 4, 10, aisle_core::event::CountDecision::NeedsReview),
    );
    let review = event(
        tenant,
        13,
        aisle_core::testkit::reviewed(count.id, aisle_core::event::ReviewDecision::Approved),
    );
    let reviewed = storage
        .push(&context, &[count, review.clone()], NOW_MS)
        .expect("a count and its review");
    assert!(
        reviewed.iter().all(|result| result.status == Applied),
        "{reviewed:?}"
    );
    // The rules log what the approval resolved after the review, so the seqs are read back.
    let review_seq = reviewed[1].seq.expect("the review's seq");
    let last_seq = crate::storage::conformance::pull_all(storage, &context, 100)
        .last()
        .expect("a log")
        .0;
    assert_eq!(
        statuses(
            &storage
                .push(&context, &[e(14), review], NOW_MS)
                .expect("a logged review past the first event")
        ),
        [(Applied, Some(last_seq + 1)), (Duplicate, Some(review_seq))]
    );
    assert_eq!(metrics.push_reruns.get(), 3, "the review's batch ran again");
    assert_eq!(
        on_hand(),
        [5],
        "the approved count (4) and the receipt after it, each once"
    );
}

/// `serve --keep-prepared-statements` reaches the tenant's connections: after pushes, the
/// pool's one connection holds the push's statements prepared; by default it holds none.
#[test]
fn with_keep_statements_the_pushes_statements_stay_prepared_on_the_connection_and_by_default_none()
{
    for keep in [false, true] {
        let fixture = PgFixture::start(PgPoolConfig {
            keep_statements: keep,
            max_tenant_connections: 1,
            ..PgPoolConfig::default()
        });
        let tenant = fixture.add_tenant();
        let context = context(tenant);
        for n in 1..=3 {
            let answer = fixture
                .storage
                .push(
                    &context,
                    &[event(tenant, n, received(&key(1, 1, None), 1))],
                    NOW_MS,
                )
                .expect("push");
            assert_eq!(answer[0].status, PushStatus::Applied);
        }
        let mut conn = fixture
            .storage
            .pools
            .connect(&context)
            .expect("the one connection");
        let tx = conn.transaction().expect("begin");
        let prepared: Vec<String> = tx
            .query("SELECT statement FROM pg_prepared_statements", &[])
            .expect("the session's prepared statements")
            .iter()
            .map(|row| row.get(0))
            .collect();
        tx.commit().expect("commit");
        if keep {
            assert!(
                prepared
                    .iter()
                    .any(|text| text.contains("INSERT INTO events")),
                "the log's insert is kept: {prepared:?}"
            );
            assert!(
                prepared.len() >= 5,
                "a push's statements are kept: {prepared:?}"
            );
        } else {
            assert_eq!(
                prepared,
                Vec::<String>::new(),
                "nothing outlives a transaction"
            );
        }
    }
}

/// A kept statement that the server no longer has (here `DEALLOCATE ALL` on the tenant's one
/// connection, as a server connection swapped under the pool would be) costs a device
/// nothing: its push and its pull run once more in the server, prepared afresh, instead of
/// answering `503` to retry, and the push's events are logged and counted once.
#[test]
fn a_push_and_a_pull_that_meet_a_stale_kept_statement_run_once_more_and_count_once() {
    let fixture = PgFixture::start(PgPoolConfig {
        keep_statements: true,
        max_tenant_connections: 1,
        ..PgPoolConfig::default()
    });
    let tenant = fixture.add_tenant();
    let context = context(tenant);
    let storage = &fixture.storage;
    let metrics = storage.pools.metrics().clone();
    let bin = key(1, 1, None);
    let e = |serial: u64| event(tenant, serial, received(&bin, 1));
    // Its statements' kept copies dropped on the server, not in the driver's cache.
    let forget_statements = || {
        let mut conn = storage.pools.connect(&context).expect("the one connection");
        let tx = conn.transaction().expect("begin");
        tx.batch_execute("DEALLOCATE ALL").expect("deallocate");
        tx.commit().expect("commit");
    };
    let on_hand = || on_hand_rows(storage, &context, &bin).iter().sum::<i64>();

    let first = storage.push(&context, &[e(1), e(2)], NOW_MS).expect("push");
    assert!(first
        .iter()
        .all(|result| result.status == PushStatus::Applied));
    assert_eq!(
        storage.pull(&context, 0, 100).expect("pull").events.len(),
        2
    );
    assert_eq!(metrics.stale_statement_reruns.get(), 0, "nothing was stale");

    forget_statements();
    let second = storage
        .push(&context, &[e(3), e(4)], NOW_MS)
        .expect("a push that met a stale statement is run once more, not refused");
    assert_eq!(
        second
            .iter()
            .map(|result| (result.status, result.seq))
            .collect::<Vec<_>>(),
        [
            (PushStatus::Applied, Some(3)),
            (PushStatus::Applied, Some(4))
        ]
    );
    assert_eq!(
        metrics.stale_statement_reruns.get(),
        1,
        "the push ran twice"
    );

    forget_statements();
    let page = storage
        .pull(&context, 0, 100)
        .expect("a pull that met a stale statement is run once more, not refused");
    assert_eq!(
        page.events
            .iter()
            .map(|event| event.seq)
            .collect::<Vec<_>>(),
        [1, 2, 3, 4],
        "each event once, in order"
    );
    assert_eq!(
        metrics.stale_statement_reruns.get(),
        2,
        "the pull ran twice"
    );
    assert_eq!(on_hand(), 4, "each receipt counted once");
    let again = storage
        .push(&context, &[e(3), e(4)], NOW_MS)
        .expect("the second batch again");
    assert!(
        again
            .iter()
            .all(|result| result.status == PushStatus::Duplicate),
        "the rerun logged the batch, once: {again:?}"
    );
}
