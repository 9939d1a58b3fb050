//! `/v1/t/{tenant}/erp/webhooks…`: the tenant's ERP manages its own webhook endpoints with
//! an API key of scope `webhooks:manage` (docs/protocol.md, "ERP integration"), as the
//! operator does with `aisle-server webhook …`. An endpoint of another tenant is not found:
//! its id tells a caller nothing. URLs pass the server's target policy (https, public
//! addresses, resolved now and again at each delivery), which only the operator can widen.

use super::master::{json_error, ErpKeyRefusals, ErpWriteRefusals};
use super::{blocking, AppState};
use crate::auth::{IntegrationContext, WebhooksManage};
use crate::error::AppError;
use crate::registry::{WebhookId, WebhookRow};
use crate::webhooks::sign::Secret;
use aisle_protocol::{
    DeliveriesQuery, DeliveriesResponse, DeliveryView, DisableWebhook, NewWebhook, ReplayWebhook,
    RotateWebhook, WebhookCreated, WebhookSecret, WebhookView, WebhooksResponse,
};
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use tracing::Instrument;

/// How long a rotated-out secret signs too when the ERP names no overlap, and the most it
/// may name: a day, and a week.
const DEFAULT_OVERLAP_HOURS: u64 = 24;
const MAX_OVERLAP_HOURS: u64 = 168;
/// A disabling reason's length at most, in characters.
const MAX_REASON_CHARS: usize = 200;
/// The delivery log's page, by default and at most.
const DEFAULT_DELIVERIES: u32 = 50;
const MAX_DELIVERIES: u32 = 1_000;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/t/{tenant}/erp/webhooks", get(list).post(add))
        .route("/v1/t/{tenant}/erp/webhooks/deliveries", get(deliveries))
        .route("/v1/t/{tenant}/erp/webhooks/{id}/rotate", post(rotate))
        .route("/v1/t/{tenant}/erp/webhooks/{id}/disable", post(disable))
        .route("/v1/t/{tenant}/erp/webhooks/{id}/enable", post(enable))
        .route("/v1/t/{tenant}/erp/webhooks/{id}/replay", post(replay))
}

fn view(row: WebhookRow) -> WebhookView {
    WebhookView {
        id: *row.id.as_uuid(),
        url: row.url,
        event_types: row.event_types,
        enabled: row.enabled,
        disabled_reason: row.disabled_reason,
        created_ms: row.created_ms,
        previous_secret_until_ms: row.previous_until_ms,
    }
}

/// The endpoint `id` if it is `tenant`'s, or `404 not_found` (also for another tenant's:
/// the caller learns nothing of it). Blocking: it reads the registry.
fn own(
    registry: &dyn crate::Registry,
    tenant: aisle_core::ids::TenantId,
    id: WebhookId,
) -> Result<WebhookId, AppError> {
    match registry.webhook(id)? {
        Some(row) if row.tenant == tenant => Ok(id),
        _ => Err(AppError::NotFound),
    }
}

/// An endpoint id from the path; one that is not a UUID names no endpoint.
fn parse_id(id: &str) -> Result<WebhookId, AppError> {
    id.parse().map_err(|_| AppError::NotFound)
}

/// The tenant's endpoints, never their secrets.
#[utoipa::path(get, path = "/v1/t/{tenant}/erp/webhooks", tag = "erp",
    params(("tenant" = uuid::Uuid, Path, description = "The tenant id; it must be the key's tenant")),
    responses(
        (status = 200, description = "The tenant's endpoints", body = WebhooksResponse),
        ErpKeyRefusals,
    ),
    security(("api_key" = ["webhooks:manage"])))]
pub(crate) async fn list(
    context: IntegrationContext<WebhooksManage>,
    State(state): State<AppState>,
) -> Result<Json<WebhooksResponse>, AppError> {
    let registry = state.registry.clone();
    let tenant = context.tenant();
    let rows = blocking(move || registry.list_webhooks(tenant))
        .instrument(context.span("erp_webhooks"))
        .await?;
    Ok(Json(WebhooksResponse {
        webhooks: rows.into_iter().map(view).collect(),
    }))
}

