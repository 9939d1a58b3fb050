//! The HTTP client for protocol v1: one method per endpoint, each answer paired with the
//! clock sample its exchange gave.
//!
//! Every non-2xx answer becomes [`SyncError::Server`] with the server's stable `code` and
//! any `Retry-After`; no answer at all is [`SyncError::Transport`]. The token goes into the
//! `Authorization` header and nowhere else.

use crate::clock::ClockSample;
use crate::enroll::check_server_url;
use crate::token::Token;
use crate::{system_now_ms, SyncConfig, SyncError};
use aisle_core::ids::TenantId;
use aisle_core::stock::StockKey;
use aisle_core::Event;
use aisle_protocol::{
    ErrorBody, KeyRef, MasterResponse, PushRequest, PushResponse, TouchingRequest,
    TouchingResponse, MAX_TOUCHING_KEYS,
};
use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::Url;
use serde::de::DeserializeOwned;
use std::time::Duration;

/// A pulled page as the device reads it: the events it reads, decoded, and envelopes of
/// those it does not, with their JSON kept raw.
pub type PullResponse = aisle_protocol::PullResponse<Event, Box<serde_json::value::RawValue>>;

/// An answer and the clock sample taken around it.
#[derive(Debug)]
pub struct Exchange<T> {
    pub body: T,
    pub sample: ClockSample,
    /// The `Aisle-Live` answer header of a pull that asked to wait: why it answered.
    pub live: Option<String>,
}

/// A client for one enrolled device.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    tenant: TenantId,
    token: Token,
}

impl Client {
    /// A client for `server_url`, refusing plain http to anything but loopback unless
    /// `allow_insecure_http`.
    pub fn new(
        server_url: &str,
        allow_insecure_http: bool,
        tenant: TenantId,
        token: Token,
        config: &SyncConfig,
    ) -> Result<Self, SyncError> {
        let base = check_server_url(server_url, allow_insecure_http)?;
        Ok(Self {
            http: http_client(config)?,
            base,
            tenant,
            token,
        })
    }

    fn url(&self, path: &str) -> Url {
        // `check_server_url` made sure the base ends with a slash, so the join appends.
        self.base
            .join(path.trim_start_matches('/'))
            .expect("a relative path joins onto an http(s) url")
    }

    /// `POST /v1/t/{tenant}/events`.
    pub async fn push(&self, events: &[Event]) -> Result<Exchange<PushResponse>, SyncError> {
        let request = self
            .http
            .post(self.url(&format!("v1/t/{}/events", self.tenant)))
            .bearer_auth(self.token.expose())
            .json(&PushRequest { events });
        let exchange: Exchange<PushResponse> =
            send(request, |body: &PushResponse| body.server_time_ms).await?;
        if exchange.body.results.len() != events.len() {
            return Err(SyncError::Protocol(format!(
                "{} results for {} events",
                exchange.body.results.len(),
                events.len()
            )));
        }
        Ok(exchange)
    }

    /// `GET /v1/t/{tenant}/events?after=&limit=`.
    pub async fn pull(&self, after: u64, limit: u32) -> Result<Exchange<PullResponse>, SyncError> {
        let request = self
            .http
            .get(self.url(&format!(
                "v1/t/{}/events?after={after}&limit={limit}",
                self.tenant
            )))
            .bearer_auth(self.token.expose());
        send(request, |body: &PullResponse| body.server_time_ms).await
    }

    /// `GET /v1/t/{tenant}/events?after=&limit=&wait=`: live sync's pull, which the server
    /// holds up to `wait` when nothing is after `after` (docs/protocol.md, "Live sync").
    /// The request may take `wait` longer than any other.
    pub async fn pull_waiting(
        &self,
        after: u64,
        limit: u32,
        wait: Duration,
        request_timeout: Duration,
    ) -> Result<Exchange<PullResponse>, SyncError> {
        let request = self
            .http
            .get(self.url(&format!(
                "v1/t/{}/events?after={after}&limit={limit}&wait={}",
                self.tenant,
                wait.as_secs()
            )))
            .timeout(wait + request_timeout)
            .bearer_auth(self.token.expose());
        send(request, |body: &PullResponse| body.server_time_ms).await
    }

