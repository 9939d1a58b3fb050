//! The tenant pools' tests on real clusters: the budget under concurrency, eviction,
//! clamping, and which failures mark a tenant.

use super::*;
use crate::pg::testing::PgFixture;
use crate::storage::conformance::{context, event, pull_all};
use crate::storage::Storage;
use aisle_core::testkit::{key, received};
use aisle_pgtest::{PgCluster, PgOptions};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

const NOW_MS: i64 = 1_700_000_000_000 + 3_600_000;

fn push_receipts(fixture: &PgFixture, tenant: TenantId, serials: std::ops::Range<u64>) {
    let bin = key(1, 1, None);
    let batch: Vec<_> = serials
        .map(|serial| event(tenant, serial, received(&bin, 1)))
        .collect();
    fixture
        .storage
        .push(&context(tenant), &batch, NOW_MS)
        .expect("push");
}

/// Waits (at most 30 s, then fails) until `done` holds.
fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "never: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn many_tenants_share_a_small_budget_concurrently() {
    const N_TENANTS: u64 = 12;
    const N_THREADS: u64 = 3;
    const N_PUSHES: u64 = 6;
    const BATCH: u64 = 5;
    const BUDGET: usize = 6;
    let fixture = PgFixture::start(PgPoolConfig {
        max_open_tenants: 4,
        max_tenant_connections: 2,
        cluster_budget: BUDGET,
        wait_timeout: Duration::from_secs(30),
        ..PgPoolConfig::default()
    });
    let tenants: Vec<TenantId> = (0..N_TENANTS).map(|_| fixture.add_tenant()).collect();
    let finished = AtomicBool::new(false);
    let (most_ours, most_theirs) = std::thread::scope(|scope| {
        let monitor = scope.spawn(|| {
            let (mut most_ours, mut most_theirs) = (0, 0);
            while !finished.load(Ordering::SeqCst) {
                if let Some((open, budget)) = fixture.storage.pools().cluster_connections("main") {
                    assert_eq!(budget, BUDGET, "not clamped: the cluster allows 100");
                    most_ours = most_ours.max(open);
                }
                most_theirs = most_theirs.max(fixture.tenant_connections());
            }
            (most_ours, most_theirs)
        });
        let workers: Vec<_> = tenants
            .iter()
            .flat_map(|tenant| (0..N_THREADS).map(move |thread| (*tenant, thread)))
            .map(|(tenant, thread)| {
                let fixture = &fixture;
                scope.spawn(move || {
                    for push in 0..N_PUSHES {
                        let first = 1 + (thread * N_PUSHES + push) * BATCH;
                        push_receipts(fixture, tenant, first..first + BATCH);
                        fixture.storage.pull(&context(tenant), 0, 10).expect("pull");
                    }
                })
            })
            .collect();
        for worker in workers {
            worker.join().expect("worker");
        }
        finished.store(true, Ordering::SeqCst);
        monitor.join().expect("monitor")
    });
    for tenant in &tenants {
        let pulled = pull_all(&fixture.storage, &context(*tenant), 1000);
        assert_eq!(
            pulled.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(),
            (1..=N_THREADS * N_PUSHES * BATCH).collect::<Vec<_>>(),
            "every push of every tenant is logged once"
        );
    }
    assert!(
        most_ours <= BUDGET,
        "this process held {most_ours} connections"
    );
    assert!(
        most_theirs <= BUDGET,
        "the cluster saw {most_theirs} connections to tenant databases (budget {BUDGET})"
    );
    assert!(fixture.storage.pools().open_count() <= 4, "the cap holds");
    assert!(
        fixture.metrics.evictions.get() > 0,
        "12 tenants under a cap of 4 evict"
    );
    eprintln!(
        "{N_TENANTS} tenants x {N_THREADS} threads, budget {BUDGET}: at most {most_ours} connections held, {most_theirs} seen by the cluster, {} evictions",
        fixture.metrics.evictions.get()
    );
}

#[test]
fn a_tenant_takes_an_idle_connection_of_another_when_the_budget_is_spent() {
    let fixture = PgFixture::start(PgPoolConfig {
        max_open_tenants: 8,
        max_tenant_connections: 1,
        cluster_budget: 1,
        // Were the idle connection not closed for it, the second tenant would wait
        // this long and fail.
        wait_timeout: Duration::from_secs(5),
        ..PgPoolConfig::default()
    });
    let (one, two) = (fixture.add_tenant(), fixture.add_tenant());
    push_receipts(&fixture, one, 1..3);
    assert_eq!(
        fixture.connections_to(one),
        1,
        "one's connection stays idle in its pool"
    );
    push_receipts(&fixture, two, 1..3);
    push_receipts(&fixture, one, 3..5);
    assert_eq!(pull_all(&fixture.storage, &context(one), 10).len(), 4);
    assert_eq!(pull_all(&fixture.storage, &context(two), 10).len(), 2);
    assert_eq!(
        fixture
            .storage
            .pools()
            .cluster_connections("main")
            .map(|(open, _)| open <= 1),
        Some(true)
    );
}

