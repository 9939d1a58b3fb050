//! The [`Storage`] conformance tests: each body is written once, against a [`Backend`], and
//! run on every backend (SQLite, and PostgreSQL with the `postgres` feature, its statements
//! per transaction and kept on the connections) by the tests at the bottom. `cfg(test)`
//! only: the bodies hold contexts made by `TenantContext::for_test`.

use super::{StockFilter, Storage};
use crate::auth::{IntegrationContext, MasterWrite, StockRead, TenantContext};
use aisle_core::event::{CountDecision, EventBody, Resolution};
use aisle_core::ids::{DeviceId, TenantId, WarehouseId};
use aisle_core::stock::StockKey;
use aisle_core::testkit::{self, count_requested, counted, key, picked, received, Events};
use aisle_core::Event;
use aisle_protocol::{PushResult, PushStatus};
#[cfg(feature = "postgres")]
use serde_json::{json, Value};
use std::sync::{Arc, Barrier};

mod grouped;
mod outbox;

/// A backend under test: its storage, and a way to give a tenant an empty database.
pub(crate) trait Backend: Sync {
    fn storage(&self) -> &dyn Storage;
    fn add_tenant(&self) -> TenantId;
    /// Makes the tenant's outbox refuse rows of `message_type` (a trigger), so that a test
    /// can make a push fail at its last write.
    fn refuse_outbox_type(&self, tenant: TenantId, message_type: &str);
}

/// The hlc wall time of the test events, and the server's clock, an hour later.
const T: u64 = 1_700_000_000_000;
const NOW_MS: i64 = T as i64 + 3_600_000;

pub(crate) fn context(tenant: TenantId) -> TenantContext {
    TenantContext::for_test(tenant, testkit::warehouse(), testkit::device(1))
}

fn context_in(tenant: TenantId, warehouse: WarehouseId) -> TenantContext {
    TenantContext::for_test(tenant, warehouse, testkit::device(1))
}

/// An event of device 1 in `tenant` and the testkit's warehouse; `serial` makes its id.
pub(crate) fn event(tenant: TenantId, serial: u64, body: EventBody) -> Event {
    let mut event = Events::default().make_numbered(1, T + serial, serial, body);
    event.tenant = tenant;
    event
}

fn statuses(results: &[PushResult]) -> Vec<(PushStatus, Option<u64>, Option<String>)> {
    results
        .iter()
        .map(|result| (result.status, result.seq, result.reason.clone()))
        .collect()
}

/// Every event of the context's warehouse, pulled in pages of `page`.
pub(crate) fn pull_all(
    storage: &dyn Storage,
    context: &TenantContext,
    page: u32,
) -> Vec<(u64, Event)> {
    let mut pulled = Vec::new();
    let mut after = 0;
    loop {
        let page = storage.pull(context, after, page).expect("pull");
        if page.events.is_empty() {
            return pulled;
        }
        for raw in &page.events {
            pulled.push((
                raw.seq,
                serde_json::from_str(raw.event.get()).expect("event"),
            ));
        }
        after = page.next;
    }
}

pub(crate) fn push_numbers_new_events_and_dedupes_by_id(backend: &dyn Backend) {
    let storage = backend.storage();
    let tenant = backend.add_tenant();
    let context = context(tenant);
    let bin = key(1, 1, None);
    let receipts: Vec<Event> = (1..=4)
        .map(|n| event(tenant, n, received(&bin, 1)))
        .collect();
    let first = storage
        .push(&context, &receipts[..3], NOW_MS)
        .expect("push");
    assert_eq!(
        statuses(&first),
        (1..=3)
            .map(|seq| (PushStatus::Applied, Some(seq), None))
            .collect::<Vec<_>>(),
        "new events are applied with dense seqs from 1"
    );
    let again = storage
        .push(
            &context,
            &[receipts[1].clone(), receipts[3].clone()],
            NOW_MS,
        )
        .expect("push");
    assert_eq!(
        statuses(&again),
        [
            (PushStatus::Duplicate, Some(2), None),
            (PushStatus::Applied, Some(4), None)
        ],
        "a known id answers its seq; the new one takes the next"
    );
    let mut changed = receipts[0].clone();
    changed.body = received(&bin, 7);
    let mismatch = storage.push(&context, &[changed], NOW_MS).expect("push");
    assert_eq!(
        statuses(&mismatch),
        [(
            PushStatus::Rejected,
            None,
            Some("payload_mismatch".to_owned())
        )],
        "a known id with another payload is refused"
    );
    let pulled = pull_all(storage, &context, 2);
    assert_eq!(
        pulled,
        (1..=4).zip(receipts).collect::<Vec<_>>(),
        "the log holds each event once, in push order"
    );
    let stock = storage
        .stock(&context, StockFilter::default())
        .expect("stock");
    assert_eq!(stock.rows.len(), 1);
    assert_eq!(stock.rows[0].on_hand, 4, "each receipt counted once");
}

