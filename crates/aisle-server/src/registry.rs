//! The registry: tenants, warehouses, devices, enrollment codes, ERP API keys
//! (`api_keys`), each tenant database's schema state, per-tenant quotas (`quotas`) and the
//! security audit log (`audit`: bounded, coalesced, capped and hash-chained).
//!
//! [`Registry`] is what the server asks of it, with one implementation per backend (atuin's
//! storage trait): [`SqliteRegistry`] here, one SQLite file beside the tenants' files, and the
//! PostgreSQL one under `crate::pg`. Callers hold an `Arc<dyn Registry>`; what only makes
//! sense for a file (opening it by path) stays on the backend's own type.
//!
//! Secrets never reach the registry in the clear: device tokens and enrollment codes are
//! stored as SHA-256 digests (see [`crate::auth`]). The registry hands out no tenant data;
//! it only tells the auth layer who a token belongs to.

use crate::auth::{self, Digest, Scope};
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
pub mod releases;
pub mod webhooks;

pub use api_keys::{ApiKeyId, ApiKeyRow, NewApiKey};
pub(crate) use audit::chain_schema1_rows;
pub use audit::{
    bounded, AuditEntry, AuditSource, ChainBreak, ChainVerified, Pruned, AUDIT_TEXT_MAX_CHARS,
    DEFAULT_AUDIT_MAX_ROWS,
};
// The chain's row hash and its constants, which the PostgreSQL registry shares.
#[cfg(feature = "postgres")]
pub(crate) use audit::{ChainedFields, CAP_KEEP_PERCENT, GENESIS_HASH, REASON_MAX_CHARS};
pub use quotas::TenantQuota;
pub use releases::{Artifact, NewRelease, Release, UpdatePolicy};
pub use webhooks::{WebhookId, WebhookRow};

/// What the server asks of its registry, whatever holds it. Every backend gives the same
/// answers to the same calls (the registry tests run against each).
pub trait Registry: Send + Sync + std::fmt::Debug {
    /// True when the registry answers a query (for `/readyz`).
    fn is_ready(&self) -> bool;

    /// Adds a tenant; a second tenant of the same name is refused (`Invalid`).
    fn add_tenant(&self, name: &str, now_ms: i64) -> Result<TenantId, ServerError>;

    /// Every tenant, by name.
    fn list_tenants(&self) -> Result<Vec<TenantRow>, ServerError>;

    /// One tenant's row, if it exists.
    fn tenant(&self, tenant: TenantId) -> Result<Option<TenantRow>, ServerError> {
        Ok(self
            .list_tenants()?
            .into_iter()
            .find(|row| row.id == tenant))
    }

    /// A tenant named by its id or its name.
    fn resolve_tenant(&self, id_or_name: &str) -> Result<TenantId, ServerError> {
        let by_id = id_or_name.parse::<Uuid>().ok();
        self.list_tenants()?
            .into_iter()
            .find(|row| Some(*row.id.as_uuid()) == by_id || row.name == id_or_name)
            .map(|row| row.id)
            .ok_or_else(|| ServerError::NotFound(format!("tenant {id_or_name:?}")))
    }

    /// Adds a warehouse to `tenant`; a second one of the same name there is refused
    /// (`Invalid`).
    fn add_warehouse(
        &self,
        tenant: TenantId,
        name: &str,
        now_ms: i64,
    ) -> Result<WarehouseId, ServerError>;

    /// A warehouse of `tenant` named by its id or its name.
    fn resolve_warehouse(
        &self,
        tenant: TenantId,
        id_or_name: &str,
    ) -> Result<WarehouseId, ServerError>;

    /// A tenant's warehouses, by name.
    fn list_warehouses(&self, tenant: TenantId) -> Result<Vec<(WarehouseId, String)>, ServerError>;

    /// Makes a one-time enrollment code for a warehouse and returns it; only its digest is kept.
    fn create_enrollment_code(
        &self,
        tenant: TenantId,
        warehouse: WarehouseId,
        ttl_ms: i64,
        now_ms: i64,
    ) -> Result<String, ServerError>;

