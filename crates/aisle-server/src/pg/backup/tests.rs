//! Backup and restore of PostgreSQL tenants on a real cluster: a backup from PostgreSQL
//! restores into SQLite and, backed up there, back into PostgreSQL with the same events,
//! master data and stock checksum; a tampered or another tenant's backup is refused on
//! PostgreSQL with the SQLite restore's own words, and nothing changes.

use super::*;
use crate::auth::{IntegrationContext, MasterWrite, TenantContext};
use crate::master::NewItem;
use crate::pg::pools::PgPoolConfig;
use crate::pg::testing::PgFixture;
use crate::registry::SqliteRegistry;
use crate::storage::conformance::{event, pull_all};
use crate::storage::Storage;
use aisle_core::testkit::{self, key, picked, received};

const NOW_MS: i64 = 1_700_000_000_000 + 3_600_000;

fn context(tenant: TenantId) -> TenantContext {
    TenantContext::for_test(tenant, testkit::warehouse(), testkit::device(1))
}

struct Setup {
    fx: PgFixture,
    /// A data directory and its SQLite registry, for the SQLite side and the audit log.
    dir: tempfile::TempDir,
    registry: SqliteRegistry,
}

impl Setup {
    fn start() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("tenants")).expect("tenants");
        let registry = SqliteRegistry::open(&crate::registry_path(dir.path())).expect("registry");
        Self {
            fx: PgFixture::start(PgPoolConfig::default()),
            dir,
            registry,
        }
    }

    fn placement(&self, tenant: TenantId) -> Placement {
        self.fx.placements.placements.lock().expect("lock")[&tenant].clone()
    }

    fn handle(&self) -> &Handle {
        self.fx._runtime.handle()
    }

    /// The tenant's log (seq, payload) and stock checksums on PostgreSQL.
    fn pg_state(&self, tenant: TenantId) -> (Vec<(i64, String)>, BTreeMap<Uuid, String>) {
        let pool = tenant_pool(&self.placement(tenant)).expect("pool");
        let mut conn = aisle_pg::connect(&pool, self.handle()).expect("connect");
        let tx = conn.transaction().expect("tx");
        let log = tx
            .query("SELECT seq, payload FROM events ORDER BY seq", &[])
            .expect("events")
            .iter()
            .map(|row| (row.get(0), row.get(1)))
            .collect();
        (log, pg_checksums(&tx).expect("checksums"))
    }

    /// A tenant with a few movements and an item with a barcode.
    fn tenant_with_data(&self) -> TenantId {
        let tenant = self.fx.add_tenant();
        let storage = &self.fx.storage;
        let erp = IntegrationContext::<MasterWrite>::for_test(tenant);
        storage
            .upsert_items(
                &erp,
                &[NewItem {
                    sku: "SKU-1".to_owned(),
                    name: "Widget".to_owned(),
                    base_unit: "each".to_owned(),
                    lot_tracked: true,
                    barcodes: vec![aisle_core::barcode::Barcode {
                        code: "4006381333931".to_owned(),
                        pack_qty: 12,
                    }],
                }],
                NOW_MS,
            )
            .expect("upsert")
            .expect("accepted");
        let (a, b) = (key(1, 1, None), key(2, 1, Some("L7")));
        let events = [
            event(tenant, 1, received(&a, 10)),
            event(tenant, 2, received(&b, 4)),
            event(tenant, 3, picked(&a, 3)),
        ];
        storage
            .push(&context(tenant), &events, NOW_MS)
            .expect("push");
        tenant
    }
}

fn log_of(file: &Path) -> (Vec<(i64, String)>, BTreeMap<Uuid, String>) {
    let conn = Connection::open(file).expect("open");
    let mut statement = conn
        .prepare("SELECT seq, payload FROM events ORDER BY seq")
        .expect("prepare");
    let log = statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    (log, sqlite_checksums(&conn).expect("checksums"))
}

#[test]
fn a_backup_goes_from_postgres_to_sqlite_and_back_with_the_same_events_and_checksum() {
    let setup = Setup::start();
    let tenant = setup.tenant_with_data();
    let placement = setup.placement(tenant);
    let (pg_log, pg_sums) = setup.pg_state(tenant);
    assert_eq!(pg_log.len(), 3);
    assert!(!pg_sums.is_empty());

    let from_pg = setup.dir.path().join("from-pg.sqlite3");
    let copied = backup_tenant(&placement, tenant, &from_pg, setup.handle()).expect("backup");
    assert_eq!(
        copied,
        LogSummary {
            n_events: 3,
            last_seq: 3
        }
    );
    assert_eq!(log_of(&from_pg), (pg_log.clone(), pg_sums.clone()));
    assert!(
        backup_tenant(&placement, tenant, &from_pg, setup.handle()).is_err(),
        "an existing file is never overwritten"
    );

    // Into SQLite, through every check of the SQLite restore, and backed up there.
    let restored = crate::backup::restore_tenant(
        setup.dir.path(),
        &setup.registry,
        tenant,
        &from_pg,
        RestoreOptions::default(),
    )
    .expect("the PostgreSQL backup restores on SQLite");
    assert_eq!(restored.after.n_events, 3);
    let from_sqlite = setup.dir.path().join("from-sqlite.sqlite3");
    crate::backup::backup_tenant(setup.dir.path(), tenant, &from_sqlite).expect("sqlite backup");
    assert_eq!(log_of(&from_sqlite), (pg_log.clone(), pg_sums.clone()));

    // The tenant goes on on PostgreSQL, then is restored from the SQLite backup.
    setup
        .fx
        .storage
        .push(
            &context(tenant),
            &[event(tenant, 4, received(&key(3, 2, None), 50))],
            NOW_MS,
        )
        .expect("push");
    let restored = restore_tenant(
        &placement,
        &setup.registry,
        tenant,
        &from_sqlite,
        RestoreOptions::default(),
        setup.handle(),
    )
    .expect("the SQLite backup restores on PostgreSQL");
    assert_eq!(restored.before.n_events, 4);
    assert_eq!(restored.after.n_events, 3);
    assert!(!restored.forced_tenant);
    assert_eq!(setup.pg_state(tenant), (pg_log, pg_sums));
    // Served from the restored database: the log and the master data.
    let pulled = pull_all(&setup.fx.storage, &context(tenant), 10);
    assert_eq!(pulled.len(), 3);
    let items = setup
        .fx
        .storage
        .master_changes(&context(tenant), 0, 100)
        .expect("changes")
        .items;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].sku, "SKU-1");
    assert!(items[0].lot_tracked);
    // A push after the restore numbers on from the restored log.
    let after = setup
        .fx
        .storage
        .push(
            &context(tenant),
            &[event(tenant, 5, received(&key(1, 1, None), 1))],
            NOW_MS,
        )
        .expect("push");
    assert_eq!(after[0].seq, Some(4));
    // The log is append-only again once the restore committed.
    let pool = tenant_pool(&placement).expect("pool");
    let mut conn = aisle_pg::connect(&pool, setup.handle()).expect("connect");
    let tx = conn.transaction().expect("tx");
    let refused = tx
        .execute("DELETE FROM events", &[])
        .expect_err("append-only");
    assert!(
        format!("{refused:?}").contains("events are append-only"),
        "{refused:?}"
    );
}