/// One batch with a count and its review, an event twice (once more as sent, once changed)
/// and a pick that takes a key below zero. A backend that logs a batch in bulk must answer as
/// one that logs event by event: the repeat answers the first one's seq, the changed one is
/// refused, the review finds its count's place in the log, and the rules' resolution takes the
/// seq right after its cause, before the batch's next event.
pub(crate) fn one_batch_dedupes_within_itself_and_logs_resolutions_after_their_cause(
    backend: &dyn Backend,
) {
    let storage = backend.storage();
    let tenant = backend.add_tenant();
    let context = context(tenant);
    let (a, b) = (key(1, 1, None), key(2, 1, None));
    let receipt = event(tenant, 1, received(&a, 5));
    let count = event(tenant, 2, counted(&a, 9, 5, CountDecision::NeedsReview));
    let review = event(
        tenant,
        3,
        testkit::reviewed(count.id, aisle_core::event::ReviewDecision::Approved),
    );
    let mut changed = receipt.clone();
    changed.body = received(&a, 6);
    let pick = event(tenant, 4, picked(&b, 2));
    let after = event(tenant, 5, received(&b, 1));
    let batch = [
        receipt.clone(),
        count.clone(),
        review.clone(),
        receipt.clone(),
        changed,
        pick.clone(),
        after.clone(),
    ];
    let results = storage.push(&context, &batch, NOW_MS).expect("push");
    assert_eq!(
        statuses(&results),
        [
            (PushStatus::Applied, Some(1), None),
            (PushStatus::Applied, Some(2), None),
            (PushStatus::Applied, Some(4), None),
            (PushStatus::Duplicate, Some(1), None),
            (
                PushStatus::Rejected,
                None,
                Some("payload_mismatch".to_owned())
            ),
            (PushStatus::Applied, Some(5), None),
            (PushStatus::Applied, Some(7), None),
        ],
        "a repeat within the batch answers the first's seq; seqs 3 and 6 are resolutions"
    );
    let pulled = pull_all(storage, &context, 100);
    let seqs: Vec<u64> = pulled.iter().map(|(seq, _)| *seq).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5, 6, 7], "the log is dense");
    let logged: Vec<_> = pulled.iter().map(|(_, event)| event.id).collect();
    assert_eq!(
        [logged[0], logged[1], logged[3], logged[4], logged[6]],
        [receipt.id, count.id, review.id, pick.id, after.id],
        "the batch's events are logged in its order"
    );
    match &pulled[2].1.body {
        EventBody::Resolved {
            resolution: Resolution::CountVariance { counted, .. },
        } => assert_eq!(*counted, count.id, "the resolution names the count"),
        other => panic!("seq 3 should be the count's count_variance resolution, not {other:?}"),
    }
    match &pulled[5].1.body {
        EventBody::Resolved {
            resolution: Resolution::NegativeStock { cause, .. },
        } => assert_eq!(*cause, pick.id, "the resolution names the pick"),
        other => panic!("seq 6 should be the pick's negative_stock resolution, not {other:?}"),
    }
    let stock = storage
        .stock(&context, StockFilter::default())
        .expect("stock");
    let on_hand: Vec<i64> = stock.rows.iter().map(|row| row.on_hand).collect();
    assert_eq!(
        on_hand,
        [9, -1],
        "the approved count is a's baseline; b took the pick and the receipt"
    );
}

