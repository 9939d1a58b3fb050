//! Migrating every PostgreSQL tenant database at once (`aisle-server migrate --all` on
//! `--database`), instead of each on its first request: an operator upgrading the server
//! sees, tenant by tenant, the schema version it went from and to, or why it failed.
//!
//! Each tenant's database is migrated in its own transaction on its own short-lived
//! connection ([`aisle_pg::migrate`], under its migration lock, so a server instance
//! opening the tenant at the same moment waits and then finds it migrated), stamped with
//! its tenant as a first open would, and its version recorded in the registry. One tenant's
//! failure does not stop the others:
//!
//! - a migration that fails, a schema newer than this build, or a database stamped for
//!   another tenant marks the tenant failed in the registry (the same mark the tenant pools
//!   write), so every server instance answers it `503 tenant_unavailable` until an operator
//!   has looked and run `tenant retry-migration`;
//! - a tenant whose cluster cannot be reached is reported failed but not marked: nothing is
//!   known to be wrong with its database, and its next request tries again.

use super::placement::Placement;
use super::placement::Placements;
use super::registry::PgRegistry;
use super::tenant_schema;
use crate::error::ServerError;
use aisle_core::ids::TenantId;
use aisle_pg::PgError;
use tokio::runtime::Handle;

pub use crate::migrate_all::{Outcome, TenantMigrated};

/// Migrates every tenant the registry lists, in name order, from a blocking thread;
/// `runtime` drives the connections. Errors only when the registry cannot list them.
pub fn migrate_all(
    registry: &PgRegistry,
    runtime: &Handle,
) -> Result<Vec<TenantMigrated>, ServerError> {
    let mut done = Vec::new();
    for row in registry.list_tenants()? {
        let outcome = match registry.placement(row.id) {
            Err(error) => Outcome::Failed {
                reason: format!("reading its placement: {error}"),
                marked: false,
            },
            Ok(None) => Outcome::NoDatabase,
            Ok(Some(placement)) => match migrate_one(row.id, &placement, runtime) {
                Ok((from, to)) => match registry.record_tenant_version(row.id, i64::from(to)) {
                    Ok(()) => Outcome::Migrated { from, to },
                    Err(error) => Outcome::Failed {
                        reason: format!("recording its version: {error}"),
                        marked: false,
                    },
                },
                Err(failure) => {
                    let marked = failure.marks
                        && registry.mark_tenant_failed(row.id, &failure.reason).is_ok();
                    if marked {
                        tracing::warn!(tenant = %row.id, reason = %failure.reason, "tenant migration failed; marked unavailable");
                    }
                    Outcome::Failed {
                        reason: failure.reason,
                        marked,
                    }
                }
            },
        };
        done.push(TenantMigrated {
            tenant: row.id,
            name: row.name,
            outcome,
        });
    }
    Ok(done)
}

struct Failure {
    reason: String,
    /// The database itself is wrong (not merely unreachable): mark the tenant.
    marks: bool,
}

impl From<PgError> for Failure {
    fn from(error: PgError) -> Self {
        let marks = error.is_wrong_schema();
        Self {
            reason: error.to_string(),
            marks,
        }
    }
}

impl From<ServerError> for Failure {
    fn from(error: ServerError) -> Self {
        Self {
            reason: error.to_string(),
            marks: false,
        }
    }
}