#[test]
fn a_tampered_or_foreign_backup_is_refused_on_postgres_with_the_sqlite_restores_words() {
    let setup = Setup::start();
    let tenant = setup.tenant_with_data();
    let other = setup.tenant_with_data();
    let good = setup.dir.path().join("good.sqlite3");
    backup_tenant(&setup.placement(tenant), tenant, &good, setup.handle()).expect("backup");
    let foreign = setup.dir.path().join("foreign.sqlite3");
    backup_tenant(&setup.placement(other), other, &foreign, setup.handle()).expect("backup");
    let tampered = setup.dir.path().join("tampered.sqlite3");
    std::fs::copy(&good, &tampered).expect("copy");
    Connection::open(&tampered)
        .expect("open")
        .execute_batch("UPDATE key_states SET on_hand = on_hand + 5")
        .expect("tamper");
    let unstamped = setup.dir.path().join("unstamped.sqlite3");
    std::fs::copy(&good, &unstamped).expect("copy");
    Connection::open(&unstamped)
        .expect("open")
        .execute_batch("DELETE FROM tenant_meta WHERE name = 'tenant'")
        .expect("unstamp");
    let before = setup.pg_state(tenant);

    for (file, expect) in [
        (&tampered, "projection differs"),
        (&foreign, "another tenant's backup"),
        (&unstamped, "no tenant stamp"),
    ] {
        let on_pg = restore_tenant(
            &setup.placement(tenant),
            &setup.registry,
            tenant,
            file,
            RestoreOptions::default(),
            setup.handle(),
        )
        .expect_err("refused on PostgreSQL")
        .to_string();
        let on_sqlite = crate::backup::restore_tenant(
            setup.dir.path(),
            &setup.registry,
            tenant,
            file,
            RestoreOptions::default(),
        )
        .expect_err("refused on SQLite")
        .to_string();
        assert!(on_pg.contains(expect), "{on_pg}");
        assert_eq!(on_pg, on_sqlite, "the same words on both backends");
        assert_eq!(setup.pg_state(tenant), before, "nothing changed");
    }

    // --repair and --force-tenant go through on PostgreSQL too; the forced one is audited.
    let repaired = restore_tenant(
        &setup.placement(tenant),
        &setup.registry,
        tenant,
        &tampered,
        RestoreOptions {
            repair: true,
            ..RestoreOptions::default()
        },
        setup.handle(),
    )
    .expect("repaired");
    assert!(repaired.n_repaired > 0);
    assert_eq!(setup.pg_state(tenant), before);
    let forced = restore_tenant(
        &setup.placement(tenant),
        &setup.registry,
        tenant,
        &unstamped,
        RestoreOptions {
            force_tenant: true,
            ..RestoreOptions::default()
        },
        setup.handle(),
    )
    .expect("forced");
    assert!(forced.forced_tenant);
    let audited = setup
        .registry
        .audit_log()
        .expect("audit")
        .into_iter()
        .any(|row| row.reason == "restore_forced_tenant");
    assert!(audited, "the forced restore is in the security audit log");
    assert_eq!(setup.pg_state(tenant), before);
}

#[test]
fn a_backup_restores_into_a_database_the_server_never_opened() {
    let setup = Setup::start();
    let tenant = setup.tenant_with_data();
    let file = setup.dir.path().join("acme.sqlite3");
    backup_tenant(&setup.placement(tenant), tenant, &file, setup.handle()).expect("backup");
    let expected = setup.pg_state(tenant);
    // The tenant placed on a new, empty database, as after adding it on PostgreSQL.
    setup
        .fx
        .cluster
        .create_database("fresh")
        .expect("fresh database");
    let fresh = Placement {
        database: "fresh".to_owned(),
        ..setup.placement(tenant)
    };
    setup
        .fx
        .placements
        .placements
        .lock()
        .expect("lock")
        .insert(tenant, fresh.clone());
    let restored = restore_tenant(
        &fresh,
        &setup.registry,
        tenant,
        &file,
        RestoreOptions::default(),
        setup.handle(),
    )
    .expect("restored into the fresh database");
    assert_eq!(restored.before.n_events, 0);
    assert_eq!(restored.after.n_events, 3);
    assert_eq!(setup.pg_state(tenant), expected);
}
