//! The accept loop: HTTP/1.1 over a `TcpListener` with hyper, holding each connection to
//! the [`Limits`] that belong to connections rather than requests.
//!
//! - At most [`Limits::max_connections`] are served at once, and at most
//!   [`Limits::max_connections_per_address`] from one source address, so that one client
//!   cannot take every slot. One beyond either is answered `503 too_many_connections`
//!   (with `Retry-After`) and closed; at most [`REFUSING_AT_ONCE`] are answered so at a
//!   time, and any more are closed unanswered.
//! - [`Idle`] holds each connection to two clocks. The header-read timeout
//!   ([`Limits::header_read_timeout`]) runs from a new connection's start, or from the
//!   first byte of a kept-alive connection's next request, until that request's headers
//!   are all in. The idle timeout ([`Limits::idle_timeout`]) closes a connection on which
//!   no byte has moved either way for that long: a kept-alive one between requests, a
//!   stalled body, an unread answer. (hyper's own header timer also runs while a
//!   kept-alive connection waits, which would close it after 10 s instead of 60, so it is
//!   off.)
//! - Each request carries its peer's address as axum's `ConnectInfo`, for the rate limits.
//!
//! Shutdown is graceful: the listener closes, connections finish their request in flight
//! (for at most [`SHUTDOWN_GRACE`]), then the loop returns.

use crate::error::AppError;
use crate::limits::{Guards, Limits};
use crate::ServerError;
use axum::extract::ConnectInfo;
use axum::response::IntoResponse;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tower::ServiceExt as _;

/// Connections beyond the cap answered with a 503 at once; more are closed unanswered.
pub const REFUSING_AT_ONCE: usize = 64;
/// How long shutdown waits for requests in flight.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);
/// How often idle rate-limit buckets are forgotten.
const FORGET_EVERY: Duration = Duration::from_secs(60);

/// Serves `router` on `listener` until `shutdown` completes.
pub async fn run(
    listener: TcpListener,
    router: axum::Router,
    guards: Arc<Guards>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let limits: Limits = guards.limits.clone();
    let connections = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let refusing = Arc::new(Semaphore::new(REFUSING_AT_ONCE));
    let per_address = PerAddress::new(limits.max_connections_per_address.max(1));
    let graceful = GracefulShutdown::new();
    let http = builder();
    let mut forget = tokio::time::interval(FORGET_EVERY);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::error!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = forget.tick() => {
                guards.forget_idle();
                continue;
            }
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let requests = Arc::new(Requests::default());
        let io = TokioIo::new(Idle::new(
            stream,
            limits.idle_timeout,
            limits.header_read_timeout,
            Arc::clone(&requests),
        ));
        let slots = per_address
            .take(peer.ip())
            .and_then(|slot| Some((Arc::clone(&connections).try_acquire_owned().ok()?, slot)));
        if let Some(permit) = slots {
            let (started, answered) = (Arc::clone(&requests), requests);
            let service = router
                .clone()
                .map_request(move |mut request: axum::http::Request<Incoming>| {
                    started.head_read();
                    request.extensions_mut().insert(ConnectInfo(peer));
                    request
                })
                .map_response(move |response| {
                    answered.answered();
                    response
                });
            let connection =
                graceful.watch(http.serve_connection(io, TowerToHyperService::new(service)));
            tokio::spawn(async move {
                if let Err(error) = connection.await {
                    tracing::debug!(%error, %peer, "connection ended with an error");
                }
                drop(permit);
            });
        } else if let Ok(permit) = Arc::clone(&refusing).try_acquire_owned() {
            tracing::warn!(%peer, "connection refused: too many connections (in all or from its address)");
            let mut refuse = http.clone();
            refuse.keep_alive(false);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(|_request| async {
                    Ok::<_, std::convert::Infallible>(AppError::TooManyConnections.into_response())
                });
                let _ = refuse.serve_connection(io, service).await;
                drop(permit);
            });
        } else {
            drop(io);
        }
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("shutdown: requests still in flight after the grace period");
    }
    Ok(())
}

/// Connections being served per source address, each counted by the [`AddressSlot`] it
/// holds until it ends.
#[derive(Clone, Debug)]
struct PerAddress {
    cap: usize,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl PerAddress {
    fn new(cap: usize) -> Self {
        Self {
            cap,
            open: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// A slot for one more connection from `address`, or none when it has its cap.
    fn take(&self, address: IpAddr) -> Option<AddressSlot> {
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let count = open.entry(address).or_insert(0);
        if *count >= self.cap {
            return None;
        }
        *count += 1;
        Some(AddressSlot {
            address,
            open: Arc::clone(&self.open),
        })
    }
}

/// One connection's place in its address's count; given back when dropped.
#[derive(Debug)]
struct AddressSlot {
    address: IpAddr,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(count) = open.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.address);
            }
        }
    }
}

