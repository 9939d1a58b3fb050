//! The HTTP layer of protocol v1: the router and its handlers.
//!
//! Handlers are thin: decode the request, call one function, map the error to
//! [`AppError`]. Storage calls are blocking SQLite work and run on tokio's blocking pool.

use crate::auth::TenantContext;
use crate::error::AppError;
use crate::registry::{CodeRefusal, Registry};
use crate::storage::{StockFilter, Storage};
use crate::wire;
use aisle_protocol::{EnrollRequest, EnrollResponse, PullQuery, PushResponse, StockQuery};
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, JsonRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use std::sync::Arc;
use tracing::Instrument;

mod drain;
pub(crate) mod feed;
pub(crate) mod master;
pub(crate) mod reads;
pub mod refusals;
pub(crate) mod touching;
pub(crate) mod updates;
pub(crate) mod webhooks;

/// What every handler can reach. Tenant data only through [`Storage`] with a context.
#[derive(Clone, Debug)]
pub struct AppState {
    pub registry: Arc<dyn Registry>,
    pub storage: Arc<dyn Storage>,
    pub metrics: Arc<crate::metrics::Metrics>,
    /// The limits' state: the body budget, rate limits and tenant quotas.
    pub guards: Arc<crate::limits::Guards>,
    /// Live sync's waiting pulls, woken by pushes and master-data writes ([`crate::live`]).
    pub live: Arc<crate::live::Live>,
    /// What webhook URLs the ERP may add (`serve --webhook-allow-…`), as the delivery
    /// worker checks them.
    pub webhook_policy: Arc<crate::webhooks::target::TargetPolicy>,
}

/// Runs blocking work (SQLite) off the async workers.
pub async fn blocking<T, E>(
    work: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, AppError>
where
    T: Send + 'static,
    E: Into<AppError> + Send + 'static,
{
    // The caller's span (tenant, warehouse, device) follows the work to the blocking pool.
    let span = tracing::Span::current();
    match tokio::task::spawn_blocking(move || span.in_scope(work)).await {
        Ok(result) => result.map_err(Into::into),
        Err(join_error) => Err(AppError::Internal(crate::ServerError::Invalid(format!(
            "blocking task failed: {join_error}"
        )))),
    }
}

pub fn router(state: AppState) -> Router {
    let guards = Arc::clone(&state.guards);
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/v1/openapi.json", get(openapi))
        .route("/v1/enroll", post(enroll))
        .route("/v1/t/{tenant}/events", post(push).get(pull))
        .route("/v1/t/{tenant}/stock", get(stock))
        .merge(master::routes())
        .merge(feed::routes())
        .merge(webhooks::routes())
        .merge(touching::routes())
        .merge(updates::routes())
        .fallback(|| async { AppError::NotFound })
        // One byte over the limit is enough to know a body is too large.
        .layer(DefaultBodyLimit::max(aisle_protocol::MAX_BODY_BYTES))
        // Outside the limit above: an oversized body is read to its end before the 413,
        // within the in-flight body budget.
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&guards),
            drain::limit_body,
        ))
        // Outside the drain: rate limits, header size and credentials before any body.
        .layer(axum::middleware::from_fn_with_state(
            guards,
            crate::limits::guard,
        ))
        // Outermost: whatever is refused, it is refused as `{code, message}`.
        .layer(axum::middleware::from_fn(refusals::as_json))
        .with_state(state)
}

#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "The process runs", body = crate::openapi::StatusBody)))]
pub(crate) async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "The registry answers", body = crate::openapi::StatusBody),
        (status = 503, description = "`not_ready`: the registry does not answer", body = crate::openapi::ErrorBody),
    ))]
pub(crate) async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<serde_json::Value>) {
    let registry = state.registry.clone();
    let ready = tokio::task::spawn_blocking(move || registry.is_ready())
        .await
        .unwrap_or(false);
    if ready {
        (
            StatusCode::OK,
            Json(serde_json::json!({ "status": "ready" })),
        )
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(
                serde_json::json!({ "code": "not_ready", "message": "the registry is not reachable" }),
            ),
        )
    }
}

/// Prometheus metrics; no series names a tenant (see [`crate::metrics`]).
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Every series in the OpenMetrics text format",
        content_type = "application/openmetrics-text", body = String)))]
