//! Every refusal in the documented `{code, message}` form.
//!
//! Handlers answer with [`AppError`], which already is. What is left are the answers axum
//! and its extractors make on their own (a `405` for a method a route does not serve, a
//! `415`, a `400` from a path it cannot parse): this middleware turns any error response
//! that is not JSON into `{code, message}` by its status. hyper's own answers, made before
//! there is a request (a request line or headers it cannot parse or that overflow its
//! buffer, past [`crate::limits::HYPER_MAX_HEADERS`] headers), cannot be reached from here
//! and stay bare; the `431` a client meets in practice is the middleware's
//! (`crate::limits`), in JSON.

use crate::error::{AppError, ErrorCode};
use axum::extract::Request;
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

pub async fn as_json(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error())
        || is_json
        || response.extensions().get::<ErrorCode>().is_some()
    {
        return response;
    }
    by_status(status).into_response()
}

/// The refusal a bare status stands for.
pub fn by_status(status: StatusCode) -> AppError {
    let (code, message) = match status {
        StatusCode::NOT_FOUND => return AppError::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => return AppError::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => return AppError::PayloadTooLarge,
        StatusCode::BAD_REQUEST => ("bad_request", "the request is not well-formed"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_media_type",
            "the request body must be application/json",
        ),
        StatusCode::LENGTH_REQUIRED => ("length_required", "the request needs a content length"),
        StatusCode::REQUEST_TIMEOUT => ("request_timeout", "the request took too long to arrive"),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => {
            return AppError::HeadersTooLarge(crate::limits::DEFAULT_MAX_HEADER_BYTES)
        }
        status if status.is_server_error() => ("internal", "internal error"),
        _ => ("bad_request", "the request was refused"),
    };
    AppError::Http {
        status,
        code,
        message: message.to_owned(),
    }
}
