//! Per-tenant quotas (`tenant_quotas`, registry schema 4): how many events a tenant may
//! push per second and how large its database file may grow. A tenant without a row, or
//! a field left `None`, gets the server's default (see [`crate::limits::Limits`]).

use super::{Registry, SqliteRegistry};
use crate::error::ServerError;
use aisle_core::ids::TenantId;
use rusqlite::OptionalExtension;

/// A tenant's own quotas; `None` is "the server's default".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TenantQuota {
    /// Events the tenant may push per second, on average.
    pub push_per_sec: Option<u32>,
    /// The size, in bytes, of the tenant's database (with its WAL) past which pushes are
    /// refused with `tenant_storage_full`.
    pub max_bytes: Option<u64>,
}

impl SqliteRegistry {
    /// The quotas set for `tenant`; all `None` when the operator set none.
    pub(super) fn tenant_quota(&self, tenant: TenantId) -> Result<TenantQuota, ServerError> {
        let row = self
            .conn()
            .query_row(
                "SELECT push_per_sec, max_bytes FROM tenant_quotas WHERE tenant = ?1",
                [tenant.as_bytes()],
                |row| Ok((row.get::<_, Option<i64>>(0)?, row.get::<_, Option<i64>>(1)?)),
            )
            .optional()?;
        let (push_per_sec, max_bytes) = row.unwrap_or((None, None));
        Ok(TenantQuota {
            push_per_sec: push_per_sec.map(|value| value.clamp(1, i64::from(u32::MAX)) as u32),
            max_bytes: max_bytes.map(|value| value.max(1) as u64),
        })
    }

    /// Replaces `tenant`'s quotas (a `None` field goes back to the server's default).
    pub(super) fn set_tenant_quota(
        &self,
        tenant: TenantId,
        quota: TenantQuota,
        now_ms: i64,
    ) -> Result<(), ServerError> {
        if self.tenant(tenant)?.is_none() {
            return Err(ServerError::NotFound(format!("tenant {tenant}")));
        }
        if quota.push_per_sec == Some(0) || quota.max_bytes == Some(0) {
            return Err(ServerError::Invalid("a quota must be positive".to_owned()));
        }
        let max_bytes = quota
            .max_bytes
            .map(|bytes| i64::try_from(bytes).unwrap_or(i64::MAX));
        self.conn().execute(
            "INSERT INTO tenant_quotas (tenant, push_per_sec, max_bytes, updated_ms)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (tenant) DO UPDATE SET push_per_sec = excluded.push_per_sec,
                 max_bytes = excluded.max_bytes, updated_ms = excluded.updated_ms",
            rusqlite::params![
                tenant.as_bytes(),
                quota.push_per_sec.map(i64::from),
                max_bytes,
                now_ms
            ],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quota_is_stored_per_tenant_and_none_means_the_default() {
        let dir = tempfile::tempdir().expect("tempdir");
        let registry =
            SqliteRegistry::open(&dir.path().join("registry.sqlite3")).expect("registry");
        let acme = registry.add_tenant("acme", 1).expect("tenant");
        let other = registry.add_tenant("other", 1).expect("tenant");
        assert_eq!(
            registry.tenant_quota(acme).expect("read"),
            TenantQuota::default(),
            "no row means the server's defaults"
        );
        let quota = TenantQuota {
            push_per_sec: Some(50),
            max_bytes: Some(1 << 20),
        };
        registry.set_tenant_quota(acme, quota, 2).expect("set");
        assert_eq!(registry.tenant_quota(acme).expect("read"), quota);
        assert_eq!(
            registry.tenant_quota(other).expect("read"),
            TenantQuota::default(),
            "another tenant keeps the defaults"
        );
        let fewer = TenantQuota {
            push_per_sec: None,
            ..quota
        };
        registry
            .set_tenant_quota(acme, fewer, 3)
            .expect("set again");
        assert_eq!(registry.tenant_quota(acme).expect("read"), fewer);
        assert!(
            registry
                .set_tenant_quota(
                    acme,
                    TenantQuota {
                        push_per_sec: Some(0),
                        max_bytes: None
                    },
                    4
                )
                .is_err(),
            "a zero quota is refused rather than locking the tenant out"
        );
    }
}
