//! A tenant move on two real clusters, with the real registry and two "server instances"
//! (two `PgStorage`s with their own tenant pools) pushing and upserting master data while
//! the move copies, pauses and switches. (The kill -9 tests run the binary: tests/it/
//! tenant_move.rs.)

use super::{MoveOptions, TenantMove};
use crate::auth::IntegrationContext;
use crate::error::{AppError, ServerError};
use crate::pg::placement::Placements;
use crate::pg::pools::{PgPoolConfig, PgTenantPools};
use crate::pg::registry::PgRegistry;
use crate::pg::storage::PgStorage;
use crate::storage::conformance::{context, event, pull_all};
use crate::storage::{StockFilter, Storage};
use aisle_core::ids::TenantId;
use aisle_core::testkit::{key, received};
use aisle_pgtest::PgCluster;
use axum::response::IntoResponse;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

const NOW_MS: i64 = 1_700_000_000_000 + 3_600_000;

struct Setup {
    registry: Arc<PgRegistry>,
    runtime: tokio::runtime::Runtime,
    tenant: TenantId,
    b: PgCluster,
    a: PgCluster,
}

fn setup() -> Setup {
    let a = PgCluster::start().expect("cluster a starts");
    let b = PgCluster::start().expect("cluster b starts");
    a.create_database("registry").expect("registry database");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let registry = Arc::new(
        PgRegistry::connect(&a.url("registry"), runtime.handle().clone()).expect("registry"),
    );
    registry
        .add_cluster("a", &a.base_url(), None, NOW_MS)
        .expect("cluster a");
    registry
        .add_cluster("b", &b.base_url(), None, NOW_MS)
        .expect("cluster b");
    let tenant = registry
        .add_tenant_on("acme", Some("a"), NOW_MS)
        .expect("tenant on a");
    Setup {
        registry,
        runtime,
        tenant,
        b,
        a,
    }
}

impl Setup {
    /// One server instance: its own tenant pools over the registry's placements.
    fn instance(&self) -> PgStorage {
        PgStorage::new(PgTenantPools::new(
            Arc::clone(&self.registry) as Arc<dyn Placements>,
            PgPoolConfig::default(),
            self.runtime.handle().clone(),
        ))
    }

    fn mover(&self, grace_ms: i64, batch_events: i64) -> TenantMove<'_> {
        TenantMove::new(
            &self.registry,
            self.runtime.handle().clone(),
            self.tenant,
            MoveOptions {
                grace_ms,
                batch_events,
            },
        )
    }

    /// The tenant databases on cluster b (a move's copy, while it exists).
    fn tenant_databases_on_b(&self) -> Vec<String> {
        self.b
            .psql(
                "postgres",
                "SELECT datname FROM pg_database WHERE datname LIKE 'aisle_t_%'",
            )
            .expect("databases on b")
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// After a move that was undone: the tenant is placed on a and `instance` writes there
    /// (its next event takes seq `next_seq`), and no copy is left on b.
    fn assert_undone(&self, instance: &PgStorage, next_seq: u64) {
        let (tenant, bin) = (self.tenant, key(1, 1, None));
        assert_eq!(self.cluster_of_tenant(), "a");
        let results = instance
            .push(
                &context(tenant),
                &[event(tenant, next_seq, received(&bin, 1))],
                NOW_MS,
            )
            .expect("writes resume on a");
        assert_eq!(results[0].seq, Some(next_seq));
        assert_eq!(
            self.tenant_databases_on_b(),
            Vec::<String>::new(),
            "the copy on b is dropped"
        );
    }

    fn cluster_of_tenant(&self) -> String {
        self.registry
            .placement(self.tenant)
            .expect("placement")
            .expect("a placement")
            .cluster
    }
}

fn item(sku: &str) -> crate::master::NewItem {
    crate::master::NewItem {
        sku: sku.to_owned(),
        name: sku.to_owned(),
        base_unit: "each".to_owned(),
        lot_tracked: false,
        barcodes: Vec::new(),
    }
}

