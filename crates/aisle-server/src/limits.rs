//! What one client may take of the server: connections, time, memory and request rate.
//!
//! [`Limits`] is the configuration (every field a `serve` flag and an `AISLE_*` variable;
//! see README's operations section). [`Guards`] holds their state while serving: the
//! in-flight body budget (a semaphore of bytes), the per-address and per-tenant token
//! buckets (`governor`), and the tenant quotas ([`crate::quota`]). [`guard`] is the
//! middleware that applies them to each request *before its body is read*:
//!
//! 1. headers beyond [`Limits::max_header_bytes`] are refused with `431 headers_too_large`;
//! 2. the source address's bucket (and, for `/v1/enroll`, its enrollment bucket) is taken
//!    from, else `429 rate_limited` with `Retry-After`, held back for
//!    [`Limits::rate_limited_delay`] so that a flooding client's refusals cost little;
//! 3. under `/v1/t/`, a bearer credential is looked up: a known one takes from its
//!    tenant's bucket; a body larger than [`Limits::unauthenticated_body_bytes`] (or of
//!    unknown length) without a valid credential gets its `401` at once, unread. Elsewhere
//!    (`/v1/enroll`, operations) such a body is `413` at once.
//!
//! The connection cap and the header and idle timeouts are the accept loop's
//! ([`crate::serve`]); the body budget is taken where bodies are read (`http::drain`).
//!
//! What it must never do: read a request body, or build an authenticated context (the
//! extractors in [`crate::auth`] still check every credential; this only refuses early).

use crate::error::AppError;
use crate::http::blocking;
use crate::registry::Registry;
use aisle_core::ids::TenantId;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_LENGTH, RETRY_AFTER, TRANSFER_ENCODING};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Every limit the server holds clients to. [`Limits::default`] is what `serve` uses
/// unless told otherwise. A rate of 0 turns that rate limit off.
#[derive(Clone, Debug)]
pub struct Limits {
    /// A connection waiting for a request's headers (a new one, or a kept-alive one
    /// between requests) is closed once they have not all arrived within this.
    pub header_read_timeout: Duration,
    /// A connection on which no byte moves either way for this long is closed (a stalled
    /// body, a client that stopped reading its answer).
    pub idle_timeout: Duration,
    /// Connections served at once; beyond it a connection is answered
    /// `503 too_many_connections` and closed.
    pub max_connections: usize,
    /// Connections served at once from one source address; beyond it, as beyond
    /// [`Limits::max_connections`]. A warehouse's PCs behind one NAT share an address, so
    /// this is far above what one site needs, and far below the whole server's cap.
    pub max_connections_per_address: usize,
    /// How long a `429 rate_limited` answer is held before it is sent (at most its own
    /// `Retry-After`). A client that honours `Retry-After` loses nothing; one that floods
    /// gets one answer per connection per delay instead of thousands a second, so its
    /// refusals stop eating the CPU that other tenants' requests need. 0 answers at once.
    pub rate_limited_delay: Duration,
    /// The request line and headers, in bytes; beyond it `431 headers_too_large`.
    pub max_header_bytes: usize,
    /// The largest body the server reads before the request's credential is known valid.
    pub unauthenticated_body_bytes: usize,
    /// Request bodies held in memory at once, in bytes, across all requests; a request
    /// whose body does not fit is refused with `503 server_busy`.
    pub body_budget_bytes: usize,
    /// Requests per second from one source address (burst: twice as many).
    pub per_address_per_sec: u32,
    /// Enrollment attempts per minute from one source address (burst: the same number).
    pub enroll_per_address_per_min: u32,
    /// Requests per second for one tenant, from all its devices and keys (burst: twice).
    pub per_tenant_per_sec: u32,
    /// Events one tenant may push per second, on average, unless the operator set the
    /// tenant's own quota (`aisle-server tenant set-quota`). Burst: one full push.
    pub tenant_push_per_sec: u32,
    /// The size of a tenant's database (with its WAL) past which its pushes are refused
    /// with `507 tenant_storage_full`, unless the operator set the tenant's own quota.
    pub tenant_max_bytes: u64,
    /// Server instances that share one registry (`serve --database` behind a load
    /// balancer). The buckets are in each instance's memory, so each instance holds a
    /// tenant to its share: [`Limits::per_tenant_per_sec`] and every tenant's push quota
    /// are divided by this (rounded up) and, with a balancer that spreads a tenant's
    /// requests evenly, the instances together allow about the configured rate. The
    /// per-address limits stay per instance: they protect each instance's own CPU.
    pub instances: u32,
    /// Pulls that may wait for live sync at once (`?wait=`, [`crate::live`]); beyond it (or
    /// beyond three quarters of [`Limits::max_connections`]) a pull is answered at once,
    /// as without `wait`. A waiting pull holds its connection, so this is also a share of
    /// the connection cap.
    pub max_live_waits: usize,
}

