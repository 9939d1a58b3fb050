//! Updates served by the tenant's own server (docs/protocol.md, "Updates"): a PC asks
//! whether a newer desktop is due for it, in the Tauri updater's format, and downloads the
//! artifact, both with its device token.
//!
//! - `GET /v1/t/{tenant}/updates/{target}/{current_version}`: `200` with
//!   `{ version, notes, url, signature }` when a release is due for this device (the
//!   tenant's channel, pin and rollout: [`crate::registry::releases::offer`]), else `204`.
//! - `GET /v1/t/{tenant}/updates/{target}/{version}/artifact`: the artifact's bytes,
//!   streamed from the data directory's file or the database's chunks.
//!
//! The server never signs anything: the signature is the one the operator added with the
//! release, made with the updater keys the PCs trust. A tampered artifact fails the PC's
//! check against it.

use super::{blocking, AppState};
use crate::auth::TenantContext;
use crate::error::AppError;
use crate::registry::{Artifact, Release};
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use std::io::Read as _;
use tracing::Instrument;

/// How much of a file artifact is read and sent at a time.
const READ_BYTES: usize = 256 * 1024;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/t/{tenant}/updates/{target}/{current_version}",
            get(check_update),
        )
        .route(
            "/v1/t/{tenant}/updates/{target}/{version}/artifact",
            get(download_artifact),
        )
}

/// A due update, in the Tauri updater's "dynamic server" format.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UpdateDue {
    pub version: String,
    pub notes: String,
    /// Where to download it: this server's artifact endpoint (same token).
    pub url: String,
    /// The updater signature of the artifact (base64 of a minisign signature).
    pub signature: String,
}

/// The base URL the PC reached this server at: `Host`, and `X-Forwarded-Proto` from a
/// TLS-terminating proxy (else http).
fn base_url(headers: &HeaderMap) -> Result<String, AppError> {
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .filter(|host| !host.is_empty() && !host.contains(['/', ' ', '@']))
        .ok_or_else(|| AppError::BadQuery("the request has no usable Host header".into()))?;
    let scheme = match headers
        .get("x-forwarded-proto")
        .and_then(|value| value.to_str().ok())
    {
        Some("https") => "https",
        _ => "http",
    };
    Ok(format!("{scheme}://{host}"))
}

/// Whether a newer desktop is due for this device.
#[utoipa::path(get, path = "/v1/t/{tenant}/updates/{target}/{current_version}", tag = "sync",
    params(
        ("tenant" = uuid::Uuid, Path, description = "The tenant id; it must be the token's tenant"),
        ("target" = String, Path, description = "The desktop's platform: linux-x86_64, windows-x86_64, darwin-aarch64, …"),
        ("current_version" = String, Path, description = "The desktop's version (semver)"),
    ),
    responses(
        (status = 200, description = "A release is due: the Tauri updater's format", body = UpdateDue),
        (status = 204, description = "Nothing is due for this device"),
        (status = 400, description = "`bad_query`: the version is not a semantic version", body = crate::openapi::ErrorBody),
        (status = 401, description = "`bad_token` or `revoked_token`", body = crate::openapi::ErrorBody),
        (status = 403, description = "`tenant_mismatch`: the path names another tenant than the token's; audited", body = crate::openapi::ErrorBody),
    ),
    security(("device_token" = [])))]
