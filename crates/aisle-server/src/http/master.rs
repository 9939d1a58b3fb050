//! Master data over HTTP: the devices' download (`GET /v1/t/{tenant}/master`) and the ERP
//! integration API (`/v1/t/{tenant}/erp/...`).
//!
//! Handlers stay thin: the extractor authenticates ([`TenantContext`] for devices,
//! [`IntegrationContext`] with the scope the route needs for ERPs), the body is decoded into
//! wire types and converted to [`crate::master`]'s domain types by their `TryFrom`
//! conversions (`master/erp.rs`; warehouses named by name or id are resolved among the
//! key's own tenant's warehouses only), and one storage call does the rest. A bad record is
//! `422 invalid_record`, naming it by its path in the body; nothing of the batch is written.

use super::{blocking, AppState};
use crate::auth::{IntegrationContext, MasterWrite, StockRead, TenantContext};
use crate::error::AppError;
use crate::master::{
    self, ErpRecord, ErpUserRecord, NewItem, NewLocation, NewPickList, NewUser, Upsert,
};
use aisle_protocol::{
    self, ErpCancelQuery, ErpCancelResponse, ErpExpectedReceipts, ErpItems, ErpLocations,
    ErpPickLists, ErpStockQuery, ErpStockResponse, ErpUpsertResponse, ErpUsers, MasterQuery,
    MasterResponse,
};
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::{get, put};
use axum::{Json, Router};
use tracing::Instrument;
use utoipa::openapi::{RefOr, Response};

/// The refusals every ERP route can give for its key, once for all of them.
pub(crate) struct ErpKeyRefusals;

/// [`ErpKeyRefusals`], and those of a body: what every ERP upsert can refuse alike.
pub(crate) struct ErpWriteRefusals;

const KEY_REFUSALS: [(u16, &str); 3] = [
    (401, "`bad_token` (no or an unknown key) or `revoked_key` (audited)"),
    (403, "`tenant_mismatch`: the path names another tenant than the key's (audited); `missing_scope`: the key lacks the scope (audited)"),
    (503, "`tenant_unavailable` (refused until an operator acts), or `database_unavailable` when the database is away or busy for now: retry after `Retry-After`"),
];

const BODY_REFUSALS: [(u16, &str); 2] = [
    (400, "`bad_json`"),
    (413, "`payload_too_large`: more than 4 MiB"),
];

/// Responses of `{code, message}` bodies, by status.
fn error_responses<'a>(
    table: impl IntoIterator<Item = &'a (u16, &'a str)>,
) -> std::collections::BTreeMap<String, RefOr<Response>> {
    table
        .into_iter()
        .map(|(status, description)| {
            let response = utoipa::openapi::ResponseBuilder::new()
                .description(*description)
                .content(
                    "application/json",
                    utoipa::openapi::ContentBuilder::new()
                        .schema(Some(utoipa::openapi::Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build();
            (status.to_string(), RefOr::T(response))
        })
        .collect()
}

impl utoipa::IntoResponses for ErpKeyRefusals {
    fn responses() -> std::collections::BTreeMap<String, RefOr<Response>> {
        error_responses(&KEY_REFUSALS)
    }
}

impl utoipa::IntoResponses for ErpWriteRefusals {
    fn responses() -> std::collections::BTreeMap<String, RefOr<Response>> {
        error_responses(KEY_REFUSALS.iter().chain(&BODY_REFUSALS))
    }
}

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/t/{tenant}/master", get(master_changes))
        .route("/v1/t/{tenant}/erp/items", put(put_items))
        .route("/v1/t/{tenant}/erp/locations", put(put_locations))
        .route("/v1/t/{tenant}/erp/users", put(put_users))
        .route("/v1/t/{tenant}/erp/pick_lists", put(put_pick_lists))
        .route(
            "/v1/t/{tenant}/erp/expected_receipts",
            put(put_expected_receipts),
        )
        .route(
            "/v1/t/{tenant}/erp/pick_lists/{reference}/cancel",
            axum::routing::post(cancel_pick_list),
        )
        .route("/v1/t/{tenant}/erp/stock", get(erp_stock))
}

pub(super) fn json_error(rejection: JsonRejection) -> AppError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::PayloadTooLarge
    } else {
        AppError::BadJson(rejection.body_text())
    }
}

fn query_error(rejection: QueryRejection) -> AppError {
    AppError::BadQuery(rejection.body_text())
}