pub(crate) fn push_refuses_invalid_and_clock_ahead_events_and_device_resolutions(
    backend: &dyn Backend,
) {
    let storage = backend.storage();
    let tenant = backend.add_tenant();
    let context = context(tenant);
    let bin = key(1, 1, None);
    // A pick of what is not there: the server records the negative stock it decided.
    let pick = event(tenant, 1, picked(&bin, 2));
    let results = storage.push(&context, &[pick], NOW_MS).expect("push");
    assert_eq!(statuses(&results), [(PushStatus::Applied, Some(1), None)]);
    let pulled = pull_all(storage, &context, 10);
    assert_eq!(pulled.len(), 2, "the pick and its resolution: {pulled:?}");
    let (seq, resolved) = &pulled[1];
    assert_eq!(*seq, 2, "recorded right after its cause");
    assert!(matches!(resolved.body, EventBody::Resolved { .. }));
    assert_eq!(
        resolved.device,
        DeviceId::server(tenant, testkit::warehouse()),
        "authored by the server"
    );

    let mut invalid = event(tenant, 2, received(&bin, 1));
    invalid.replaces = Some(invalid.id);
    let mut ahead = event(tenant, 3, received(&bin, 1));
    ahead.hlc.wall_ms = (NOW_MS + 24 * 3_600_000) as u64;
    let refused = storage
        .push(&context, &[resolved.clone(), invalid, ahead], NOW_MS)
        .expect("push");
    let reasons: Vec<Option<String>> = refused.iter().map(|result| result.reason.clone()).collect();
    assert_eq!(
        reasons,
        [
            Some("server_only".to_owned()),
            Some("invalid_event".to_owned()),
            Some("clock_ahead".to_owned())
        ],
        "{refused:?}"
    );
    assert_eq!(
        pull_all(storage, &context, 10).len(),
        2,
        "nothing refused is logged"
    );
}

pub(crate) fn pull_pages_carry_the_snapshots_last_seq(backend: &dyn Backend) {
    let storage = backend.storage();
    let tenant = backend.add_tenant();
    let context = context(tenant);
    let bin = key(1, 1, None);
    let receipts: Vec<Event> = (1..=5)
        .map(|n| event(tenant, n, received(&bin, 1)))
        .collect();
    storage.push(&context, &receipts, NOW_MS).expect("push");
    let first = storage.pull(&context, 0, 2).expect("pull");
    assert_eq!(
        first.events.iter().map(|raw| raw.seq).collect::<Vec<_>>(),
        [1, 2]
    );
    assert_eq!((first.next, first.checksum_seq), (2, 5));
    assert!(!first.checksum.is_empty(), "a page has a checksum");
    let rest = storage.pull(&context, first.next, 10).expect("pull");
    assert_eq!(
        rest.events.iter().map(|raw| raw.seq).collect::<Vec<_>>(),
        [3, 4, 5]
    );
    let end = storage.pull(&context, rest.next, 10).expect("pull");
    assert!(end.events.is_empty());
    assert_eq!(end.next, 5, "an empty page keeps the cursor");
    let elsewhere = context_in(tenant, WarehouseId::new_v7(1, [0x77; 10]));
    let other = storage.pull(&elsewhere, 0, 10).expect("pull");
    assert!(
        other.events.is_empty() && other.checksum_seq == 0,
        "another warehouse's pull sees none of them"
    );
}

pub(crate) fn tenants_are_apart(backend: &dyn Backend) {
    let storage = backend.storage();
    let (one, two) = (backend.add_tenant(), backend.add_tenant());
    let bin = key(1, 1, None);
    storage
        .push(&context(one), &[event(one, 1, received(&bin, 3))], NOW_MS)
        .expect("push");
    assert!(
        pull_all(storage, &context(two), 10).is_empty(),
        "tenant two sees nothing of one"
    );
    let results = storage
        .push(&context(two), &[event(two, 1, received(&bin, 5))], NOW_MS)
        .expect("push");
    assert_eq!(
        statuses(&results),
        [(PushStatus::Applied, Some(1), None)],
        "the same id in another tenant is new there, with that tenant's own seqs"
    );
    let stock = storage
        .stock(&context(one), StockFilter::default())
        .expect("stock");
    assert_eq!(stock.rows[0].on_hand, 3);
}