/// Adds an endpoint; the answer carries its signing secret, shown this once.
#[utoipa::path(post, path = "/v1/t/{tenant}/erp/webhooks", tag = "erp",
    params(("tenant" = uuid::Uuid, Path, description = "The tenant id; it must be the key's tenant")),
    request_body = NewWebhook,
    responses(
        (status = 201, description = "Added; deliveries start with the next message", body = WebhookCreated),
        ErpWriteRefusals,
        (status = 422, description = "`invalid_record`: an unknown message type, or a URL the target policy refuses (not https, a private, link-local or metadata address, a name that does not resolve)", body = crate::openapi::ErrorBody),
    ),
    security(("api_key" = ["webhooks:manage"])))]
pub(crate) async fn add(
    context: IntegrationContext<WebhooksManage>,
    State(state): State<AppState>,
    body: Result<Json<NewWebhook>, JsonRejection>,
) -> Result<(StatusCode, Json<WebhookCreated>), AppError> {
    let Json(body) = body.map_err(json_error)?;
    crate::webhooks::check_types(&body.event_types).map_err(AppError::InvalidRecord)?;
    let refused = |error: crate::webhooks::target::TargetError| {
        AppError::InvalidRecord(format!("url: {error}"))
    };
    let url = state.webhook_policy.check_url(&body.url).map_err(refused)?;
    state
        .webhook_policy
        .connect_addrs(&url)
        .await
        .map_err(refused)?;
    let secret = Secret::from_key(crate::random_bytes::<32>());
    let exposed = secret.expose().to_owned();
    let registry = state.registry.clone();
    let tenant = context.tenant();
    let span = context.span("erp_webhook_add");
    let id = blocking(move || {
        registry.add_webhook(
            tenant,
            url.as_str(),
            &body.event_types,
            &secret,
            crate::now_ms(),
        )
    })
    .instrument(span.clone())
    .await?;
    span.in_scope(|| tracing::info!(webhook = %id, "webhook endpoint added by the ERP"));
    Ok((
        StatusCode::CREATED,
        Json(WebhookCreated {
            id: *id.as_uuid(),
            secret: exposed,
        }),
    ))
}

/// Gives an endpoint a new secret; the old one signs too for the overlap.
#[utoipa::path(post, path = "/v1/t/{tenant}/erp/webhooks/{id}/rotate", tag = "erp",
    params(
        ("tenant" = uuid::Uuid, Path, description = "The tenant id; it must be the key's tenant"),
        ("id" = uuid::Uuid, Path, description = "The endpoint"),
    ),
    request_body = RotateWebhook,
    responses(
        (status = 200, description = "The new secret, shown this once", body = WebhookSecret),
        ErpWriteRefusals,
        (status = 404, description = "`not_found`: no such endpoint in this tenant", body = crate::openapi::ErrorBody),
        (status = 422, description = "`invalid_record`: an overlap over 168 hours", body = crate::openapi::ErrorBody),
    ),
    security(("api_key" = ["webhooks:manage"])))]
pub(crate) async fn rotate(
    context: IntegrationContext<WebhooksManage>,
    State(state): State<AppState>,
    Path((_tenant, id)): Path<(String, String)>,
    body: Result<Json<RotateWebhook>, JsonRejection>,
) -> Result<Json<WebhookSecret>, AppError> {
    let Json(body) = body.map_err(json_error)?;
    let hours = body.overlap_hours.unwrap_or(DEFAULT_OVERLAP_HOURS);
    if hours > MAX_OVERLAP_HOURS {
        return Err(AppError::InvalidRecord(format!(
            "overlap_hours: at most {MAX_OVERLAP_HOURS}, not {hours}"
        )));
    }
    let span = context.span("erp_webhook_rotate");
    let id = parse_id(&id)?;
    let secret = Secret::from_key(crate::random_bytes::<32>());
    let exposed = secret.expose().to_owned();
    let now_ms = crate::now_ms();
    let until_ms = now_ms.saturating_add(hours as i64 * 3_600_000);
    let registry = state.registry.clone();
    let tenant = context.tenant();
    let rotated = blocking(move || {
        let id = own(&*registry, tenant, id)?;
        registry
            .rotate_webhook(id, &secret, until_ms, now_ms)
            .map_err(AppError::from)
    })
    .instrument(span)
    .await?;
    if !rotated {
        return Err(AppError::NotFound);
    }
    Ok(Json(WebhookSecret {
        secret: exposed,
        previous_secret_until_ms: until_ms,
    }))
}

