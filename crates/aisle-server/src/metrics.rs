//! The server's Prometheus metrics, served at `GET /metrics` in the OpenMetrics text format.
//!
//! Every series carries `isolation_mode="database_per_tenant"`, so dashboards can tell this
//! deployment shape from others. No series is ever labelled with a tenant, warehouse or
//! device: with thousands of tenants that would be thousands of series per metric, and the
//! set of tenants is not something to publish to whoever can scrape the endpoint. Per-tenant
//! questions are answered from the logs, whose spans carry the tenant.
//!
//! On PostgreSQL, report reads (`crate::pg::reports`) are counted by cluster and target
//! (replica, primary, primary fallback), with each replica's failures and last replay lag:
//! series labelled with the operator's cluster names, never a tenant's.

use crate::error::ErrorCode;
use aisle_protocol::{PushResult, PushStatus};
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use std::sync::Arc;

/// How this server keeps tenants apart; the value of every series' `isolation_mode` label.
pub const ISOLATION_MODE: &str = "database_per_tenant";

/// The content type of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    /// The route template (`/v1/t/{tenant}/events`), never the path with a tenant id in it.
    route: String,
    method: String,
    status_class: &'static str,
    /// The error's stable `code`, `ok` for a success, `other` for an error not ours.
    code: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: String,
}

/// The tenant pools' instruments, shared with [`crate::pool::TenantPools`].
#[derive(Clone, Debug, Default)]
pub struct PoolMetrics {
    /// Tenants open now.
    pub open: Gauge,
    /// Tenants closed to stay under the cap.
    pub evictions: Counter,
    /// PostgreSQL: transactions that carried more than one push of a tenant (pushes that
    /// queued behind a running one, see `pg::storage::coalesce`), the pushes they carried,
    /// and the groups whose transaction failed, whose pushes then ran alone.
    pub push_groups: Counter,
    pub grouped_pushes: Counter,
    pub push_groups_split: Counter,
    /// PostgreSQL: pushes taken as new (their first event was not in the log) that met an
    /// integrity constraint (an id logged after all), run again asking about every id
    /// (`pg::storage`'s `Dedup`). A group that meets one counts as split instead (its
    /// members then run alone, asking about every id).
    pub push_reruns: Counter,
    /// PostgreSQL: device pushes and pulls (and ERP cancellations) run once more in the
    /// server because a statement kept on the connection (`serve
    /// --keep-prepared-statements`) was stale, instead of answering `503` to retry.
    pub stale_statement_reruns: Counter,
    /// PostgreSQL: push transactions that found the key states their tenant's last push
    /// left in this process still current (`pg::storage::key_cache`), and those that did
    /// not (another writer since, or none kept) and read their keys from the database.
    pub key_cache_hits: Counter,
    pub key_cache_misses: Counter,
}

