//! Webhook delivery survives what happens in production (issue 16): a receiver that fails
//! at random (500s, timeouts, connection resets, and once a `410`), and the server killed
//! with SIGKILL in the middle of its deliveries and started again. Every message of the
//! feed reaches the receiver at least once, signed (checked with a second HMAC
//! implementation), and in order per endpoint: the server never sends a message before
//! every earlier one was acknowledged, though after the crash it may send again what it
//! had delivered and not yet recorded.
//!
//! The receiver is a raw TCP server, not a framework's: a reset must be a real RST on the
//! connection (SO_LINGER 0), and a timeout a request that gets no answer.

use crate::webhook_delivery::verify;
use aisle_server::auth::Scope;
use aisle_server::webhooks::sign::Secret;
use aisle_server::{Registry as _, SqliteRegistry};
use base64::Engine as _;
use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BIN: &str = env!("CARGO_BIN_EXE_aisle-server");

/// What the receiver did with one request.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Answer {
    Ok,
    Status(u16),
    Timeout,
    Reset,
}

#[derive(Clone, Debug)]
struct Got {
    id: String,
    signature_ok: bool,
    answer: Answer,
}

/// A deterministic "random" source (xorshift64*), so a failure replays.
struct Dice(u64);

impl Dice {
    fn roll(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % 100
    }
}

struct Receiver {
    key: Vec<u8>,
    dice: Mutex<Dice>,
    /// The request number that gets the one `410`.
    gone_at: usize,
    got: Mutex<Vec<Got>>,
}

impl Receiver {
    fn decide(&self, n: usize) -> Answer {
        if n == self.gone_at {
            return Answer::Status(410);
        }
        match self.dice.lock().expect("dice").roll() {
            0..=7 => Answer::Status(500),
            8..=9 => Answer::Status(503),
            10..=12 => Answer::Timeout,
            13..=16 => Answer::Reset,
            _ => Answer::Ok,
        }
    }
}

/// Reads one HTTP/1.1 request (head and content-length body) from `stream`.
async fn read_request(
    stream: &mut tokio::net::TcpStream,
    buffer: &mut Vec<u8>,
) -> Option<(axum::http::HeaderMap, Vec<u8>)> {
    loop {
        if let Some(end) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buffer[..end]).to_string();
            let mut headers = axum::http::HeaderMap::new();
            for line in head.lines().skip(1) {
                if let Some((name, value)) = line.split_once(':') {
                    if let (Ok(name), Ok(value)) = (
                        axum::http::HeaderName::from_bytes(name.trim().as_bytes()),
                        axum::http::HeaderValue::from_str(value.trim()),
                    ) {
                        headers.append(name, value);
                    }
                }
            }
            let length: usize = headers
                .get("content-length")
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.parse().ok())
                .unwrap_or(0);
            while buffer.len() < end + 4 + length {
                let mut chunk = [0u8; 8192];
                let n = stream.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buffer.extend_from_slice(&chunk[..n]);
            }
            let body = buffer[end + 4..end + 4 + length].to_vec();
            buffer.drain(..end + 4 + length);
            return Some((headers, body));
        }
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
}

async fn serve_connection(receiver: Arc<Receiver>, mut stream: tokio::net::TcpStream) {
    let mut buffer = Vec::new();
    while let Some((headers, body)) = read_request(&mut stream, &mut buffer).await {
        let n = receiver.got.lock().expect("got").len();
        let answer = receiver.decide(n);
        receiver.got.lock().expect("got").push(Got {
            id: headers
                .get("webhook-id")
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default()
                .to_owned(),
            signature_ok: verify(&receiver.key, &headers, &body),
            answer: answer.clone(),
        });
        let status = match answer {
            Answer::Ok => 200,
            Answer::Status(status) => status,
            Answer::Timeout => {
                // Longer than the server's 1 s attempt timeout: it gives up first.
                tokio::time::sleep(Duration::from_secs(3)).await;
                return;
            }
            Answer::Reset => {
                // A zero linger makes the close an RST at once; the deprecation is about
                // a non-zero linger blocking the dropping thread.
                #[allow(deprecated)]
                let _ = stream.set_linger(Some(Duration::ZERO));
                return;
            }
        };
        let response = format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\n\r\n");
        if stream.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// The receiver on loopback: its URL and its state.
async fn receiver(secret: &Secret, gone_at: usize) -> (String, Arc<Receiver>) {
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.expose().strip_prefix("whsec_").expect("prefix"))
        .expect("key");
    let receiver = Arc::new(Receiver {
        key,
        dice: Mutex::new(Dice(0x9e37_79b9_7f4a_7c15)),
        gone_at,
        got: Mutex::new(Vec::new()),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    let serving = Arc::clone(&receiver);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve_connection(Arc::clone(&serving), stream));
        }
    });
    (url, receiver)
}

/// `aisle-server serve` on `data`, as a child process, and where it listens.
fn start_server(data: &std::path::Path) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args(["--data", data.to_str().expect("utf-8"), "serve"])
        .args(["--listen", "127.0.0.1:0", "--webhook-allow-http-loopback"])
        .args(["--webhook-timeout-secs", "1"])
        .args(["--webhook-retries", &["200ms"; 30].join(",")])
        .env_remove("AISLE_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the server starts");
    let addr = crate::support::listening_addr(&mut child);
    (child, format!("http://{addr}"))
}