/// Migrates and stamps one tenant database; answers the versions from and to.
fn migrate_one(
    tenant: TenantId,
    placement: &Placement,
    runtime: &Handle,
) -> Result<(u32, u32), Failure> {
    let pool = super::backup::tenant_pool(placement)?;
    let mut conn = aisle_pg::connect(&pool, runtime)?;
    let tx = conn.transaction()?;
    let report = aisle_pg::migrate(&tx, tenant_schema::MIGRATIONS)?;
    let stamped = tx
        .query_opt("SELECT value FROM tenant_meta WHERE name = 'tenant'", &[])?
        .map(|row| row.get::<_, String>(0));
    match stamped {
        None => {
            tx.execute(
                "INSERT INTO tenant_meta (name, value) VALUES ('tenant', $1)",
                &[&tenant.to_string()],
            )?;
        }
        Some(stamp) if stamp == tenant.to_string() => {}
        Some(stamp) => {
            return Err(Failure {
                reason: format!("its database is stamped for tenant {stamp}"),
                marks: true,
            })
        }
    }
    tx.commit()?;
    Ok((report.from, report.to))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::TenantContext;
    use crate::pg::pools::{PgPoolConfig, PgTenantPools};
    use crate::pg::storage::PgStorage;
    use crate::storage::Storage;
    use aisle_core::ids::{DeviceId, WarehouseId};
    use aisle_pgtest::PgCluster;
    use std::sync::Arc;

    #[test]
    fn one_broken_tenant_is_reported_and_marked_while_the_others_migrate_and_serve() {
        let cluster = PgCluster::start().expect("a test cluster starts");
        cluster
            .create_database("aisle_registry")
            .expect("registry database");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let registry = Arc::new(
            PgRegistry::connect(&cluster.url("aisle_registry"), runtime.handle().clone())
                .expect("registry"),
        );
        registry
            .add_cluster("main", &cluster.base_url(), None, 1)
            .expect("cluster");
        let alpha = registry.add_tenant("alpha", 1).expect("alpha");
        let broken = registry.add_tenant("broken", 1).expect("broken");
        let gamma = registry.add_tenant("gamma", 1).expect("gamma");
        let broken_db = registry
            .placement(broken)
            .expect("placement")
            .expect("placed")
            .database;
        // A table of the tenant schema's first migration, made by hand and different.
        cluster
            .psql(&broken_db, "CREATE TABLE events (x integer)")
            .expect("the conflicting table");

        let done = migrate_all(&registry, runtime.handle()).expect("the registry lists");
        let by_name = |done: &[TenantMigrated], name: &str| {
            done.iter()
                .find(|migrated| migrated.name == name)
                .expect("listed")
                .clone()
        };
        let to = tenant_schema::TENANT_SCHEMA_VERSION;
        assert_eq!(done.len(), 3);
        for name in ["alpha", "gamma"] {
            assert_eq!(
                by_name(&done, name).outcome,
                Outcome::Migrated { from: 0, to },
                "{name}"
            );
        }
        let failed = by_name(&done, "broken");
        assert!(!failed.is_ok());
        match &failed.outcome {
            Outcome::Failed { reason, marked } => {
                assert!(*marked, "the broken tenant is marked");
                assert!(reason.contains("events"), "names what failed: {reason}");
            }
            other => panic!("broken: {other:?}"),
        }
        assert!(failed.line().contains("FAILED (marked unavailable)"));
        let row = |tenant| registry.tenant(tenant).expect("row").expect("exists");
        assert!(row(broken).failed_migration.is_some());
        assert_eq!(row(alpha).schema_version, i64::from(to));
        assert_eq!(row(gamma).schema_version, i64::from(to));
        assert!(row(alpha).failed_migration.is_none());

        // Again: the migrated ones are current, the broken one still fails.
        let again = migrate_all(&registry, runtime.handle()).expect("again");
        assert_eq!(
            by_name(&again, "alpha").outcome,
            Outcome::Migrated { from: to, to }
        );
        assert!(by_name(&again, "alpha").line().ends_with("current"));
        assert!(!by_name(&again, "broken").is_ok());

        // Served: the migrated tenants answer, the broken one is unavailable.
        let pools = PgTenantPools::new(
            Arc::clone(&registry) as Arc<dyn Placements>,
            PgPoolConfig::default(),
            runtime.handle().clone(),
        );
        let storage = PgStorage::new(pools);
        let context = |tenant| {
            TenantContext::for_test(
                tenant,
                WarehouseId::new_v7(1, [1; 10]),
                DeviceId::new_v7(1, [2; 10]),
            )
        };
        for tenant in [alpha, gamma] {
            let page = storage.pull(&context(tenant), 0, 10).expect("served");
            assert!(page.events.is_empty());
        }
        match storage.pull(&context(broken), 0, 10) {
            Err(error @ ServerError::TenantUnavailable { .. }) => {
                assert_eq!(
                    crate::error::AppError::from(error).code(),
                    "tenant_unavailable"
                )
            }
            other => panic!("broken tenant served: {other:?}"),
        }
        drop(storage);
        drop(registry);
        drop(runtime);
    }
}