/// A rate an instance holds when `instances` instances share it: rounded up, 0 stays 0 (off).
pub fn per_instance(rate: u32, instances: u32) -> u32 {
    rate.div_ceil(instances.max(1))
}

pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
pub const DEFAULT_MAX_CONNECTIONS: usize = 1_024;
pub const DEFAULT_MAX_CONNECTIONS_PER_ADDRESS: usize = 256;
pub const DEFAULT_RATE_LIMITED_DELAY: Duration = Duration::from_secs(1);
pub const DEFAULT_MAX_HEADER_BYTES: usize = 64 * 1024;
pub const DEFAULT_UNAUTHENTICATED_BODY_BYTES: usize = 4 * 1024;
pub const DEFAULT_BODY_BUDGET_BYTES: usize = 256 * 1024 * 1024;
pub const DEFAULT_PER_ADDRESS_PER_SEC: u32 = 1_000;
pub const DEFAULT_ENROLL_PER_ADDRESS_PER_MIN: u32 = 120;
pub const DEFAULT_PER_TENANT_PER_SEC: u32 = 200;
pub const DEFAULT_TENANT_PUSH_PER_SEC: u32 = 5_000;
pub const DEFAULT_TENANT_MAX_BYTES: u64 = 10 * 1024 * 1024 * 1024;

/// More headers than this are refused with 431 by the middleware; hyper itself is given
/// room for [`HYPER_MAX_HEADERS`] so that it is the middleware, with a JSON body, that
/// answers in the common case.
pub const MAX_HEADERS: usize = 100;
pub const HYPER_MAX_HEADERS: usize = 400;

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_connections_per_address: DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
            rate_limited_delay: DEFAULT_RATE_LIMITED_DELAY,
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
            unauthenticated_body_bytes: DEFAULT_UNAUTHENTICATED_BODY_BYTES,
            body_budget_bytes: DEFAULT_BODY_BUDGET_BYTES,
            per_address_per_sec: DEFAULT_PER_ADDRESS_PER_SEC,
            enroll_per_address_per_min: DEFAULT_ENROLL_PER_ADDRESS_PER_MIN,
            per_tenant_per_sec: DEFAULT_PER_TENANT_PER_SEC,
            tenant_push_per_sec: DEFAULT_TENANT_PUSH_PER_SEC,
            tenant_max_bytes: DEFAULT_TENANT_MAX_BYTES,
            instances: 1,
            max_live_waits: crate::live::DEFAULT_MAX_LIVE_WAITS,
        }
    }
}

/// The limits' state while serving.
#[derive(Debug)]
pub struct Guards {
    pub limits: Limits,
    body_budget: Arc<Semaphore>,
    per_address: Option<DefaultKeyedRateLimiter<IpAddr>>,
    enroll_per_address: Option<DefaultKeyedRateLimiter<IpAddr>>,
    per_tenant: Option<DefaultKeyedRateLimiter<TenantId>>,
    registry: Arc<dyn Registry>,
    pub quotas: crate::quota::TenantQuotas,
}

