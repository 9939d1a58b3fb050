//! The delivery worker: executes [`super::schedule`] against each tenant's outbox, for each
//! enabled endpoint the registry lists, and settles every attempt in the registry
//! (`webhook_deliveries`, the endpoint's position and attempt).
//!
//! - In order per endpoint: an endpoint's next message is sent only after the one before it
//!   was delivered or dead-lettered; a retry is due at the schedule's time and keeps the
//!   message's `webhook-id`.
//! - At least once: the position moves only after the receiver's 2xx is recorded (in runs,
//!   see `RECORD_EVERY`), so a crash between the two sends the message again.
//! - A tenant's endpoints take at most `max_per_tenant` deliveries at once, so one slow ERP
//!   cannot hold the others; each attempt has its own timeout (10 s by default).
//! - Every connection goes through [`PolicyResolver`]: the host is resolved at connect time
//!   and refused if any address is not public (unless allowed), as when the URL was added.
//!
//! One worker runs per server process (`serve --no-webhook-worker` turns it off), and every
//! instance on a shared registry may run one: each endpoint is leased to one worker at a time
//! (`LEASE`), so no two workers deliver the same endpoint's messages.

use super::schedule::{self, Next, Outcome, RetrySchedule};
use super::sign::{self, Secret};
use super::target::TargetPolicy;
use crate::auth::{FeedRead, IntegrationContext};
use crate::error::ServerError;
use crate::registry::webhooks::{Attempt, DeliveryOutcome, DueWebhook};
use crate::registry::{Registry, WebhookId};
use crate::storage::Storage;
use aisle_core::ids::TenantId;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How the worker delivers (`serve --webhook-…`).
#[derive(Clone, Debug)]
pub struct WebhookConfig {
    /// Run the worker in this process.
    pub enabled: bool,
    pub policy: TargetPolicy,
    pub schedule: RetrySchedule,
    /// Deliveries in flight at once for one tenant, all its endpoints together.
    pub max_per_tenant: usize,
    /// One attempt's timeout, connection included.
    pub timeout: Duration,
    /// How often the worker looks for due endpoints.
    pub tick: Duration,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            policy: TargetPolicy::default(),
            schedule: RetrySchedule::default(),
            max_per_tenant: 4,
            timeout: Duration::from_secs(10),
            tick: Duration::from_millis(200),
        }
    }
}

/// Resolves a delivery's host at connect time and refuses it when any of its addresses
/// is one the policy refuses.
#[derive(Debug)]
struct PolicyResolver(TargetPolicy);

impl reqwest::dns::Resolve for PolicyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let (policy, host) = (self.0.clone(), name.as_str().to_owned());
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            for addr in &addrs {
                policy.check_addr(&host, addr.ip())?;
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

struct Shared {
    config: WebhookConfig,
    registry: Arc<dyn Registry>,
    storage: Arc<dyn Storage>,
    client: reqwest::Client,
    /// Endpoints with a delivery in flight, and each tenant's count of them.
    busy: Mutex<(HashMap<WebhookId, TenantId>, HashMap<TenantId, usize>)>,
    /// When this process's last delivery of each endpoint ended (after its last record
    /// committed). A leased row read before then is stale: its delivered position may be
    /// behind what that delivery recorded, and a delivery started from it would send those
    /// messages again (see `run`).
    ended: Mutex<HashMap<WebhookId, std::time::Instant>>,
    /// Told by a push that committed (see [`Wake`]).
    wake: Arc<tokio::sync::Notify>,
}

/// What a push tells the delivery worker when it has committed: look at the registry now
/// rather than at the next tick. The live-sync hub tells it of this process's pushes and,
/// on PostgreSQL, of the other instances' (`Live::wake_on_push`): the lease decides who
/// delivers, and that worker hears of the push wherever it was made.
#[derive(Debug, Clone, Default)]
pub struct Wake(Arc<tokio::sync::Notify>);

impl Wake {
    pub fn pushed(&self) {
        // A permit is kept when the worker is busy: it looks again once it is done.
        self.0.notify_one();
    }
}

/// Starts the worker; it ends when `closed` completes.
pub(crate) fn spawn(
    config: WebhookConfig,
    registry: Arc<dyn Registry>,
    storage: Arc<dyn Storage>,
    wake: Wake,
    closed: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    if !config.enabled {
        return Ok(());
    }
    let client = reqwest::Client::builder()
        .timeout(config.timeout)
        .connect_timeout(config.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .dns_resolver(Arc::new(PolicyResolver(config.policy.clone())))
        .build()
        .map_err(|error| ServerError::Invalid(format!("the webhook client: {error}")))?;
    let shared = Arc::new(Shared {
        config,
        registry,
        storage,
        client,
        busy: Mutex::new((HashMap::new(), HashMap::new())),
        ended: Mutex::new(HashMap::new()),
        wake: wake.0,
    });
    tokio::spawn(async move {
        tokio::select! {
            () = closed => {}
            () = run(shared) => {}
        }
    });
    Ok(())
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ServerError> + Send + 'static,
) -> Result<T, ServerError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| ServerError::Invalid(format!("a webhook task failed: {error}")))?
}

