//! The PostgreSQL registry's per-tenant quotas (`tenant_quotas`), as the SQLite registry's
//! (`crate::registry::quotas`): a tenant without a row, or a field left `None`, gets the
//! server's default.

use super::PgRegistry;
use crate::error::ServerError;
use crate::registry::TenantQuota;
use aisle_core::ids::TenantId;

impl PgRegistry {
    /// The quotas set for `tenant`; all `None` when the operator set none.
    pub fn tenant_quota(&self, tenant: TenantId) -> Result<TenantQuota, ServerError> {
        let row = self.with_tx(|tx| {
            Ok(tx
                .query_opt(
                    "SELECT push_per_sec, max_bytes FROM tenant_quotas WHERE tenant = $1",
                    &[tenant.as_uuid()],
                )?
                .map(|row| (row.get::<_, Option<i64>>(0), row.get::<_, Option<i64>>(1))))
        })?;
        let (push_per_sec, max_bytes) = row.unwrap_or((None, None));
        Ok(TenantQuota {
            push_per_sec: push_per_sec.map(|value| value.clamp(1, i64::from(u32::MAX)) as u32),
            max_bytes: max_bytes.map(|value| value.max(1) as u64),
        })
    }

    /// Replaces `tenant`'s quotas (a `None` field goes back to the server's default).
    pub fn set_tenant_quota(
        &self,
        tenant: TenantId,
        quota: TenantQuota,
        now_ms: i64,
    ) -> Result<(), ServerError> {
        let max_bytes = quota
            .max_bytes
            .map(|bytes| i64::try_from(bytes).unwrap_or(i64::MAX));
        let push_per_sec = quota.push_per_sec.map(i64::from);
        self.with_tx(|tx| {
            if tx
                .query_opt("SELECT 1 FROM tenants WHERE id = $1", &[tenant.as_uuid()])?
                .is_none()
            {
                return Err(ServerError::NotFound(format!("tenant {tenant}")));
            }
            if quota.push_per_sec == Some(0) || quota.max_bytes == Some(0) {
                return Err(ServerError::Invalid("a quota must be positive".to_owned()));
            }
            tx.execute(
                "INSERT INTO tenant_quotas (tenant, push_per_sec, max_bytes, updated_ms)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (tenant) DO UPDATE SET push_per_sec = excluded.push_per_sec,
                     max_bytes = excluded.max_bytes, updated_ms = excluded.updated_ms",
                &[tenant.as_uuid(), &push_per_sec, &max_bytes, &now_ms],
            )?;
            Ok(())
        })
    }
}