/// All of the server's instruments and the registry that renders them.
#[derive(Debug)]
pub struct Metrics {
    registry: prometheus_client::registry::Registry,
    requests: Family<RequestLabels, Counter>,
    events_pushed: Family<ResultLabels, Counter>,
    isolation_refusals: Family<ReasonLabels, Counter>,
    pool: PoolMetrics,
    #[cfg(feature = "postgres")]
    report_reads: Arc<crate::pg::reports::ReportReads>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = prometheus_client::registry::Registry::with_prefix_and_labels(
            "aisle",
            [("isolation_mode".into(), ISOLATION_MODE.into())].into_iter(),
        );
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route template, method, status class and error code",
            requests.clone(),
        );
        let events_pushed = Family::<ResultLabels, Counter>::default();
        registry.register(
            "events_pushed",
            "Pushed events by result: applied, duplicate or rejected",
            events_pushed.clone(),
        );
        let isolation_refusals = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "isolation_refusals",
            "Requests refused at a tenant, warehouse or device boundary, and uses of revoked tokens, by reason",
            isolation_refusals.clone(),
        );
        let pool = PoolMetrics::default();
        registry.register(
            "tenant_pools_open",
            "Tenant databases open now",
            pool.open.clone(),
        );
        registry.register(
            "tenant_pool_evictions",
            "Tenant databases closed to stay under the open-tenant cap",
            pool.evictions.clone(),
        );
        registry.register(
            "push_groups",
            "PostgreSQL: transactions that carried several pushes of one tenant, queued behind a running one",
            pool.push_groups.clone(),
        );
        registry.register(
            "grouped_pushes",
            "PostgreSQL: pushes that ran in a transaction with others of their tenant",
            pool.grouped_pushes.clone(),
        );
        registry.register(
            "push_groups_split",
            "PostgreSQL: groups of pushes whose transaction failed, each push then run alone",
            pool.push_groups_split.clone(),
        );
        registry.register(
            "push_reruns",
            "PostgreSQL: pushes taken as new that met an integrity constraint (an id already logged), run again asking about every id",
            pool.push_reruns.clone(),
        );
        registry.register(
            "stale_statement_reruns",
            "PostgreSQL: pushes, pulls and cancellations run once more because a statement kept on the connection was stale",
            pool.stale_statement_reruns.clone(),
        );
        registry.register(
            "key_cache_hits",
            "PostgreSQL: push transactions that used the key states their tenant's last push left in this process",
            pool.key_cache_hits.clone(),
        );
        registry.register(
            "key_cache_misses",
            "PostgreSQL: push transactions that read their keys from the database (no current copy in this process)",
            pool.key_cache_misses.clone(),
        );
        #[cfg(feature = "postgres")]
        let report_reads = {
            let report_reads = Arc::new(crate::pg::reports::ReportReads::default());
            registry.register_collector(Box::new(Arc::clone(&report_reads)));
            report_reads
        };
        Self {
            registry,
            requests,
            events_pushed,
            isolation_refusals,
            pool,
            #[cfg(feature = "postgres")]
            report_reads,
        }
    }

    /// The report reads' counters, to hand to
    /// [`crate::pg::pools::PgTenantPools::with_report_reads`].
    #[cfg(feature = "postgres")]
    pub fn report_reads(&self) -> Arc<crate::pg::reports::ReportReads> {
        Arc::clone(&self.report_reads)
    }

    /// The pools' instruments, to hand to [`crate::pool::TenantPools::with_metrics`].
    pub fn pool(&self) -> PoolMetrics {
        self.pool.clone()
    }

    /// Counts a push's results.
    pub fn record_push(&self, results: &[PushResult]) {
        for result in results {
            let result = match result.status {
                PushStatus::Applied => "applied",
                PushStatus::Duplicate => "duplicate",
                PushStatus::Rejected => "rejected",
            };
            self.events_pushed
                .get_or_create(&ResultLabels { result })
                .inc();
        }
    }

    /// Counts a refusal written to the security audit log (`tenant_mismatch`, ...).
    pub fn record_refusal(&self, reason: &str) {
        self.isolation_refusals
            .get_or_create(&ReasonLabels {
                reason: reason.to_owned(),
            })
            .inc();
    }

    /// Every series, in the OpenMetrics text format.
    pub fn render(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String cannot fail");
        text
    }
}

/// Middleware counting every answered request by route template and outcome.
pub async fn track(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let response = next.run(request).await;
    let status = response.status();
    let status_class = match status.as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    };
    let code = match response.extensions().get::<ErrorCode>() {
        Some(ErrorCode(code)) => code,
        None if status.is_success() => "ok",
        None => "other",
    };
    metrics
        .requests
        .get_or_create(&RequestLabels {
            route,
            method,
            status_class,
            code,
        })
        .inc();
    response
}

#[cfg(test)]
mod tests {
    use super::Metrics;

    #[test]
    fn push_groups_render_as_counters_of_the_shared_pool_instruments() {
        let metrics = Metrics::new();
        let pool = metrics.pool();
        pool.push_groups.inc();
        pool.grouped_pushes.inc_by(3);
        let text = metrics.render();
        for (series, value) in [
            ("aisle_push_groups_total", 1),
            ("aisle_grouped_pushes_total", 3),
            ("aisle_push_groups_split_total", 0),
        ] {
            let line = text
                .lines()
                .find(|line| line.starts_with(&format!("{series}{{")))
                .unwrap_or_else(|| panic!("{series} in\n{text}"));
            assert!(line.ends_with(&format!(" {value}")), "{series}: {line}");
        }
    }
}