/// How long an endpoint stays leased to this process's worker without a renewal. Every tick
/// renews the endpoints it still delivers to, so only a worker that died (or cannot reach
/// the registry) lets its endpoints go, to another instance's worker after this long.
const LEASE: Duration = Duration::from_secs(30);

async fn run(shared: Arc<Shared>) {
    // This process among the workers sharing the registry.
    let holder = hex::encode(crate::random_bytes::<8>());
    loop {
        let (registry, holder) = (Arc::clone(&shared.registry), holder.clone());
        let now_ms = crate::now_ms();
        let lease_ms = LEASE.as_millis() as i64;
        let asked = std::time::Instant::now();
        match blocking(move || registry.lease_due_webhooks(&holder, now_ms, lease_ms)).await {
            Ok(due) => {
                for endpoint in due {
                    if let Some(guard) = Busy::take(&shared, &endpoint, asked) {
                        let shared = Arc::clone(&shared);
                        tokio::spawn(async move {
                            let id = endpoint.row.id;
                            if let Err(error) = drain(&shared, endpoint).await {
                                tracing::warn!(webhook = %id, %error, "webhook delivery stopped; retried at the next tick");
                            }
                            guard.end();
                        });
                    }
                }
            }
            Err(error) => tracing::warn!(%error, "cannot list due webhooks"),
        }
        // The next tick, or sooner when a push committed messages in this process (not
        // sooner than `WOKEN_AFTER`, so a burst of pushes costs the registry a few
        // queries a second, not one a push).
        tokio::time::sleep(WOKEN_AFTER).await;
        let rest = shared.config.tick.saturating_sub(WOKEN_AFTER);
        tokio::select! {
            () = tokio::time::sleep(rest) => {}
            () = shared.wake.notified() => {}
        }
    }
}

/// Whether this process's last delivery of `id` ended after `asked`.
fn ended_after(shared: &Shared, id: WebhookId, asked: std::time::Instant) -> bool {
    shared
        .ended
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .get(&id)
        .is_some_and(|ended| *ended > asked)
}

/// The least time between two of the worker's looks at the registry.
const WOKEN_AFTER: Duration = Duration::from_millis(20);

/// An endpoint's place among the deliveries in flight; dropping it gives the place back.
struct Busy {
    shared: Arc<Shared>,
    id: WebhookId,
    tenant: TenantId,
}

impl Busy {
    /// The endpoint's place, unless a delivery of it is in flight, its tenant has its share
    /// in flight, or the row was read (at `asked`) before this process's last delivery of it
    /// ended: that delivery recorded positions the row does not show, and starting from the
    /// row's would send those messages again (CI once saw 30 sent twice); the next tick reads
    /// them. Checked under the lock the ending delivery's guard takes, after it set its end.
    fn take(
        shared: &Arc<Shared>,
        endpoint: &DueWebhook,
        asked: std::time::Instant,
    ) -> Option<Busy> {
        let mut busy = shared
            .busy
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let (endpoints, tenants) = &mut *busy;
        let tenant = endpoint.row.tenant;
        let in_tenant = tenants.get(&tenant).copied().unwrap_or(0);
        if endpoints.contains_key(&endpoint.row.id)
            || in_tenant >= shared.config.max_per_tenant
            || ended_after(shared, endpoint.row.id, asked)
        {
            return None;
        }
        endpoints.insert(endpoint.row.id, tenant);
        tenants.insert(tenant, in_tenant + 1);
        Some(Busy {
            shared: Arc::clone(shared),
            id: endpoint.row.id,
            tenant,
        })
    }
}

impl Busy {
    /// The delivery ends: its end is set before its place is given back, so a tick that
    /// takes the place next sees the end (see [`Busy::take`]).
    fn end(self) {
        self.shared
            .ended
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(self.id, std::time::Instant::now());
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        let mut busy = self
            .shared
            .busy
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let (endpoints, tenants) = &mut *busy;
        endpoints.remove(&self.id);
        if let Some(count) = tenants.get_mut(&self.tenant) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                tenants.remove(&self.tenant);
            }
        }
    }
}