/// hyper's connection settings. Its header timer is off: [`Idle`] runs that clock.
fn builder() -> hyper::server::conn::http1::Builder {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(None)
        .max_headers(crate::limits::HYPER_MAX_HEADERS);
    http
}

/// Where a connection's requests are, told by the service to the connection's [`Idle`].
#[derive(Debug, Default)]
pub struct Requests {
    /// A request's headers are in and it is not answered yet.
    in_request: AtomicBool,
    /// How many requests have been answered.
    answered: AtomicU64,
}

impl Requests {
    fn head_read(&self) {
        self.in_request.store(true, Ordering::Release);
    }

    fn answered(&self) {
        self.in_request.store(false, Ordering::Release);
        self.answered.fetch_add(1, Ordering::AcqRel);
    }
}

/// A TCP stream that fails a read or write that has waited, with no byte moving either
/// way, for its idle timeout, or a read while a request's headers have taken longer than
/// the header timeout; hyper then closes the connection.
#[derive(Debug)]
pub struct Idle {
    stream: TcpStream,
    timeout: Duration,
    deadline: Pin<Box<tokio::time::Sleep>>,
    header_timeout: Duration,
    requests: Arc<Requests>,
    /// `requests.answered` when last looked at: a change means the connection is back to
    /// waiting for a next request, whose header clock starts at its first byte.
    answered_seen: u64,
    /// Running while headers are awaited: from the start for a new connection, from the
    /// first byte of the next request on a kept-alive one.
    header_deadline: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Idle {
    pub fn new(
        stream: TcpStream,
        timeout: Duration,
        header_timeout: Duration,
        requests: Arc<Requests>,
    ) -> Self {
        Self {
            stream,
            timeout,
            deadline: Box::pin(tokio::time::sleep(timeout)),
            header_timeout,
            requests,
            answered_seen: 0,
            header_deadline: Some(Box::pin(tokio::time::sleep(header_timeout))),
        }
    }

    /// Brings the header clock up to date with the requests before a read.
    fn follow_requests(&mut self) {
        if self.requests.in_request.load(Ordering::Acquire) {
            self.header_deadline = None;
            return;
        }
        let answered = self.requests.answered.load(Ordering::Acquire);
        if answered != self.answered_seen {
            self.answered_seen = answered;
            self.header_deadline = None;
        }
    }

    /// Bytes came while no request is under way: the next request's headers have begun.
    fn header_bytes_came(&mut self) {
        if self.header_deadline.is_none() && !self.requests.in_request.load(Ordering::Acquire) {
            self.header_deadline = Some(Box::pin(tokio::time::sleep(self.header_timeout)));
        }
    }

    fn headers_late(&mut self, cx: &mut Context<'_>) -> bool {
        self.header_deadline
            .as_mut()
            .is_some_and(|deadline| deadline.as_mut().poll(cx).is_ready())
    }

    fn moved(&mut self) {
        let next = tokio::time::Instant::now() + self.timeout;
        self.deadline.as_mut().reset(next);
    }

    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        self.deadline.as_mut().poll(cx).is_ready()
    }
}

fn idle_error() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::TimedOut, "connection idle too long")
}

fn headers_late_error() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        "request headers took longer than the header timeout",
    )
}

impl AsyncRead for Idle {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        self.follow_requests();
        let before = buf.filled().len();
        match Pin::new(&mut self.stream).poll_read(cx, buf) {
            Poll::Ready(result) => {
                if buf.filled().len() > before {
                    self.moved();
                    self.header_bytes_came();
                }
                Poll::Ready(result)
            }
            Poll::Pending if self.headers_late(cx) => Poll::Ready(Err(headers_late_error())),
            Poll::Pending if self.expired(cx) => Poll::Ready(Err(idle_error())),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncWrite for Idle {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match Pin::new(&mut self.stream).poll_write(cx, buf) {
            Poll::Ready(Ok(n)) => {
                if n > 0 {
                    self.moved();
                }
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Pending if self.expired(cx) => Poll::Ready(Err(idle_error())),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        match Pin::new(&mut self.stream).poll_write_vectored(cx, bufs) {
            Poll::Ready(Ok(n)) => {
                if n > 0 {
                    self.moved();
                }
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Pending if self.expired(cx) => Poll::Ready(Err(idle_error())),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