pub(crate) fn stock_and_touching_read_by_key(backend: &dyn Backend) {
    let storage = backend.storage();
    let tenant = backend.add_tenant();
    let context = context(tenant);
    let (a, b, c) = (key(1, 1, None), key(1, 2, Some("L1")), key(2, 1, None));
    let events = vec![
        event(tenant, 1, received(&a, 5)),
        event(tenant, 2, received(&b, 2)),
        event(tenant, 3, received(&c, 1)),
        event(tenant, 4, counted(&a, 4, 5, CountDecision::SelfApproved)),
        event(tenant, 5, count_requested(&c, "check")),
    ];
    storage.push(&context, &events, NOW_MS).expect("push");
    let all = storage
        .stock(&context, StockFilter::default())
        .expect("stock");
    let on_hand: Vec<(StockKey, i64)> = all
        .rows
        .iter()
        .map(|row| {
            (
                StockKey {
                    warehouse: testkit::warehouse(),
                    location: row.location,
                    item: row.item,
                    lot: row.lot.clone().map(aisle_core::Lot::new),
                },
                row.on_hand,
            )
        })
        .collect();
    let mut expected = vec![(a.clone(), 4), (b.clone(), 2), (c.clone(), 1)];
    expected.sort_by_key(|(key, _)| (key.location, key.item));
    assert_eq!(
        on_hand, expected,
        "rows by location, item, lot; the count set a"
    );
    let item_1 = storage
        .stock(
            &context,
            StockFilter {
                item: Some(a.item),
                location: None,
            },
        )
        .expect("stock");
    assert_eq!(item_1.rows.len(), 2, "a and c hold item 1");
    let location_2 = storage
        .stock(
            &context,
            StockFilter {
                item: None,
                location: Some(c.location),
            },
        )
        .expect("stock");
    assert_eq!(location_2.rows.len(), 1);

    let touching_seqs = |keys: &[StockKey], after: u64| -> Vec<u64> {
        storage
            .events_touching(&context, keys, after, 10)
            .expect("touching")
            .events
            .iter()
            .map(|raw| raw.seq)
            .collect()
    };
    assert_eq!(
        touching_seqs(std::slice::from_ref(&a), 0),
        [1, 4],
        "a's receipt and count"
    );
    assert_eq!(
        touching_seqs(std::slice::from_ref(&c), 0),
        [3, 5],
        "c's receipt and count request"
    );
    assert_eq!(
        touching_seqs(&[a.clone(), b.clone()], 1),
        [2, 4],
        "after seq 1"
    );
    let mut elsewhere = a.clone();
    elsewhere.warehouse = WarehouseId::new_v7(1, [0x77; 10]);
    assert!(
        touching_seqs(&[elsewhere], 0).is_empty(),
        "another warehouse's key touches nothing"
    );
}

pub(crate) fn tenant_stock_covers_every_warehouse(backend: &dyn Backend) {
    let storage = backend.storage();
    let tenant = backend.add_tenant();
    let other_warehouse = WarehouseId::new_v7(1, [0x77; 10]);
    let here = key(1, 1, None);
    let mut there = key(1, 1, None);
    there.warehouse = other_warehouse;
    storage
        .push(
            &context(tenant),
            &[event(tenant, 1, received(&here, 3))],
            NOW_MS,
        )
        .expect("push");
    let mut remote = event(tenant, 2, received(&there, 4));
    remote.warehouse = other_warehouse;
    storage
        .push(&context_in(tenant, other_warehouse), &[remote], NOW_MS)
        .expect("push");
    let erp = IntegrationContext::<StockRead>::for_test(tenant);
    let all = storage.tenant_stock(&erp, None).expect("tenant stock");
    let mut warehouses: Vec<(WarehouseId, i64)> =
        all.iter().map(|row| (row.warehouse, row.on_hand)).collect();
    warehouses.sort();
    let mut expected = vec![(testkit::warehouse(), 3), (other_warehouse, 4)];
    expected.sort();
    assert_eq!(warehouses, expected);
    let one = storage
        .tenant_stock(&erp, Some(other_warehouse))
        .expect("tenant stock");
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].on_hand, 4);
    assert_eq!(one[0].location_code, None, "no master data: no code");
}