/// Stops deliveries to an endpoint; its messages wait in the feed.
#[utoipa::path(post, path = "/v1/t/{tenant}/erp/webhooks/{id}/disable", tag = "erp",
    params(
        ("tenant" = uuid::Uuid, Path, description = "The tenant id; it must be the key's tenant"),
        ("id" = uuid::Uuid, Path, description = "The endpoint"),
    ),
    request_body = DisableWebhook,
    responses(
        (status = 200, description = "Disabled", body = WebhookView),
        ErpWriteRefusals,
        (status = 404, description = "`not_found`: no such endpoint in this tenant", body = crate::openapi::ErrorBody),
        (status = 422, description = "`invalid_record`: a reason over 200 characters", body = crate::openapi::ErrorBody),
    ),
    security(("api_key" = ["webhooks:manage"])))]
pub(crate) async fn disable(
    context: IntegrationContext<WebhooksManage>,
    State(state): State<AppState>,
    Path((_tenant, id)): Path<(String, String)>,
    body: Result<Json<DisableWebhook>, JsonRejection>,
) -> Result<Json<WebhookView>, AppError> {
    let Json(body) = body.map_err(json_error)?;
    let reason = body
        .reason
        .unwrap_or_else(|| "disabled by the ERP".to_owned());
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(AppError::InvalidRecord(format!(
            "reason: at most {MAX_REASON_CHARS} characters"
        )));
    }
    set_enabled(state, context, id, false, Some(reason)).await
}

/// Resumes deliveries to an endpoint, from the first message it has not taken.
#[utoipa::path(post, path = "/v1/t/{tenant}/erp/webhooks/{id}/enable", tag = "erp",
    params(
        ("tenant" = uuid::Uuid, Path, description = "The tenant id; it must be the key's tenant"),
        ("id" = uuid::Uuid, Path, description = "The endpoint"),
    ),
    responses(
        (status = 200, description = "Enabled", body = WebhookView),
        ErpKeyRefusals,
        (status = 404, description = "`not_found`: no such endpoint in this tenant", body = crate::openapi::ErrorBody),
    ),
    security(("api_key" = ["webhooks:manage"])))]
pub(crate) async fn enable(
    context: IntegrationContext<WebhooksManage>,
    State(state): State<AppState>,
    Path((_tenant, id)): Path<(String, String)>,
) -> Result<Json<WebhookView>, AppError> {
    set_enabled(state, context, id, true, None).await
}

async fn set_enabled(
    state: AppState,
    context: IntegrationContext<WebhooksManage>,
    id: String,
    enabled: bool,
    reason: Option<String>,
) -> Result<Json<WebhookView>, AppError> {
    let span = context.span(if enabled {
        "erp_webhook_enable"
    } else {
        "erp_webhook_disable"
    });
    let id = parse_id(&id)?;
    let registry = state.registry.clone();
    let tenant = context.tenant();
    let row = blocking(move || {
        let id = own(&*registry, tenant, id)?;
        registry.set_webhook_enabled(id, enabled, reason.as_deref(), crate::now_ms())?;
        registry.webhook(id).map_err(AppError::from)
    })
    .instrument(span)
    .await?;
    row.map(|row| Json(view(row))).ok_or(AppError::NotFound)
}

