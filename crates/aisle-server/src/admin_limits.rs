//! The admin CLI's limits: `serve`'s flags for what one client may take (connections,
//! timeouts, body memory, rate limits, the tenants' default quotas), each with its
//! `AISLE_*` variable, and `tenant set-quota` for one tenant's own quotas.

use aisle_server::limits::{self, Limits};
use aisle_server::registry::TenantQuota;
use aisle_server::Registry;
use std::time::Duration;

/// `serve`'s limit flags; see README's operations section for what each one holds off.
#[derive(Debug, clap::Args)]
pub struct LimitArgs {
    /// Close a connection whose request headers have not all arrived this many seconds
    /// after it started waiting for them (new or kept alive).
    #[arg(long, env = "AISLE_HEADER_TIMEOUT_SECS", default_value_t = limits::DEFAULT_HEADER_READ_TIMEOUT.as_secs())]
    header_timeout_secs: u64,
    /// Close a connection on which no byte has moved either way for this many seconds.
    #[arg(long, env = "AISLE_IDLE_TIMEOUT_SECS", default_value_t = limits::DEFAULT_IDLE_TIMEOUT.as_secs())]
    idle_timeout_secs: u64,
    /// Connections served at once; beyond it `503 too_many_connections`.
    #[arg(long, env = "AISLE_MAX_CONNECTIONS", default_value_t = limits::DEFAULT_MAX_CONNECTIONS)]
    max_connections: usize,
    /// Connections at once from one source address; beyond it `503 too_many_connections`.
    #[arg(long, env = "AISLE_MAX_CONNECTIONS_PER_ADDRESS", default_value_t = limits::DEFAULT_MAX_CONNECTIONS_PER_ADDRESS)]
    max_connections_per_address: usize,
    /// Milliseconds a `429 rate_limited` answer is held before it is sent (at most its
    /// `Retry-After`), so a flooding client gets few answers; 0 answers at once.
    #[arg(long, env = "AISLE_RATE_LIMITED_DELAY_MS", default_value_t = limits::DEFAULT_RATE_LIMITED_DELAY.as_millis() as u64)]
    rate_limited_delay_ms: u64,
    /// Bytes of request line and headers; beyond it `431 headers_too_large`.
    #[arg(long, env = "AISLE_MAX_HEADER_BYTES", default_value_t = limits::DEFAULT_MAX_HEADER_BYTES)]
    max_header_bytes: usize,
    /// The largest body read before its credential is known valid (larger: `401` unread).
    #[arg(long, env = "AISLE_UNAUTHENTICATED_BODY_BYTES", default_value_t = limits::DEFAULT_UNAUTHENTICATED_BODY_BYTES)]
    unauthenticated_body_bytes: usize,
    /// Bytes of request bodies held in memory at once; beyond it `503 server_busy`.
    #[arg(long, env = "AISLE_BODY_BUDGET_BYTES", default_value_t = limits::DEFAULT_BODY_BUDGET_BYTES)]
    body_budget_bytes: usize,
    /// Requests per second from one address (burst twice that); 0 turns it off.
    #[arg(long, env = "AISLE_PER_ADDRESS_PER_SEC", default_value_t = limits::DEFAULT_PER_ADDRESS_PER_SEC)]
    per_address_per_sec: u32,
    /// Enrollment attempts per minute from one address; 0 turns it off.
    #[arg(long, env = "AISLE_ENROLL_PER_ADDRESS_PER_MIN", default_value_t = limits::DEFAULT_ENROLL_PER_ADDRESS_PER_MIN)]
    enroll_per_address_per_min: u32,
    /// Requests per second for one tenant (burst twice that); 0 turns it off.
    #[arg(long, env = "AISLE_PER_TENANT_PER_SEC", default_value_t = limits::DEFAULT_PER_TENANT_PER_SEC)]
    per_tenant_per_sec: u32,
    /// Events a tenant may push per second unless `tenant set-quota` gave it its own.
    #[arg(long, env = "AISLE_TENANT_PUSH_PER_SEC", default_value_t = limits::DEFAULT_TENANT_PUSH_PER_SEC)]
    tenant_push_per_sec: u32,
    /// Bytes of a tenant's database past which its pushes get `507 tenant_storage_full`,
    /// unless `tenant set-quota` gave it its own.
    #[arg(long, env = "AISLE_TENANT_MAX_BYTES", default_value_t = limits::DEFAULT_TENANT_MAX_BYTES)]
    tenant_max_bytes: u64,
    /// Server instances sharing this registry: each holds a tenant to 1/N of the
    /// per-tenant request rate and push quota (the buckets are per instance), and on
    /// PostgreSQL clamps its connection budget under 1/N of each cluster's max_connections.
    #[arg(long, env = "AISLE_INSTANCES", default_value_t = 1)]
    instances: u32,
    /// Pulls that may wait for live sync at once (`?wait=`); beyond it, or beyond three
    /// quarters of --max-connections, a pull is answered at once instead of waiting.
    #[arg(long, env = "AISLE_MAX_LIVE_WAITS", default_value_t = aisle_server::live::DEFAULT_MAX_LIVE_WAITS)]
    max_live_waits: usize,
}