pub(crate) fn an_event_without_a_lot_on_a_lot_tracked_item_opens_lot_missing(
    backend: &dyn Backend,
) {
    let storage = backend.storage();
    let tenant = backend.add_tenant();
    let context = context(tenant);
    let erp = IntegrationContext::<MasterWrite>::for_test(tenant);
    let item = |sku: &str, lot_tracked: bool| crate::master::NewItem {
        sku: sku.to_owned(),
        name: sku.to_owned(),
        base_unit: "each".to_owned(),
        lot_tracked,
        barcodes: Vec::new(),
    };
    storage
        .upsert_items(&erp, &[item("TRACKED", true), item("PLAIN", false)], NOW_MS)
        .expect("upsert")
        .expect("accepted");
    let items = storage
        .master_changes(&context, 0, 100)
        .expect("changes")
        .items;
    let id_of = |sku: &str| {
        items
            .iter()
            .find(|item| item.sku == sku)
            .expect("the item")
            .id
    };
    let mut tracked = key(1, 1, None);
    tracked.item = id_of("TRACKED");
    let mut plain = key(1, 1, None);
    plain.item = id_of("PLAIN");
    let mut tracked_with_lot = tracked.clone();
    tracked_with_lot.lot = Some(aisle_core::Lot::new("L7"));
    let without_lot = event(tenant, 1, received(&tracked, 1));
    let events = [
        without_lot.clone(),
        event(tenant, 2, received(&tracked_with_lot, 1)),
        event(tenant, 3, received(&plain, 1)),
    ];
    storage.push(&context, &events, NOW_MS).expect("push");
    let stock = storage
        .stock(&context, StockFilter::default())
        .expect("stock");
    let ids: Vec<&str> = stock.discrepancies.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(
        ids,
        [format!("lot_missing/{}", without_lot.id)],
        "only the lot-tracked item's event without a lot: {:?}",
        stock.discrepancies
    );
}

/// Everything a scenario's storage answers, as JSON, to compare backends by.
#[cfg(feature = "postgres")]
pub(crate) fn transcript(backend: &dyn Backend) -> Value {
    let storage = backend.storage();
    let tenant = backend.add_tenant();
    let context = context(tenant);
    let (a, b) = (key(1, 1, None), key(2, 1, Some("L1")));
    let count = event(tenant, 4, counted(&a, 9, 5, CountDecision::NeedsReview));
    let batches = vec![
        vec![
            event(tenant, 1, received(&a, 5)),
            event(tenant, 2, picked(&b, 2)),
        ],
        vec![event(tenant, 3, received(&b, 1)), count.clone()],
        vec![
            event(
                tenant,
                5,
                testkit::reviewed(count.id, aisle_core::event::ReviewDecision::Approved),
            ),
            event(tenant, 6, picked(&a, 20)),
        ],
    ];
    let mut out = Vec::new();
    for batch in &batches {
        let results = storage.push(&context, batch, NOW_MS).expect("push");
        out.push(serde_json::to_value(&results).expect("json"));
        let page = storage.pull(&context, 0, 100).expect("pull");
        let events: Vec<Value> = page
            .events
            .iter()
            .map(|raw| json!([raw.seq, raw.event.get()]))
            .collect();
        out.push(json!({"events": events, "next": page.next, "checksum": page.checksum, "checksum_seq": page.checksum_seq}));
    }
    let stock = storage
        .stock(&context, StockFilter::default())
        .expect("stock");
    out.push(serde_json::to_value(&stock.rows).expect("json"));
    out.push(serde_json::to_value(&stock.discrepancies).expect("json"));
    let touching = storage
        .events_touching(&context, &[a, b], 0, 100)
        .expect("touching");
    out.push(json!(touching
        .events
        .iter()
        .map(|raw| json!([raw.seq, raw.event.get()]))
        .collect::<Vec<_>>()));
    let erp = IntegrationContext::<StockRead>::for_test(tenant);
    out.push(serde_json::to_value(storage.tenant_stock(&erp, None).expect("stock")).expect("json"));
    // The tenant id differs between backends' fixtures: it is in every event, and the
    // server's identity (device and user of its resolutions) is derived from it.
    let mut text = Value::Array(out).to_string();
    for (_, logged) in pull_all(storage, &context, 100) {
        if logged.device == DeviceId::server(tenant, testkit::warehouse()) {
            text = text
                .replace(&logged.device.to_string(), "SERVER")
                .replace(&logged.user.to_string(), "SERVER_USER");
        }
    }
    text = text.replace(&tenant.to_string(), "TENANT");
    serde_json::from_str(&text).expect("json")
}