#[test]
fn an_evicted_pool_closes_its_connections_and_reopens() {
    let fixture = PgFixture::start(PgPoolConfig {
        max_open_tenants: 1,
        ..PgPoolConfig::default()
    });
    let (one, two) = (fixture.add_tenant(), fixture.add_tenant());
    push_receipts(&fixture, one, 1..3);
    assert!(
        fixture.connections_to(one) >= 1,
        "an open pool keeps its connection"
    );
    push_receipts(&fixture, two, 1..3);
    eventually("the evicted pool's connections close", || {
        fixture.connections_to(one) == 0
    });
    assert_eq!(fixture.storage.pools().open_count(), 1);
    push_receipts(&fixture, one, 3..5);
    assert_eq!(
        pull_all(&fixture.storage, &context(one), 10).len(),
        4,
        "reopened with its data"
    );
}

#[test]
fn the_budget_stays_under_the_clusters_max_connections() {
    let cluster = PgCluster::start_with(PgOptions {
        max_connections: Some(10),
        ..PgOptions::default()
    })
    .expect("cluster");
    let fixture = PgFixture::on(
        cluster,
        PgPoolConfig {
            cluster_budget: 64,
            ..PgPoolConfig::default()
        },
    );
    let tenant = fixture.add_tenant();
    push_receipts(&fixture, tenant, 1..2);
    let (_, budget) = fixture
        .storage
        .pools()
        .cluster_connections("main")
        .expect("the cluster is in use");
    assert_eq!(
        budget,
        10 - 3 - CLUSTER_HEADROOM,
        "max_connections less the superuser's reserved ones and the headroom"
    );
}

/// Two instances (`serve --instances 2`) at the default budget on a cluster of 30
/// connections: each clamps under half of what the cluster allows, so together they stay
/// within it, and a lone instance takes it all.
#[test]
fn with_several_instances_each_clamps_its_budget_under_its_share_of_max_connections() {
    for (instances, budget) in [
        (1, 30 - 3 - CLUSTER_HEADROOM),
        (2, (30 - 3 - CLUSTER_HEADROOM) / 2),
    ] {
        let cluster = PgCluster::start_with(PgOptions {
            max_connections: Some(30),
            ..PgOptions::default()
        })
        .expect("cluster");
        let fixture = PgFixture::on(
            cluster,
            PgPoolConfig {
                instances,
                ..PgPoolConfig::default()
            },
        );
        let tenant = fixture.add_tenant();
        push_receipts(&fixture, tenant, 1..2);
        let (_, clamped) = fixture
            .storage
            .pools()
            .cluster_connections("main")
            .expect("the cluster is in use");
        assert_eq!(clamped, budget, "{instances} instance(s)");
    }
}

#[test]
fn a_failed_migration_refuses_only_that_tenant() {
    let fixture = PgFixture::start(PgPoolConfig::default());
    let (bad, good) = (fixture.add_tenant(), fixture.add_tenant());
    // A table in the way of migration 1.
    fixture
        .cluster
        .psql(&fixture.database(bad), "CREATE TABLE events (x int)")
        .expect("in the way");
    let refused = fixture.storage.pull(&context(bad), 0, 10);
    assert!(
        matches!(refused, Err(ServerError::TenantUnavailable { tenant, .. }) if tenant == bad),
        "{refused:?}"
    );
    push_receipts(&fixture, good, 1..3);
    assert_eq!(pull_all(&fixture.storage, &context(good), 10).len(), 2);
    assert!(
        fixture
            .placements
            .marked
            .lock()
            .expect("lock")
            .contains_key(&bad),
        "the registry is told"
    );
    // Out of the way again, the tenant stays refused until an operator clears it.
    fixture
        .cluster
        .psql(&fixture.database(bad), "DROP TABLE events")
        .expect("drop");
    let still = fixture.storage.pull(&context(bad), 0, 10);
    assert!(
        matches!(&still, Err(ServerError::TenantUnavailable { reason, .. }) if reason.contains("failed earlier")),
        "{still:?}"
    );
    // The operator clears the mark (`tenant retry-migration`): the next request migrates
    // the tenant, in this same process, and it is served.
    fixture.placements.marked.lock().expect("lock").remove(&bad);
    push_receipts(&fixture, bad, 1..2);
    assert_eq!(pull_all(&fixture.storage, &context(bad), 10).len(), 1);
}

