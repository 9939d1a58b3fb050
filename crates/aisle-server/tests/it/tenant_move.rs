//! `aisle-server tenant move` killed with SIGKILL after each of its steps, on two real
//! clusters from aisle-pgtest: after every kill the tenant is whole on exactly one side
//! (the cluster its placement names holds every event, master-data row and projection row
//! it had), and running the command again finishes the move; before the switch, `--abort`
//! undoes it instead. The binary kills itself at the step `AISLE_MOVE_KILL_AFTER` names.
//! (Moves with pushes running, and the pause's 503, are pinned in src/pg/moving/on_clusters.rs,
//! which can push through the PostgreSQL storage.)

use aisle_core::ids::TenantId;
use aisle_pg::deadpool_postgres;
use aisle_pgtest::PgCluster;
use aisle_server::pg::placement::Placements;
use aisle_server::pg::registry::PgRegistry;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Output};

const NOW_MS: i64 = 1_750_000_000_000;
const N_EVENTS: i64 = 1_000;

struct Clusters {
    registry_url: String,
    registry: PgRegistry,
    runtime: tokio::runtime::Runtime,
    a: PgCluster,
    b: PgCluster,
}

fn clusters() -> Clusters {
    let a = PgCluster::start().expect("cluster a starts");
    let b = PgCluster::start().expect("cluster b starts");
    a.create_database("aisle_registry").expect("registry db");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let registry_url = a.url("aisle_registry");
    let registry = PgRegistry::connect(&registry_url, runtime.handle().clone()).expect("registry");
    registry
        .add_cluster("a", &a.base_url(), None, NOW_MS)
        .expect("cluster a");
    registry
        .add_cluster("b", &b.base_url(), None, NOW_MS)
        .expect("cluster b");
    Clusters {
        registry_url,
        registry,
        runtime,
        a,
        b,
    }
}

fn database_of(tenant: TenantId) -> String {
    format!("aisle_t_{}", tenant.as_uuid().simple())
}

impl Clusters {
    fn cluster(&self, name: &str) -> &PgCluster {
        match name {
            "a" => &self.a,
            "b" => &self.b,
            other => panic!("no cluster {other}"),
        }
    }

    /// A tenant on a, its database migrated and holding events, master data, projection
    /// rows and its stamp, as a server would have left them.
    fn seeded_tenant(&self, name: &str) -> TenantId {
        let tenant = self
            .registry
            .add_tenant_on(name, Some("a"), NOW_MS)
            .expect("tenant on a");
        let url = self.a.url(&database_of(tenant));
        let manager = deadpool_postgres::Manager::new(
            url.parse().expect("url"),
            aisle_pg::tokio_postgres::NoTls,
        );
        let pool = deadpool_postgres::Pool::builder(manager)
            .max_size(1)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .expect("pool");
        let mut conn = aisle_pg::connect(&pool, self.runtime.handle()).expect("connect");
        let tx = conn.transaction().expect("tx");
        aisle_pg::migrate(&tx, aisle_server::pg::tenant_schema::MIGRATIONS).expect("migrate");
        let items: Vec<_> = (1..=30)
            .map(|n| aisle_server::master::NewItem {
                sku: format!("SKU-{n}"),
                name: format!("item {n}"),
                base_unit: "each".to_owned(),
                lot_tracked: n % 3 == 0,
                barcodes: Vec::new(),
            })
            .collect();
        aisle_server::pg::master::upsert_items(&tx, &items, NOW_MS)
            .expect("upsert")
            .expect("accepted");
        tx.batch_execute(&format!(
            "INSERT INTO tenant_meta (name, value) VALUES ('tenant', '{tenant}');
             INSERT INTO events (seq, id, warehouse, device, hlc, kind, received_ms, payload)
             SELECT g, md5('{tenant}' || g)::uuid, '00000000-0000-0000-0000-0000000000aa',
                    '00000000-0000-0000-0000-0000000000dd', 1000 + g, 'received', {NOW_MS},
                    '{{\"n\":' || g || '}}'
             FROM generate_series(1, {N_EVENTS}) AS g;
             INSERT INTO stock_keys (warehouse, location, item, lot)
             SELECT '00000000-0000-0000-0000-0000000000aa', md5('l' || g)::uuid,
                    md5('i' || g)::uuid, CASE WHEN g % 2 = 0 THEN 'LOT' || g ELSE '' END
             FROM generate_series(1, 50) AS g;
             INSERT INTO key_states (key_id, on_hand) SELECT key_id, key_id * 7 FROM stock_keys;
             INSERT INTO stock_deltas (key_id, hlc, event_seq, delta)
             SELECT 1 + g % 50, 1000 + g, g, 1 FROM generate_series(1, {N_EVENTS}) AS g;"
        ))
        .expect("seed");
        tx.commit().expect("commit");
        pool.close();
        tenant
    }