    /// `POST /v1/t/{tenant}/events/touching`: the events touching `keys` (at most
    /// [`MAX_TOUCHING_KEYS`]) with `seq > after`, at most `limit` of them.
    pub async fn events_touching(
        &self,
        keys: &[StockKey],
        after: u64,
        limit: u32,
    ) -> Result<Exchange<TouchingResponse>, SyncError> {
        debug_assert!(
            keys.len() <= MAX_TOUCHING_KEYS,
            "the caller splits the keys"
        );
        let request = self
            .http
            .post(self.url(&format!("v1/t/{}/events/touching", self.tenant)))
            .bearer_auth(self.token.expose())
            .json(&TouchingRequest {
                keys: keys.iter().map(KeyRef::new).collect(),
                after,
                limit: Some(limit),
                warehouse: None,
            });
        send(request, |body: &TouchingResponse| body.server_time_ms).await
    }

    /// `GET /v1/t/{tenant}/master?after=` (`None` when the server has no such endpoint yet).
    pub async fn master(&self, after: u64) -> Result<Option<Exchange<MasterResponse>>, SyncError> {
        let request = self
            .http
            .get(self.url(&format!("v1/t/{}/master?after={after}", self.tenant)))
            .bearer_auth(self.token.expose());
        match send(request, |body: &MasterResponse| body.server_time_ms).await {
            Ok(exchange) => Ok(Some(exchange)),
            Err(SyncError::Server {
                status: 404, code, ..
            }) if code == "not_found" => Ok(None),
            Err(error) => Err(error),
        }
    }
}

/// The shared HTTP client settings: rustls, timeouts, no redirects (a redirect could carry
/// the bearer token to another host).
pub(crate) fn http_client(config: &SyncConfig) -> Result<reqwest::Client, SyncError> {
    let mut headers = HeaderMap::new();
    let mut declare = |name: &'static str, value: &str| {
        let value = HeaderValue::from_str(value)
            .map_err(|_| SyncError::Transport(format!("{name} {value:?} is not a header value")))?;
        headers.insert(name, value);
        Ok::<(), SyncError>(())
    };
    declare(aisle_protocol::READS_HEADER, &config.reads.join(","))?;
    if !config.app_version.is_empty() {
        declare(aisle_protocol::VERSION_HEADER, &config.app_version)?;
    }
    reqwest::Client::builder()
        .default_headers(headers)
        .timeout(config.request_timeout)
        .connect_timeout(config.connect_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("aisle-sync/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|error| SyncError::Transport(format!("cannot build the http client: {error}")))
}

/// The code of an error answer that is not an Aisle server's `{code, message}`.
pub(crate) const FOREIGN_ERROR_CODE: &str = "http_error";

/// Answers larger than this are decoded on the blocking pool.
const DECODE_OFF_THREAD_BYTES: usize = 256 * 1024;

/// When an answer with pulled events (`{"events": [{"seq", "event"}, ...]}`) does not
/// decode because one of its events has a kind or a version this build does not know,
/// what that event is, as [`SyncError::UpdateNeeded`]; `None` for any other failure.
fn written_by_newer_aisle(bytes: &[u8]) -> Option<SyncError> {
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    for pulled in value.get("events")?.as_array()? {
        let event = pulled.get("event")?;
        let Err(error) = serde_json::from_value::<Event>(event.clone()) else {
            continue;
        };
        let version = event.get("v").and_then(serde_json::Value::as_u64);
        if let Some(version) = version.filter(|v| *v != u64::from(aisle_core::event::EVENT_VERSION))
        {
            return Some(SyncError::UpdateNeeded {
                what: format!(
                    "events of version {version} (this version reads version {})",
                    aisle_core::event::EVENT_VERSION
                ),
            });
        }
        let kind = event
            .get("body")
            .and_then(|body| body.get("type"))
            .and_then(serde_json::Value::as_str);
        // serde_json's words for an internally tagged enum's unknown tag; a test pins them.
        if let Some(kind) = kind.filter(|_| error.to_string().starts_with("unknown variant")) {
            return Some(SyncError::UpdateNeeded {
                what: format!("events of kind {kind:?}"),
            });
        }
        return None;
    }
    None
}

/// Sends a request and decodes a 2xx JSON answer, timing the exchange.
pub(crate) async fn send<T: DeserializeOwned + Send + 'static>(
    request: reqwest::RequestBuilder,
    server_time: impl Fn(&T) -> i64,
) -> Result<Exchange<T>, SyncError> {
    let sent_ms = system_now_ms();
    let response = request.send().await?;
    let status = response.status();
    if !status.is_success() {
        let retry_after = retry_after(response.headers());
        let text = response.text().await.unwrap_or_default();
        let body = serde_json::from_str::<ErrorBody>(&text).unwrap_or_else(|_| {
            // A proxy's or load balancer's page: keep a short prefix for the log.
            ErrorBody::new(
                FOREIGN_ERROR_CODE,
                text.chars().take(200).collect::<String>(),
            )
        });
        return Err(SyncError::Server {
            status: status.as_u16(),
            code: body.code,
            message: body.message,
            event_index: body.event_index,
            retry_after,
        });
    }
    let live = response
        .headers()
        .get(aisle_protocol::LIVE_HEADER)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let bytes = response.bytes().await?;
    let received_ms = system_now_ms();
    let body: T = if bytes.len() > DECODE_OFF_THREAD_BYTES {
        // A full pull page is megabytes of JSON: tens of milliseconds that would hold up
        // one of the runtime's workers (the app's commands run there too).
        // `Bytes` clones share the buffer.
        let page = bytes.clone();
        tokio::task::spawn_blocking(move || serde_json::from_slice(&page))
            .await
            .map_err(|_| SyncError::Stopped)?
    } else {
        serde_json::from_slice(&bytes)
    }
    .map_err(|error| {
        // Re-read only on failure: the usual cause, when the rest fits, is a newer Aisle.
        written_by_newer_aisle(&bytes)
            .unwrap_or_else(|| SyncError::Protocol(format!("undecodable answer: {error}")))
    })?;
    let sample = ClockSample {
        sent_ms,
        received_ms,
        server_ms: server_time(&body),
    };
    Ok(Exchange { body, sample, live })
}

