//! The HTTP layer of protocol v1: the router and its handlers.
//!
//! Handlers are thin: decode the request, call one function, map the error to
//! [`AppError`]. Storage calls are blocking SQLite work and run on tokio's blocking pool.

use crate::auth::TenantContext;
use crate::error::AppError;
use crate::registry::{CodeRefusal, Registry};
use crate::storage::{StockFilter, Storage};
use crate::wire::{self, EnrollRequest, EnrollResponse, PullQuery, PushResponse, StockQuery};
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, JsonRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use std::sync::Arc;
use tracing::Instrument;

/// What every handler can reach. Tenant data only through [`Storage`] with a context.
#[derive(Clone, Debug)]
pub struct AppState {
    pub registry: Arc<Registry>,
    pub storage: Arc<dyn Storage>,
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
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/v1/enroll", post(enroll))
        .route("/v1/t/{tenant}/events", post(push).get(pull))
        .route("/v1/t/{tenant}/stock", get(stock))
        .fallback(|| async { AppError::NotFound })
        // One byte over the limit is enough to know a body is too large.
        .layer(DefaultBodyLimit::max(wire::MAX_BODY_BYTES))
        .with_state(state)
}

async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<serde_json::Value>) {
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

fn body_error(rejection: BytesRejection) -> AppError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::PayloadTooLarge
    } else {
        AppError::BadJson(rejection.body_text())
    }
}

async fn enroll(
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
    Ok(Json(EnrollResponse {
        tenant: enrolled.tenant.to_string(),
        warehouse: enrolled.warehouse.to_string(),
        device: enrolled.device.to_string(),
        token: enrolled.token,
    }))
}

async fn push(
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
    let results = blocking(move || storage.push(&context, &events, crate::now_ms()))
        .instrument(span.clone())
        .await?;
    span.in_scope(|| tracing::debug!(n_events, "pushed"));
    Ok(Json(PushResponse {
        results,
        server_time_ms: crate::now_ms(),
    }))
}

async fn pull(
    context: TenantContext,
    State(state): State<AppState>,
    query: Result<Query<PullQuery>, QueryRejection>,
) -> Result<Json<wire::PullResponse>, AppError> {
    let Query(query) = query.map_err(|rejection| AppError::BadQuery(rejection.body_text()))?;
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
        .unwrap_or(wire::DEFAULT_PULL_LIMIT)
        .clamp(1, wire::MAX_PULL_LIMIT);
    let storage = state.storage.clone();
    let span = context.span("pull");
    let page = blocking(move || storage.pull(&context, query.after, limit))
        .instrument(span)
        .await?;
    Ok(Json(wire::PullResponse {
        events: page.events,
        next: page.next,
        server_time_ms: crate::now_ms(),
    }))
}

async fn stock(
    context: TenantContext,
    State(state): State<AppState>,
    query: Result<Query<StockQuery>, QueryRejection>,
) -> Result<Json<wire::StockResponse>, AppError> {
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
    Ok(Json(wire::StockResponse {
        rows: view.rows,
        discrepancies: view.discrepancies,
        server_time_ms: crate::now_ms(),
    }))
}