#[test]
fn a_database_stamped_for_another_tenant_is_refused() {
    let fixture = PgFixture::start(PgPoolConfig::default());
    let (owner, intruder) = (fixture.add_tenant(), fixture.add_tenant());
    push_receipts(&fixture, owner, 1..3);
    let owners = fixture.placements.placements.lock().expect("lock")[&owner].clone();
    fixture
        .placements
        .placements
        .lock()
        .expect("lock")
        .insert(intruder, owners);
    let refused = fixture.storage.pull(&context(intruder), 0, 10);
    assert!(
        matches!(&refused, Err(ServerError::TenantUnavailable { reason, .. }) if reason.contains("stamped for tenant")),
        "{refused:?}"
    );
    assert_eq!(
        pull_all(&fixture.storage, &context(owner), 10).len(),
        2,
        "the owner keeps its data"
    );
}

#[test]
fn an_unreachable_cluster_refuses_the_request_without_marking_the_tenant() {
    let mut fixture = PgFixture::start(PgPoolConfig {
        wait_timeout: Duration::from_secs(2),
        ..PgPoolConfig::default()
    });
    let tenant = fixture.add_tenant();
    fixture.cluster.stop().expect("stop");
    let refused = fixture.storage.pull(&context(tenant), 0, 10);
    assert!(
        matches!(&refused, Err(error @ ServerError::DatabaseAway { .. }) if error.is_retryable()),
        "a tenant opened while its cluster is away is refused for now, worth a retry: {refused:?}"
    );
    assert!(
        fixture.placements.marked.lock().expect("lock").is_empty(),
        "a cluster that is away marks no one"
    );
    fixture.cluster.start_again().expect("start");
    push_receipts(&fixture, tenant, 1..3);
    assert_eq!(pull_all(&fixture.storage, &context(tenant), 10).len(), 2);
}

/// A tenant whose database is gone (dropped by hand, a wrong placement) is refused, not
/// answered as a database away for now: a `Retry-After` would have its devices retry for
/// ever. Nor is it marked, as nothing in its schema failed.
#[test]
fn a_tenant_whose_database_is_gone_is_refused_not_retried() {
    let fixture = PgFixture::start(PgPoolConfig::default());
    let tenant = fixture.add_tenant();
    let database = fixture.database(tenant);
    fixture
        .cluster
        .psql("postgres", &format!("DROP DATABASE {database}"))
        .expect("drop the tenant's database");
    let refused = fixture.storage.pull(&context(tenant), 0, 10);
    assert!(
        matches!(&refused, Err(error @ ServerError::TenantUnavailable { .. }) if !error.is_retryable()),
        "a database that does not exist is no reason to retry: {refused:?}"
    );
    assert!(
        fixture.placements.marked.lock().expect("lock").is_empty(),
        "nor does it mark the tenant"
    );
}

/// At the budget, the idle connection closed for a new one is the one used least recently:
/// a tenant that keeps pushing keeps its connection between pushes, and one that stopped
/// gives its up first (closing whichever idle connection came first reopened active
/// tenants' connections over and over under many tenants; docs/BENCHMARKS.md).
#[test]
fn the_budget_closes_the_idle_connection_used_least_recently() {
    let fixture = PgFixture::start(PgPoolConfig {
        max_open_tenants: 8,
        max_tenant_connections: 1,
        cluster_budget: 2,
        wait_timeout: Duration::from_secs(5),
        ..PgPoolConfig::default()
    });
    let (stopped, busy, new) = (
        fixture.add_tenant(),
        fixture.add_tenant(),
        fixture.add_tenant(),
    );
    push_receipts(&fixture, stopped, 1..2);
    std::thread::sleep(Duration::from_millis(50));
    push_receipts(&fixture, busy, 1..2);
    push_receipts(&fixture, new, 1..2);
    eventually("the stopped tenant's connection is closed", || {
        fixture.connections_to(stopped) == 0
    });
    assert_eq!(
        fixture.connections_to(busy),
        1,
        "the tenant used more recently keeps its connection"
    );
    assert_eq!(fixture.connections_to(new), 1);
}
