//! Schema migrations for the registry and for each tenant database, from the numbered files
//! in `migrations/cloud/registry/` and `migrations/cloud/tenant/`, and the connection
//! settings every server database uses, and the tenant stamp that ties a tenant database
//! file to its tenant.
//!
//! A tenant database's stock projection is not in those files: its steps are aisle-projection's
//! (`migrations/projection/`), the same the device store applies, placed in the tenant list
//! at the positions where they have always run.

use crate::error::ServerError;
use aisle_core::ids::TenantId;
use aisle_projection::sqlite::migrations::{ProjectionStep, Step};
use rusqlite::{Connection, OptionalExtension};
use rusqlite_migration::{Migrations, M};
use std::time::Duration;

const REGISTRY_MIGRATIONS: &[&str] = &[
    include_str!("../../../migrations/cloud/registry/0001_init.sql"),
    include_str!("../../../migrations/cloud/registry/0002_api_keys.sql"),
    include_str!("../../../migrations/cloud/registry/0003_audit_chain.sql"),
    include_str!("../../../migrations/cloud/registry/0004_tenant_quotas.sql"),
    include_str!("../../../migrations/cloud/registry/0005_webhooks.sql"),
    include_str!("../../../migrations/cloud/registry/0006_webhook_deliveries.sql"),
    include_str!("../../../migrations/cloud/registry/0007_webhook_leases.sql"),
    include_str!("../../../migrations/cloud/registry/0008_releases.sql"),
];

/// The registry migration whose Rust hook chains the schema-1 audit rows (SQLite has no
/// SHA-256 of its own).
const REGISTRY_AUDIT_CHAIN: usize = 2;

/// A tenant database's schema, step by step. A step's position is the schema version it
/// brings a file to, so steps are only ever appended. Steps 3 to 5 were files of
/// `migrations/cloud/tenant/` until the projection's SQL moved to aisle-projection; the
/// schema each step gives is unchanged (the test
/// `the_split_tenant_list_gives_the_old_schema_at_every_version` pins it).
const TENANT_MIGRATIONS: &[Step] = &[
    Step::OwnThenProjection(
        include_str!("../../../migrations/cloud/tenant/0001_init.sql"),
        ProjectionStep::Init,
    ),
    Step::Own(include_str!(
        "../../../migrations/cloud/tenant/0002_master_data.sql"
    )),
    Step::Projection(ProjectionStep::CompactStockDeltas),
    Step::Projection(ProjectionStep::KeyStates),
    Step::Projection(ProjectionStep::RulesVersion),
    Step::Own(include_str!(
        "../../../migrations/cloud/tenant/0006_tenant_stamp.sql"
    )),
    Step::Own(include_str!(
        "../../../migrations/cloud/tenant/0007_user_warehouses_pin_policy.sql"
    )),
    Step::Own(include_str!(
        "../../../migrations/cloud/tenant/0008_erp_outbox.sql"
    )),
    Step::Own(include_str!(
        "../../../migrations/cloud/tenant/0009_pick_line_shorts.sql"
    )),
    Step::Own(include_str!(
        "../../../migrations/cloud/tenant/0010_put_back.sql"
    )),
    Step::Own(include_str!(
        "../../../migrations/cloud/tenant/0011_expected_receipts.sql"
    )),
];

/// A tenant database's migrations, as rusqlite_migration runs them.
fn tenant_migrations() -> Vec<M<'static>> {
    aisle_projection::sqlite::migrations::migrations(TENANT_MIGRATIONS)
}

/// The tenant schema version this build writes.
pub const TENANT_SCHEMA_VERSION: i64 = TENANT_MIGRATIONS.len() as i64;

/// WAL so pulls never block pushes; `synchronous=FULL` so an acknowledged push survives
/// power loss; a busy timeout so connections to one file wait for each other.
pub fn configure(conn: &Connection) -> Result<(), ServerError> {
    conn.busy_timeout(Duration::from_secs(10))?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(ServerError::Invalid(format!(
            "journal_mode is {mode}, not wal"
        )));
    }
    conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")?;
    Ok(())
}

