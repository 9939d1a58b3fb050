//! The registry database: tenants, warehouses, devices, enrollment codes, ERP API keys
//! (`api_keys`), each tenant database's schema state, and the security audit log (`audit`:
//! bounded, coalesced, capped and hash-chained).
//!
//! Secrets never reach this file in the clear: device tokens and enrollment codes are
//! stored as SHA-256 digests (see [`crate::auth`]). The registry hands out no tenant data;
//! it only tells the auth layer who a token belongs to.

use crate::auth::{self, Digest};
use crate::error::ServerError;
use crate::migrate;
use aisle_core::ids::{DeviceId, TenantId, WarehouseId};
use rusqlite::{Connection, OptionalExtension};
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use uuid::Uuid;

mod api_keys;
mod audit;
mod quotas;

pub use api_keys::{ApiKeyId, ApiKeyRow, NewApiKey};
pub(crate) use audit::chain_schema1_rows;
pub use audit::{
    bounded, AuditEntry, AuditSource, ChainBreak, ChainVerified, Pruned, AUDIT_TEXT_MAX_CHARS,
    DEFAULT_AUDIT_MAX_ROWS,
};
pub use quotas::TenantQuota;

/// The registry, behind one connection (its queries are short and indexed).
#[derive(Debug)]
pub struct Registry {
    conn: Mutex<Connection>,
    /// The security audit log's row cap (see `audit`).
    audit_max_rows: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantRow {
    pub id: TenantId,
    pub name: String,
    pub schema_version: i64,
    pub failed_migration: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceRow {
    pub id: DeviceId,
    pub tenant: TenantId,
    pub warehouse: WarehouseId,
    pub name: String,
    pub revoked: bool,
}

/// A refusal to record in the security audit log. Its detail may be any length; the log
/// stores it bounded (see [`AuditEntry`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRow {
    pub tenant: Option<TenantId>,
    pub warehouse: Option<WarehouseId>,
    pub device: Option<DeviceId>,
    pub reason: String,
    pub detail: String,
}

/// A newly enrolled device and its token, which exists only in this value.
#[derive(Debug)]
pub struct Enrolled {
    pub tenant: TenantId,
    pub warehouse: WarehouseId,
    pub device: DeviceId,
    pub token: String,
}

/// Why an enrollment code was not accepted.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum CodeRefusal {
    Unknown,
    Used,
    Expired,
}

/// An enrollment code's row: tenant, warehouse, expiry, when it was used.
type CodeRow = ([u8; 16], [u8; 16], i64, Option<i64>);

fn uuid(bytes: [u8; 16]) -> Uuid {
    Uuid::from_bytes(bytes)
}

fn new_id_random(now_ms: i64) -> (u64, [u8; 10]) {
    (now_ms.max(0) as u64, crate::random_bytes::<10>())
}