/// Pushes `events` until the storage takes them, waiting out `tenant_moving`; answers how
/// many times it was refused.
fn push_through(storage: &PgStorage, tenant: TenantId, events: &[aisle_core::Event]) -> u64 {
    let mut refused = 0;
    loop {
        match storage.push(&context(tenant), events, NOW_MS) {
            Ok(results) => {
                assert_eq!(results.len(), events.len());
                return refused;
            }
            Err(ServerError::TenantMoving) => {
                refused += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(error) if error.is_retryable() => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(error) => panic!("push failed: {error}"),
        }
    }
}

#[test]
fn a_move_with_pushes_and_upserts_running_loses_nothing_and_duplicates_nothing() {
    let setup = setup();
    let tenant = setup.tenant;
    let instances = [setup.instance(), setup.instance()];
    let bin = key(1, 1, None);
    // Enough events before the move that the copy takes several batches.
    let next_serial = AtomicU64::new(1);
    let batch = |n: u64| -> Vec<aisle_core::Event> {
        let first = next_serial.fetch_add(n, Ordering::SeqCst);
        (first..first + n)
            .map(|serial| event(tenant, serial, received(&bin, 1)))
            .collect()
    };
    for _ in 0..20 {
        push_through(&instances[0], tenant, &batch(100));
    }
    let erp = IntegrationContext::for_test(tenant);
    instances[0]
        .upsert_items(&erp, &[item("BEFORE")], NOW_MS)
        .expect("upsert")
        .expect("accepted");

    let moving = AtomicBool::new(true);
    let refusals = AtomicU64::new(0);
    let skus = std::sync::Mutex::new(vec!["BEFORE".to_owned()]);
    std::thread::scope(|scope| {
        for storage in &instances {
            let (moving, refusals, batch) = (&moving, &refusals, &batch);
            scope.spawn(move || {
                // Both instances push until the move is over, then once more each.
                let mut last_round = false;
                loop {
                    last_round |= !moving.load(Ordering::SeqCst);
                    refusals.fetch_add(push_through(storage, tenant, &batch(25)), Ordering::SeqCst);
                    if last_round {
                        break;
                    }
                    // Steady pushing, not a flood the batch copy could never catch up with.
                    std::thread::sleep(std::time::Duration::from_millis(2));
                }
            });
        }
        let (moving, skus, instances) = (&moving, &skus, &instances);
        scope.spawn(move || {
            let mut n = 0;
            loop {
                let done = !moving.load(Ordering::SeqCst);
                n += 1;
                let sku = format!("DURING-{n}");
                loop {
                    match instances[n % 2].upsert_items(&erp, &[item(&sku)], NOW_MS) {
                        Ok(upsert) => {
                            upsert.expect("accepted");
                            break;
                        }
                        Err(ServerError::TenantMoving) => {
                            std::thread::sleep(std::time::Duration::from_millis(20))
                        }
                        Err(error) => panic!("upsert failed: {error}"),
                    }
                }
                skus.lock().expect("lock").push(sku);
                if done {
                    break;
                }
            }
        });
        let report = setup
            .mover(0, 300)
            .run("b", |_| {})
            .expect("the move finishes");
        assert_eq!(report.phase, None, "grace 0: the old database is dropped");
        moving.store(false, Ordering::SeqCst);
        // A figure, not an assertion: how long writes were paused under this load.
        eprintln!(
            "moved under load: {} events copied, writes paused {:?} ms, {} pushes refused, {} items upserted",
            report.events_copied,
            report.paused_ms,
            refusals.load(Ordering::SeqCst),
            skus.lock().expect("lock").len()
        );
    });
    assert_eq!(setup.cluster_of_tenant(), "b");

    // A third instance, which never saw the old placement, reads the tenant on b.
    let fresh = setup.instance();
    let pulled = pull_all(&fresh, &context(tenant), 500);
    let pushed = next_serial.load(Ordering::SeqCst) - 1;
    let seqs: Vec<u64> = pulled.iter().map(|(seq, _)| *seq).collect();
    let first_gap = seqs
        .iter()
        .zip(1..)
        .find(|(seq, want)| **seq != *want)
        .map(|(seq, want)| (want, *seq));
    assert_eq!(
        (seqs.len() as u64, first_gap),
        (pushed, None),
        "every pushed event once, seqs dense from 1: nothing lost, nothing duplicated \
         (count, first (expected, found) seq that differs)"
    );
    let ids: BTreeSet<_> = pulled.iter().map(|(_, event)| event.id).collect();
    assert_eq!(ids.len() as u64, pushed, "no event twice");
    let stock = fresh
        .stock(&context(tenant), StockFilter::default())
        .expect("stock");
    assert_eq!(
        stock.rows.iter().map(|row| row.on_hand).collect::<Vec<_>>(),
        vec![pushed as i64],
        "the projection on b holds every receipt once"
    );
    // Every page: a busy move sees more upserts than one page holds.
    let mut got = BTreeSet::new();
    let mut after = 0;
    loop {
        let page = fresh
            .master_changes(&context(tenant), after, 1000)
            .expect("master changes");
        got.extend(page.items.iter().map(|item| item.sku.clone()));
        if page.next == after {
            break;
        }
        after = page.next;
    }
    let want: BTreeSet<String> = skus.lock().expect("lock").iter().cloned().collect();
    assert_eq!(got, want, "every master-data upsert made it to b");
    // New writes get new key ids and versions on b, after the copied ones.
    push_through(
        &fresh,
        tenant,
        &[event(tenant, 1_000_000, received(&key(2, 2, None), 3))],
    );
    let stock = fresh
        .stock(&context(tenant), StockFilter::default())
        .expect("stock");
    assert_eq!(stock.rows.len(), 2, "a new key after the move");
    drop(setup.b);
    drop(setup.a);
}

#[test]
fn writes_during_the_pause_get_503_with_retry_after_and_succeed_after_the_switch() {
    let setup = setup();
    let tenant = setup.tenant;
    let instance = setup.instance();
    let bin = key(1, 1, None);
    push_through(&instance, tenant, &[event(tenant, 1, received(&bin, 1))]);
    let erp = IntegrationContext::for_test(tenant);
    let paused_push = std::cell::RefCell::new(None);
    setup
        .mover(60_000, 1000)
        .run("b", |step| {
            if step == "fence" {
                // Writes are paused now, on every instance: this one holds a pool on a.
                let push = instance.push(
                    &context(tenant),
                    &[event(tenant, 2, received(&bin, 1))],
                    NOW_MS,
                );
                let upsert = instance.upsert_items(&erp, &[item("PAUSED")], NOW_MS);
                let pull = instance.pull(&context(tenant), 0, 10);
                *paused_push.borrow_mut() = Some((push.err(), upsert.err(), pull.is_ok()));
            }
        })
        .expect("the move switches");
    let (push, upsert, pull_ok) = paused_push.into_inner().expect("the fence step ran");
    for refused in [push, upsert] {
        let refused = refused.expect("a write during the pause is refused");
        assert!(
            matches!(refused, ServerError::TenantMoving),
            "refused as moving: {refused}"
        );
        let response = AppError::from(refused).into_response();
        assert_eq!(
            response.status(),
            axum::http::StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(
            response.headers()[axum::http::header::RETRY_AFTER],
            crate::error::TENANT_MOVING_RETRY_AFTER_SECS.to_string(),
            "devices wait Retry-After seconds, then retry"
        );
        assert_eq!(
            response.extensions().get::<crate::error::ErrorCode>(),
            Some(&crate::error::ErrorCode("tenant_moving"))
        );
    }
    assert!(pull_ok, "reads go on during the pause");
    // The same requests succeed after the switch, through the same instance. Its pool was
    // reopened on a by the pull during the pause, so its first write there meets the
    // `moved` fence, is refused once more and drops the pool; the device's retry goes to b.
    let push = || {
        instance.push(
            &context(tenant),
            &[event(tenant, 2, received(&bin, 1))],
            NOW_MS,
        )
    };
    assert!(
        matches!(push(), Err(ServerError::TenantMoving)),
        "a write on the old copy is refused, never committed there"
    );
    let results = push().expect("the retried push succeeds on b");
    assert_eq!(results[0].seq, Some(2), "numbered after the copied log");
    instance
        .upsert_items(&erp, &[item("PAUSED")], NOW_MS)
        .expect("upsert")
        .expect("accepted on b");
    assert_eq!(setup.cluster_of_tenant(), "b");
    // The old database is kept through the grace period, fenced as moved: a read on it
    // tells an instance still holding a pool there to reopen.
    let fence = setup
        .a
        .psql(
            &format!("aisle_t_{}", tenant.as_uuid().simple()),
            "SELECT value FROM tenant_meta WHERE name = 'move_fence'",
        )
        .expect("the old database is kept");
    assert_eq!(fence.trim(), "moved");
}

#[test]
fn a_report_read_after_the_switch_leaves_the_old_copy_and_reads_the_new_one() {
    let setup = setup();
    let tenant = setup.tenant;
    // The reporter only reads (the ERP stock endpoint): no write of its own would ever meet
    // the old copy's fence for it.
    let (writer, reporter) = (setup.instance(), setup.instance());
    let bin = key(1, 1, None);
    push_through(&writer, tenant, &[event(tenant, 1, received(&bin, 1))]);
    let erp = IntegrationContext::<crate::auth::StockRead>::for_test(tenant);
    let on_hand = |rows: Vec<aisle_protocol::ErpStockRow>| -> i64 {
        rows.iter().map(|row| row.on_hand).sum()
    };
    let before = reporter.tenant_stock(&erp, None).expect("stock on a");
    assert_eq!(on_hand(before), 1, "the reporter holds a pool on a now");
    setup
        .mover(60_000, 1000)
        .run("b", |_| {})
        .expect("the move switches");
    push_through(&writer, tenant, &[event(tenant, 2, received(&bin, 1))]);
    assert!(
        matches!(
            reporter.tenant_stock(&erp, None),
            Err(ServerError::TenantMoving)
        ),
        "a report on the old copy is refused (503 tenant_moving), never answered stale"
    );
    let after = reporter.tenant_stock(&erp, None).expect("stock on b");
    assert_eq!(
        on_hand(after),
        2,
        "the retry reads b, with the write made there after the switch"
    );
}

#[test]
fn an_abort_before_the_switch_leaves_the_tenant_writing_on_its_cluster() {
    let setup = setup();
    let tenant = setup.tenant;
    let instance = setup.instance();
    let bin = key(1, 1, None);
    push_through(&instance, tenant, &[event(tenant, 1, received(&bin, 1))]);
    let mover = setup.mover(0, 1000);
    // Stop the run right after the fence by failing the callback's thread? Runs are only
    // stopped by a kill; here the abort runs from the fence step's callback instead.
    let aborted = std::cell::Cell::new(false);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        mover.run("b", |step| {
            if step == "fence" {
                panic!("stop the run here, as a kill would");
            }
        })
    }));
    assert!(result.is_err(), "the run stopped at the fence");
    setup
        .mover(0, 1000)
        .abort(|_| aborted.set(true))
        .expect("abort");
    assert!(aborted.get());
    setup.assert_undone(&instance, 2);
}