pub(crate) async fn metrics(State(state): State<AppState>) -> impl axum::response::IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            crate::metrics::CONTENT_TYPE,
        )],
        state.metrics.render(),
    )
}

/// This interface's OpenAPI 3 document.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "operations",
    responses((status = 200, description = "The OpenAPI 3 document", content_type = "application/json", body = Object)))]
pub(crate) async fn openapi() -> impl axum::response::IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        crate::openapi::json(),
    )
}

fn body_error(rejection: BytesRejection) -> AppError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::PayloadTooLarge
    } else {
        AppError::BadJson(rejection.body_text())
    }
}

/// Enrolls a device with a one-time code; the answer carries its bearer token, once.
#[utoipa::path(post, path = "/v1/enroll", tag = "sync",
    request_body = EnrollRequest,
    responses(
        (status = 200, description = "Enrolled; the token is shown only here", body = EnrollResponse),
        (status = 400, description = "`bad_json`", body = crate::openapi::ErrorBody),
        (status = 404, description = "`unknown_code`", body = crate::openapi::ErrorBody),
        (status = 409, description = "`code_used`", body = crate::openapi::ErrorBody),
        (status = 410, description = "`code_expired`", body = crate::openapi::ErrorBody),
    ))]
pub(crate) async fn enroll(
    State(state): State<AppState>,
    request: Result<Json<EnrollRequest>, JsonRejection>,
) -> Result<Json<EnrollResponse>, AppError> {
    let Json(request) = request.map_err(|rejection| AppError::BadJson(rejection.body_text()))?;
    let registry = state.registry.clone();
    let outcome =
        blocking(move || registry.enroll(&request.code, &request.device_name, crate::now_ms()))
            .await?;
    let enrolled = outcome.map_err(|refusal| match refusal {
        CodeRefusal::Unknown => AppError::UnknownCode,
        CodeRefusal::Used => AppError::CodeUsed,
        CodeRefusal::Expired => AppError::CodeExpired,
    })?;
    tracing::info!(tenant = %enrolled.tenant, warehouse = %enrolled.warehouse, device = %enrolled.device, "device enrolled");
    // Every master-data page names the warehouse's PCs, so the tenant's waiting pulls wake
    // and fetch master data: a claim the new PC makes is then shown with its name at once,
    // not after the other PCs' next round.
    state.live.master_changed(enrolled.tenant);
    Ok(Json(EnrollResponse {
        tenant: enrolled.tenant,
        warehouse: enrolled.warehouse,
        device: enrolled.device,
        token: enrolled.token,
    }))
}

/// Appends and applies a batch of events in one transaction, with a `resolved` event for
/// each decision the stock rules took because of them.
#[utoipa::path(post, path = "/v1/t/{tenant}/events", tag = "sync",
    params(("tenant" = uuid::Uuid, Path, description = "The tenant id; it must be the token's tenant")),
    request_body = crate::openapi::PushRequest,
    responses(
        (status = 200, description = "One result per event, in request order; a pushed `resolved` event is `rejected` with reason `server_only`", body = PushResponse),
        (status = 400, description = "`bad_json`", body = crate::openapi::ErrorBody),
        (status = 401, description = "`bad_token` or `revoked_token`", body = crate::openapi::ErrorBody),
        (status = 403, description = "`tenant_mismatch` (or `warehouse_mismatch`): the request names another tenant or warehouse than the token's; audited", body = crate::openapi::ErrorBody),
        (status = 503, description = "`tenant_unavailable` (refused until an operator acts), or `database_unavailable` when the database is away or busy for now: retry after `Retry-After`", body = crate::openapi::ErrorBody),
        (status = 413, description = "`payload_too_large`: more than 1,000 events or 4 MiB", body = crate::openapi::ErrorBody),
        (status = 422, description = "`unsupported_event_version`", body = crate::openapi::ErrorBody),
        (status = 429, description = "`rate_limited`: past the address's, the tenant's or the tenant's push quota; wait `Retry-After` seconds", body = crate::openapi::ErrorBody),
        (status = 507, description = "`tenant_storage_full`: the tenant's database is at its size quota", body = crate::openapi::ErrorBody),
    ),
    security(("device_token" = [])))]