/// Master-data rows changed after a version: the tenant's items and users, the device's
/// warehouse's locations and pick lists.
#[utoipa::path(get, path = "/v1/t/{tenant}/master", tag = "sync",
    params(("tenant" = uuid::Uuid, Path, description = "The tenant id; it must be the token's tenant"), MasterQuery),
    responses(
        (status = 200, description = "Rows with `version > after`, at most `limit`", body = MasterResponse),
        (status = 400, description = "`bad_query`", body = crate::openapi::ErrorBody),
        (status = 401, description = "`bad_token` or `revoked_token`", body = crate::openapi::ErrorBody),
        (status = 403, description = "`tenant_mismatch`: the path names another tenant than the token's; audited", body = crate::openapi::ErrorBody),
        (status = 503, description = "`tenant_unavailable` (refused until an operator acts), or `database_unavailable` when the database is away or busy for now: retry after `Retry-After`", body = crate::openapi::ErrorBody),
    ),
    security(("device_token" = [])))]
pub(crate) async fn master_changes(
    context: TenantContext,
    State(state): State<AppState>,
    query: Result<Query<MasterQuery>, QueryRejection>,
) -> Result<Json<MasterResponse>, AppError> {
    let Query(query) = query.map_err(query_error)?;
    let limit = query
        .limit
        .unwrap_or(aisle_protocol::DEFAULT_MASTER_LIMIT)
        .clamp(1, aisle_protocol::MAX_MASTER_LIMIT);
    let storage = state.storage.clone();
    let registry = state.registry.clone();
    let span = context.span("master");
    let (page, devices) = blocking(move || {
        let page = storage.master_changes(&context, query.after, limit)?;
        let devices = registry.warehouse_devices(&context)?;
        Ok::<_, crate::ServerError>((page, devices))
    })
    .instrument(span)
    .await?;
    Ok(Json(MasterResponse {
        items: page.items,
        locations: page.locations,
        users: page.users,
        pick_lists: page.pick_lists,
        expected_receipts: page.expected_receipts,
        devices,
        next: page.next,
        server_time_ms: crate::now_ms(),
        pin_policy: Some(aisle_protocol::MasterPinPolicy {
            picker_min_digits: page.pin_policy.picker_min_digits,
            manager_min_digits: page.pin_policy.manager_min_digits,
        }),
    }))
}

/// The answer to a batch: how much was written, or which record was refused.
fn answer(outcome: Upsert, collection: &str) -> Result<Json<ErpUpsertResponse>, AppError> {
    match outcome {
        Ok(upserted) => {
            tracing::info!(
                collection,
                n_records = upserted.n_records,
                version = upserted.version,
                "master data upserted"
            );
            Ok(Json(ErpUpsertResponse {
                upserted: upserted.n_records,
                version: upserted.version,
            }))
        }
        Err(refused) => Err(AppError::InvalidRecord(refused.describe(collection))),
    }
}

/// The most users with a plain `pin` one ERP request may carry.
pub const MAX_PLAIN_PINS: usize = 50;

/// Upserts items by SKU, with their barcodes and pack sizes.
#[utoipa::path(put, path = "/v1/t/{tenant}/erp/items", tag = "erp",
    params(("tenant" = uuid::Uuid, Path, description = "The tenant id; it must be the key's tenant")),
    request_body = ErpItems,
    responses(
        (status = 200, description = "Every record written, in one transaction", body = ErpUpsertResponse),
        ErpWriteRefusals,
        (status = 422, description = "`invalid_record`: the first bad record, by its path in the body; nothing was written", body = crate::openapi::ErrorBody),
    ),
    security(("api_key" = ["master:write"])))]
pub(crate) async fn put_items(
    context: IntegrationContext<MasterWrite>,
    State(state): State<AppState>,
    body: Result<Json<ErpItems>, JsonRejection>,
) -> Result<Json<ErpUpsertResponse>, AppError> {
    let Json(body) = body.map_err(json_error)?;
    let tenant = context.tenant();
    let items: Vec<NewItem> = body.items.into_iter().map(NewItem::from).collect();
    let storage = state.storage.clone();
    let span = context.span("erp_items");
    let outcome = blocking(move || storage.upsert_items(&context, &items, crate::now_ms()))
        .instrument(span)
        .await?;
    // Committed: the tenant's waiting pulls wake and their devices fetch master data.
    state.live.master_changed(tenant);
    answer(outcome, "items")
}