/// Several threads push distinct events to one tenant while another pulls in a loop: every
/// page continues the previous one without a hole, and what was pulled is the final log.
pub(crate) fn concurrent_pushes_reach_a_puller_without_holes(backend: &dyn Backend) {
    const N_PUSHERS: u64 = 4;
    const N_PUSHES: u64 = 20;
    const BATCH: u64 = 5;
    let storage = backend.storage();
    let tenant = backend.add_tenant();
    let context = context(tenant);
    let done = std::sync::atomic::AtomicUsize::new(0);
    let pulled = std::thread::scope(|scope| {
        for pusher in 0..N_PUSHERS {
            let (context, done) = (&context, &done);
            scope.spawn(move || {
                for push in 0..N_PUSHES {
                    let first = 1 + (pusher * N_PUSHES + push) * BATCH;
                    let bin = key(1 + pusher as u16, 1, None);
                    let batch: Vec<Event> = (first..first + BATCH)
                        .map(|serial| event(tenant, serial, received(&bin, 1)))
                        .collect();
                    let results = storage.push(context, &batch, NOW_MS).expect("push");
                    assert!(results
                        .iter()
                        .all(|result| result.status == PushStatus::Applied));
                }
                done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            });
        }
        let puller = scope.spawn(|| {
            let mut pulled: Vec<(u64, Event)> = Vec::new();
            let mut after = 0;
            loop {
                let finished = done.load(std::sync::atomic::Ordering::SeqCst) == N_PUSHERS as usize;
                let page = storage.pull(&context, after, 7).expect("pull");
                for raw in &page.events {
                    assert_eq!(
                        raw.seq,
                        after + 1,
                        "seq {} follows {after}: a pull never skips an event that commits late",
                        raw.seq
                    );
                    after = raw.seq;
                    pulled.push((
                        raw.seq,
                        serde_json::from_str(raw.event.get()).expect("event"),
                    ));
                }
                if finished && page.events.is_empty() {
                    return pulled;
                }
            }
        });
        puller.join().expect("the puller")
    });
    assert_eq!(pulled.len() as u64, N_PUSHERS * N_PUSHES * BATCH);
    assert_eq!(
        pulled,
        pull_all(storage, &context, 1000),
        "what was pulled during the pushes is the final log"
    );
}

/// The same event pushed from two threads at once: one applies it, the other is told it is
/// a duplicate with the same seq.
pub(crate) fn the_same_event_pushed_twice_at_once_applies_once(backend: &dyn Backend) {
    let storage = backend.storage();
    let tenant = backend.add_tenant();
    let context = context(tenant);
    let bin = key(1, 1, None);
    for serial in 1..=20 {
        let pushed = event(tenant, serial, received(&bin, 1));
        let barrier = Arc::new(Barrier::new(2));
        let mut answers: Vec<PushResult> = std::thread::scope(|scope| {
            let threads: Vec<_> = (0..2)
                .map(|_| {
                    let (barrier, pushed, context) = (Arc::clone(&barrier), &pushed, &context);
                    scope.spawn(move || {
                        barrier.wait();
                        storage
                            .push(context, std::slice::from_ref(pushed), NOW_MS)
                            .expect("push")
                            .remove(0)
                    })
                })
                .collect();
            threads
                .into_iter()
                .map(|thread| thread.join().expect("pusher"))
                .collect()
        });
        answers.sort_by_key(|answer| answer.status != PushStatus::Applied);
        assert_eq!(
            (answers[0].status, answers[1].status),
            (PushStatus::Applied, PushStatus::Duplicate),
            "one applied, one duplicate: {answers:?}"
        );
        assert_eq!(answers[0].seq, Some(serial), "dense seqs");
        assert_eq!(
            answers[0].seq, answers[1].seq,
            "the duplicate names the same seq"
        );
    }
    let stock = storage
        .stock(&context, StockFilter::default())
        .expect("stock");
    assert_eq!(stock.rows[0].on_hand, 20, "each event counted once");
}