/// Memory of the body budget held by one request until it is answered.
#[derive(Debug)]
pub struct BodyPermit(#[allow(dead_code)] Option<OwnedSemaphorePermit>);

impl Guards {
    pub fn new(limits: Limits, registry: Arc<dyn Registry>) -> Self {
        let second = Duration::from_secs(1);
        Self {
            body_budget: Arc::new(Semaphore::new(
                limits.body_budget_bytes.min(Semaphore::MAX_PERMITS),
            )),
            per_address: keyed(
                limits.per_address_per_sec,
                second,
                limits.per_address_per_sec.saturating_mul(2),
            ),
            enroll_per_address: keyed(
                limits.enroll_per_address_per_min,
                Duration::from_secs(60),
                limits.enroll_per_address_per_min,
            ),
            per_tenant: keyed(
                per_instance(limits.per_tenant_per_sec, limits.instances),
                second,
                per_instance(
                    limits.per_tenant_per_sec.saturating_mul(2),
                    limits.instances,
                ),
            ),
            quotas: crate::quota::TenantQuotas::new(
                Arc::clone(&registry),
                limits.tenant_push_per_sec,
                limits.tenant_max_bytes,
            )
            .with_instances(limits.instances),
            registry,
            limits,
        }
    }

    /// Takes `bytes` of the body budget, or refuses with `server_busy`.
    pub fn reserve_body(&self, bytes: usize) -> Result<BodyPermit, AppError> {
        if bytes == 0 {
            return Ok(BodyPermit(None));
        }
        let n = u32::try_from(bytes).map_err(|_| AppError::ServerBusy)?;
        Arc::clone(&self.body_budget)
            .try_acquire_many_owned(n)
            .map(|permit| BodyPermit(Some(permit)))
            .map_err(|_| AppError::ServerBusy)
    }

    /// Forgets the buckets of addresses and tenants that have been quiet long enough to be
    /// full again, so the maps do not grow with every address ever seen.
    pub fn forget_idle(&self) {
        for limiter in [&self.per_address, &self.enroll_per_address]
            .into_iter()
            .flatten()
        {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        if let Some(limiter) = &self.per_tenant {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

/// A bucket per key refilled with `per_period` every `period`, or none when it is 0.
fn keyed<K: std::hash::Hash + Eq + Clone>(
    per_period: u32,
    period: Duration,
    burst: u32,
) -> Option<DefaultKeyedRateLimiter<K>> {
    NonZeroU32::new(per_period).map(|n| {
        let burst = NonZeroU32::new(burst).unwrap_or(n);
        let quota = Quota::with_period(period / n.get())
            .unwrap_or_else(|| Quota::per_second(n))
            .allow_burst(burst);
        RateLimiter::keyed(quota)
    })
}

/// Takes one from `key`'s bucket, or the 429 to answer with.
fn take<K: std::hash::Hash + Eq + Clone>(
    limiter: &Option<DefaultKeyedRateLimiter<K>>,
    key: &K,
    what: &'static str,
) -> Result<(), AppError> {
    let Some(limiter) = limiter else {
        return Ok(());
    };
    limiter.check_key(key).map_err(|not_until| {
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        AppError::RateLimited {
            what,
            retry_after_secs: wait.as_secs_f64().ceil().max(1.0) as u64,
        }
    })
}

/// What a bearer credential is, looked up before the body is read.
enum Credential {
    Valid(TenantId),
    Revoked { api_key: bool },
    Unknown,
}

async fn look_up(registry: &Arc<dyn Registry>, bearer: &str) -> Result<Credential, AppError> {
    let digest = crate::auth::token_digest(bearer);
    let is_key = bearer.starts_with(crate::auth::API_KEY_PREFIX);
    let registry = Arc::clone(registry);
    blocking(move || -> Result<Credential, crate::ServerError> {
        let found = if is_key {
            registry
                .api_key_by_digest(&digest)?
                .map(|key| (key.tenant, key.revoked))
        } else {
            registry
                .device_by_token(&digest)?
                .map(|device| (device.tenant, device.revoked))
        };
        Ok(match found {
            Some((_, true)) => Credential::Revoked { api_key: is_key },
            Some((tenant, false)) => Credential::Valid(tenant),
            None => Credential::Unknown,
        })
    })
    .await
}

fn header_bytes(request: &Parts) -> usize {
    let line =
        request.method.as_str().len() + request.uri.to_string().len() + " HTTP/1.1\r\n".len();
    request
        .headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum::<usize>()
        + line
}

pub async fn guard(State(guards): State<Arc<Guards>>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let response = match check(&guards, &parts).await {
        Ok(()) => next.run(Request::from_parts(parts, body)).await,
        Err(refusal) => refusal.into_response(),
    };
    if response.status() == StatusCode::TOO_MANY_REQUESTS {
        // Held, not answered at once, whichever limit refused (these buckets, or a
        // tenant's push quota in the handler): see `Limits::rate_limited_delay`.
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok())
            .map_or(Duration::ZERO, Duration::from_secs);
        let delay = guards.limits.rate_limited_delay.min(retry_after);
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
    }
    response
}

async fn check(guards: &Guards, request: &Parts) -> Result<(), AppError> {
    let limits = &guards.limits;
    if request.headers.len() > MAX_HEADERS || header_bytes(request) > limits.max_header_bytes {
        return Err(AppError::HeadersTooLarge(limits.max_header_bytes));
    }
    let path = request.uri.path();
    // Absent when the router is driven without a socket (tower's `oneshot` in tests).
    let address = request
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| address.ip());
    if let Some(address) = &address {
        take(&guards.per_address, address, "from this address")?;
        if path == "/v1/enroll" {
            take(
                &guards.enroll_per_address,
                address,
                "to enroll from this address",
            )?;
        }
    }
    let declared = request
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    let large_body = match declared {
        Some(length) => length > limits.unauthenticated_body_bytes as u64,
        None => request.headers.contains_key(TRANSFER_ENCODING),
    };
    if !path.starts_with("/v1/t/") {
        // No credential opens these routes, so none may send more than a small body.
        return if large_body {
            Err(AppError::PayloadTooLarge)
        } else {
            Ok(())
        };
    }
    let bearer = request
        .headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    let credential = match bearer {
        Some(bearer) if large_body || guards.per_tenant.is_some() => {
            look_up(&guards.registry, bearer).await?
        }
        Some(_) => return Ok(()),
        None => Credential::Unknown,
    };
    match credential {
        Credential::Valid(tenant) => take(&guards.per_tenant, &tenant, "for this tenant"),
        // Small bodies go on to the extractors, which refuse (and audit) them as ever.
        _ if !large_body => Ok(()),
        Credential::Revoked { api_key: true } => Err(AppError::RevokedKey),
        Credential::Revoked { api_key: false } => Err(AppError::RevokedToken),
        Credential::Unknown => Err(AppError::BadToken),
    }
}