    /// What the tenant's database on `cluster` holds, row for row (without a move's fence).
    fn fingerprint(&self, cluster: &str, tenant: TenantId) -> String {
        self.cluster(cluster)
            .psql(
                &database_of(tenant),
                "SELECT (SELECT count(*) || '/' || max(seq) || '/' ||
                                md5(string_agg(e::text, ',' ORDER BY seq)) FROM events e)
                     || ' ' || (SELECT md5(string_agg(i::text, ',' ORDER BY sku)) FROM items i)
                     || ' ' || (SELECT md5(string_agg(v::text, ',')) FROM master_version v)
                     || ' ' || (SELECT md5(string_agg(k::text || s::text, ',' ORDER BY k.key_id))
                                FROM stock_keys k JOIN key_states s USING (key_id))
                     || ' ' || (SELECT count(*) FROM stock_deltas)
                     || ' ' || (SELECT string_agg(name || '=' || value, ',' ORDER BY name)
                                FROM tenant_meta WHERE name <> 'move_fence')",
            )
            .expect("fingerprint")
            .trim()
            .to_owned()
    }

    fn has_database(&self, cluster: &str, tenant: TenantId) -> bool {
        let out = self
            .cluster(cluster)
            .psql(
                "postgres",
                &format!(
                    "SELECT count(*) FROM pg_database WHERE datname = '{}'",
                    database_of(tenant)
                ),
            )
            .expect("pg_database");
        out.trim() == "1"
    }

    fn placement(&self, tenant: TenantId) -> String {
        self.registry
            .placement(tenant)
            .expect("placement")
            .expect("a placement")
            .cluster
    }

    fn moves_recorded(&self, tenant: TenantId) -> String {
        self.a
            .psql(
                "aisle_registry",
                &format!(
                    "SELECT count(*) FROM tenant_moves WHERE tenant = '{}'",
                    tenant.as_uuid()
                ),
            )
            .expect("tenant_moves")
            .trim()
            .to_owned()
    }

    fn mv(&self, name: &str, extra: &[&str], kill_after: Option<&str>) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_aisle-server"));
        command
            .args(["tenant", "move", name])
            .args(extra)
            .args(["--grace", "0", "--batch-events", "300"])
            .args(["--database", &self.registry_url])
            .env_remove("AISLE_MOVE_KILL_AFTER");
        if let Some(step) = kill_after {
            command.env("AISLE_MOVE_KILL_AFTER", step);
        }
        command.output().expect("run aisle-server tenant move")
    }
}

