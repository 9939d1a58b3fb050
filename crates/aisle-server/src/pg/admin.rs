//! The PostgreSQL side of the admin CLI's tenant-database commands, for `--database URL`:
//! `backup`, `restore` and `migrate --all` on the registry at that URL, each tenant found by
//! name or id and reached through its placement. It owns the runtime its connections run on
//! (the CLI is synchronous), so a command is one call.

use super::backup;
use super::migrate_all::{self, TenantMigrated};
use super::placement::{Placement, Placements};
use super::registry::PgRegistry;
use crate::backup::{LogSummary, RestoreOptions, Restored};
use crate::error::ServerError;
use aisle_core::ids::TenantId;
use std::path::Path;

/// The registry at a `--database` URL, and the runtime its pools (and the tenant
/// databases' short-lived ones) run on.
#[derive(Debug)]
pub struct PgAdmin {
    /// Declared before the runtime, so its pool closes while the runtime still runs.
    registry: PgRegistry,
    runtime: tokio::runtime::Runtime,
}

impl PgAdmin {
    /// Opens (and migrates) the registry at `url`. Call from a thread that is not running
    /// an async task.
    pub fn connect(url: &str) -> Result<Self, ServerError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(ServerError::Io)?;
        let registry = PgRegistry::connect(url, runtime.handle().clone())?;
        Ok(Self { registry, runtime })
    }

    pub fn registry(&self) -> &PgRegistry {
        &self.registry
    }

    fn placed(&self, tenant: &str) -> Result<(TenantId, Placement), ServerError> {
        let id = self.registry.resolve_tenant(tenant)?;
        let placement = self.registry.placement(id)?.ok_or_else(|| {
            ServerError::NotFound(format!("tenant {tenant} has no database placed"))
        })?;
        Ok((id, placement))
    }

    /// `backup TENANT --out FILE`: the portable SQLite tenant file.
    pub fn backup(&self, tenant: &str, out: &Path) -> Result<LogSummary, ServerError> {
        let (id, placement) = self.placed(tenant)?;
        backup::backup_tenant(&placement, id, out, self.runtime.handle())
    }

    /// `restore TENANT --from FILE`, with every check of the SQLite restore.
    pub fn restore(
        &self,
        tenant: &str,
        from: &Path,
        options: RestoreOptions,
    ) -> Result<Restored, ServerError> {
        let (id, placement) = self.placed(tenant)?;
        backup::restore_tenant(
            &placement,
            &self.registry,
            id,
            from,
            options,
            self.runtime.handle(),
        )
    }

    /// `migrate --all`.
    pub fn migrate_all(&self) -> Result<Vec<TenantMigrated>, ServerError> {
        migrate_all::migrate_all(&self.registry, self.runtime.handle())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aisle_pgtest::PgCluster;
    use rusqlite::Connection;

    #[test]
    fn the_cli_commands_reach_a_tenant_through_the_registry_and_its_placement() {
        let cluster = PgCluster::start().expect("a test cluster starts");
        cluster
            .create_database("aisle_registry")
            .expect("registry database");
        let admin = PgAdmin::connect(&cluster.url("aisle_registry")).expect("registry");
        admin
            .registry()
            .add_cluster("main", &cluster.base_url(), None, 1)
            .expect("cluster");
        let acme = admin.registry().add_tenant("acme", 1).expect("acme");

        let migrated = admin.migrate_all().expect("migrate --all");
        assert_eq!(migrated.len(), 1);
        assert!(migrated[0].is_ok(), "{:?}", migrated[0]);

        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("acme.sqlite3");
        let copied = admin.backup("acme", &file).expect("backup by name");
        assert_eq!(copied.n_events, 0);
        assert!(matches!(
            admin.backup("nobody", &dir.path().join("x.sqlite3")),
            Err(ServerError::NotFound(_))
        ));

        // An unstamped file restores only with --force-tenant, recorded in the PostgreSQL
        // registry's audit log.
        Connection::open(&file)
            .expect("open")
            .execute_batch("DELETE FROM tenant_meta WHERE name = 'tenant'")
            .expect("unstamp");
        let refused = admin
            .restore(&acme.to_string(), &file, RestoreOptions::default())
            .expect_err("unstamped");
        assert!(refused.to_string().contains("no tenant stamp"), "{refused}");
        let restored = admin
            .restore(
                "acme",
                &file,
                RestoreOptions {
                    force_tenant: true,
                    ..RestoreOptions::default()
                },
            )
            .expect("forced");
        assert!(restored.forced_tenant);
        let audited = admin
            .registry()
            .audit_log()
            .expect("audit")
            .into_iter()
            .any(|row| row.reason == "restore_forced_tenant" && row.tenant == Some(acme));
        assert!(audited);
        drop(admin);
        drop(cluster);
    }
}