/// Upserts locations by warehouse and code.
#[utoipa::path(put, path = "/v1/t/{tenant}/erp/locations", tag = "erp",
    params(("tenant" = uuid::Uuid, Path, description = "The tenant id; it must be the key's tenant")),
    request_body = ErpLocations,
    responses(
        (status = 200, description = "Every record written, in one transaction", body = ErpUpsertResponse),
        ErpWriteRefusals,
        (status = 422, description = "`invalid_record`: the first bad record, by its path in the body; nothing was written", body = crate::openapi::ErrorBody),
    ),
    security(("api_key" = ["master:write"])))]
pub(crate) async fn put_locations(
    context: IntegrationContext<MasterWrite>,
    State(state): State<AppState>,
    body: Result<Json<ErpLocations>, JsonRejection>,
) -> Result<Json<ErpUpsertResponse>, AppError> {
    let Json(body) = body.map_err(json_error)?;
    let tenant = context.tenant();
    let (registry, storage) = (state.registry.clone(), state.storage.clone());
    let span = context.span("erp_locations");
    let outcome = blocking(move || -> Result<Upsert, AppError> {
        let warehouses = registry.list_warehouses(context.tenant())?;
        let locations = ErpRecord::batch(body.locations, &warehouses)
            .map(NewLocation::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(storage.upsert_locations(&context, &locations, crate::now_ms())?)
    })
    .instrument(span)
    .await?;
    // Committed: the tenant's waiting pulls wake and their devices fetch master data.
    state.live.master_changed(tenant);
    answer(outcome, "locations")
}

/// Upserts users by badge, with the warehouses they work in; a PIN as a plain `pin` (checked
/// against the tenant's minimum and hashed here) or as an argon2id `pin_hash` of at least
/// the server's PIN cost.
#[utoipa::path(put, path = "/v1/t/{tenant}/erp/users", tag = "erp",
    params(("tenant" = uuid::Uuid, Path, description = "The tenant id; it must be the key's tenant")),
    request_body = ErpUsers,
    responses(
        (status = 200, description = "Every record written, in one transaction", body = ErpUpsertResponse),
        ErpWriteRefusals,
        (status = 422, description = "`invalid_record`: the first bad record, by its path in the body; `pin_too_short`: a plain `pin` shorter than the tenant's minimum for the role; `weak_pin_hash`: a `pin_hash` made at less than the server's PIN cost. Nothing was written", body = crate::openapi::ErrorBody),
    ),
    security(("api_key" = ["master:write"])))]
pub(crate) async fn put_users(
    context: IntegrationContext<MasterWrite>,
    State(state): State<AppState>,
    body: Result<Json<ErpUsers>, JsonRejection>,
) -> Result<Json<ErpUpsertResponse>, AppError> {
    let Json(body) = body.map_err(json_error)?;
    let tenant = context.tenant();
    let (registry, storage) = (state.registry.clone(), state.storage.clone());
    let span = context.span("erp_users");
    let outcome = blocking(move || -> Result<Upsert, AppError> {
        let warehouses = registry.list_warehouses(context.tenant())?;
        let pin_policy = storage.pin_policy(&context)?;
        // Each plain PIN costs a hash at the PIN cost (about 250 ms and 128 MiB), so one
        // request may carry only so many; more go in further requests, or as hashes.
        let n_plain = body.users.iter().filter(|user| user.pin.is_some()).count();
        if n_plain > MAX_PLAIN_PINS {
            return Err(AppError::InvalidRecord(format!(
                "users: {n_plain} users carry a plain `pin`, at most {MAX_PLAIN_PINS} per request may (each is hashed at the PIN cost): split the request or send `pin_hash`"
            )));
        }
        let users = ErpRecord::batch(body.users, &warehouses)
            .map(|user| NewUser::try_from(ErpUserRecord { user, pin_policy }))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(storage.upsert_users(&context, &users, crate::now_ms())?)
    })
    .instrument(span)
    .await?;
    // Committed: the tenant's waiting pulls wake and their devices fetch master data.
    state.live.master_changed(tenant);
    answer(outcome, "users")
}

/// Upserts pick lists by warehouse and reference; a list's lines replace its earlier ones.
#[utoipa::path(put, path = "/v1/t/{tenant}/erp/pick_lists", tag = "erp",
    params(("tenant" = uuid::Uuid, Path, description = "The tenant id; it must be the key's tenant")),
    request_body = ErpPickLists,
    responses(
        (status = 200, description = "Every record written, in one transaction", body = ErpUpsertResponse),
        ErpWriteRefusals,
        (status = 422, description = "`invalid_record`: the first bad record, by its path in the body; nothing was written", body = crate::openapi::ErrorBody),
    ),
    security(("api_key" = ["master:write"])))]
