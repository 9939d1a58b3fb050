//! `aisle-server migrate --all`: every tenant database brought to this build's schema at
//! once, instead of each on its first request, so an operator upgrading the server sees,
//! tenant by tenant, the schema version it went from and to, or why it failed. One tenant's
//! failure marks it failed in the registry (served `503 tenant_unavailable` until an
//! operator has looked and run `tenant retry-migration`) and does not stop the others; a
//! tenant that migrates clears an earlier mark. This module has the report and the SQLite
//! backend's pass ([`migrate_all_sqlite`]); `crate::pg::migrate_all` has PostgreSQL's.

use crate::error::ServerError;
use crate::registry::Registry;
use crate::{migrate, tenant_db_path};
use aisle_core::ids::TenantId;
use rusqlite::Connection;
use std::path::Path;

/// What `migrate --all` did to one tenant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantMigrated {
    pub tenant: TenantId,
    pub name: String,
    pub outcome: Outcome,
}

/// One tenant's outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Migrated (or already current when `from == to`).
    Migrated { from: u32, to: u32 },
    /// Not migrated; `marked` when the registry now marks the tenant unavailable.
    Failed { reason: String, marked: bool },
    /// The tenant has no database (yet): on SQLite nothing was pushed to it, on
    /// PostgreSQL the registry places none.
    NoDatabase,
}

impl TenantMigrated {
    /// True unless the tenant failed.
    pub fn is_ok(&self) -> bool {
        !matches!(self.outcome, Outcome::Failed { .. })
    }

    /// The line the CLI prints for it.
    pub fn line(&self) -> String {
        let who = format!("{}\t{}", self.name, self.tenant);
        match &self.outcome {
            Outcome::Migrated { from, to } if from == to => format!("{who}\tschema {to}, current"),
            Outcome::Migrated { from, to } => format!("{who}\tschema {from} -> {to}"),
            Outcome::Failed {
                reason,
                marked: true,
            } => format!("{who}\tFAILED (marked unavailable): {reason}"),
            Outcome::Failed {
                reason,
                marked: false,
            } => format!("{who}\tFAILED (not marked; its next request tries again): {reason}"),
            Outcome::NoDatabase => format!("{who}\tno database yet"),
        }
    }
}

/// Migrates every tenant's SQLite file in `data_dir`, in the registry's order, as the
/// server's first open does (schema, tenant stamp, projection under the current stock
/// rules), while a server may be serving them (each file's migration is one write
/// transaction). Errors only when the registry cannot list the tenants.
pub fn migrate_all_sqlite(
    data_dir: &Path,
    registry: &dyn Registry,
) -> Result<Vec<TenantMigrated>, ServerError> {
    let mut done = Vec::new();
    for row in registry.list_tenants()? {
        let path = tenant_db_path(data_dir, row.id);
        let outcome = if !path.exists() {
            Outcome::NoDatabase
        } else {
            match migrate_file(&path, row.id) {
                Ok((from, to)) => match registry.record_tenant_version(row.id, i64::from(to)) {
                    Ok(()) => Outcome::Migrated { from, to },
                    Err(error) => Outcome::Failed {
                        reason: format!("recording its version: {error}"),
                        marked: false,
                    },
                },
                // A file busy past the busy timeout (a server's pushes holding its write
                // lock): not a failed migration; the next pass or request tries again.
                Err(error) if error.is_retryable() => {
                    let reason = error.to_string();
                    tracing::warn!(tenant = %row.id, %reason, "tenant database busy; not migrated, not marked");
                    Outcome::Failed {
                        reason,
                        marked: false,
                    }
                }
                Err(error) => {
                    let reason = error.to_string();
                    let marked = registry.mark_tenant_failed(row.id, &reason).is_ok();
                    tracing::warn!(tenant = %row.id, %reason, "tenant migration failed; marked unavailable");
                    Outcome::Failed { reason, marked }
                }
            }
        };
        done.push(TenantMigrated {
            tenant: row.id,
            name: row.name,
            outcome,
        });
    }
    Ok(done)
}

fn migrate_file(path: &Path, tenant: TenantId) -> Result<(u32, u32), ServerError> {
    let mut conn = Connection::open(path)?;
    migrate::configure(&conn)?;
    let from: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    let to = migrate::migrate_tenant(&mut conn)?;
    migrate::stamp_tenant(&conn, tenant)?;
    crate::rebuild::follow_rules_version(&mut conn)?;
    Ok((from as u32, to as u32))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::SqliteRegistry;

    #[test]
    fn a_broken_tenant_file_is_reported_and_marked_while_the_others_migrate() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("tenants")).expect("tenants");
        let registry = SqliteRegistry::open(&crate::registry_path(dir.path())).expect("registry");
        let alpha = registry.add_tenant("alpha", 1).expect("alpha");
        let broken = registry.add_tenant("broken", 1).expect("broken");
        registry.add_tenant("empty", 1).expect("empty");
        // alpha: a file at schema 0; broken: a conflicting table made by hand.
        Connection::open(tenant_db_path(dir.path(), alpha)).expect("alpha file");
        Connection::open(tenant_db_path(dir.path(), broken))
            .expect("broken file")
            .execute_batch("CREATE TABLE events (x INTEGER)")
            .expect("conflicting table");

        let done = migrate_all_sqlite(dir.path(), &registry).expect("listed");
        let to = migrate::TENANT_SCHEMA_VERSION as u32;
        let outcome = |name: &str| {
            done.iter()
                .find(|migrated| migrated.name == name)
                .expect("listed")
                .outcome
                .clone()
        };
        assert_eq!(outcome("alpha"), Outcome::Migrated { from: 0, to });
        assert_eq!(outcome("empty"), Outcome::NoDatabase);
        match outcome("broken") {
            Outcome::Failed { marked, .. } => assert!(marked),
            other => panic!("broken: {other:?}"),
        }
        let row = |tenant| registry.tenant(tenant).expect("row").expect("exists");
        assert!(row(broken).failed_migration.is_some());
        assert_eq!(row(alpha).schema_version, i64::from(to));
        assert_eq!(
            migrate::tenant_stamp(&Connection::open(tenant_db_path(dir.path(), alpha)).unwrap())
                .unwrap(),
            Some(alpha.to_string())
        );

        // Fixed by hand, the next pass migrates it and clears the mark.
        Connection::open(tenant_db_path(dir.path(), broken))
            .expect("broken file")
            .execute_batch("DROP TABLE events")
            .expect("fixed");
        let again = migrate_all_sqlite(dir.path(), &registry).expect("listed");
        assert!(again.iter().all(TenantMigrated::is_ok), "{again:?}");
        assert!(row(broken).failed_migration.is_none());
        assert!(again
            .iter()
            .any(|m| m.name == "alpha" && m.line().ends_with(&format!("schema {to}, current"))));
    }
}