async fn until(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_to_a_failing_receiver_survive_a_kill_9_each_at_least_once_in_order() {
    const N: u64 = 120;
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    let registry = SqliteRegistry::open(&aisle_server::registry_path(&data)).expect("registry");
    let now_ms = aisle_server::now_ms();
    let tenant = registry.add_tenant("acme", now_ms).expect("tenant");
    let warehouse = registry
        .add_warehouse(tenant, "main", now_ms)
        .expect("warehouse");
    let code = registry
        .create_enrollment_code(tenant, warehouse, 3_600_000, now_ms)
        .expect("code");
    let enrolled = registry
        .enroll(&code, "pc", now_ms)
        .expect("registry")
        .expect("enrolled");
    let device = crate::support::Device {
        tenant,
        warehouse,
        device: enrolled.device,
        token: enrolled.token,
    };
    let feed_key = registry
        .add_api_key(tenant, "erp", &[Scope::FeedRead], now_ms)
        .expect("key")
        .key;
    let secret = Secret::from_key([11; 32]);
    let (url, receiver) = receiver(&secret, 25).await;
    let endpoint = registry
        .add_webhook(tenant, &url, &[], &secret, now_ms)
        .expect("webhook");

    let (mut server, base) = start_server(&data);
    let http = reqwest::Client::new();
    for first in (1..=N).step_by(30) {
        let events = crate::support::receipts(&device, first, 30);
        let (status, body) = crate::support::push_to(&http, &base, &device, tenant, &events).await;
        assert_eq!(status, 200, "{body}");
    }
    let acknowledged = |receiver: &Receiver| {
        receiver
            .got
            .lock()
            .expect("got")
            .iter()
            .filter(|got| got.answer == Answer::Ok)
            .map(|got| got.id.clone())
            .collect::<std::collections::HashSet<_>>()
            .len()
    };
    // The one 410 disables the endpoint; its operator enables it again, and it resumes
    // from the message that was refused.
    until("the 410", Duration::from_secs(60), || {
        receiver.got.lock().expect("got").len() > 25
    })
    .await;
    until(
        "the endpoint disabled by its 410",
        Duration::from_secs(30),
        || {
            !registry
                .webhook(endpoint)
                .expect("registry")
                .expect("endpoint")
                .enabled
        },
    )
    .await;
    registry
        .set_webhook_enabled(endpoint, true, None, aisle_server::now_ms())
        .expect("enabled again");

    until(
        "a third of the messages acknowledged",
        Duration::from_secs(120),
        || acknowledged(&receiver) >= (N / 3) as usize,
    )
    .await;
    server.kill().expect("SIGKILL");
    server.wait().expect("the server is gone");
    let before_crash = receiver.got.lock().expect("got").len();

    let (mut server, base) = start_server(&data);
    until(
        "every message acknowledged",
        Duration::from_secs(240),
        || acknowledged(&receiver) >= N as usize,
    )
    .await;
    let feed: serde_json::Value = http
        .get(format!("{base}/v1/t/{tenant}/erp/feed?limit=1000"))
        .bearer_auth(&feed_key)
        .send()
        .await
        .expect("feed")
        .json()
        .await
        .expect("json");
    server.kill().expect("stop");
    let _ = server.wait();

    let order: Vec<String> = feed["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|entry| entry["message"]["id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(order.len() as u64, N, "one goods.received per receipt");
    let index: HashMap<&str, usize> = order
        .iter()
        .enumerate()
        .map(|(at, id)| (id.as_str(), at))
        .collect();
    let got = receiver.got.lock().expect("got").clone();
    assert!(
        got.iter().all(|got| got.signature_ok),
        "every delivery verifies with an independent HMAC"
    );
    let failures: Vec<&Answer> = got
        .iter()
        .map(|got| &got.answer)
        .filter(|answer| **answer != Answer::Ok)
        .collect();
    for kind in [Answer::Timeout, Answer::Reset, Answer::Status(410)] {
        assert!(
            failures.contains(&&kind),
            "the receiver's failures include {kind:?}: {failures:?}"
        );
    }
    // In order: a message is sent only once every earlier one was acknowledged. After the
    // crash some acknowledged ones may come again; none is skipped.
    let mut acked_through: Option<usize> = None;
    for (n, delivery) in got.iter().enumerate() {
        let at = *index
            .get(delivery.id.as_str())
            .unwrap_or_else(|| panic!("delivery {n} is of no message in the feed: {delivery:?}"));
        let next = acked_through.map_or(0, |through| through + 1);
        assert!(
            at <= next,
            "delivery {n} sent message {at} before message {next} was acknowledged"
        );
        if delivery.answer == Answer::Ok && at == next {
            acked_through = Some(at);
        }
    }
    assert_eq!(
        acked_through,
        Some(N as usize - 1),
        "every message acknowledged"
    );
    eprintln!(
        "{} requests for {N} messages ({} before the kill), {} failed on purpose",
        got.len(),
        before_crash,
        failures.len()
    );
}
