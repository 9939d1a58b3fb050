//! The registry on PostgreSQL ([`PgRegistry`]): tenants, warehouses, devices, enrollment
//! codes, API keys (`api_keys`), the security audit log (`audit`), quotas (`quotas`), and the
//! clusters tenant databases are placed on (`clusters`). Its schema is
//! `migrations/cloud/pg/registry/`, applied with [`aisle_pg::migrate`].
//!
//! It behaves as the SQLite [`crate::Registry`] does, method for method, and stays correct
//! with any number of server instances sharing one registry database:
//! - every method is one explicit transaction ([`aisle_pg::PgTx`]) and keeps nothing between
//!   calls, so a revocation made through one instance is refused by every other at once (no
//!   cache), and the registry works behind PgBouncer in transaction mode;
//! - spending an enrollment code locks its row (`SELECT … FOR UPDATE`), so one code given to
//!   two instances at the same instant enrols exactly one device;
//! - audit writers serialise on a transaction-level advisory lock, so the instances extend
//!   one hash chain.
//!
//! Like the SQLite registry it hands out no tenant data and stores no secret in the clear:
//! tokens, codes and keys are kept as SHA-256 digests, and cluster URLs (which may carry a
//! password) are never logged or shown unmasked. Its methods block: call them from tokio's
//! blocking pool or a plain thread, never from an async task.

use crate::auth::{self, Digest};
use crate::error::ServerError;
use crate::registry::{CodeRefusal, DeviceRow, Enrolled, TenantRow, DEFAULT_AUDIT_MAX_ROWS};
use aisle_core::ids::{DeviceId, TenantId, WarehouseId};
use aisle_pg::deadpool_postgres::{self, Pool};
use aisle_pg::tokio_postgres::{self, error::SqlState};
use aisle_pg::{PgError, PgTx};
use tokio::runtime::Handle;
use uuid::Uuid;

mod api_keys;
mod as_registry;
mod audit;
mod clusters;
mod quotas;
mod releases;
mod webhooks;

pub(crate) use clusters::cluster_config;
pub use clusters::{mask_password, ClusterDatabase, ClusterRow};

/// The registry's migrations, oldest first (append-only once landed).
const MIGRATIONS: &[aisle_pg::Migration] = &[
    aisle_pg::Migration {
        version: 1,
        name: "init",
        sql: include_str!("../../../../migrations/cloud/pg/registry/0001_init.sql"),
    },
    aisle_pg::Migration {
        version: 2,
        name: "tenant_moves",
        sql: include_str!("../../../../migrations/cloud/pg/registry/0002_tenant_moves.sql"),
    },
    aisle_pg::Migration {
        version: 3,
        name: "webhooks",
        sql: include_str!("../../../../migrations/cloud/pg/registry/0003_webhooks.sql"),
    },
    aisle_pg::Migration {
        version: 4,
        name: "webhook_deliveries",
        sql: include_str!("../../../../migrations/cloud/pg/registry/0004_webhook_deliveries.sql"),
    },
    aisle_pg::Migration {
        version: 5,
        name: "webhook_leases",
        sql: include_str!("../../../../migrations/cloud/pg/registry/0005_webhook_leases.sql"),
    },
    aisle_pg::Migration {
        version: 6,
        name: "releases",
        sql: include_str!("../../../../migrations/cloud/pg/registry/0006_releases.sql"),
    },
];

/// The connections a registry pool opens at most, by default: its queries are short and
/// indexed, so a few connections serve every request of one instance.
pub const DEFAULT_REGISTRY_POOL_SIZE: usize = 8;

/// The registry in a PostgreSQL database, shared by every server instance.
pub struct PgRegistry {
    pool: Pool,
    runtime: Handle,
    /// The security audit log's row cap (see `audit`).
    audit_max_rows: u64,
}

impl std::fmt::Debug for PgRegistry {
    // The pool's configuration holds the registry's URL, which may carry a password.
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("PgRegistry")
            .field("audit_max_rows", &self.audit_max_rows)
            .finish_non_exhaustive()
    }
}

