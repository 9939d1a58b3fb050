//! The PostgreSQL registry as several server instances see it, on real clusters from
//! aisle-pgtest: two [`PgRegistry`] values on one registry database are two instances.
//! An enrollment code spent from both at the same instant enrols one device, a revocation
//! through one is refused through the other at once, and their audit writes extend one
//! intact chain. Clusters and placement: a tenant's database is created on the emptiest
//! cluster, a failed create leaves no placement, and `cluster list` reports each tenant
//! database's size without ever showing a cluster's password.

use aisle_core::ids::DeviceId;
use aisle_pgtest::PgCluster;
use aisle_server::auth::{self, Scope};
use aisle_server::pg::placement::Placements;
use aisle_server::pg::registry::PgRegistry;
use aisle_server::registry::{AuditRow, CodeRefusal};
use aisle_server::ServerError;
use std::sync::{Arc, Barrier};

/// A cluster holding the registry database `aisle_registry`, and a runtime for the pools.
/// The cluster is also registered as the tenant cluster `main`.
struct Instances {
    cluster: PgCluster,
    runtime: tokio::runtime::Runtime,
}

impl Instances {
    fn start() -> Instances {
        let cluster = PgCluster::start().expect("a test cluster starts");
        cluster
            .create_database("aisle_registry")
            .expect("registry database");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let instances = Instances { cluster, runtime };
        instances
            .instance()
            .add_cluster("main", &instances.cluster.base_url(), None, 1)
            .expect("the registry's own cluster is a tenant cluster too");
        instances
    }

    /// One more server instance's registry: its own pool on the shared database.
    fn instance(&self) -> PgRegistry {
        PgRegistry::connect(
            &self.cluster.url("aisle_registry"),
            self.runtime.handle().clone(),
        )
        .expect("the registry opens and migrates")
    }
}

