//! `GET /v1/t/{tenant}/erp/feed`: the ERP's pull feed of business messages, for ERPs that
//! cannot take webhooks (docs/protocol.md, "ERP integration"). The same messages, in the
//! same order, as webhook deliveries: both read the tenant's outbox.

use super::master::ErpKeyRefusals;
use super::{blocking, AppState};
use crate::auth::{FeedRead, IntegrationContext};
use crate::error::AppError;
use aisle_protocol::{FeedQuery, FeedResponse, DEFAULT_FEED_LIMIT, MAX_FEED_LIMIT};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use tracing::Instrument;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/v1/t/{tenant}/erp/feed", get(erp_feed))
}

/// The tenant's business messages after a cursor, in order.
#[utoipa::path(get, path = "/v1/t/{tenant}/erp/feed", tag = "erp",
    params(("tenant" = uuid::Uuid, Path, description = "The tenant id; it must be the key's tenant"), FeedQuery),
    responses(
        (status = 200, description = "Messages with `position > after`, in order, and the cursor for the next page", body = FeedResponse),
        (status = 400, description = "`bad_query`: `after` or `limit` is not a whole number, or `limit` is not 1 to 1000", body = crate::openapi::ErrorBody),
        ErpKeyRefusals,
    ),
    security(("api_key" = ["feed:read"])))]
pub(crate) async fn erp_feed(
    context: IntegrationContext<FeedRead>,
    State(state): State<AppState>,
    query: Result<Query<FeedQuery>, QueryRejection>,
) -> Result<Json<FeedResponse>, AppError> {
    let Query(query) = query.map_err(|rejection| AppError::BadQuery(rejection.body_text()))?;
    let after = query.after.unwrap_or(0);
    let limit = query.limit.unwrap_or(DEFAULT_FEED_LIMIT);
    if !(1..=MAX_FEED_LIMIT).contains(&limit) {
        return Err(AppError::BadQuery(format!(
            "limit must be 1 to {MAX_FEED_LIMIT}, not {limit}"
        )));
    }
    let storage = state.storage.clone();
    let span = context.span("erp_feed");
    let messages = blocking(move || storage.erp_feed(&context, after, limit))
        .instrument(span)
        .await?;
    let next = messages.last().map_or(after, |entry| entry.position);
    Ok(Json(FeedResponse { messages, next }))
}