/// How many delivered messages the worker records in one registry transaction at most,
/// and how long it holds them unrecorded at most. A crash loses no message: the endpoint's
/// position moves only with the record, so what was delivered and not yet recorded is
/// delivered again (at least once, in order), and the receiver deduplicates by
/// `webhook-id`.
const RECORD_EVERY: usize = 200;
const RECORD_WITHIN: Duration = Duration::from_millis(250);

/// Delivers `endpoint`'s messages in order until one fails (its retry is scheduled) or
/// none is left. It reads the feed a page at a time and the endpoint's secrets once, and
/// records delivered messages in runs ([`RECORD_EVERY`], [`RECORD_WITHIN`]); a failed
/// attempt is recorded at once, with the run before it.
async fn drain(shared: &Arc<Shared>, endpoint: DueWebhook) -> Result<(), ServerError> {
    let row = endpoint.row;
    let id = row.id;
    let (mut position, mut attempt) = (endpoint.delivered_position, endpoint.attempt);
    let (registry, secrets_at) = (Arc::clone(&shared.registry), crate::now_ms());
    let secrets: Vec<Secret> = blocking(move || registry.webhook_secrets(id, secrets_at)).await?;
    let mut run = Run::default();
    loop {
        let (storage, tenant) = (Arc::clone(&shared.storage), row.tenant);
        let page = blocking(move || {
            storage.erp_feed(
                &IntegrationContext::<FeedRead>::for_server(tenant),
                position,
                100,
            )
        })
        .await?;
        let Some(last) = page.last().map(|entry| entry.position) else {
            return run.record(shared, id).await;
        };
        for entry in page {
            let wanted = row.event_types.is_empty()
                || row
                    .event_types
                    .iter()
                    .any(|kind| kind == entry.message.body.message_type());
            if !wanted {
                continue;
            }
            let now_ms = crate::now_ms();
            let body = serde_json::to_vec(&entry.message)?;
            let secret_refs: Vec<&Secret> = secrets.iter().collect();
            let headers = sign::sign(
                &entry.message.id.to_string(),
                now_ms / 1000,
                &body,
                &secret_refs,
            )
            .map_err(|error| ServerError::Invalid(format!("signing a delivery: {error}")))?;
            let outcome = post(shared, &row.url, &headers, body).await;
            let jitter =
                f64::from(u32::from_le_bytes(crate::random_bytes::<4>())) / f64::from(u32::MAX);
            let attempted = attempt + 1;
            let next = schedule::next(
                &shared.config.schedule,
                attempted,
                &outcome,
                crate::now_ms(),
                jitter,
            );
            let (status, error) = match &outcome {
                Outcome::Status(status) => (Some(*status), None),
                Outcome::NoAnswer(error) => (None, Some(error.clone())),
            };
            let (kind, delivered_position, next_attempt, next_attempt_ms) = match next {
                Next::Delivered => (DeliveryOutcome::Delivered, entry.position, 0, 0),
                Next::DeadLetter => (DeliveryOutcome::Dead, entry.position, 0, 0),
                Next::RetryAt(at) => (DeliveryOutcome::Retry, position, attempted, at),
                Next::DisableEndpoint => (DeliveryOutcome::Disabled, position, attempted, 0),
            };
            run.attempts.push(Attempt {
                position: entry.position,
                message_id: entry.message.id,
                attempt: attempted,
                outcome: kind,
                status,
                error,
                at_ms: now_ms,
                delivered_position,
                next_attempt,
                next_attempt_ms,
            });
            match next {
                Next::Delivered => {
                    position = entry.position;
                    attempt = 0;
                    if run.attempts.len() >= RECORD_EVERY || run.since.elapsed() >= RECORD_WITHIN {
                        run.record(shared, id).await?;
                    }
                }
                Next::DeadLetter => {
                    position = entry.position;
                    attempt = 0;
                    run.record(shared, id).await?;
                }
                Next::RetryAt(_) | Next::DisableEndpoint => return run.record(shared, id).await,
            }
        }
        // The page's messages this endpoint does not take: move past them too.
        if position < last {
            run.record(shared, id).await?;
            let registry = Arc::clone(&shared.registry);
            blocking(move || registry.skip_webhook_to(id, last)).await?;
            position = last;
        }
    }
}

/// Attempts made and not yet recorded, and since when.
struct Run {
    attempts: Vec<Attempt>,
    since: std::time::Instant,
}

impl Default for Run {
    fn default() -> Self {
        Self {
            attempts: Vec::new(),
            since: std::time::Instant::now(),
        }
    }
}

