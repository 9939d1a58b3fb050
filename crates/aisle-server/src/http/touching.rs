//! `POST /v1/t/{tenant}/events/touching`: the events of the device's warehouse that touch
//! given stock keys, which a device re-fetches when a pulled page's stock checksum differs
//! from its own (see [`crate::touching`]).
//!
//! The same rules as the events endpoints: the tenant comes from the token alone (a path
//! naming another is refused and audited by the [`TenantContext`] extractor), an optional
//! `warehouse` must be the token's (else `403 warehouse_mismatch`, audited), and the keys
//! are always looked up in the token's warehouse.

use super::{blocking, AppState};
use crate::auth::TenantContext;
use crate::error::{AppError, Boundary};
use aisle_core::ids::WarehouseId;
use aisle_core::stock::StockKey;
use aisle_protocol::{KeyRef, TouchingRequest, TouchingResponse};
use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::value::RawValue;
use tracing::Instrument;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/v1/t/{tenant}/events/touching", post(events_touching))
}

/// The warehouse's events that touch any of the given stock keys, paged by seq.
#[utoipa::path(post, path = "/v1/t/{tenant}/events/touching", tag = "sync",
    params(("tenant" = uuid::Uuid, Path, description = "The tenant id; it must be the token's tenant")),
    request_body = TouchingRequest,
    responses(
        (status = 200, description = "Events touching the keys with `seq > after`, in seq order, at most `limit`", body = TouchingResponse),
        (status = 400, description = "`bad_json`: not the expected shape, a key that does not parse, no keys or more than 100; `bad_reads`: a bad `Aisle-Reads` header (events of kinds it leaves out are not in the answer: the pull brings them as envelopes)", body = crate::openapi::ErrorBody),
        (status = 401, description = "`bad_token` or `revoked_token`", body = crate::openapi::ErrorBody),
        (status = 403, description = "`tenant_mismatch` (or `warehouse_mismatch`): the request names another tenant or warehouse than the token's; audited", body = crate::openapi::ErrorBody),
        (status = 503, description = "`tenant_unavailable` (refused until an operator acts), or `database_unavailable` when the database is away or busy for now: retry after `Retry-After`", body = crate::openapi::ErrorBody),
    ),
    security(("device_token" = [])))]
pub(crate) async fn events_touching(
    context: TenantContext,
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    request: Result<Json<TouchingRequest>, JsonRejection>,
) -> Result<Json<TouchingResponse<Box<RawValue>>>, AppError> {
    let unread_kinds = super::reads::unread_kinds(&headers)?;
    let Json(request) = request.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::PayloadTooLarge
        } else {
            AppError::BadJson(rejection.body_text())
        }
    })?;
    if let Some(warehouse) = &request.warehouse {
        if warehouse.parse().ok() != Some(context.warehouse()) {
            let detail = format!("events touching keys of warehouse {warehouse:?}");
            return Err(context.refuse(&state, Boundary::Warehouse, detail).await);
        }
    }
    let keys = stock_keys(&request.keys, context.warehouse())?;
    let limit = request
        .limit
        .unwrap_or(aisle_protocol::DEFAULT_TOUCHING_LIMIT)
        .clamp(1, aisle_protocol::MAX_TOUCHING_LIMIT);
    let storage = state.storage.clone();
    let span = context.span("events_touching");
    let after = request.after;
    let n_keys = keys.len();
    let page = blocking(move || storage.events_touching(&context, &keys, after, limit))
        .instrument(span.clone())
        .await?;
    span.in_scope(|| {
        tracing::info!(
            n_keys,
            after,
            n_events = page.events.len(),
            "events touching keys"
        )
    });
    Ok(Json(TouchingResponse {
        events: super::reads::readable(page.events, unread_kinds.as_ref())?,
        next: page.next,
        server_time_ms: crate::now_ms(),
    }))
}

/// The wire keys as stock keys of `warehouse`: between 1 and
/// [`aisle_protocol::MAX_TOUCHING_KEYS`] of them (a key whose ids do not parse is refused as
/// `bad_json` when the body is decoded).
fn stock_keys(keys: &[KeyRef], warehouse: WarehouseId) -> Result<Vec<StockKey>, AppError> {
    if keys.is_empty() || keys.len() > aisle_protocol::MAX_TOUCHING_KEYS {
        return Err(AppError::BadJson(format!(
            "keys: between 1 and {} keys per request, got {}",
            aisle_protocol::MAX_TOUCHING_KEYS,
            keys.len()
        )));
    }
    Ok(keys.iter().map(|key| key.to_stock_key(warehouse)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_bounded_and_an_empty_lot_is_no_lot() {
        let warehouse = aisle_core::testkit::warehouse();
        let good = KeyRef {
            location: aisle_core::testkit::location(1),
            item: aisle_core::testkit::item(1),
            lot: Some(String::new()),
        };
        let parsed = stock_keys(std::slice::from_ref(&good), warehouse).expect("one good key");
        assert_eq!(parsed[0].lot, None, "an empty lot is no lot, as in storage");
        assert!(
            matches!(stock_keys(&[], warehouse), Err(AppError::BadJson(_))),
            "no keys is refused"
        );
        let too_many = vec![good; aisle_protocol::MAX_TOUCHING_KEYS + 1];
        assert!(
            matches!(stock_keys(&too_many, warehouse), Err(AppError::BadJson(_))),
            "more than the limit is refused"
        );
    }
}