pub(crate) async fn push(
    context: TenantContext,
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<PushResponse>, AppError> {
    let body = body.map_err(body_error)?;
    let events = wire::decode_push(&body)?;
    for event in &events {
        if let Some(boundary) = context.boundary_crossed_by(event) {
            let detail = format!(
                "event {} names tenant {} warehouse {} device {}",
                event.id, event.tenant, event.warehouse, event.device
            );
            return Err(context.refuse(&state, boundary, detail).await);
        }
    }
    let storage = state.storage.clone();
    let span = context.span("push");
    let n_events = events.len();
    let guards = Arc::clone(&state.guards);
    let (tenant, warehouse) = (context.tenant(), context.warehouse());
    let (measured, checked) = (state.storage.clone(), context.clone());
    blocking(move || guards.quotas.check_push(&checked, n_events, &*measured))
        .instrument(span.clone())
        .await?;
    let results = blocking(move || storage.push(&context, &events, crate::now_ms()))
        .instrument(span.clone())
        .await?;
    span.in_scope(|| tracing::debug!(n_events, "pushed"));
    // The push's transaction has committed: its events are there for any pull to read.
    // (and the webhook workers of this instance and, through the relay, the others)
    state.live.pushed(tenant, warehouse);
    state.metrics.record_push(&results);
    Ok(Json(PushResponse {
        results,
        server_time_ms: crate::now_ms(),
    }))
}

/// A page of the warehouse's events after a seq, with the stock checksum of the keys they touch.
///
/// With `wait`, a pull that finds nothing waits (live sync, [`crate::live`]) until a push to
/// the warehouse or a master-data change of the tenant, then reads again and answers as any
/// pull does; the `Aisle-Live` header says why it answered.
#[utoipa::path(get, path = "/v1/t/{tenant}/events", tag = "sync",
    params(("tenant" = uuid::Uuid, Path, description = "The tenant id; it must be the token's tenant"), PullQuery),
    responses(
        (status = 200, description = "Events with `seq > after`, in seq order; those of kinds the `Aisle-Reads` request header leaves out come in `unread` envelopes instead. With `wait`, the `Aisle-Live` header says why it answered: `data` (at once), `pushed`, `master`, `timeout`, `busy` or `closing`", body = aisle_protocol::PullResponse),
        (status = 400, description = "`bad_query`, or `bad_reads`: the `Aisle-Reads` header does not name event kinds, or leaves out one every device must read", body = crate::openapi::ErrorBody),
        (status = 401, description = "`bad_token` or `revoked_token`", body = crate::openapi::ErrorBody),
        (status = 403, description = "`tenant_mismatch` (or `warehouse_mismatch`): the request names another tenant or warehouse than the token's; audited", body = crate::openapi::ErrorBody),
        (status = 503, description = "`tenant_unavailable` (refused until an operator acts), or `database_unavailable` when the database is away or busy for now: retry after `Retry-After`", body = crate::openapi::ErrorBody),
    ),
    security(("device_token" = [])))]
pub(crate) async fn pull(
    context: TenantContext,
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    query: Result<Query<PullQuery>, QueryRejection>,
) -> Result<axum::response::Response, AppError> {
    use axum::response::IntoResponse as _;
    let Query(query) = query.map_err(|rejection| AppError::BadQuery(rejection.body_text()))?;
    let unread_kinds = reads::unread_kinds(&headers)?;
    if let Some(warehouse) = &query.warehouse {
        if warehouse.parse().ok() != Some(context.warehouse()) {
            let detail = format!("pull of warehouse {warehouse:?}");
            return Err(context
                .refuse(&state, crate::error::Boundary::Warehouse, detail)
                .await);
        }
    }
    let limit = query
        .limit
        .unwrap_or(aisle_protocol::DEFAULT_PULL_LIMIT)
        .clamp(1, aisle_protocol::MAX_PULL_LIMIT);
    let wait = live_wait(query.wait, state.guards.limits.idle_timeout);
    let span = context.span("pull");
    // Subscribed before the read: a push that commits after the read still wakes the wait.
    let waiter = wait.map(|_| state.live.subscribe(context.tenant(), context.warehouse()));
    let page = read_page(&state, &context, query.after, limit)
        .instrument(span.clone())
        .await?;
    let (page, why) = match (wait, waiter) {
        (None, _) | (_, None) => (page, None),
        _ if !page.events.is_empty() => (page, Some("data")),
        (_, Some(Err(crate::live::NoWait::Busy))) => (page, Some("busy")),
        (_, Some(Err(crate::live::NoWait::Closing))) => (page, Some("closing")),
        (Some(wait), Some(Ok(mut waiter))) => {
            let wake = waiter.wait(wait).await;
            // The place is given back before the second read, which may take a while.
            drop(waiter);
            let page = read_page(&state, &context, query.after, limit)
                .instrument(span)
                .await?;
            let why = match wake {
                crate::live::Wake::Pushed => "pushed",
                crate::live::Wake::Master => "master",
                crate::live::Wake::Timeout => "timeout",
                crate::live::Wake::Closing => "closing",
            };
            (page, Some(why))
        }
    };
    let (events, unread) = reads::split(page.events, unread_kinds.as_ref())?;
    let body = Json(aisle_protocol::PullResponse {
        events,
        unread,
        next: page.next,
        checksum: Some(page.checksum),
        checksum_seq: Some(page.checksum_seq),
        server_time_ms: crate::now_ms(),
    });
    Ok(match why {
        Some(why) => ([(aisle_protocol::LIVE_HEADER, why)], body).into_response(),
        None => body.into_response(),
    })
}