/// Sends an endpoint's messages again from a feed position on.
#[utoipa::path(post, path = "/v1/t/{tenant}/erp/webhooks/{id}/replay", tag = "erp",
    params(
        ("tenant" = uuid::Uuid, Path, description = "The tenant id; it must be the key's tenant"),
        ("id" = uuid::Uuid, Path, description = "The endpoint"),
    ),
    request_body = ReplayWebhook,
    responses(
        (status = 202, description = "The worker sends from `from` on, in order", body = WebhookView),
        ErpWriteRefusals,
        (status = 404, description = "`not_found`: no such endpoint in this tenant", body = crate::openapi::ErrorBody),
        (status = 422, description = "`invalid_record`: `from` past the largest feed position", body = crate::openapi::ErrorBody),
    ),
    security(("api_key" = ["webhooks:manage"])))]
pub(crate) async fn replay(
    context: IntegrationContext<WebhooksManage>,
    State(state): State<AppState>,
    Path((_tenant, id)): Path<(String, String)>,
    body: Result<Json<ReplayWebhook>, JsonRejection>,
) -> Result<(StatusCode, Json<WebhookView>), AppError> {
    let Json(body) = body.map_err(json_error)?;
    // Feed positions are signed 64-bit in both databases.
    if body.from > i64::MAX as u64 {
        return Err(AppError::InvalidRecord(format!(
            "from: a feed position is at most {}",
            i64::MAX
        )));
    }
    let span = context.span("erp_webhook_replay");
    let id = parse_id(&id)?;
    let registry = state.registry.clone();
    let tenant = context.tenant();
    let row = blocking(move || {
        let id = own(&*registry, tenant, id)?;
        registry.replay_webhook(id, body.from.max(1), crate::now_ms())?;
        registry.webhook(id).map_err(AppError::from)
    })
    .instrument(span)
    .await?;
    let row = row.ok_or(AppError::NotFound)?;
    Ok((StatusCode::ACCEPTED, Json(view(row))))
}

/// The tenant's delivery log, newest first.
#[utoipa::path(get, path = "/v1/t/{tenant}/erp/webhooks/deliveries", tag = "erp",
    params(("tenant" = uuid::Uuid, Path, description = "The tenant id; it must be the key's tenant"), DeliveriesQuery),
    responses(
        (status = 200, description = "Attempts, newest first", body = DeliveriesResponse),
        (status = 400, description = "`bad_query`: `limit` not 1 to 1000, or `failed` not true or false", body = crate::openapi::ErrorBody),
        ErpKeyRefusals,
    ),
    security(("api_key" = ["webhooks:manage"])))]
pub(crate) async fn deliveries(
    context: IntegrationContext<WebhooksManage>,
    State(state): State<AppState>,
    query: Result<Query<DeliveriesQuery>, QueryRejection>,
) -> Result<Json<DeliveriesResponse>, AppError> {
    let Query(query) = query.map_err(|rejection| AppError::BadQuery(rejection.body_text()))?;
    let limit = query.limit.unwrap_or(DEFAULT_DELIVERIES);
    if !(1..=MAX_DELIVERIES).contains(&limit) {
        return Err(AppError::BadQuery(format!(
            "limit must be 1 to {MAX_DELIVERIES}, not {limit}"
        )));
    }
    let failed = query.failed.unwrap_or(false);
    let registry = state.registry.clone();
    let tenant = context.tenant();
    let rows = blocking(move || registry.webhook_deliveries(tenant, failed, limit))
        .instrument(context.span("erp_webhook_deliveries"))
        .await?;
    Ok(Json(DeliveriesResponse {
        deliveries: rows
            .into_iter()
            .map(|row| DeliveryView {
                endpoint: *row.endpoint.as_uuid(),
                position: row.position,
                message_id: row.message_id,
                attempt: row.attempt,
                at_ms: row.at_ms,
                outcome: row.outcome,
                status: row.status,
                error: row.error,
            })
            .collect(),
    }))
}
