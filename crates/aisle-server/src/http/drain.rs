//! Refusing an oversized request body without losing the refusal.
//!
//! A handler that stops reading a body at the limit answers 413, and hyper then closes the
//! connection with the rest of the body still unread. The kernel answers unread data on a
//! closed socket with a TCP reset, which can reach the client before it has read the 413, so
//! the client sees "connection reset" instead of `payload_too_large` and its limits (a test
//! caught this two runs in five). So bodies are read here first: one within the limit is
//! handed on whole; one over it is read to its end and dropped, up to [`DRAIN_LIMIT`] bytes
//! and [`DRAIN_TIME`], and then refused, so the connection closes cleanly after the answer.
//! A body declared larger than the drain limit is refused at once.
//!
//! Every body read here first takes its size from the server's in-flight body budget
//! ([`crate::limits::Guards::reserve_body`]): its declared length, or the limit when the
//! length is not declared. It holds it until the request is answered; a request whose body
//! does not fit is refused with `503 server_busy`; its body is read and dropped as it
//! arrives (none of it kept), for the same reason as above.

use crate::error::AppError;
use crate::limits::Guards;
use aisle_protocol::MAX_BODY_BYTES;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use std::sync::Arc;
use std::time::Duration;

/// The most the server reads of a body it is going to refuse.
pub const DRAIN_LIMIT: usize = 64 << 20;
/// How long the server keeps reading a body it is going to refuse.
pub const DRAIN_TIME: Duration = Duration::from_secs(30);

pub async fn limit_body(
    State(guards): State<Arc<Guards>>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let declared = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > DRAIN_LIMIT as u64) {
        return AppError::PayloadTooLarge.into_response();
    }
    // A chunked body may be as large as the limit (and is kept only up to it); a request
    // with neither a length nor chunks has no body.
    let chunked = parts.headers.contains_key(TRANSFER_ENCODING);
    let reserved = match declared {
        Some(length) => (length as usize).min(MAX_BODY_BYTES + 1),
        None if chunked => MAX_BODY_BYTES + 1,
        None => 0,
    };
    let permit = match guards.reserve_body(reserved) {
        Ok(permit) => permit,
        Err(refusal) => {
            // Read and drop it (no memory is kept), so the client gets the 503, not a reset.
            discard(body).await;
            return refusal.into_response();
        }
    };
    match read(body).await {
        Ok(Some(bytes)) => {
            let response = next
                .run(Request::from_parts(parts, Body::from(bytes)))
                .await;
            drop(permit);
            response
        }
        Ok(None) => AppError::PayloadTooLarge.into_response(),
        Err(error) => AppError::BadJson(format!("the request body could not be read: {error}"))
            .into_response(),
    }
}

/// Reads a body to its end, keeping none of it, within the drain limits.
async fn discard(mut body: Body) {
    let mut seen = 0usize;
    let _ = tokio::time::timeout(DRAIN_TIME, async {
        while let Some(Ok(frame)) = body.frame().await {
            seen = seen.saturating_add(frame.data_ref().map_or(0, |data| data.len()));
            if seen > DRAIN_LIMIT {
                break;
            }
        }
    })
    .await;
}

/// The body if it is within [`MAX_BODY_BYTES`]; `None` once it has been read past it and
/// drained.
async fn read(mut body: Body) -> Result<Option<Bytes>, axum::Error> {
    let mut kept: Vec<u8> = Vec::new();
    let mut seen = 0usize;
    let drained = tokio::time::timeout(DRAIN_TIME, async {
        while let Some(frame) = body.frame().await {
            let Ok(data) = frame?.into_data() else {
                continue; // trailers
            };
            seen = seen.saturating_add(data.len());
            if seen <= MAX_BODY_BYTES {
                kept.extend_from_slice(&data);
            } else {
                kept = Vec::new();
                if seen > DRAIN_LIMIT {
                    break;
                }
            }
        }
        Ok::<(), axum::Error>(())
    })
    .await;
    match drained {
        Ok(result) => result?,
        // Too slow to drain: refuse anyway; the connection may then be reset.
        Err(_elapsed) if seen > MAX_BODY_BYTES => return Ok(None),
        Err(_elapsed) => {
            return Err(axum::Error::new(format!(
                "it did not arrive within {} s",
                DRAIN_TIME.as_secs()
            )))
        }
    }
    Ok((seen <= MAX_BODY_BYTES).then(|| Bytes::from(kept)))
}