    /// Spends an enrollment code on a new device, in one transaction.
    fn enroll(
        &self,
        code: &str,
        device_name: &str,
        now_ms: i64,
    ) -> Result<Result<Enrolled, CodeRefusal>, ServerError>;

    /// The device a token digest belongs to, revoked or not.
    fn device_by_token(&self, digest: &Digest) -> Result<Option<DeviceRow>, ServerError>;

    /// The PCs of the context's own warehouse (revoked ones too), for the master data a
    /// device pulls: only the authenticated tenant's and warehouse's, by construction.
    fn warehouse_devices(
        &self,
        context: &crate::auth::TenantContext,
    ) -> Result<Vec<aisle_protocol::MasterDevice>, ServerError>;

    /// A tenant's devices (revoked ones too), oldest enrollment first.
    fn list_devices(&self, tenant: TenantId) -> Result<Vec<DeviceRow>, ServerError>;

    /// Revokes a device's token; returns false if there is no such device.
    fn revoke_device(&self, device: DeviceId, now_ms: i64) -> Result<bool, ServerError>;

    /// Records that a tenant's database is at schema `version`, clearing any failure mark.
    fn record_tenant_version(&self, tenant: TenantId, version: i64) -> Result<(), ServerError>;

    /// Clears a failed-migration mark, so the next request tries the migration again.
    fn clear_tenant_failure(&self, tenant: TenantId) -> Result<(), ServerError>;

    /// Marks a tenant's migration as failed, with why; its requests are refused until cleared.
    fn mark_tenant_failed(&self, tenant: TenantId, reason: &str) -> Result<(), ServerError>;

    /// Makes an API key for `tenant` with `scopes` and returns it; only its digest is kept.
    fn add_api_key(
        &self,
        tenant: TenantId,
        name: &str,
        scopes: &[Scope],
        now_ms: i64,
    ) -> Result<NewApiKey, ServerError>;

    /// The key a digest belongs to, revoked or not.
    fn api_key_by_digest(&self, digest: &Digest) -> Result<Option<ApiKeyRow>, ServerError>;

    /// A tenant's API keys (revoked ones too), oldest first.
    fn list_api_keys(&self, tenant: TenantId) -> Result<Vec<ApiKeyRow>, ServerError>;

    /// Revokes a key at once; returns false if there is no such key.
    fn revoke_api_key(&self, id: ApiKeyId, now_ms: i64) -> Result<bool, ServerError>;

    /// Adds a webhook endpoint for `tenant` (its URL already checked by
    /// `webhooks::target`), signed with `secret`, for `event_types` (empty: every type).
    fn add_webhook(
        &self,
        tenant: TenantId,
        url: &str,
        event_types: &[String],
        secret: &crate::webhooks::sign::Secret,
        now_ms: i64,
    ) -> Result<WebhookId, ServerError>;

    /// A tenant's webhook endpoints, oldest first; never their secrets.
    fn list_webhooks(&self, tenant: TenantId) -> Result<Vec<WebhookRow>, ServerError>;

    /// One endpoint, if it exists.
    fn webhook(&self, id: WebhookId) -> Result<Option<WebhookRow>, ServerError>;

    /// Makes `secret` the endpoint's secret; the old one keeps signing too until
    /// `previous_until_ms`. False if there is no such endpoint.
    fn rotate_webhook(
        &self,
        id: WebhookId,
        secret: &crate::webhooks::sign::Secret,
        previous_until_ms: i64,
        now_ms: i64,
    ) -> Result<bool, ServerError>;

    /// Enables or disables an endpoint (with why, when disabling). False if there is no
    /// such endpoint.
    fn set_webhook_enabled(
        &self,
        id: WebhookId,
        enabled: bool,
        reason: Option<&str>,
        now_ms: i64,
    ) -> Result<bool, ServerError>;