/// A pool of connections to the database `url` names, safe behind PgBouncer in
/// transaction mode (no session state; connections are recycled without a round trip).
pub fn pool(url: &str, max_size: usize) -> Result<Pool, ServerError> {
    let config: tokio_postgres::Config = url.parse().map_err(|_| {
        ServerError::Invalid("the database url is not a valid postgres:// url".to_owned())
    })?;
    let manager = deadpool_postgres::Manager::from_config(
        config,
        tokio_postgres::NoTls,
        deadpool_postgres::ManagerConfig {
            recycling_method: deadpool_postgres::RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(max_size.max(1))
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .build()
        .map_err(|error| ServerError::Invalid(format!("registry pool: {error}")))
}

fn new_id_random(now_ms: i64) -> (u64, [u8; 10]) {
    (now_ms.max(0) as u64, crate::random_bytes::<10>())
}

/// A unique or foreign-key violation as the caller's mistake (`message`), anything else as it is.
fn constraint_violation(error: PgError, message: String) -> ServerError {
    match error.code() {
        Some(code)
            if *code == SqlState::UNIQUE_VIOLATION || *code == SqlState::FOREIGN_KEY_VIOLATION =>
        {
            ServerError::Invalid(message)
        }
        _ => ServerError::Pg(error),
    }
}

fn device_at(row: &aisle_pg::Row) -> DeviceRow {
    DeviceRow {
        id: DeviceId::from_uuid(row.get(0)),
        tenant: TenantId::from_uuid(row.get(1)),
        warehouse: WarehouseId::from_uuid(row.get(2)),
        name: row.get(3),
        revoked: row.get(4),
    }
}

impl PgRegistry {
    /// Migrates the registry database behind `pool` and opens it. Blocks: call it from a
    /// blocking thread, with `runtime` the handle of the runtime the pool runs on.
    pub fn open(pool: Pool, runtime: Handle) -> Result<Self, ServerError> {
        let registry = Self {
            pool,
            runtime,
            audit_max_rows: DEFAULT_AUDIT_MAX_ROWS,
        };
        registry.with_tx(|tx| Ok(aisle_pg::migrate(tx, MIGRATIONS)?))?;
        Ok(registry)
    }

    /// Opens the registry database at `url` with a pool of
    /// [`DEFAULT_REGISTRY_POOL_SIZE`] connections (see [`PgRegistry::open`]).
    pub fn connect(url: &str, runtime: Handle) -> Result<Self, ServerError> {
        Self::open(pool(url, DEFAULT_REGISTRY_POOL_SIZE)?, runtime)
    }

    /// Runs `work` in one transaction, committed when it returns `Ok`; rolled back otherwise.
    pub(crate) fn with_tx<T>(
        &self,
        work: impl FnOnce(&PgTx<'_>) -> Result<T, ServerError>,
    ) -> Result<T, ServerError> {
        let mut conn = aisle_pg::connect(&self.pool, &self.runtime)?;
        let tx = conn.transaction()?;
        match work(&tx) {
            Ok(value) => {
                tx.commit()?;
                Ok(value)
            }
            Err(error) => {
                // The work's error is the one to report; a failed rollback only means the
                // connection broke, and PostgreSQL rolls back on its own then.
                let _ = tx.rollback();
                Err(error)
            }
        }
    }

    /// True when the registry answers a query (for `/readyz`).
    pub fn is_ready(&self) -> bool {
        self.with_tx(|tx| Ok(tx.query_one("SELECT 1", &[])?))
            .is_ok()
    }

    pub fn list_tenants(&self) -> Result<Vec<TenantRow>, ServerError> {
        self.with_tx(|tx| {
            // The C collation orders names byte by byte, as SQLite does.
            let rows = tx.query(
                "SELECT id, name, schema_version, failed_migration FROM tenants
                 ORDER BY name COLLATE \"C\"",
                &[],
            )?;
            Ok(rows
                .iter()
                .map(|row| TenantRow {
                    id: TenantId::from_uuid(row.get(0)),
                    name: row.get(1),
                    schema_version: row.get(2),
                    failed_migration: row.get(3),
                })
                .collect())
        })
    }

    pub fn tenant(&self, tenant: TenantId) -> Result<Option<TenantRow>, ServerError> {
        self.with_tx(|tx| {
            let row = tx.query_opt(
                "SELECT id, name, schema_version, failed_migration FROM tenants WHERE id = $1",
                &[tenant.as_uuid()],
            )?;
            Ok(row.map(|row| TenantRow {
                id: TenantId::from_uuid(row.get(0)),
                name: row.get(1),
                schema_version: row.get(2),
                failed_migration: row.get(3),
            }))
        })
    }

    /// A tenant named by its id or its name.
    pub fn resolve_tenant(&self, id_or_name: &str) -> Result<TenantId, ServerError> {
        let by_id = id_or_name.parse::<Uuid>().ok();
        self.with_tx(|tx| {
            let row = tx.query_opt(
                "SELECT id FROM tenants WHERE id = $1 OR name = $2 ORDER BY id = $1 DESC LIMIT 1",
                &[&by_id, &id_or_name],
            )?;
            row.map(|row| TenantId::from_uuid(row.get(0)))
                .ok_or_else(|| ServerError::NotFound(format!("tenant {id_or_name:?}")))
        })
    }

    pub fn add_warehouse(
        &self,
        tenant: TenantId,
        name: &str,
        now_ms: i64,
    ) -> Result<WarehouseId, ServerError> {
        let (ms, random) = new_id_random(now_ms);
        let id = WarehouseId::new_v7(ms, random);
        self.with_tx(|tx| {
            tx.execute(
                "INSERT INTO warehouses (id, tenant, name, created_ms) VALUES ($1, $2, $3, $4)",
                &[id.as_uuid(), tenant.as_uuid(), &name, &now_ms],
            )
            .map_err(|error| {
                constraint_violation(
                    error,
                    format!("the tenant has a warehouse named {name:?}, or no such tenant"),
                )
            })?;
            Ok(id)
        })
    }

    /// A warehouse of `tenant` named by its id or its name.
    pub fn resolve_warehouse(
        &self,
        tenant: TenantId,
        id_or_name: &str,
    ) -> Result<WarehouseId, ServerError> {
        let by_id = id_or_name.parse::<Uuid>().ok();
        self.with_tx(|tx| {
            let row = tx.query_opt(
                "SELECT id FROM warehouses WHERE tenant = $1 AND (id = $2 OR name = $3)
                 ORDER BY id = $2 DESC LIMIT 1",
                &[tenant.as_uuid(), &by_id, &id_or_name],
            )?;
            row.map(|row| WarehouseId::from_uuid(row.get(0)))
                .ok_or_else(|| ServerError::NotFound(format!("warehouse {id_or_name:?}")))
        })
    }

    /// A tenant's warehouses, by name.
    pub fn list_warehouses(
        &self,
        tenant: TenantId,
    ) -> Result<Vec<(WarehouseId, String)>, ServerError> {
        self.with_tx(|tx| {
            let rows = tx.query(
                "SELECT id, name FROM warehouses WHERE tenant = $1 ORDER BY name COLLATE \"C\"",
                &[tenant.as_uuid()],
            )?;
            Ok(rows
                .iter()
                .map(|row| (WarehouseId::from_uuid(row.get(0)), row.get(1)))
                .collect())
        })
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
        let digest = auth::code_digest(&code);
        self.with_tx(|tx| {
            tx.execute(
                "INSERT INTO enrollment_codes (code_sha256, tenant, warehouse, created_ms, expires_ms)
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    &digest.as_slice(),
                    tenant.as_uuid(),
                    warehouse.as_uuid(),
                    &now_ms,
                    &now_ms.saturating_add(ttl_ms),
                ],
            )
            .map_err(|error| {
                constraint_violation(error, "no such warehouse in the tenant".to_owned())
            })?;
            Ok(())
        })?;
        Ok(code)
    }

    /// Spends an enrollment code on a new device, in one transaction. The code's row is
    /// locked first: an instance spending the same code at the same time waits, then sees
    /// it used.
    pub fn enroll(
        &self,
        code: &str,
        device_name: &str,
        now_ms: i64,
    ) -> Result<Result<Enrolled, CodeRefusal>, ServerError> {
        let digest = auth::code_digest(code);
        self.with_tx(|tx| {
            let found = tx.query_opt(
                "SELECT tenant, warehouse, expires_ms, used_ms FROM enrollment_codes
                 WHERE code_sha256 = $1 FOR UPDATE",
                &[&digest.as_slice()],
            )?;
            let Some(found) = found else {
                return Ok(Err(CodeRefusal::Unknown));
            };
            let (tenant, warehouse): (Uuid, Uuid) = (found.get(0), found.get(1));
            let (expires_ms, used_ms): (i64, Option<i64>) = (found.get(2), found.get(3));
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
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    device.as_uuid(),
                    &tenant,
                    &warehouse,
                    &device_name,
                    &auth::token_digest(&token).as_slice(),
                    &now_ms,
                ],
            )?;
            tx.execute(
                "UPDATE enrollment_codes SET used_ms = $2, used_by = $3 WHERE code_sha256 = $1",
                &[&digest.as_slice(), &now_ms, device.as_uuid()],
            )?;
            Ok(Ok(Enrolled {
                tenant: TenantId::from_uuid(tenant),
                warehouse: WarehouseId::from_uuid(warehouse),
                device,
                token,
            }))
        })
    }

    /// The device a token digest belongs to, revoked or not. Read from the registry on every
    /// call, so a revocation through any instance is seen at once.
    pub fn device_by_token(&self, digest: &Digest) -> Result<Option<DeviceRow>, ServerError> {
        // Every device request asks this, so it is one statement on its own, one round trip
        // (not BEGIN, the read and COMMIT); read at once, so a revocation on any instance
        // counts from its commit.
        let conn = aisle_pg::connect(&self.pool, &self.runtime)?;
        let rows = conn.query_alone(
            "SELECT id, tenant, warehouse, name, revoked_ms IS NOT NULL FROM devices
             WHERE token_sha256 = $1",
            &[(
                &digest.as_slice(),
                aisle_pg::tokio_postgres::types::Type::BYTEA,
            )],
        )?;
        Ok(rows.first().map(device_at))
    }

    /// The PCs of the context's own warehouse (revoked ones too), for the master data a
    /// device pulls: only the authenticated tenant's and warehouse's, by construction.
    pub fn warehouse_devices(
        &self,
        context: &crate::auth::TenantContext,
    ) -> Result<Vec<aisle_protocol::MasterDevice>, ServerError> {
        self.with_tx(|tx| {
            let rows = tx.query(
                "SELECT id, name FROM devices WHERE tenant = $1 AND warehouse = $2
                 ORDER BY enrolled_ms, id",
                &[context.tenant().as_uuid(), context.warehouse().as_uuid()],
            )?;
            Ok(rows
                .iter()
                .map(|row| aisle_protocol::MasterDevice {
                    id: DeviceId::from_uuid(row.get(0)),
                    name: row.get(1),
                })
                .collect())
        })
    }

    pub fn list_devices(&self, tenant: TenantId) -> Result<Vec<DeviceRow>, ServerError> {
        self.with_tx(|tx| {
            let rows = tx.query(
                "SELECT id, tenant, warehouse, name, revoked_ms IS NOT NULL FROM devices
                 WHERE tenant = $1 ORDER BY enrolled_ms, id",
                &[tenant.as_uuid()],
            )?;
            Ok(rows.iter().map(device_at).collect())
        })
    }

    /// Revokes a device's token; returns false if there is no such device.
    pub fn revoke_device(&self, device: DeviceId, now_ms: i64) -> Result<bool, ServerError> {
        self.with_tx(|tx| {
            let changed = tx.execute(
                "UPDATE devices SET revoked_ms = coalesce(revoked_ms, $2) WHERE id = $1",
                &[device.as_uuid(), &now_ms],
            )?;
            Ok(changed > 0)
        })
    }

    pub fn record_tenant_version(&self, tenant: TenantId, version: i64) -> Result<(), ServerError> {
        self.with_tx(|tx| {
            tx.execute(
                "UPDATE tenants SET schema_version = $2, failed_migration = NULL WHERE id = $1",
                &[tenant.as_uuid(), &version],
            )?;
            Ok(())
        })
    }

    /// Clears a failed-migration mark, so the next request tries the migration again.
    pub fn clear_tenant_failure(&self, tenant: TenantId) -> Result<(), ServerError> {
        self.with_tx(|tx| {
            tx.execute(
                "UPDATE tenants SET failed_migration = NULL WHERE id = $1",
                &[tenant.as_uuid()],
            )?;
            Ok(())
        })
    }

    pub fn mark_tenant_failed(&self, tenant: TenantId, reason: &str) -> Result<(), ServerError> {
        self.with_tx(|tx| {
            tx.execute(
                "UPDATE tenants SET failed_migration = $2 WHERE id = $1",
                &[tenant.as_uuid(), &reason],
            )?;
            Ok(())
        })
    }
}