pub(crate) async fn check_update(
    context: TenantContext,
    State(state): State<AppState>,
    Path((_tenant, target, current_version)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let current = semver::Version::parse(&current_version).map_err(|error| {
        AppError::BadQuery(format!(
            "current_version {current_version:?} is not a semantic version: {error}"
        ))
    })?;
    let base = base_url(&headers)?;
    let registry = state.registry.clone();
    let (tenant, device) = (context.tenant(), context.device());
    let span = context.span("check_update");
    let due = blocking(move || {
        let policy = registry.update_policy(tenant)?;
        let releases = registry.releases()?;
        Ok::<_, crate::error::ServerError>(
            crate::registry::releases::offer(&releases, &policy, &target, &current, device)
                .cloned(),
        )
    })
    .instrument(span.clone())
    .await?;
    span.in_scope(|| {
        tracing::info!(
            current = %current_version,
            offered = due.as_ref().map(|release| release.version.to_string()),
            "update check"
        )
    });
    Ok(match due {
        None => StatusCode::NO_CONTENT.into_response(),
        Some(release) => Json(UpdateDue {
            url: format!(
                "{base}/v1/t/{tenant}/updates/{}/{}/artifact",
                release.target, release.version
            ),
            version: release.version.to_string(),
            notes: release.notes,
            signature: release.signature,
        })
        .into_response(),
    })
}

/// A release's artifact.
#[utoipa::path(get, path = "/v1/t/{tenant}/updates/{target}/{version}/artifact", tag = "sync",
    params(
        ("tenant" = uuid::Uuid, Path, description = "The tenant id; it must be the token's tenant"),
        ("target" = String, Path, description = "The release's platform"),
        ("version" = String, Path, description = "The release's version"),
    ),
    responses(
        (status = 200, description = "The artifact's bytes", content_type = "application/octet-stream"),
        (status = 401, description = "`bad_token` or `revoked_token`", body = crate::openapi::ErrorBody),
        (status = 403, description = "`tenant_mismatch`; audited", body = crate::openapi::ErrorBody),
        (status = 404, description = "`not_found`: no such release", body = crate::openapi::ErrorBody),
    ),
    security(("device_token" = [])))]
pub(crate) async fn download_artifact(
    context: TenantContext,
    State(state): State<AppState>,
    Path((_tenant, target, version)): Path<(String, String, String)>,
) -> Result<Response, AppError> {
    let registry = state.registry.clone();
    let span = context.span("download_update");
    let found = blocking(move || {
        let Some(release) = registry.release(&target, &version)? else {
            return Ok(None);
        };
        let artifact = registry.release_artifact(&release)?;
        Ok::<_, crate::error::ServerError>(Some((release, artifact)))
    })
    .instrument(span.clone())
    .await?;
    let Some((release, artifact)) = found else {
        return Err(AppError::NotFound);
    };
    span.in_scope(
        || tracing::info!(version = %release.version, size = release.size, "update download"),
    );
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let registry = state.registry.clone();
    let size = release.size;
    let file_name = release.file_name.clone();
    tokio::task::spawn_blocking(move || send_artifact(&*registry, &release, artifact, &sender));
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (header::CONTENT_LENGTH, size.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file_name}\""),
            ),
        ],
        Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(receiver)),
    )
        .into_response())
}

/// Reads the artifact piece by piece into the answer's channel; a reader that went away
/// ends it, and a read error ends the answer early (the PC's size and signature checks
/// then refuse what it got).
fn send_artifact(
    registry: &dyn crate::Registry,
    release: &Release,
    artifact: Artifact,
    sender: &tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
) {
    let send = |piece: Result<Bytes, std::io::Error>| sender.blocking_send(piece).is_ok();
    match artifact {
        Artifact::File(path) => {
            let mut file = match std::fs::File::open(&path) {
                Ok(file) => file,
                Err(error) => {
                    send(Err(error));
                    return;
                }
            };
            let mut buffer = vec![0u8; READ_BYTES];
            loop {
                match file.read(&mut buffer) {
                    Ok(0) => return,
                    Ok(n) => {
                        if !send(Ok(Bytes::copy_from_slice(&buffer[..n]))) {
                            return;
                        }
                    }
                    Err(error) => {
                        send(Err(error));
                        return;
                    }
                }
            }
        }
        Artifact::Chunks { n } => {
            for index in 0..n {
                let piece = registry
                    .release_chunk(release, index)
                    .map(Bytes::from)
                    .map_err(|error| std::io::Error::other(error.to_string()));
                let failed = piece.is_err();
                if !send(piece) || failed {
                    return;
                }
            }
        }
    }
}