    /// The secrets that sign a delivery to the endpoint at `now_ms`, the current one first.
    fn webhook_secrets(
        &self,
        id: WebhookId,
        now_ms: i64,
    ) -> Result<Vec<crate::webhooks::sign::Secret>, ServerError>;

    /// The enabled endpoints whose next attempt is due at `now_ms`, with where each stands.
    fn due_webhooks(&self, now_ms: i64) -> Result<Vec<webhooks::DueWebhook>, ServerError>;

    /// The due endpoints that `holder` (one delivery worker) may deliver to now, leased to
    /// it until `now_ms + lease_ms`: those nobody holds, whose lease ran out, or that it
    /// holds already (renewed). Taken in one statement, so two workers never hold one
    /// endpoint at once.
    fn lease_due_webhooks(
        &self,
        holder: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<Vec<webhooks::DueWebhook>, ServerError>;

    /// Logs delivery attempts at one endpoint, in order, and moves the endpoint to where the
    /// last one leaves it (disabled, with its reason, for a `410`), in one transaction: the
    /// worker records a run of deliveries at once, so a delivered message costs the
    /// registry no commit of its own.
    fn record_attempts(
        &self,
        id: WebhookId,
        attempts: &[webhooks::Attempt],
        now_ms: i64,
    ) -> Result<(), ServerError>;

    /// Moves the endpoint past `position` (messages of types it does not take).
    fn skip_webhook_to(&self, id: WebhookId, position: u64) -> Result<(), ServerError>;

    /// Sends the endpoint's messages again from feed position `from_position`, at once.
    fn replay_webhook(
        &self,
        id: WebhookId,
        from_position: u64,
        now_ms: i64,
    ) -> Result<bool, ServerError>;

    /// The tenant's delivery log, newest first; only what did not deliver with `failed_only`.
    fn webhook_deliveries(
        &self,
        tenant: TenantId,
        failed_only: bool,
        limit: u32,
    ) -> Result<Vec<webhooks::DeliveryRow>, ServerError>;

    /// Records a refusal under the source the row names ([`AuditSource::of`]).
    fn audit(&self, row: &AuditRow, now_ms: i64) -> Result<(), ServerError> {
        self.audit_as(AuditSource::of(row), row, now_ms)
    }

    /// Records a refusal of `source`: counted in its minute's row if (source, reason)
    /// already has one, else a new chained row, pruning the oldest rows past the cap.
    fn audit_as(&self, source: AuditSource, row: &AuditRow, now_ms: i64)
        -> Result<(), ServerError>;

    /// The whole audit log, oldest first, one [`AuditRow`] per stored row (a row may count
    /// many repeats; see [`Registry::audit_entries`]).
    fn audit_log(&self) -> Result<Vec<AuditRow>, ServerError> {
        Ok(self
            .audit_entries(None)?
            .into_iter()
            .map(|entry| AuditRow {
                tenant: entry.tenant,
                warehouse: entry.warehouse,
                device: entry.device,
                reason: entry.reason,
                detail: entry.detail,
            })
            .collect())
    }

    /// The stored rows, oldest first: all of them, or the newest `limit`.
    fn audit_entries(&self, limit: Option<u64>) -> Result<Vec<AuditEntry>, ServerError>;

    /// Removes the oldest rows, up to the first one last seen at or after `before_ms`, and
    /// records what it removed (`audit_pruned`) in the chain.
    fn prune_audit_before(&self, before_ms: i64, now_ms: i64) -> Result<Pruned, ServerError>;

    /// Walks the chain from its anchor to its head: the first row whose hash does not match
    /// its fields, or that does not follow the row before it, breaks it.
    fn verify_audit(&self) -> Result<Result<ChainVerified, ChainBreak>, ServerError>;

    /// The quotas set for `tenant`; all `None` when the operator set none.
    fn tenant_quota(&self, tenant: TenantId) -> Result<TenantQuota, ServerError>;

    /// Replaces `tenant`'s quotas (a `None` field goes back to the server's default).
    fn set_tenant_quota(
        &self,
        tenant: TenantId,
        quota: TenantQuota,
        now_ms: i64,
    ) -> Result<(), ServerError>;

    /// Stores a desktop release and its artifact ([`releases`]); an existing target and
    /// version is refused (a release is never replaced).
    fn add_release(
        &self,
        release: &NewRelease,
        artifact: &[u8],
        now_ms: i64,
    ) -> Result<Release, ServerError>;

    /// Every release, by target, newest version first.
    fn releases(&self) -> Result<Vec<Release>, ServerError>;

    /// One release, by target and version.
    fn release(&self, target: &str, version: &str) -> Result<Option<Release>, ServerError>;

    /// Where a release's artifact is.
    fn release_artifact(&self, release: &Release) -> Result<Artifact, ServerError>;

    /// Chunk `n` of a release's artifact, when it is stored in chunks
    /// ([`Artifact::Chunks`]).
    fn release_chunk(&self, release: &Release, n: u32) -> Result<Vec<u8>, ServerError> {
        let _ = n;
        Err(ServerError::Invalid(format!(
            "release {} for {} is a file, not chunks",
            release.version, release.target
        )))
    }

    /// `tenant`'s update policy (the default when none was set).
    fn update_policy(&self, tenant: TenantId) -> Result<UpdatePolicy, ServerError>;

    /// Replaces `tenant`'s update policy.
    fn set_update_policy(
        &self,
        tenant: TenantId,
        policy: &UpdatePolicy,
        now_ms: i64,
    ) -> Result<(), ServerError>;
}

/// The registry in one SQLite file, behind one connection (its queries are short and
/// indexed).
#[derive(Debug)]
pub struct SqliteRegistry {
    conn: Mutex<Connection>,
    /// The security audit log's row cap (see `audit`).
    audit_max_rows: u64,
    /// Where release artifacts are kept: `releases/` next to the registry file.
    releases_dir: std::path::PathBuf,
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

impl SqliteRegistry {
    /// Opens (creating if needed) and migrates the registry at `path`.
    pub fn open(path: &Path) -> Result<Self, ServerError> {
        let mut conn = Connection::open(path)?;
        migrate::configure(&conn)?;
        migrate::migrate_registry(&mut conn)?;
        Ok(Self {
            conn: Mutex::new(conn),
            audit_max_rows: DEFAULT_AUDIT_MAX_ROWS,
            releases_dir: path
                .parent()
                .unwrap_or_else(|| Path::new("."))
                .join("releases"),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite half-written (transactions
        // roll back on drop), so a poisoned lock is still safe to use.
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The API keys, the audit log and the quotas are in their own modules (`api_keys`,
/// `audit`, `quotas`), as inherent methods this impl hands on to.
impl Registry for SqliteRegistry {
    fn is_ready(&self) -> bool {
        self.conn()
            .query_row("SELECT 1", [], |row| row.get::<_, i64>(0))
            .is_ok()
    }

    fn add_tenant(&self, name: &str, now_ms: i64) -> Result<TenantId, ServerError> {
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

    fn list_tenants(&self) -> Result<Vec<TenantRow>, ServerError> {
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

    fn add_warehouse(
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
    fn resolve_warehouse(
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
    fn list_warehouses(&self, tenant: TenantId) -> Result<Vec<(WarehouseId, String)>, ServerError> {
        let conn = self.conn();
        let mut statement =
            conn.prepare("SELECT id, name FROM warehouses WHERE tenant = ?1 ORDER BY name")?;
        let rows = statement.query_map([tenant.as_bytes()], |row| {
            Ok((WarehouseId::from_uuid(uuid(row.get(0)?)), row.get(1)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Makes a one-time enrollment code for a warehouse and returns it; only its digest is kept.
    fn create_enrollment_code(
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
    fn enroll(
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
    fn device_by_token(&self, digest: &Digest) -> Result<Option<DeviceRow>, ServerError> {
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
    fn warehouse_devices(
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

    fn list_devices(&self, tenant: TenantId) -> Result<Vec<DeviceRow>, ServerError> {
        let conn = self.conn();
        let mut statement = conn.prepare(
            "SELECT id, tenant, warehouse, name, revoked_ms IS NOT NULL FROM devices
             WHERE tenant = ?1 ORDER BY enrolled_ms, id",
        )?;
        let rows = statement.query_map([tenant.as_bytes()], device_at)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Revokes a device's token; returns false if there is no such device.
    fn revoke_device(&self, device: DeviceId, now_ms: i64) -> Result<bool, ServerError> {
        let changed = self.conn().execute(
            "UPDATE devices SET revoked_ms = coalesce(revoked_ms, ?2) WHERE id = ?1",
            (device.as_bytes(), now_ms),
        )?;
        Ok(changed > 0)
    }

    fn record_tenant_version(&self, tenant: TenantId, version: i64) -> Result<(), ServerError> {
        self.conn().execute(
            "UPDATE tenants SET schema_version = ?2, failed_migration = NULL WHERE id = ?1",
            (tenant.as_bytes(), version),
        )?;
        Ok(())
    }

    /// Clears a failed-migration mark, so the next request tries the migration again.
    fn clear_tenant_failure(&self, tenant: TenantId) -> Result<(), ServerError> {
        self.conn().execute(
            "UPDATE tenants SET failed_migration = NULL WHERE id = ?1",
            [tenant.as_bytes()],
        )?;
        Ok(())
    }

    fn mark_tenant_failed(&self, tenant: TenantId, reason: &str) -> Result<(), ServerError> {
        self.conn().execute(
            "UPDATE tenants SET failed_migration = ?2 WHERE id = ?1",
            (tenant.as_bytes(), reason),
        )?;
        Ok(())
    }

    fn add_api_key(
        &self,
        tenant: TenantId,
        name: &str,
        scopes: &[Scope],
        now_ms: i64,
    ) -> Result<NewApiKey, ServerError> {
        SqliteRegistry::add_api_key(self, tenant, name, scopes, now_ms)
    }

    fn api_key_by_digest(&self, digest: &Digest) -> Result<Option<ApiKeyRow>, ServerError> {
        SqliteRegistry::api_key_by_digest(self, digest)
    }

    fn list_api_keys(&self, tenant: TenantId) -> Result<Vec<ApiKeyRow>, ServerError> {
        SqliteRegistry::list_api_keys(self, tenant)
    }

    fn revoke_api_key(&self, id: ApiKeyId, now_ms: i64) -> Result<bool, ServerError> {
        SqliteRegistry::revoke_api_key(self, id, now_ms)
    }

    fn add_webhook(
        &self,
        tenant: TenantId,
        url: &str,
        event_types: &[String],
        secret: &crate::webhooks::sign::Secret,
        now_ms: i64,
    ) -> Result<WebhookId, ServerError> {
        SqliteRegistry::add_webhook(self, tenant, url, event_types, secret, now_ms)
    }

    fn list_webhooks(&self, tenant: TenantId) -> Result<Vec<WebhookRow>, ServerError> {
        SqliteRegistry::list_webhooks(self, tenant)
    }

    fn webhook(&self, id: WebhookId) -> Result<Option<WebhookRow>, ServerError> {
        SqliteRegistry::webhook(self, id)
    }

    fn rotate_webhook(
        &self,
        id: WebhookId,
        secret: &crate::webhooks::sign::Secret,
        previous_until_ms: i64,
        now_ms: i64,
    ) -> Result<bool, ServerError> {
        SqliteRegistry::rotate_webhook(self, id, secret, previous_until_ms, now_ms)
    }

    fn set_webhook_enabled(
        &self,
        id: WebhookId,
        enabled: bool,
        reason: Option<&str>,
        now_ms: i64,
    ) -> Result<bool, ServerError> {
        SqliteRegistry::set_webhook_enabled(self, id, enabled, reason, now_ms)
    }

    fn webhook_secrets(
        &self,
        id: WebhookId,
        now_ms: i64,
    ) -> Result<Vec<crate::webhooks::sign::Secret>, ServerError> {
        SqliteRegistry::webhook_secrets(self, id, now_ms)
    }

    fn due_webhooks(&self, now_ms: i64) -> Result<Vec<webhooks::DueWebhook>, ServerError> {
        SqliteRegistry::due_webhooks(self, now_ms)
    }

    fn lease_due_webhooks(
        &self,
        holder: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<Vec<webhooks::DueWebhook>, ServerError> {
        SqliteRegistry::lease_due_webhooks(self, holder, now_ms, lease_ms)
    }

    fn record_attempts(
        &self,
        id: WebhookId,
        attempts: &[webhooks::Attempt],
        now_ms: i64,
    ) -> Result<(), ServerError> {
        SqliteRegistry::record_attempts(self, id, attempts, now_ms)
    }

    fn skip_webhook_to(&self, id: WebhookId, position: u64) -> Result<(), ServerError> {
        SqliteRegistry::skip_webhook_to(self, id, position)
    }

    fn replay_webhook(
        &self,
        id: WebhookId,
        from_position: u64,
        now_ms: i64,
    ) -> Result<bool, ServerError> {
        SqliteRegistry::replay_webhook(self, id, from_position, now_ms)
    }

    fn webhook_deliveries(
        &self,
        tenant: TenantId,
        failed_only: bool,
        limit: u32,
    ) -> Result<Vec<webhooks::DeliveryRow>, ServerError> {
        SqliteRegistry::webhook_deliveries(self, tenant, failed_only, limit)
    }

    fn audit_as(
        &self,
        source: AuditSource,
        row: &AuditRow,
        now_ms: i64,
    ) -> Result<(), ServerError> {
        SqliteRegistry::audit_as(self, source, row, now_ms)
    }

    fn audit_entries(&self, limit: Option<u64>) -> Result<Vec<AuditEntry>, ServerError> {
        SqliteRegistry::audit_entries(self, limit)
    }

    fn prune_audit_before(&self, before_ms: i64, now_ms: i64) -> Result<Pruned, ServerError> {
        SqliteRegistry::prune_audit_before(self, before_ms, now_ms)
    }

    fn verify_audit(&self) -> Result<Result<ChainVerified, ChainBreak>, ServerError> {
        SqliteRegistry::verify_audit(self)
    }

    fn tenant_quota(&self, tenant: TenantId) -> Result<TenantQuota, ServerError> {
        SqliteRegistry::tenant_quota(self, tenant)
    }

    fn set_tenant_quota(
        &self,
        tenant: TenantId,
        quota: TenantQuota,
        now_ms: i64,
    ) -> Result<(), ServerError> {
        SqliteRegistry::set_tenant_quota(self, tenant, quota, now_ms)
    }

    fn add_release(
        &self,
        release: &NewRelease,
        artifact: &[u8],
        now_ms: i64,
    ) -> Result<Release, ServerError> {
        SqliteRegistry::add_release(self, release, artifact, now_ms)
    }

    fn releases(&self) -> Result<Vec<Release>, ServerError> {
        SqliteRegistry::releases(self)
    }

    fn release(&self, target: &str, version: &str) -> Result<Option<Release>, ServerError> {
        SqliteRegistry::release(self, target, version)
    }

    fn release_artifact(&self, release: &Release) -> Result<Artifact, ServerError> {
        Ok(SqliteRegistry::release_artifact(self, release))
    }

    fn update_policy(&self, tenant: TenantId) -> Result<UpdatePolicy, ServerError> {
        SqliteRegistry::update_policy(self, tenant)
    }

    fn set_update_policy(
        &self,
        tenant: TenantId,
        policy: &UpdatePolicy,
        now_ms: i64,
    ) -> Result<(), ServerError> {
        SqliteRegistry::set_update_policy(self, tenant, policy, now_ms)
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
        let registry = SqliteRegistry::open(&dir.path().join("r.sqlite3")).expect("open");
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