#[test]
fn a_copy_that_still_differs_after_the_catch_ups_is_undone_and_the_tenant_stays_whole() {
    let setup = setup();
    let tenant = setup.tenant;
    let instance = setup.instance();
    let bin = key(1, 1, None);
    let first: Vec<_> = (1..=3)
        .map(|serial| event(tenant, serial, received(&bin, 1)))
        .collect();
    push_through(&instance, tenant, &first);
    let log_on_a = || {
        setup
            .a
            .psql(
                &format!("aisle_t_{}", tenant.as_uuid().simple()),
                "SELECT string_agg(seq || ':' || received_ms || ':' || md5(payload), ',' ORDER BY seq) FROM events",
            )
            .expect("the log on a")
    };
    let before = log_on_a();
    // The copied log goes wrong on b after it is copied: one copied event's row changes
    // under the log's append-only trigger (a replica-role session fires none). A catch-up
    // copies only what the source has past the copy's last seq, so it cannot mend this;
    // only the comparison of both copies can see it.
    let steps = std::cell::RefCell::new(Vec::new());
    let result = setup.mover(0, 1).run("b", |step| {
        steps.borrow_mut().push(step.to_owned());
        // After the copy's first batch (one event a batch, so the copy takes three).
        let batches = steps
            .borrow()
            .iter()
            .filter(|s| *s == "copy_events")
            .count();
        if step == "copy_events" && batches == 1 {
            let [database] = &setup.tenant_databases_on_b()[..] else {
                panic!("one copy on b after its first batch");
            };
            let changed = setup
                .b
                .psql(
                    database,
                    "SET session_replication_role = replica;
                     UPDATE events SET received_ms = received_ms + 1 WHERE seq = 1 RETURNING seq",
                )
                .expect("the copy changed");
            assert_eq!(changed, "1", "one copied event changed on b");
        }
    });
    let error = result.expect_err("a copy that differs is never switched to");
    let message = error.to_string();
    assert!(
        message.contains("still differs") && message.contains("the rows of table events"),
        "the refusal says what differs: {message}"
    );
    let steps = steps.into_inner();
    assert!(
        steps.iter().filter(|step| *step == "catch_up").count() >= 2,
        "the move tried to catch up before it gave up: {steps:?}"
    );
    assert!(
        !steps.iter().any(|step| step == "switch"),
        "never switched: {steps:?}"
    );
    // Whole on a, as before the move, and writing there again; nothing left on b.
    assert_eq!(log_on_a(), before, "the source's log is untouched");
    setup.assert_undone(&instance, 4);
    let pulled = pull_all(&instance, &context(tenant), 100);
    assert_eq!(pulled.len(), 4, "every event once, on a");
}