/// How long a pull that asked for `wait` seconds may wait: at most [`crate::live::MAX_WAIT`],
/// and well inside the connection's idle timeout (no byte moves while it waits, and the
/// accept loop would otherwise close the connection under it). `None`: answer at once.
fn live_wait(
    wait_secs: Option<u32>,
    idle_timeout: std::time::Duration,
) -> Option<std::time::Duration> {
    let asked = std::time::Duration::from_secs(u64::from(wait_secs.filter(|secs| *secs > 0)?));
    let inside_idle = idle_timeout.saturating_sub(idle_timeout / 4);
    Some(asked.min(crate::live::MAX_WAIT).min(inside_idle)).filter(|wait| !wait.is_zero())
}

/// One page of the context's warehouse after `after`, read on the blocking pool.
async fn read_page(
    state: &AppState,
    context: &TenantContext,
    after: u64,
    limit: u32,
) -> Result<crate::storage::PullPage, AppError> {
    let (storage, context) = (state.storage.clone(), context.clone());
    blocking(move || storage.pull(&context, after, limit)).await
}

/// The server's stock projection of the device's warehouse, and its open discrepancies.
#[utoipa::path(get, path = "/v1/t/{tenant}/stock", tag = "sync",
    params(("tenant" = uuid::Uuid, Path, description = "The tenant id; it must be the token's tenant"), StockQuery),
    responses(
        (status = 200, description = "On-hand rows and open discrepancies", body = aisle_protocol::StockResponse),
        (status = 400, description = "`bad_query`", body = crate::openapi::ErrorBody),
        (status = 401, description = "`bad_token` or `revoked_token`", body = crate::openapi::ErrorBody),
        (status = 403, description = "`tenant_mismatch` (or `warehouse_mismatch`): the request names another tenant or warehouse than the token's; audited", body = crate::openapi::ErrorBody),
        (status = 503, description = "`tenant_unavailable` (refused until an operator acts), or `database_unavailable` when the database is away or busy for now: retry after `Retry-After`", body = crate::openapi::ErrorBody),
    ),
    security(("device_token" = [])))]
pub(crate) async fn stock(
    context: TenantContext,
    State(state): State<AppState>,
    query: Result<Query<StockQuery>, QueryRejection>,
) -> Result<Json<aisle_protocol::StockResponse>, AppError> {
    let Query(query) = query.map_err(|rejection| AppError::BadQuery(rejection.body_text()))?;
    let parse = |name: &str, value: &Option<String>| -> Result<Option<uuid::Uuid>, AppError> {
        value
            .as_deref()
            .filter(|value| !value.is_empty())
            .map(|value| {
                value
                    .parse()
                    .map_err(|_| AppError::BadQuery(format!("{name} is not an id")))
            })
            .transpose()
    };
    let filter = StockFilter {
        item: parse("item", &query.item)?.map(aisle_core::ids::ItemId::from_uuid),
        location: parse("location", &query.location)?.map(aisle_core::ids::LocationId::from_uuid),
    };
    let storage = state.storage.clone();
    let span = context.span("stock");
    let view = blocking(move || storage.stock(&context, filter))
        .instrument(span)
        .await?;
    Ok(Json(aisle_protocol::StockResponse {
        rows: view.rows,
        discrepancies: view.discrepancies,
        server_time_ms: crate::now_ms(),
    }))
}