pub(crate) async fn put_pick_lists(
    context: IntegrationContext<MasterWrite>,
    State(state): State<AppState>,
    body: Result<Json<ErpPickLists>, JsonRejection>,
) -> Result<Json<ErpUpsertResponse>, AppError> {
    let Json(body) = body.map_err(json_error)?;
    let tenant = context.tenant();
    let (registry, storage) = (state.registry.clone(), state.storage.clone());
    let span = context.span("erp_pick_lists");
    let outcome = blocking(move || -> Result<Upsert, AppError> {
        let warehouses = registry.list_warehouses(context.tenant())?;
        let lists = ErpRecord::batch(body.pick_lists, &warehouses)
            .map(NewPickList::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(storage.upsert_pick_lists(&context, &lists, crate::now_ms())?)
    })
    .instrument(span)
    .await?;
    // Committed: the tenant's waiting pulls wake and their devices fetch master data.
    state.live.master_changed(tenant);
    answer(outcome, "pick_lists")
}

/// Upserts expected receipts (inbound ASNs) by warehouse and reference; a receipt's lines
/// replace its earlier ones. Devices of the warehouse pull them with master data and offer
/// them on the Receive screen.
#[utoipa::path(put, path = "/v1/t/{tenant}/erp/expected_receipts", tag = "erp",
    params(("tenant" = uuid::Uuid, Path, description = "The tenant id; it must be the key's tenant")),
    request_body = ErpExpectedReceipts,
    responses(
        (status = 200, description = "Every record written, in one transaction", body = ErpUpsertResponse),
        ErpWriteRefusals,
        (status = 422, description = "`invalid_record`: the first bad record, by its path in the body; nothing was written", body = crate::openapi::ErrorBody),
    ),
    security(("api_key" = ["master:write"])))]
pub(crate) async fn put_expected_receipts(
    context: IntegrationContext<MasterWrite>,
    State(state): State<AppState>,
    body: Result<Json<ErpExpectedReceipts>, JsonRejection>,
) -> Result<Json<ErpUpsertResponse>, AppError> {
    let Json(body) = body.map_err(json_error)?;
    let tenant = context.tenant();
    let (registry, storage) = (state.registry.clone(), state.storage.clone());
    let span = context.span("erp_expected_receipts");
    let outcome = blocking(move || -> Result<Upsert, AppError> {
        let warehouses = registry.list_warehouses(context.tenant())?;
        let receipts = ErpRecord::batch(body.expected_receipts, &warehouses)
            .map(crate::master::NewExpectedReceipt::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(storage.upsert_expected_receipts(&context, &receipts, crate::now_ms())?)
    })
    .instrument(span)
    .await?;
    // Committed: the tenant's waiting pulls wake and their devices fetch master data.
    state.live.master_changed(tenant);
    answer(outcome, "expected_receipts")
}

/// Cancels a pick list for the ERP: a SAGA step with compensation. The server records a
/// `pick_list_cancelled` event, which devices pull at once (the live channel wakes them),
/// and marks the list `cancelled` in master data. Lines not picked leave the floor; what
/// was picked becomes put-back work on every PC, including picks made offline that sync
/// later; `pick_list.cancelled` is sent once everything picked is back (at once when
/// nothing was). Cancelling again answers as the first time.
#[utoipa::path(post, path = "/v1/t/{tenant}/erp/pick_lists/{reference}/cancel", tag = "erp",
    params(
        ("tenant" = uuid::Uuid, Path, description = "The tenant id; it must be the key's tenant"),
        ("reference" = String, Path, description = "The ERP's reference for the pick list"),
        ErpCancelQuery,
    ),
    responses(
        (status = 200, description = "The list is cancelled (now, or by an earlier request: `already_cancelled`)", body = ErpCancelResponse),
        (status = 400, description = "`bad_query`: no such warehouse in this tenant", body = crate::openapi::ErrorBody),
        (status = 404, description = "`pick_list_not_found`: no pick list of the tenant has the reference", body = crate::openapi::ErrorBody),
        (status = 409, description = "`pick_list_complete`: every line is picked or reported short (or the ERP marked it done), so there is nothing to cancel; `ambiguous_reference`: the reference is used in several warehouses, name one with `?warehouse=`", body = crate::openapi::ErrorBody),
        ErpKeyRefusals,
    ),
    security(("api_key" = ["master:write"])))]