impl LimitArgs {
    pub fn limits(&self) -> Limits {
        Limits {
            header_read_timeout: Duration::from_secs(self.header_timeout_secs.max(1)),
            idle_timeout: Duration::from_secs(self.idle_timeout_secs.max(1)),
            max_connections: self.max_connections.max(1),
            max_connections_per_address: self.max_connections_per_address.max(1),
            rate_limited_delay: Duration::from_millis(self.rate_limited_delay_ms),
            max_header_bytes: self.max_header_bytes,
            unauthenticated_body_bytes: self.unauthenticated_body_bytes,
            body_budget_bytes: self.body_budget_bytes,
            per_address_per_sec: self.per_address_per_sec,
            enroll_per_address_per_min: self.enroll_per_address_per_min,
            per_tenant_per_sec: self.per_tenant_per_sec,
            tenant_push_per_sec: self.tenant_push_per_sec.max(1),
            tenant_max_bytes: self.tenant_max_bytes.max(1),
            instances: self.instances.max(1),
            max_live_waits: self.max_live_waits,
        }
    }
}

/// `tenant set-quota`'s flags.
#[derive(Debug, clap::Args)]
pub struct SetQuotaArgs {
    /// Tenant name or id.
    tenant: String,
    /// Events the tenant may push per second, on average.
    #[arg(long)]
    push_per_sec: Option<u32>,
    /// Bytes its database may take before pushes are refused (`507 tenant_storage_full`).
    #[arg(long)]
    max_bytes: Option<u64>,
    /// Go back to the server's defaults for both (other flags then set on top).
    #[arg(long)]
    reset: bool,
}

/// Sets a tenant's quotas; flags not given keep their value. A running server applies
/// them within `aisle_server::quota::QUOTA_REFRESH`.
pub fn set_quota(registry: &dyn Registry, args: SetQuotaArgs, now_ms: i64) -> anyhow::Result<()> {
    let tenant = registry.resolve_tenant(&args.tenant)?;
    let mut quota = if args.reset {
        TenantQuota::default()
    } else {
        registry.tenant_quota(tenant)?
    };
    if args.push_per_sec.is_some() {
        quota.push_per_sec = args.push_per_sec;
    }
    if args.max_bytes.is_some() {
        quota.max_bytes = args.max_bytes;
    }
    registry.set_tenant_quota(tenant, quota, now_ms)?;
    let show = |value: Option<String>| value.unwrap_or_else(|| "server default".to_owned());
    println!(
        "{tenant}\tpush per sec: {}\tmax bytes: {}",
        show(quota.push_per_sec.map(|n| n.to_string())),
        show(quota.max_bytes.map(|n| n.to_string()))
    );
    Ok(())
}