fn run_migrations(
    conn: &mut Connection,
    migrations: Vec<M<'static>>,
    what: &str,
) -> Result<i64, ServerError> {
    let known = migrations.len() as i64;
    let found: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if found > known {
        return Err(ServerError::Migration {
            what: what.to_owned(),
            message: format!("schema {found} is newer than this build's {known}"),
        });
    }
    Migrations::new(migrations)
        .to_latest(conn)
        .map_err(|error| match error {
            // The file was busy or locked past the busy timeout (another connection held its
            // write lock): not a failed migration, and worth a retry (`is_retryable`).
            rusqlite_migration::Error::RusqliteError { err, .. } if crate::error::is_busy(&err) => {
                ServerError::Sqlite(err)
            }
            error => ServerError::Migration {
                what: what.to_owned(),
                message: error.to_string(),
            },
        })?;
    Ok(known)
}

pub fn migrate_registry(conn: &mut Connection) -> Result<i64, ServerError> {
    let migrations = REGISTRY_MIGRATIONS
        .iter()
        .enumerate()
        .map(|(index, sql)| match index {
            REGISTRY_AUDIT_CHAIN => M::up_with_hook(sql, crate::registry::chain_schema1_rows),
            _ => M::up(sql),
        })
        .collect();
    run_migrations(conn, migrations, "the registry")
}

/// Brings a tenant database to [`TENANT_SCHEMA_VERSION`] and returns that version.
pub fn migrate_tenant(conn: &mut Connection) -> Result<i64, ServerError> {
    run_migrations(conn, tenant_migrations(), "a tenant database")
}

/// Which tenant a tenant database file says it belongs to (`tenant_meta`, schema 6), or
/// `None` for a file that was never stamped (written before schema 6, or not yet opened by
/// a server since).
pub fn tenant_stamp(conn: &Connection) -> Result<Option<String>, ServerError> {
    let has_table: bool = conn.query_row(
        "SELECT count(*) > 0 FROM sqlite_schema WHERE type = 'table' AND name = 'tenant_meta'",
        [],
        |row| row.get(0),
    )?;
    if !has_table {
        return Ok(None);
    }
    Ok(conn
        .query_row(
            "SELECT value FROM tenant_meta WHERE name = 'tenant'",
            [],
            |row| row.get(0),
        )
        .optional()?)
}