mod sqlite {
    use super::*;
    use crate::pool::TenantPools;
    use crate::registry::{Registry, SqliteRegistry};
    use crate::storage::SqliteStorage;

    struct SqliteBackend {
        storage: SqliteStorage,
        registry: Arc<SqliteRegistry>,
        _dir: tempfile::TempDir,
    }

    impl SqliteBackend {
        fn new() -> Self {
            let dir = tempfile::tempdir().expect("tempdir");
            std::fs::create_dir_all(dir.path().join("tenants")).expect("tenants dir");
            let registry = Arc::new(
                SqliteRegistry::open(&crate::registry_path(dir.path())).expect("registry"),
            );
            let pools = TenantPools::new(
                dir.path().to_owned(),
                Arc::clone(&registry) as Arc<dyn Registry>,
                4,
            );
            Self {
                storage: SqliteStorage::new(pools),
                registry,
                _dir: dir,
            }
        }
    }

    impl Backend for SqliteBackend {
        fn storage(&self) -> &dyn Storage {
            &self.storage
        }

        fn add_tenant(&self) -> TenantId {
            let name = format!(
                "t{}",
                crate::random_bytes::<4>()
                    .map(|b| format!("{b:02x}"))
                    .concat()
            );
            self.registry.add_tenant(&name, NOW_MS).expect("add tenant")
        }

        fn refuse_outbox_type(&self, tenant: TenantId, message_type: &str) {
            let conn = rusqlite::Connection::open(crate::tenant_db_path(self._dir.path(), tenant))
                .expect("the tenant's file");
            conn.execute_batch(&format!(
                "CREATE TRIGGER refuse_outbox BEFORE INSERT ON erp_outbox
                 WHEN NEW.type = '{message_type}'
                 BEGIN SELECT RAISE(ABORT, 'test: the outbox refuses {message_type}'); END;"
            ))
            .expect("trigger");
        }
    }

    pub(super) fn run(body: fn(&dyn Backend)) {
        body(&SqliteBackend::new());
    }

    #[cfg(feature = "postgres")]
    pub(super) fn transcript() -> Value {
        super::transcript(&SqliteBackend::new())
    }
}

#[cfg(feature = "postgres")]
mod postgres {
    use super::*;
    use crate::pg::pools::PgPoolConfig;
    use crate::pg::testing::PgFixture;

    impl Backend for PgFixture {
        fn storage(&self) -> &dyn Storage {
            &self.storage
        }

        fn add_tenant(&self) -> TenantId {
            PgFixture::add_tenant(self)
        }

        fn refuse_outbox_type(&self, tenant: TenantId, message_type: &str) {
            self.cluster
                .psql(
                    &self.database(tenant),
                    &format!(
                        "CREATE FUNCTION refuse_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
                         BEGIN
                           IF NEW.type = '{message_type}' THEN
                             RAISE EXCEPTION 'test: the outbox refuses {message_type}';
                           END IF;
                           RETURN NEW;
                         END $$;
                         CREATE TRIGGER refuse_outbox BEFORE INSERT ON erp_outbox
                         FOR EACH ROW EXECUTE FUNCTION refuse_outbox();"
                    ),
                )
                .expect("trigger");
        }
    }

    /// The tenant connections' statements kept for their life (`serve
    /// --keep-prepared-statements`), not per transaction as by default.
    fn keeping_statements() -> PgPoolConfig {
        PgPoolConfig {
            keep_statements: true,
            ..PgPoolConfig::default()
        }
    }

    /// The body on PostgreSQL twice: statements per transaction (the default) and kept on
    /// the connections.
    pub(super) fn run(body: fn(&dyn Backend)) {
        body(&PgFixture::start(PgPoolConfig::default()));
        body(&PgFixture::start(keeping_statements()));
    }