impl Registry {
    /// Opens (creating if needed) and migrates the registry at `path`.
    pub fn open(path: &Path) -> Result<Self, ServerError> {
        let mut conn = Connection::open(path)?;
        migrate::configure(&conn)?;
        migrate::migrate_registry(&mut conn)?;
        Ok(Self {
            conn: Mutex::new(conn),
            audit_max_rows: DEFAULT_AUDIT_MAX_ROWS,
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite half-written (transactions
        // roll back on drop), so a poisoned lock is still safe to use.
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// True when the registry answers a query (for `/readyz`).
    pub fn is_ready(&self) -> bool {
        self.conn()
            .query_row("SELECT 1", [], |row| row.get::<_, i64>(0))
            .is_ok()
    }

    pub fn add_tenant(&self, name: &str, now_ms: i64) -> Result<TenantId, ServerError> {
        let (ms, random) = new_id_random(now_ms);
        let id = TenantId::new_v7(ms, random);
        self.conn()
            .execute(
                "INSERT INTO tenants (id, name, created_ms) VALUES (?1, ?2, ?3)",
                (id.as_bytes(), name, now_ms),
            )
            .map_err(|error| unique_violation(error, format!("a tenant named {name:?} exists")))?;
        Ok(id)
    }

    pub fn list_tenants(&self) -> Result<Vec<TenantRow>, ServerError> {
        let conn = self.conn();
        let mut statement = conn.prepare(
            "SELECT id, name, schema_version, failed_migration FROM tenants ORDER BY name",
        )?;
        let rows = statement.query_map([], |row| {
            Ok(TenantRow {
                id: TenantId::from_uuid(uuid(row.get(0)?)),
                name: row.get(1)?,
                schema_version: row.get(2)?,
                failed_migration: row.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn tenant(&self, tenant: TenantId) -> Result<Option<TenantRow>, ServerError> {
        Ok(self
            .list_tenants()?
            .into_iter()
            .find(|row| row.id == tenant))
    }

    /// A tenant named by its id or its name.
    pub fn resolve_tenant(&self, id_or_name: &str) -> Result<TenantId, ServerError> {
        let by_id = id_or_name.parse::<Uuid>().ok();
        self.list_tenants()?
            .into_iter()
            .find(|row| Some(*row.id.as_uuid()) == by_id || row.name == id_or_name)
            .map(|row| row.id)
            .ok_or_else(|| ServerError::NotFound(format!("tenant {id_or_name:?}")))
    }

    pub fn add_warehouse(
        &self,
        tenant: TenantId,
        name: &str,
        now_ms: i64,
    ) -> Result<WarehouseId, ServerError> {
        let (ms, random) = new_id_random(now_ms);
        let id = WarehouseId::new_v7(ms, random);
        self.conn()
            .execute(
                "INSERT INTO warehouses (id, tenant, name, created_ms) VALUES (?1, ?2, ?3, ?4)",
                (id.as_bytes(), tenant.as_bytes(), name, now_ms),
            )
            .map_err(|error| {
                unique_violation(error, format!("the tenant has a warehouse named {name:?}"))
            })?;
        Ok(id)
    }

    /// A warehouse of `tenant` named by its id or its name.
    pub fn resolve_warehouse(
        &self,
        tenant: TenantId,
        id_or_name: &str,
    ) -> Result<WarehouseId, ServerError> {
        let by_id = id_or_name.parse::<Uuid>().ok();
        let conn = self.conn();
        let mut statement = conn.prepare("SELECT id, name FROM warehouses WHERE tenant = ?1")?;
        let rows = statement.query_map([tenant.as_bytes()], |row| {
            Ok((uuid(row.get(0)?), row.get::<_, String>(1)?))
        })?;
        for row in rows {
            let (id, name) = row?;
            if Some(id) == by_id || name == id_or_name {
                return Ok(WarehouseId::from_uuid(id));
            }
        }
        Err(ServerError::NotFound(format!("warehouse {id_or_name:?}")))
    }

    /// A tenant's warehouses, by name.
    pub fn list_warehouses(
        &self,
        tenant: TenantId,
    ) -> Result<Vec<(WarehouseId, String)>, ServerError> {
        let conn = self.conn();
        let mut statement =
            conn.prepare("SELECT id, name FROM warehouses WHERE tenant = ?1 ORDER BY name")?;
        let rows = statement.query_map([tenant.as_bytes()], |row| {
            Ok((WarehouseId::from_uuid(uuid(row.get(0)?)), row.get(1)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Makes a one-time enrollment code for a warehouse and returns it; only its digest is kept.
    pub fn create_enrollment_code(
        &self,
        tenant: TenantId,
        warehouse: WarehouseId,
        ttl_ms: i64,
        now_ms: i64,
    ) -> Result<String, ServerError> {
        let code = auth::new_enrollment_code();
        self.conn().execute(
            "INSERT INTO enrollment_codes (code_sha256, tenant, warehouse, created_ms, expires_ms)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            (
                auth::code_digest(&code).as_slice(),
                tenant.as_bytes(),
                warehouse.as_bytes(),
                now_ms,
                now_ms.saturating_add(ttl_ms),
            ),
        )?;
        Ok(code)
    }

    /// Spends an enrollment code on a new device, in one transaction.
    pub fn enroll(
        &self,
        code: &str,
        device_name: &str,
        now_ms: i64,
    ) -> Result<Result<Enrolled, CodeRefusal>, ServerError> {
        let digest = auth::code_digest(code);
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let found: Option<CodeRow> = tx
            .query_row(
                "SELECT tenant, warehouse, expires_ms, used_ms FROM enrollment_codes WHERE code_sha256 = ?1",
                [digest.as_slice()],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
            )
            .optional()?;
        let Some((tenant, warehouse, expires_ms, used_ms)) = found else {
            return Ok(Err(CodeRefusal::Unknown));
        };
        if used_ms.is_some() {
            return Ok(Err(CodeRefusal::Used));
        }
        if now_ms >= expires_ms {
            return Ok(Err(CodeRefusal::Expired));
        }
        let (ms, random) = new_id_random(now_ms);
        let device = DeviceId::new_v7(ms, random);
        let token = auth::new_token();
        tx.execute(
            "INSERT INTO devices (id, tenant, warehouse, name, token_sha256, enrolled_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            (
                device.as_bytes(),
                tenant,
                warehouse,
                device_name,
                auth::token_digest(&token).as_slice(),
                now_ms,
            ),
        )?;
        tx.execute(
            "UPDATE enrollment_codes SET used_ms = ?2, used_by = ?3 WHERE code_sha256 = ?1",
            (digest.as_slice(), now_ms, device.as_bytes()),
        )?;
        tx.commit()?;
        Ok(Ok(Enrolled {
            tenant: TenantId::from_uuid(uuid(tenant)),
            warehouse: WarehouseId::from_uuid(uuid(warehouse)),
            device,
            token,
        }))
    }

    /// The device a token digest belongs to, revoked or not.
    pub fn device_by_token(&self, digest: &Digest) -> Result<Option<DeviceRow>, ServerError> {
        let conn = self.conn();
        let mut statement = conn.prepare_cached(
            "SELECT id, tenant, warehouse, name, revoked_ms IS NOT NULL FROM devices WHERE token_sha256 = ?1",
        )?;
        Ok(statement
            .query_row([digest.as_slice()], device_at)
            .optional()?)
    }

    /// The PCs of the context's own warehouse (revoked ones too), for the master data a
    /// device pulls: only the authenticated tenant's and warehouse's, by construction.
    pub fn warehouse_devices(
        &self,
        context: &crate::auth::TenantContext,
    ) -> Result<Vec<aisle_protocol::MasterDevice>, ServerError> {
        let conn = self.conn();
        let mut statement = conn.prepare_cached(
            "SELECT id, name FROM devices WHERE tenant = ?1 AND warehouse = ?2 ORDER BY enrolled_ms, id",
        )?;
        let rows = statement.query_map(
            (context.tenant().as_bytes(), context.warehouse().as_bytes()),
            |row| {
                Ok(aisle_protocol::MasterDevice {
                    id: DeviceId::from_uuid(uuid::Uuid::from_bytes(row.get(0)?)),
                    name: row.get(1)?,
                })
            },
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn list_devices(&self, tenant: TenantId) -> Result<Vec<DeviceRow>, ServerError> {
        let conn = self.conn();
        let mut statement = conn.prepare(
            "SELECT id, tenant, warehouse, name, revoked_ms IS NOT NULL FROM devices
             WHERE tenant = ?1 ORDER BY enrolled_ms, id",
        )?;
        let rows = statement.query_map([tenant.as_bytes()], device_at)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Revokes a device's token; returns false if there is no such device.
    pub fn revoke_device(&self, device: DeviceId, now_ms: i64) -> Result<bool, ServerError> {
        let changed = self.conn().execute(
            "UPDATE devices SET revoked_ms = coalesce(revoked_ms, ?2) WHERE id = ?1",
            (device.as_bytes(), now_ms),
        )?;
        Ok(changed > 0)
    }

    pub fn record_tenant_version(&self, tenant: TenantId, version: i64) -> Result<(), ServerError> {
        self.conn().execute(
            "UPDATE tenants SET schema_version = ?2, failed_migration = NULL WHERE id = ?1",
            (tenant.as_bytes(), version),
        )?;
        Ok(())
    }

    /// Clears a failed-migration mark, so the next request tries the migration again.
    pub fn clear_tenant_failure(&self, tenant: TenantId) -> Result<(), ServerError> {
        self.conn().execute(
            "UPDATE tenants SET failed_migration = NULL WHERE id = ?1",
            [tenant.as_bytes()],
        )?;
        Ok(())
    }

    pub fn mark_tenant_failed(&self, tenant: TenantId, reason: &str) -> Result<(), ServerError> {
        self.conn().execute(
            "UPDATE tenants SET failed_migration = ?2 WHERE id = ?1",
            (tenant.as_bytes(), reason),
        )?;
        Ok(())
    }
}

fn device_at(row: &rusqlite::Row<'_>) -> rusqlite::Result<DeviceRow> {
    Ok(DeviceRow {
        id: DeviceId::from_uuid(uuid(row.get(0)?)),
        tenant: TenantId::from_uuid(uuid(row.get(1)?)),
        warehouse: WarehouseId::from_uuid(uuid(row.get(2)?)),
        name: row.get(3)?,
        revoked: row.get(4)?,
    })
}

fn unique_violation(error: rusqlite::Error, message: String) -> ServerError {
    match error.sqlite_error_code() {
        Some(rusqlite::ErrorCode::ConstraintViolation) => ServerError::Invalid(message),
        _ => ServerError::Sqlite(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_one_time_and_expire() {
        let dir = tempfile::tempdir().expect("tempdir");
        let registry = Registry::open(&dir.path().join("r.sqlite3")).expect("open");
        let tenant = registry.add_tenant("acme", 1_000).expect("tenant");
        let warehouse = registry.add_warehouse(tenant, "main", 1_000).expect("wh");
        let code = registry
            .create_enrollment_code(tenant, warehouse, 10_000, 1_000)
            .expect("code");
        let enrolled = registry
            .enroll(&code, "pc-1", 2_000)
            .expect("db")
            .expect("fresh code");
        assert_eq!(enrolled.tenant, tenant);
        assert_eq!(
            registry
                .enroll(&code, "pc-2", 2_000)
                .expect("db")
                .map(|e| e.device),
            Err(CodeRefusal::Used),
            "a code works once"
        );
        let late = registry
            .create_enrollment_code(tenant, warehouse, 10_000, 1_000)
            .expect("code");
        assert_eq!(
            registry
                .enroll(&late, "pc-3", 11_000)
                .expect("db")
                .map(|e| e.device),
            Err(CodeRefusal::Expired)
        );
        let stored: Vec<u8> = registry
            .conn()
            .query_row("SELECT token_sha256 FROM devices", [], |row| row.get(0))
            .expect("one device");
        assert_ne!(
            stored,
            enrolled.token.as_bytes(),
            "only the digest of the token is stored"
        );
    }
}