/// Stamps a migrated tenant database with its tenant, or checks the stamp it has: a file
/// stamped for another tenant is refused, so one tenant's data is never served as another's.
pub fn stamp_tenant(conn: &Connection, tenant: TenantId) -> Result<(), ServerError> {
    // Read first: a file stamped already (every open but the first) needs no write, so
    // reopening a tenant does not wait for its write lock behind pushes still running on an
    // evicted copy of its pool.
    let stamp = match tenant_stamp(conn)? {
        Some(stamp) => Some(stamp),
        None => {
            conn.execute(
                "INSERT INTO tenant_meta (name, value) VALUES ('tenant', ?1) ON CONFLICT (name) DO NOTHING",
                [tenant.to_string()],
            )?;
            tenant_stamp(conn)?
        }
    };
    match stamp {
        Some(stamp) if stamp == tenant.to_string() => Ok(()),
        Some(stamp) => Err(ServerError::Invalid(format!(
            "the database file is stamped for tenant {stamp}, not {tenant}; it was copied from another tenant"
        ))),
        None => Err(ServerError::Invalid(
            "the tenant stamp could not be written".to_owned(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database a newer server wrote is refused before anything runs, naming both
    /// versions; the file is left as it was.
    #[test]
    fn a_newer_tenant_or_registry_schema_is_refused_naming_both_versions() {
        for (migrate, known, what) in [
            (
                migrate_tenant as fn(&mut Connection) -> Result<i64, ServerError>,
                TENANT_SCHEMA_VERSION,
                "a tenant database",
            ),
            (
                migrate_registry,
                REGISTRY_MIGRATIONS.len() as i64,
                "the registry",
            ),
        ] {
            let mut conn = Connection::open_in_memory().expect("in-memory database");
            conn.pragma_update(None, "user_version", known + 3)
                .expect("pretend a newer build wrote it");
            let error = migrate(&mut conn).expect_err("refused");
            let message = error.to_string();
            assert!(
                message.contains(what)
                    && message.contains(&format!(
                        "schema {} is newer than this build's {known}",
                        known + 3
                    )),
                "{message}"
            );
            let tables: i64 = conn
                .query_row("SELECT COUNT(*) FROM sqlite_master", [], |row| row.get(0))
                .expect("count");
            assert_eq!(tables, 0, "nothing ran");
        }
    }

    /// Tenant schema 4 moves each key's on-hand and baseline from `stock_keys` into
    /// `key_states`, naming the baseline by its event's seq; a tenant file at schema 3
    /// keeps every key's state through the upgrade.
    #[test]
    fn schema_3_key_states_move_to_their_own_table() {
        let mut conn = Connection::open_in_memory().expect("in-memory database");
        Migrations::new(tenant_migrations())
            .to_version(&mut conn, 3)
            .expect("schema 3");
        conn.execute_batch(
            "INSERT INTO events (seq, id, warehouse, device, hlc, kind, received_ms, payload)
                 VALUES (7, x'0A', x'01', x'0D', 500, 'counted', 0, '{}');
             INSERT INTO stock_keys (key_id, warehouse, location, item, lot, on_hand,
                     baseline_hlc, baseline_device, baseline_event, baseline_qty)
                 VALUES (1, x'01', x'02', x'03', '', 12, 500, x'0D', x'0A', 10),
                        (2, x'01', x'02', x'04', 'L1', -3, NULL, NULL, NULL, NULL),
                        (3, x'01', x'02', x'05', '', 0, NULL, NULL, NULL, NULL);",
        )
        .expect("schema 3 rows");
        assert_eq!(
            migrate_tenant(&mut conn).expect("upgrade"),
            TENANT_SCHEMA_VERSION
        );
        type StateRow = (i64, i64, Option<i64>, Option<i64>, Option<i64>);
        let rows: Vec<StateRow> = conn
            .prepare("SELECT key_id, on_hand, baseline_hlc, baseline_seq, baseline_qty FROM key_states ORDER BY key_id")
            .expect("prepare")
            .query_map([], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?))
            })
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows");
        assert_eq!(
            rows,
            [
                (1, 12, Some(500), Some(7), Some(10)),
                (2, -3, None, None, None)
            ],
            "a key with stock or a baseline keeps both; an untouched key needs no row"
        );
        let keys: i64 = conn
            .query_row("SELECT count(*) FROM stock_keys", [], |row| row.get(0))
            .expect("count");
        assert_eq!(keys, 3, "every key keeps its identity");
    }

    #[test]
    fn a_tenant_file_keeps_the_first_tenant_it_was_stamped_with() {
        let mut conn = Connection::open_in_memory().expect("in-memory database");
        migrate_tenant(&mut conn).expect("migrate");
        let acme = TenantId::new_v7(1, [1; 10]);
        let globex = TenantId::new_v7(1, [2; 10]);
        assert_eq!(
            tenant_stamp(&conn).expect("read"),
            None,
            "a new file is unstamped"
        );
        stamp_tenant(&conn, acme).expect("the first open stamps");
        stamp_tenant(&conn, acme).expect("the same tenant opens it again");
        let refusal = stamp_tenant(&conn, globex).expect_err("another tenant is refused");
        assert!(
            refusal
                .to_string()
                .contains(&format!("stamped for tenant {acme}")),
            "the refusal names the file's tenant: {refusal}"
        );
        assert_eq!(
            tenant_stamp(&conn).expect("read"),
            Some(acme.to_string()),
            "a refused open leaves the stamp as it was"
        );
    }

    #[test]
    fn migrations_apply_to_an_empty_database() {
        Migrations::new(REGISTRY_MIGRATIONS.iter().map(|sql| M::up(sql)).collect())
            .validate()
            .expect("every registry migration applies cleanly");
        Migrations::new(tenant_migrations())
            .validate()
            .expect("every tenant migration applies cleanly");
    }

    /// The schema of every version as the tenant list gave it before the projection's SQL
    /// moved to aisle-projection (see the file's header).
    const SCHEMA_BEFORE_SPLIT: &str = include_str!("../tests/schema/tenant_before_split.txt");

    /// A file at any version the old list wrote has exactly the schema the split list gives
    /// at that version, so every later step meets the schema it always met, and a new file
    /// ends with the schema it always had.
    #[test]
    fn the_split_tenant_list_gives_the_old_schema_at_every_version() {
        let versions = aisle_projection::sqlite::migrations::compare_with_history(
            &Migrations::new(tenant_migrations()),
            SCHEMA_BEFORE_SPLIT,
        )
        .unwrap_or_else(|difference| panic!("{difference}"));
        assert_eq!(
            versions,
            (1..=6).collect::<Vec<_>>(),
            "the history holds schemas 1 to 6, the old list's"
        );
    }
}