/// Databases named `aisle_t_…` on `cluster`, by name.
fn tenant_databases(cluster: &PgCluster) -> Vec<String> {
    let out = cluster
        .psql(
            "postgres",
            "SELECT datname FROM pg_database WHERE datname LIKE 'aisle_t_%' ORDER BY datname",
        )
        .expect("psql");
    out.lines()
        .map(str::trim)
        .filter(|line| line.starts_with("aisle_t_"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn one_code_spent_on_two_instances_at_once_enrols_one_device() {
    let instances = Instances::start();
    let (one, two) = (
        Arc::new(instances.instance()),
        Arc::new(instances.instance()),
    );
    let tenant = one.add_tenant("acme", 1).expect("tenant");
    let warehouse = one.add_warehouse(tenant, "main", 1).expect("warehouse");
    const N_CODES: usize = 12;
    for round in 0..N_CODES {
        let code = one
            .create_enrollment_code(tenant, warehouse, 60_000, 1)
            .expect("code");
        let start = Arc::new(Barrier::new(2));
        let spend = |registry: Arc<PgRegistry>, name: String| {
            let (start, code) = (Arc::clone(&start), code.clone());
            std::thread::spawn(move || {
                start.wait();
                registry.enroll(&code, &name, 2).expect("db")
            })
        };
        let a = spend(Arc::clone(&one), format!("pc-{round}-a"));
        let b = spend(Arc::clone(&two), format!("pc-{round}-b"));
        let outcomes = [a.join().expect("a"), b.join().expect("b")];
        let n_enrolled = outcomes.iter().filter(|outcome| outcome.is_ok()).count();
        let refusals: Vec<CodeRefusal> = outcomes
            .iter()
            .filter_map(|outcome| outcome.as_ref().err().copied())
            .collect();
        assert_eq!(
            (n_enrolled, refusals),
            (1, vec![CodeRefusal::Used]),
            "round {round}: one instance enrols, the other is told the code is used"
        );
    }
    assert_eq!(
        two.list_devices(tenant).expect("devices").len(),
        N_CODES,
        "one device per code, seen from either instance"
    );
}

#[test]
fn a_credential_revoked_on_one_instance_is_refused_on_the_other_at_once() {
    let instances = Instances::start();
    let (one, two) = (instances.instance(), instances.instance());
    let tenant = one.add_tenant("acme", 1).expect("tenant");
    let warehouse = one.add_warehouse(tenant, "main", 1).expect("warehouse");
    let code = one
        .create_enrollment_code(tenant, warehouse, 60_000, 1)
        .expect("code");
    let enrolled = one.enroll(&code, "pc-1", 2).expect("db").expect("enrols");
    let digest = auth::token_digest(&enrolled.token);
    let seen = two
        .device_by_token(&digest)
        .expect("db")
        .expect("the other instance knows the device");
    assert!(!seen.revoked, "not yet revoked");
    assert!(one.revoke_device(enrolled.device, 3).expect("revoke"));
    assert!(
        two.device_by_token(&digest)
            .expect("db")
            .expect("still known")
            .revoked,
        "the other instance sees the revocation on its next lookup: nothing is cached"
    );

    let key = two
        .add_api_key(tenant, "erp", &[Scope::StockRead], 1)
        .expect("key");
    let key_digest = auth::token_digest(&key.key);
    assert!(
        !one.api_key_by_digest(&key_digest)
            .expect("db")
            .expect("known")
            .revoked
    );
    assert!(two.revoke_api_key(key.id, 4).expect("revoke key"));
    assert!(
        one.api_key_by_digest(&key_digest)
            .expect("db")
            .expect("known")
            .revoked,
        "a key revoked on one instance is revoked on the other at once"
    );
    assert!(
        !one.revoke_device(DeviceId::new_v7(1, [9; 10]), 5)
            .expect("db"),
        "an unknown device is not revoked"
    );
}

#[test]
fn audit_writes_from_two_instances_extend_one_intact_chain() {
    let instances = Instances::start();
    let one = Arc::new(instances.instance().with_audit_max_rows(40));
    let two = Arc::new(instances.instance().with_audit_max_rows(40));
    const N_WRITES: i64 = 60;
    let start = Arc::new(Barrier::new(2));
    let writers: Vec<_> = [(Arc::clone(&one), "a"), (Arc::clone(&two), "b")]
        .into_iter()
        .map(|(registry, who)| {
            let start = Arc::clone(&start);
            std::thread::spawn(move || {
                start.wait();
                for minute in 0..N_WRITES {
                    let row = AuditRow {
                        tenant: None,
                        warehouse: None,
                        device: None,
                        reason: format!("refused_{who}"),
                        detail: format!("{who} {minute}"),
                    };
                    // Each minute's row once, then a repeat that coalesces into it.
                    registry.audit(&row, minute * 60_000).expect("audit");
                    registry.audit(&row, minute * 60_000 + 1).expect("audit");
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().expect("writer");
    }
    let verified = one
        .verify_audit()
        .expect("db")
        .expect("the chain the two instances wrote is intact");
    let entries = two.audit_entries(None).expect("entries");
    assert_eq!(verified.n_rows as usize, entries.len());
    assert!(
        entries.len() <= 40,
        "the cap holds across instances: {}",
        entries.len()
    );
    assert!(
        entries.iter().any(|entry| entry.reason == "audit_capped"),
        "the prune is recorded"
    );
    assert!(
        entries
            .iter()
            .filter(|entry| entry.reason.starts_with("refused_"))
            .all(|entry| entry.count == 2),
        "every repeat coalesced into its minute's row: {entries:?}"
    );
}

#[test]
fn a_tenant_is_placed_on_the_named_cluster_or_the_emptiest() {
    let instances = Instances::start();
    let other = PgCluster::start().expect("a second cluster");
    let registry = instances.instance();
    registry
        .add_cluster("other", &other.base_url(), None, 2)
        .expect("second cluster");
    let acme = registry
        .add_tenant_on("acme", Some("main"), 3)
        .expect("acme on main");
    let globex = registry.add_tenant("globex", 4).expect("globex");
    let initech = registry.add_tenant("initech", 5).expect("initech");
    let umbrella = registry.add_tenant("umbrella", 6).expect("umbrella");
    let cluster_of = |tenant| {
        registry
            .placement(tenant)
            .expect("db")
            .expect("placed")
            .cluster
    };
    assert_eq!(cluster_of(acme), "main", "the named cluster");
    assert_eq!(
        cluster_of(globex),
        "other",
        "main has one tenant, other none"
    );
    assert_eq!(
        cluster_of(initech),
        "main",
        "a tie goes to the older cluster"
    );
    assert_eq!(cluster_of(umbrella), "other", "then the emptier again");
    let placement = registry.placement(globex).expect("db").expect("placed");
    assert_eq!(placement.primary_url, other.base_url());
    assert_eq!(placement.replica_url, None);
    assert_eq!(
        tenant_databases(&other),
        {
            let mut names = vec![
                placement.database.clone(),
                registry
                    .placement(umbrella)
                    .expect("db")
                    .expect("placed")
                    .database,
            ];
            names.sort();
            names
        },
        "each placed tenant's database exists on its cluster"
    );
    assert_eq!(tenant_databases(&instances.cluster).len(), 2);
    assert!(
        matches!(
            registry.add_tenant_on("nowhere", Some("missing"), 7),
            Err(ServerError::NotFound(_))
        ),
        "an unknown cluster is refused"
    );
}

#[test]
fn a_create_that_fails_leaves_no_tenant_and_no_placement() {
    let instances = Instances::start();
    let mut doomed = PgCluster::start().expect("a cluster to stop");
    let registry = instances.instance();
    registry
        .add_cluster("doomed", &doomed.base_url(), None, 2)
        .expect("cluster");
    let acme = registry
        .add_tenant_on("acme", Some("main"), 3)
        .expect("acme");
    doomed.stop().expect("stop");
    assert!(
        registry.add_tenant_on("globex", Some("doomed"), 4).is_err(),
        "the cluster is down: the tenant's database cannot be created"
    );
    assert!(
        registry.add_tenant("acme", 5).is_err(),
        "a taken name is refused"
    );
    let tenants: Vec<String> = registry
        .list_tenants()
        .expect("tenants")
        .into_iter()
        .map(|row| row.name)
        .collect();
    assert_eq!(tenants, ["acme"], "no tenant without a database");
    let clusters = registry.list_clusters().expect("clusters");
    let n_placements: usize = clusters.iter().map(|cluster| cluster.n_tenants()).sum();
    assert_eq!(n_placements, 1, "only acme is placed: {clusters:?}");
    assert_eq!(
        tenant_databases(&instances.cluster),
        [registry
            .placement(acme)
            .expect("db")
            .expect("placed")
            .database],
        "the refused duplicate left no database behind"
    );
}

#[test]
fn cluster_list_shows_tenants_databases_and_sizes_and_never_a_password() {
    let instances = Instances::start();
    let mut second = PgCluster::start().expect("a second cluster");
    let registry = instances.instance();
    // Trust authentication ignores the password, so the URL works as given.
    let with_password = second.base_url().replace("aisle@", "aisle:s3cret@");
    registry
        .add_cluster("second", &with_password, Some(&with_password), 2)
        .expect("cluster with a password");
    let acme = registry
        .add_tenant_on("acme", Some("second"), 3)
        .expect("acme");
    registry
        .add_tenant_on("globex", Some("second"), 4)
        .expect("globex");
    let clusters = registry.list_clusters().expect("clusters");
    let names: Vec<(&str, usize)> = clusters
        .iter()
        .map(|cluster| (cluster.name.as_str(), cluster.n_tenants()))
        .collect();
    assert_eq!(names, [("main", 0), ("second", 2)]);
    let second_row = &clusters[1];
    let tenant_names: Vec<&str> = second_row
        .databases
        .iter()
        .map(|database| database.tenant_name.as_str())
        .collect();
    assert_eq!(tenant_names, ["acme", "globex"]);
    assert_eq!(second_row.databases[0].tenant, acme);
    assert!(
        second_row
            .databases
            .iter()
            .all(|database| database.size_bytes.is_some_and(|size| size > 1_000_000)),
        "each database's size is asked from its cluster (an empty one is a few MB): {second_row:?}"
    );
    assert_eq!(second_row.unreachable, None);
    assert!(second_row.total_bytes() > 2_000_000);
    let shown = format!("{clusters:?}");
    assert!(!shown.contains("s3cret"), "the password is masked: {shown}");
    assert!(shown.contains("aisle:***@"), "{shown}");

    second.stop().expect("stop");
    let clusters = registry
        .list_clusters()
        .expect("a down cluster is listed, not an error");
    let down = &clusters[1];
    assert!(down.unreachable.is_some(), "{down:?}");
    assert_eq!(down.n_tenants(), 2, "its placements are still known");
    assert!(down
        .databases
        .iter()
        .all(|database| database.size_bytes.is_none()));
    assert!(
        !format!("{clusters:?}").contains("s3cret"),
        "an unreachable cluster's error does not show the password either"
    );
    let refused = registry
        .add_cluster("third", &with_password, None, 5)
        .expect_err("a cluster that does not answer is not registered");
    assert!(!refused.to_string().contains("s3cret"), "{refused}");
}

#[test]
fn an_edited_or_removed_audit_row_breaks_the_chain_on_postgres_too() {
    let instances = Instances::start();
    let registry = instances.instance();
    for minute in 0..3 {
        registry
            .audit(
                &AuditRow {
                    tenant: None,
                    warehouse: None,
                    device: None,
                    reason: "revoked_token".to_owned(),
                    detail: format!("GET /{minute}"),
                },
                minute * 60_000,
            )
            .expect("audit");
    }
    let intact = registry.verify_audit().expect("db").expect("intact");
    assert_eq!((intact.n_rows, intact.head_id), (3, 3));
    instances
        .cluster
        .psql(
            "aisle_registry",
            "UPDATE security_audit SET detail = 'GET /elsewhere' WHERE id = 2",
        )
        .expect("tamper");
    let broken = registry.verify_audit().expect("db").expect_err("an edit");
    assert_eq!(broken.row_id, 2, "{broken}");
    instances
        .cluster
        .psql(
            "aisle_registry",
            "UPDATE security_audit SET detail = 'GET /1' WHERE id = 2;
             DELETE FROM security_audit WHERE id = 3",
        )
        .expect("tamper");
    let cut = registry.verify_audit().expect("db").expect_err("a cut end");
    assert_eq!(cut.row_id, 3, "the removed last row is named: {cut}");
}

#[test]
fn a_tenant_marked_unavailable_by_its_pools_is_marked_for_every_instance() {
    let instances = Instances::start();
    let (one, two) = (instances.instance(), instances.instance());
    let acme = one.add_tenant("acme", 1).expect("tenant");
    Placements::mark_unavailable(&one, acme, "migration 3 failed: boom").expect("mark");
    assert_eq!(
        two.tenant(acme)
            .expect("db")
            .expect("tenant")
            .failed_migration,
        Some("migration 3 failed: boom".to_owned()),
        "the mark is in the shared registry, not in one instance's memory"
    );
}