impl Run {
    /// Records the run's attempts in one registry transaction, and starts a new run.
    async fn record(&mut self, shared: &Arc<Shared>, id: WebhookId) -> Result<(), ServerError> {
        let attempts = std::mem::take(&mut self.attempts);
        self.since = std::time::Instant::now();
        if attempts.is_empty() {
            return Ok(());
        }
        let registry = Arc::clone(&shared.registry);
        blocking(move || registry.record_attempts(id, &attempts, crate::now_ms())).await
    }
}

/// One attempt: the URL checked again, the POST, and what came of it.
async fn post(shared: &Shared, url: &str, headers: &sign::SignedHeaders, body: Vec<u8>) -> Outcome {
    let policy = &shared.config.policy;
    let url = match policy.check_url(url) {
        Ok(url) => url,
        Err(refused) => return Outcome::NoAnswer(refused.to_string()),
    };
    // An address in the URL is not resolved, so the resolver never sees it: check it here.
    let literal = match url.host() {
        Some(url::Host::Ipv4(v4)) => Some(std::net::IpAddr::V4(v4)),
        Some(url::Host::Ipv6(v6)) => Some(std::net::IpAddr::V6(v6)),
        _ => None,
    };
    if let Some(addr) = literal {
        if let Err(refused) = policy.check_addr(url.host_str().unwrap_or_default(), addr) {
            return Outcome::NoAnswer(refused.to_string());
        }
    }
    let sent = shared
        .client
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", &headers.id)
        .header("webhook-timestamp", &headers.timestamp)
        .header("webhook-signature", &headers.signature)
        .body(body)
        .send()
        .await;
    match sent {
        Ok(response) => Outcome::Status(response.status().as_u16()),
        Err(error) => Outcome::NoAnswer(error_chain(&error)),
    }
}

/// An error with its causes, `: `-separated: reqwest's own text says only that sending
/// failed; the cause says why (a timeout, a reset, a refused address).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        let inner_text = inner.to_string();
        if !text.contains(&inner_text) {
            text.push_str(": ");
            text.push_str(&inner_text);
        }
        cause = inner.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pool::TenantPools;
    use crate::registry::{SqliteRegistry, WebhookRow};
    use crate::storage::SqliteStorage;
    use std::time::Instant;

    fn shared(dir: &std::path::Path) -> Arc<Shared> {
        std::fs::create_dir_all(dir.join("tenants")).expect("tenants dir");
        let registry: Arc<dyn Registry> =
            Arc::new(SqliteRegistry::open(&crate::registry_path(dir)).expect("registry"));
        let pools = TenantPools::new(dir.to_owned(), Arc::clone(&registry), 4);
        Arc::new(Shared {
            config: WebhookConfig::default(),
            registry,
            storage: Arc::new(SqliteStorage::new(pools)),
            client: reqwest::Client::new(),
            busy: Mutex::new((HashMap::new(), HashMap::new())),
            ended: Mutex::new(HashMap::new()),
            wake: Arc::default(),
        })
    }

    fn due(at_position: u64) -> DueWebhook {
        DueWebhook {
            row: WebhookRow {
                id: WebhookId::new(1_700_000_000_000),
                tenant: TenantId::new_v7(1_700_000_000_000, [1; 10]),
                url: "http://127.0.0.1:9/hook".to_owned(),
                event_types: Vec::new(),
                enabled: true,
                disabled_reason: None,
                created_ms: 1_700_000_000_000,
                previous_until_ms: None,
            },
            delivered_position: at_position,
            attempt: 0,
        }
    }

    /// The race CI met with two instances: a tick read the endpoint's row (position 30)
    /// while a delivery of it was in flight; the delivery recorded 31-60 and ended; the tick
    /// then found the place free and started from 30, sending 31-60 again.
    #[test]
    fn a_row_read_before_the_endpoints_last_delivery_ended_starts_no_delivery() {
        let dir = tempfile::tempdir().expect("tempdir");
        let shared = shared(dir.path());
        let row = due(30);
        let delivering = Busy::take(&shared, &row, Instant::now()).expect("the place is free");
        let asked = Instant::now();
        assert!(
            Busy::take(&shared, &row, asked).is_none(),
            "one delivery of an endpoint at a time"
        );
        delivering.end();
        assert!(
            Busy::take(&shared, &row, asked).is_none(),
            "a row read while the last delivery ran is stale once it has ended"
        );
        let fresh = due(60);
        assert!(
            Busy::take(&shared, &fresh, Instant::now()).is_some(),
            "a row read after the delivery ended starts the next one"
        );
    }
}