fn text(output: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The steps a move settles, in order, with `--grace 0` and 1,000 events in batches of 300
/// (`copy_events:2` is the kill in the middle of the bulk copy).
const KILL_POINTS: &[&str] = &[
    "record",
    "create_target",
    "copy_events:1",
    "copy_events:2",
    "pause",
    "fence",
    "catch_up",
    "switch",
    "mark_moved",
    "drop_source",
];

#[test]
fn a_move_killed_after_any_step_leaves_the_tenant_whole_on_one_side_and_finishes_when_run_again() {
    let clusters = clusters();
    // The whole run once, unkilled, shows the steps the kill points name.
    let tenant = clusters.seeded_tenant("unkilled");
    let before = clusters.fingerprint("a", tenant);
    let output = clusters.mv("unkilled", &["--to", "b"], None);
    assert!(output.status.success(), "{}", text(&output));
    let steps: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .take_while(|line| !line.contains(" is on cluster "))
        .map(str::to_owned)
        .collect();
    assert_eq!(
        steps,
        [
            "record",
            "create_target",
            "copy_events",
            "copy_events",
            "copy_events",
            "pause",
            "fence",
            "catch_up",
            "switch",
            "mark_moved",
            "drop_source"
        ],
        "{}",
        text(&output)
    );
    assert_eq!(clusters.placement(tenant), "b");
    assert_eq!(
        clusters.fingerprint("b", tenant),
        before,
        "b holds all of it"
    );
    assert!(
        !clusters.has_database("a", tenant),
        "grace 0: a's copy is dropped"
    );

    for (n, kill_point) in KILL_POINTS.iter().enumerate() {
        let name = format!("killed-{n}");
        let tenant = clusters.seeded_tenant(&name);
        let before = clusters.fingerprint("a", tenant);
        let output = clusters.mv(&name, &["--to", "b"], Some(kill_point));
        assert_eq!(
            output.status.signal(),
            Some(9),
            "killed after {kill_point}: {}",
            text(&output)
        );
        // Whole on exactly one side: the side the placement names holds all of it.
        let side = clusters.placement(tenant);
        assert_eq!(
            clusters.fingerprint(&side, tenant),
            before,
            "killed after {kill_point}: the tenant is whole on {side}"
        );
        let switched = KILL_POINTS[..=n].contains(&"switch");
        assert_eq!(
            side,
            if switched { "b" } else { "a" },
            "killed after {kill_point}: the placement switches at the switch step only"
        );
        // Run again: the move finishes.
        let output = clusters.mv(&name, &["--to", "b"], None);
        if *kill_point == "drop_source" {
            // Nothing was left to do: the tenant is on b already.
            assert!(!output.status.success(), "{}", text(&output));
            assert!(
                String::from_utf8_lossy(&output.stderr).contains("on cluster \"b\" already"),
                "{}",
                text(&output)
            );
        } else {
            assert!(
                output.status.success(),
                "after {kill_point}: {}",
                text(&output)
            );
        }
        assert_eq!(clusters.placement(tenant), "b", "after {kill_point}");
        assert_eq!(
            clusters.fingerprint("b", tenant),
            before,
            "after {kill_point}: b holds all of it"
        );
        assert!(
            !clusters.has_database("a", tenant),
            "after {kill_point}: a's copy is dropped"
        );
        assert_eq!(clusters.moves_recorded(tenant), "0", "after {kill_point}");
    }
}

#[test]
fn a_move_killed_before_the_switch_is_undone_by_abort_and_not_after() {
    let clusters = clusters();
    for kill_point in ["copy_events:1", "fence", "catch_up"] {
        let name = format!("aborted-{}", kill_point.replace(':', "-"));
        let tenant = clusters.seeded_tenant(&name);
        let before = clusters.fingerprint("a", tenant);
        let output = clusters.mv(&name, &["--to", "b"], Some(kill_point));
        assert_eq!(output.status.signal(), Some(9), "{}", text(&output));
        let output = clusters.mv(&name, &["--abort"], None);
        assert!(output.status.success(), "{}", text(&output));
        assert_eq!(clusters.placement(tenant), "a");
        assert_eq!(clusters.fingerprint("a", tenant), before);
        let fence = clusters
            .a
            .psql(
                &database_of(tenant),
                "SELECT count(*) FROM tenant_meta WHERE name = 'move_fence'",
            )
            .expect("fence");
        assert_eq!(fence.trim(), "0", "writes resume on a after {kill_point}");
        assert!(
            !clusters.has_database("b", tenant),
            "the copy on b is dropped"
        );
        assert_eq!(clusters.moves_recorded(tenant), "0");
    }
    // After the switch, an abort is refused and the tenant stays on b.
    let tenant = clusters.seeded_tenant("switched");
    let output = clusters.mv("switched", &["--to", "b"], Some("switch"));
    assert_eq!(output.status.signal(), Some(9), "{}", text(&output));
    let output = clusters.mv("switched", &["--abort"], None);
    assert!(!output.status.success(), "{}", text(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("switched already"),
        "{}",
        text(&output)
    );
    assert_eq!(clusters.placement(tenant), "b");
    let output = clusters.mv("switched", &["--finish"], None);
    assert!(output.status.success(), "{}", text(&output));
    assert!(!clusters.has_database("a", tenant));
}
