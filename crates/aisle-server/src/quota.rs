//! Per-tenant quotas on pushes: events per second (a token bucket per tenant) and the
//! size of the tenant's database ([`crate::storage::Storage::stored_bytes`]: its file and
//! write-ahead log on SQLite, `pg_database_size` on PostgreSQL).
//!
//! A tenant's quota is its row in the registry (`aisle-server tenant set-quota`), each
//! field falling back to the server's default ([`crate::limits::Limits`]). A running server
//! reads it again at most every [`QUOTA_REFRESH`], so a change takes effect within that
//! without a restart. The bucket holds one full push ([`aisle_protocol::MAX_EVENTS`]) or one
//! second of the quota, whichever is more, so a quota never refuses every push outright.

use crate::error::AppError;
use crate::registry::Registry;
use aisle_core::ids::TenantId;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a running server keeps a tenant's quota before reading it again.
pub const QUOTA_REFRESH: Duration = Duration::from_secs(5);

/// A tenant's quotas in force: its own, else the server's defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Effective {
    pub push_per_sec: u32,
    pub max_bytes: u64,
}

#[derive(Debug)]
struct Cached {
    read_at: Instant,
    quota: Effective,
    bucket: Arc<DefaultDirectRateLimiter>,
}

#[derive(Debug)]
pub struct TenantQuotas {
    registry: Arc<dyn Registry>,
    default: Effective,
    /// Instances sharing the registry: each holds a tenant to its share of the quota.
    instances: u32,
    cache: Mutex<HashMap<TenantId, Cached>>,
}

fn bucket(push_per_sec: u32) -> DefaultDirectRateLimiter {
    let rate = NonZeroU32::new(push_per_sec).unwrap_or(NonZeroU32::MIN);
    let burst =
        NonZeroU32::new(push_per_sec.max(aisle_protocol::MAX_EVENTS as u32)).unwrap_or(rate);
    RateLimiter::direct(Quota::per_second(rate).allow_burst(burst))
}

impl TenantQuotas {
    pub fn new(registry: Arc<dyn Registry>, push_per_sec: u32, max_bytes: u64) -> Self {
        Self {
            registry,
            default: Effective {
                push_per_sec,
                max_bytes,
            },
            instances: 1,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Holds each tenant to its share when `instances` instances share the registry
    /// ([`crate::limits::Limits::instances`]).
    pub fn with_instances(mut self, instances: u32) -> Self {
        self.instances = instances.max(1);
        self
    }

    /// The tenant's quota and bucket, read from the registry when not known or stale.
    /// Blocking: it may query the registry.
    fn current(
        &self,
        tenant: TenantId,
    ) -> Result<(Effective, Arc<DefaultDirectRateLimiter>), AppError> {
        {
            let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(cached) = cache.get(&tenant) {
                if cached.read_at.elapsed() < QUOTA_REFRESH {
                    return Ok((cached.quota, Arc::clone(&cached.bucket)));
                }
            }
        }
        let own = self.registry.tenant_quota(tenant)?;
        let quota = Effective {
            push_per_sec: own.push_per_sec.unwrap_or(self.default.push_per_sec),
            max_bytes: own.max_bytes.unwrap_or(self.default.max_bytes),
        };
        let share = crate::limits::per_instance(quota.push_per_sec, self.instances);
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        let entry = cache.entry(tenant).or_insert_with(|| Cached {
            read_at: Instant::now(),
            quota,
            bucket: Arc::new(bucket(share)),
        });
        if entry.quota.push_per_sec != quota.push_per_sec {
            entry.bucket = Arc::new(bucket(share));
        }
        entry.quota = quota;
        entry.read_at = Instant::now();
        Ok((entry.quota, Arc::clone(&entry.bucket)))
    }

    /// Whether the context's tenant may push `n_events` now: `429 rate_limited` past its
    /// events/s, `507 tenant_storage_full` once its database, as `storage` measures it, is at
    /// its size quota. Blocking.
    pub fn check_push(
        &self,
        context: &crate::auth::TenantContext,
        n_events: usize,
        storage: &dyn crate::storage::Storage,
    ) -> Result<(), AppError> {
        let tenant = context.tenant();
        let (quota, bucket) = self.current(tenant)?;
        let stored = storage.stored_bytes(context)?;
        if stored >= quota.max_bytes {
            tracing::warn!(%tenant, stored, max_bytes = quota.max_bytes, "tenant storage quota reached");
            return Err(AppError::TenantStorageFull {
                max_bytes: quota.max_bytes,
            });
        }
        let Some(n) = NonZeroU32::new(n_events.min(u32::MAX as usize) as u32) else {
            return Ok(());
        };
        let refused = |wait: Duration| AppError::RateLimited {
            what: "for this tenant's push quota",
            retry_after_secs: wait.as_secs_f64().ceil().max(1.0) as u64,
        };
        match bucket.check_n(n) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => Err(refused(
                not_until.wait_time_from(DefaultClock::default().now()),
            )),
            // More than the bucket ever holds (cannot happen for a push within MAX_EVENTS).
            Err(_) => Err(refused(Duration::from_secs(1))),
        }
    }
}

/// The bytes a tenant's database takes on disk: the file and its write-ahead log.
pub fn stored_bytes(path: &std::path::Path) -> u64 {
    let size = |path: &std::path::Path| std::fs::metadata(path).map_or(0, |meta| meta.len());
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    size(path) + size(std::path::Path::new(&wal))
}