/// `Retry-After` in seconds (the HTTP-date form is rare for APIs and is ignored).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aisle_core::testkit::{key, received, Events};

    /// A pull page holding a good event and then `second`.
    fn page(second: serde_json::Value) -> Vec<u8> {
        let good = Events::default().make(1, 1_000, 0, received(&key(1, 1, None), 5));
        serde_json::to_vec(&serde_json::json!({
            "events": [{ "seq": 1, "event": good }, { "seq": 2, "event": second }],
            "next": 2,
            "server_time_ms": 0,
        }))
        .expect("json")
    }

    fn good_event_json() -> serde_json::Value {
        let event = Events::default().make(2, 1_001, 0, received(&key(1, 1, None), 1));
        serde_json::to_value(event).expect("json")
    }

    #[test]
    fn an_event_of_an_unknown_kind_asks_for_an_update() {
        let mut future = good_event_json();
        future["body"] = serde_json::json!({ "type": "relabelled", "location": "x" });
        let error = written_by_newer_aisle(&page(future)).expect("diagnosed");
        assert_eq!(error.code(), "update_needed");
        let message = error.to_string();
        assert!(
            message.contains("\"relabelled\"") && message.contains("update Aisle on this PC"),
            "{message}"
        );
        assert!(
            error.is_retryable(),
            "the engine keeps running, and pushing"
        );
    }

    #[test]
    fn an_event_of_a_newer_version_asks_for_an_update() {
        let mut future = good_event_json();
        future["v"] = serde_json::json!(2);
        let message = written_by_newer_aisle(&page(future))
            .expect("diagnosed")
            .to_string();
        assert!(message.contains("version 2"), "{message}");
    }

    #[test]
    fn other_undecodable_answers_are_not_blamed_on_a_newer_aisle() {
        let mut broken = good_event_json();
        broken["body"]["qty"] = serde_json::json!("five");
        assert!(written_by_newer_aisle(&page(broken)).is_none());
        assert!(written_by_newer_aisle(&page(good_event_json())).is_none());
        assert!(written_by_newer_aisle(b"<html>proxy error</html>").is_none());
        assert!(written_by_newer_aisle(br#"{"events": 3}"#).is_none());
    }
}