pub(crate) async fn cancel_pick_list(
    context: IntegrationContext<MasterWrite>,
    State(state): State<AppState>,
    axum::extract::Path((_, reference)): axum::extract::Path<(uuid::Uuid, String)>,
    query: Result<Query<ErpCancelQuery>, QueryRejection>,
) -> Result<Json<ErpCancelResponse>, AppError> {
    let Query(query) = query.map_err(query_error)?;
    let tenant = context.tenant();
    let (registry, storage) = (state.registry.clone(), state.storage.clone());
    let span = context.span("erp_cancel_pick_list");
    let asked = reference.clone();
    let cancelled = blocking(move || -> Result<_, AppError> {
        let warehouse = match query.warehouse.as_deref().filter(|w| !w.is_empty()) {
            None => None,
            Some(id_or_name) => {
                let warehouses = registry.list_warehouses(context.tenant())?;
                let found = master::resolve_warehouse(&warehouses, id_or_name);
                Some(found.ok_or_else(|| {
                    AppError::BadQuery(format!("no warehouse {id_or_name:?} in this tenant"))
                })?)
            }
        };
        Ok(storage.cancel_pick_list(&context, &asked, warehouse, crate::now_ms())?)
    })
    .instrument(span)
    .await?;
    let refused = |status, code, message: String| AppError::Http {
        status,
        code,
        message,
    };
    match cancelled {
        crate::storage::Cancellation::Cancelled {
            pick_list,
            warehouse,
            event,
            seq,
            already,
        } => {
            if !already {
                // Committed: the warehouse's devices pull the event, and the master change.
                state.live.pushed(tenant, warehouse);
                state.live.master_changed(tenant);
            }
            Ok(Json(ErpCancelResponse {
                pick_list,
                reference,
                warehouse,
                cancellation: event,
                seq: seq as u64,
                already_cancelled: already,
            }))
        }
        crate::storage::Cancellation::Unknown => Err(refused(
            StatusCode::NOT_FOUND,
            "pick_list_not_found",
            format!("no pick list of this tenant has the reference {reference:?}"),
        )),
        crate::storage::Cancellation::Ambiguous => Err(refused(
            StatusCode::CONFLICT,
            "ambiguous_reference",
            format!(
                "pick lists of several warehouses have the reference {reference:?}: name one with ?warehouse="
            ),
        )),
        crate::storage::Cancellation::Complete => Err(refused(
            StatusCode::CONFLICT,
            "pick_list_complete",
            format!(
                "pick list {reference:?} is complete (every line picked or reported short): there is nothing to cancel"
            ),
        )),
    }
}

/// On-hand stock of the key's tenant, of one warehouse when asked.
#[utoipa::path(get, path = "/v1/t/{tenant}/erp/stock", tag = "erp",
    params(("tenant" = uuid::Uuid, Path, description = "The tenant id; it must be the key's tenant"), ErpStockQuery),
    responses(
        (status = 200, description = "On-hand rows with SKUs and location codes", body = ErpStockResponse),
        (status = 400, description = "`bad_query`: e.g. no such warehouse in this tenant", body = crate::openapi::ErrorBody),
        ErpKeyRefusals,
    ),
    security(("api_key" = ["stock:read"])))]
pub(crate) async fn erp_stock(
    context: IntegrationContext<StockRead>,
    State(state): State<AppState>,
    query: Result<Query<ErpStockQuery>, QueryRejection>,
) -> Result<Json<ErpStockResponse>, AppError> {
    let Query(query) = query.map_err(query_error)?;
    let (registry, storage) = (state.registry.clone(), state.storage.clone());
    let span = context.span("erp_stock");
    let rows = blocking(move || -> Result<_, AppError> {
        let warehouse = match query.warehouse.as_deref().filter(|w| !w.is_empty()) {
            None => None,
            Some(id_or_name) => {
                let warehouses = registry.list_warehouses(context.tenant())?;
                let found = master::resolve_warehouse(&warehouses, id_or_name);
                Some(found.ok_or_else(|| {
                    AppError::BadQuery(format!("no warehouse {id_or_name:?} in this tenant"))
                })?)
            }
        };
        Ok(storage.tenant_stock(&context, warehouse)?)
    })
    .instrument(span)
    .await?;
    Ok(Json(ErpStockResponse {
        rows,
        server_time_ms: crate::now_ms(),
    }))
}