    pub(super) fn transcript() -> Value {
        super::transcript(&PgFixture::start(PgPoolConfig::default()))
    }

    pub(super) fn transcript_keeping_statements() -> Value {
        super::transcript(&PgFixture::start(keeping_statements()))
    }
}

/// Runs a body on every backend.
fn on_every_backend(body: fn(&dyn Backend)) {
    sqlite::run(body);
    #[cfg(feature = "postgres")]
    postgres::run(body);
}

#[test]
fn conformance_push_numbers_new_events_and_dedupes_by_id() {
    on_every_backend(push_numbers_new_events_and_dedupes_by_id);
}

#[test]
fn conformance_one_batch_dedupes_within_itself_and_logs_resolutions_after_their_cause() {
    on_every_backend(one_batch_dedupes_within_itself_and_logs_resolutions_after_their_cause);
}

#[test]
fn conformance_push_refuses_invalid_and_clock_ahead_events_and_device_resolutions() {
    on_every_backend(push_refuses_invalid_and_clock_ahead_events_and_device_resolutions);
}

#[test]
fn conformance_pull_pages_carry_the_snapshots_last_seq() {
    on_every_backend(pull_pages_carry_the_snapshots_last_seq);
}

#[test]
fn conformance_an_event_without_a_lot_on_a_lot_tracked_item_opens_lot_missing() {
    on_every_backend(an_event_without_a_lot_on_a_lot_tracked_item_opens_lot_missing);
}

#[test]
fn conformance_tenants_are_apart() {
    on_every_backend(tenants_are_apart);
}

#[test]
fn conformance_stock_and_touching_read_by_key() {
    on_every_backend(stock_and_touching_read_by_key);
}

#[test]
fn conformance_tenant_stock_covers_every_warehouse() {
    on_every_backend(tenant_stock_covers_every_warehouse);
}

#[test]
fn conformance_concurrent_pushes_reach_a_puller_without_holes() {
    on_every_backend(concurrent_pushes_reach_a_puller_without_holes);
}

#[test]
fn conformance_concurrent_pushes_get_the_answers_they_would_get_alone() {
    on_every_backend(grouped::concurrent_pushes_get_the_answers_they_would_get_alone);
}

#[test]
fn conformance_the_same_event_pushed_twice_at_once_applies_once() {
    on_every_backend(the_same_event_pushed_twice_at_once_applies_once);
}

/// Both backends answer the same scenario byte for byte: results, pages, checksums, stock,
/// discrepancies, touching events and the ERP's stock.
#[cfg(feature = "postgres")]
#[test]
fn conformance_both_backends_answer_alike() {
    let sqlite = sqlite::transcript();
    let postgres = postgres::transcript();
    assert_eq!(sqlite, postgres);
    assert_eq!(sqlite, postgres::transcript_keeping_statements());
}

#[test]
fn conformance_the_outbox_holds_each_pushs_messages_once_in_order() {
    on_every_backend(outbox::the_outbox_holds_each_pushs_messages_once_in_order);
}

#[test]
fn conformance_a_push_that_fails_leaves_neither_its_events_nor_its_messages() {
    on_every_backend(outbox::a_push_that_fails_leaves_neither_its_events_nor_its_messages);
}

#[test]
fn conformance_discrepancies_opening_and_closing_reach_the_outbox() {
    on_every_backend(outbox::discrepancies_opening_and_closing_reach_the_outbox);
}

#[test]
fn conformance_goods_received_against_an_expected_receipt_says_what_is_still_expected() {
    on_every_backend(
        outbox::goods_received_against_an_expected_receipt_says_what_is_still_expected,
    );
}

#[test]
fn conformance_a_cancelled_pick_list_is_settled_by_its_put_backs() {
    on_every_backend(outbox::a_cancelled_pick_list_is_settled_by_its_put_backs);
}

#[test]
fn conformance_a_finished_pick_list_is_completed_once_with_its_picks_and_shorts() {
    on_every_backend(outbox::a_finished_pick_list_is_completed_once_with_its_picks_and_shorts);
}
