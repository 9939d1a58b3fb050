//! "One client cannot fill the disk or hold the server": timeouts, the connection cap,
//! authentication before a body is read, the in-flight body budget, rate limits, tenant
//! quotas and header size, each against the real server over raw sockets where a client
//! library would hide what the server did. No assertion is on speed: each waits on a
//! behaviour (the socket closed, the answer came) within a bound far above what it needs.

use crate::support::{receipts, World};
use aisle_server::registry::TenantQuota;
use aisle_server::Registry as _;
use serde_json::Value;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Far longer than any behaviour below needs; only a server that never does it waits this.
const GENEROUS: Duration = Duration::from_secs(15);

/// Reads until the server closes the socket; `None` if it is still open after `within`.
async fn read_to_close(stream: &mut TcpStream, within: Duration) -> Option<String> {
    let mut seen = Vec::new();
    let outcome = tokio::time::timeout(within, async {
        let mut buffer = [0u8; 4096];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => seen.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    outcome
        .ok()
        .map(|()| String::from_utf8_lossy(&seen).into_owned())
}

/// Reads one answer's head and whatever of its body has come, up to a blank line + body.
async fn read_answer(stream: &mut TcpStream, within: Duration) -> String {
    let mut seen = Vec::new();
    let _ = tokio::time::timeout(within, async {
        let mut buffer = [0u8; 4096];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => seen.extend_from_slice(&buffer[..n]),
            }
            let text = String::from_utf8_lossy(&seen);
            if let Some((_, body)) = text.split_once("\r\n\r\n") {
                if body.contains('}') {
                    return;
                }
            }
        }
    })
    .await;
    String::from_utf8_lossy(&seen).into_owned()
}

fn body_of(answer: &str) -> Value {
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    serde_json::from_str(body.trim()).unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_headers_are_closed_after_the_header_timeout_and_idle_keep_alives_after_the_idle_one()
{
    let world = World::start_with(4, |config| {
        config.limits.header_read_timeout = Duration::from_secs(1);
        config.limits.idle_timeout = Duration::from_secs(60);
    })
    .await;
    // Regression: 300 connections sending headers slowly were held for the full 60 s.
    let mut slow = TcpStream::connect(world.server.addr)
        .await
        .expect("connect");
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: aisle\r\nX-Slow: ")
        .await
        .expect("write part of the headers");
    assert!(
        read_to_close(&mut slow, GENEROUS).await.is_some(),
        "a connection whose headers never finish is closed by the server"
    );
    // A kept-alive connection waits for its next request under the idle timeout (60 s
    // here), not the header timeout: it was closed after 10 s (the header timeout) before.
    let mut kept = TcpStream::connect(world.server.addr)
        .await
        .expect("connect");
    let answer = ask_healthz(&mut kept).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "answered: {answer}");
    assert!(
        read_to_close(&mut kept, Duration::from_secs(3))
            .await
            .is_none(),
        "a kept-alive connection quiet for 3 s, three header timeouts, is still open"
    );
    let answer = ask_healthz(&mut kept).await;
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "the second request: {answer}"
    );
    // The next request's headers, begun and never finished, run the header clock again.
    kept.write_all(b"GET /healthz HTTP/1.1\r\nX-Slow: ")
        .await
        .expect("write part of a third request");
    assert!(
        read_to_close(&mut kept, GENEROUS).await.is_some(),
        "a kept-alive connection whose next headers stall is closed (the idle timeout is 60 s)"
    );

    // Regression: an idle kept-alive connection was still answered after 55 s.
    let world = World::start_with(4, |config| {
        config.limits.header_read_timeout = Duration::from_secs(1);
        config.limits.idle_timeout = Duration::from_secs(2);
    })
    .await;
    let mut idle = TcpStream::connect(world.server.addr)
        .await
        .expect("connect");
    let answer = ask_healthz(&mut idle).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "answered: {answer}");
    assert!(
        read_to_close(&mut idle, GENEROUS).await.is_some(),
        "a kept-alive connection that sends nothing more is closed after the idle timeout"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_get_503_too_many_connections() {
    let world = World::start_with(4, |config| {
        config.limits.max_connections = 2;
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(world.server.addr)
            .await
            .expect("connect");
        let answer = ask_healthz(&mut stream).await;
        assert!(
            answer.starts_with("HTTP/1.1 200"),
            "within the cap: {answer}"
        );
        held.push(stream);
    }
    let response = world
        .http
        .get(world.url("/healthz"))
        .send()
        .await
        .expect("the third connection is answered, not dropped");
    assert_eq!(response.status(), 503, "the cap is 2 connections");
    assert!(
        response.headers().contains_key("retry-after"),
        "a 503 for load says when to retry"
    );
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["code"], "too_many_connections", "{body}");
    drop(held);
    let mut answered = false;
    for _ in 0..100 {
        let fresh = reqwest::Client::new();
        if let Ok(response) = fresh.get(world.url("/healthz")).send().await {
            if response.status() == 200 {
                answered = true;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        answered,
        "once the held connections close, new ones are served"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_cannot_take_every_connection() {
    // Regression (issue 12, noisy neighbour): one source could hold all 1,024 slots.
    let world = World::start_with(4, |config| {
        config.limits.max_connections = 100;
        config.limits.max_connections_per_address = 2;
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let (stream, answer) = healthz_from("127.0.0.2", world.server.addr).await;
        assert!(
            answer.starts_with("HTTP/1.1 200"),
            "within its cap: {answer}"
        );
        held.push(stream);
    }
    let (_third, answer) = healthz_from("127.0.0.2", world.server.addr).await;
    assert!(
        answer.starts_with("HTTP/1.1 503"),
        "a third connection from the same address is refused: {answer}"
    );
    assert_eq!(body_of(&answer)["code"], "too_many_connections", "{answer}");
    let (_other, answer) = healthz_from("127.0.0.3", world.server.addr).await;
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "another address is still served while the first holds its cap: {answer}"
    );
}

/// Sends `GET /healthz` on `stream` and reads its answer.
async fn ask_healthz(stream: &mut TcpStream) -> String {
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: aisle\r\n\r\n")
        .await
        .expect("write a request");
    read_answer(stream, GENEROUS).await
}

/// A `GET /healthz` on a new connection from the loopback `address`, kept open, and its answer.
async fn healthz_from(address: &str, server: std::net::SocketAddr) -> (TcpStream, String) {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind(format!("{address}:0").parse().expect("address"))
        .expect("bind a loopback source address");
    let mut stream = socket.connect(server).await.expect("connect");
    let answer = ask_healthz(&mut stream).await;
    (stream, answer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_is_held_back_so_a_flood_gets_few_answers() {
    let hold = Duration::from_millis(700);
    let world = World::start_with(4, |config| {
        config.limits.per_address_per_sec = 1;
        config.limits.rate_limited_delay = hold;
    })
    .await;
    let mut statuses = Vec::new();
    let mut limited_after = None;
    for _ in 0..5 {
        let started = std::time::Instant::now();
        let response = world
            .http
            .get(world.url("/healthz"))
            .send()
            .await
            .expect("answered");
        statuses.push(response.status().as_u16());
        if response.status() == 429 {
            limited_after = Some(started.elapsed());
            break;
        }
    }
    let limited_after =
        limited_after.unwrap_or_else(|| panic!("a burst of 2 at 1/s: {statuses:?}"));
    // A lower bound only: the server sleeps at least this long before answering.
    assert!(
        limited_after >= hold,
        "the 429 came after {limited_after:?}, not held for {hold:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unauthenticated_large_body_gets_its_401_before_it_is_read() {
    let world = World::start(4).await;
    let (tenant, _) = world.tenant("acme");
    let mut stream = TcpStream::connect(world.server.addr)
        .await
        .expect("connect");
    // 32 MiB declared (under the drain limit, so the old server waited to read it all),
    // only 64 KiB sent.
    let head = format!(
        "POST /v1/t/{tenant}/events HTTP/1.1\r\nHost: aisle\r\nAuthorization: Bearer aisle_{}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        "0".repeat(64),
        32 << 20
    );
    stream.write_all(head.as_bytes()).await.expect("headers");
    stream
        .write_all(&vec![b' '; 64 * 1024])
        .await
        .expect("the start of the body");
    let answer = read_answer(&mut stream, GENEROUS).await;
    assert!(
        answer.starts_with("HTTP/1.1 401"),
        "refused without waiting for the other 32 MiB: {answer:?}"
    );
    assert_eq!(body_of(&answer)["code"], "bad_token", "{answer}");

    // Without any credential, and to a route no credential opens.
    let mut stream = TcpStream::connect(world.server.addr)
        .await
        .expect("connect");
    let head = "POST /v1/enroll HTTP/1.1\r\nHost: aisle\r\nContent-Type: application/json\r\n\
                Content-Length: 1000000\r\n\r\n{";
    stream.write_all(head.as_bytes()).await.expect("headers");
    let answer = read_answer(&mut stream, GENEROUS).await;
    assert!(
        answer.starts_with("HTTP/1.1 413"),
        "an enrollment is small; a large one is refused unread: {answer:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_beyond_the_memory_budget_get_503_server_busy() {
    let world = World::start_with(4, |config| {
        config.limits.body_budget_bytes = 100_000;
    })
    .await;
    let (tenant, warehouse) = world.tenant("acme");
    let device = world.enroll(tenant, warehouse, "pc").await;
    // An authenticated push that stalls after its headers holds 90,000 bytes of budget.
    let mut stalled = TcpStream::connect(world.server.addr)
        .await
        .expect("connect");
    let head = format!(
        "POST /v1/t/{tenant}/events HTTP/1.1\r\nHost: aisle\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 90000\r\n\r\n{{",
        device.token
    );
    stalled.write_all(head.as_bytes()).await.expect("headers");
    // Let it take its share first: were a push holding budget when it arrived, it would be
    // the one refused (and left draining a body that never comes).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let events = receipts(&device, 1, 3);
    let mut body = serde_json::to_vec(&serde_json::json!({ "events": events })).expect("json");
    body.resize(20_000, b' ');
    let mut refusal = None;
    for _ in 0..100 {
        let response = world
            .http
            .post(world.url(&format!("/v1/t/{tenant}/events")))
            .bearer_auth(&device.token)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .expect("answered");
        if response.status() == 503 {
            let retry_after = response.headers().contains_key("retry-after");
            refusal = Some((retry_after, response.json::<Value>().await.expect("json")));
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if refusal.is_none() {
        let answer = read_answer(&mut stalled, Duration::from_secs(1)).await;
        panic!("a 20 KB body does not fit beside a stalled 90 KB one in 100 KB; the stalled request got {answer:?}");
    }
    let (retry_after, body_json) = refusal.expect("refused");
    assert_eq!(body_json["code"], "server_busy", "{body_json}");
    assert!(retry_after, "a 503 for load says when to retry");
    drop(stalled);
    let mut accepted = false;
    for _ in 0..100 {
        let (status, _) = world.push(&device, &events).await;
        if status == 200 {
            accepted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        accepted,
        "the budget comes back once the stalled body is gone"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_rate_limits_requests_get_429_with_retry_after() {
    let world = World::start_with(4, |config| {
        config.limits.per_address_per_sec = 5;
        config.limits.enroll_per_address_per_min = 3;
    })
    .await;
    let mut limited = None;
    for _ in 0..40 {
        let response = world
            .http
            .get(world.url("/healthz"))
            .send()
            .await
            .expect("answered");
        if response.status() == 429 {
            limited = Some(response);
            break;
        }
    }
    let response = limited.expect("40 requests at once exceed 5/s with a burst of 10");
    let retry_after: u64 = response
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse().ok())
        .expect("Retry-After in seconds, as aisle-sync reads it");
    assert!(retry_after >= 1, "a whole second at least");
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["code"], "rate_limited", "{body}");

    // Enrollment codes cannot be guessed quickly: after 3 a minute, 429 before the lookup.
    let world = World::start_with(4, |config| {
        config.limits.enroll_per_address_per_min = 3;
    })
    .await;
    let mut statuses = Vec::new();
    for attempt in 0..6 {
        let (status, _) = crate::support::post_json(
            &world.http,
            &world.url("/v1/enroll"),
            None,
            &serde_json::json!({ "code": format!("guess-{attempt}"), "device_name": "x" }),
        )
        .await;
        statuses.push(status);
    }
    assert_eq!(
        statuses,
        [404, 404, 404, 429, 429, 429],
        "guesses past the limit"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_tenant_past_its_rate_does_not_limit_another() {
    let world = World::start_with(4, |config| {
        config.limits.per_address_per_sec = 0;
        config.limits.per_tenant_per_sec = 5;
    })
    .await;
    let (noisy, noisy_warehouse) = world.tenant("noisy");
    let (quiet, quiet_warehouse) = world.tenant("quiet");
    let noisy_device = world.enroll(noisy, noisy_warehouse, "pc").await;
    let quiet_device = world.enroll(quiet, quiet_warehouse, "pc").await;
    let mut statuses = Vec::new();
    for _ in 0..40 {
        let (status, _) = crate::support::get_json(
            &world.http,
            &world.url(&format!("/v1/t/{noisy}/events?after=0")),
            &noisy_device.token,
        )
        .await;
        statuses.push(status);
    }
    assert!(
        statuses.contains(&429),
        "40 pulls at once exceed 5/s for the tenant: {statuses:?}"
    );
    let (status, body) = crate::support::get_json(
        &world.http,
        &world.url(&format!("/v1/t/{quiet}/events?after=0")),
        &quiet_device.token,
    )
    .await;
    assert_eq!(status, 200, "the other tenant has its own bucket: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_past_its_push_quota_gets_429_and_past_its_bytes_507() {
    let world = World::start(4).await;
    let (tenant, warehouse) = world.tenant("acme");
    let (other, other_warehouse) = world.tenant("other");
    let device = world.enroll(tenant, warehouse, "pc").await;
    let other_device = world.enroll(other, other_warehouse, "pc").await;
    let quota = TenantQuota {
        push_per_sec: Some(1),
        max_bytes: None,
    };
    world
        .registry
        .set_tenant_quota(tenant, quota, 1)
        .expect("set quota");
    // The bucket holds one full push; then 1 event/s.
    let (status, body) = world.push(&device, &receipts(&device, 1, 1_000)).await;
    assert_eq!(status, 200, "one full push fits the bucket: {body}");
    let (status, body) = world.push(&device, &receipts(&device, 2_000, 10)).await;
    assert_eq!(status, 429, "ten more at once exceed 1 event/s: {body}");
    assert_eq!(body["code"], "rate_limited", "{body}");
    let (status, body) = world
        .push(&other_device, &receipts(&other_device, 1, 10))
        .await;
    assert_eq!(status, 200, "another tenant has its own quota: {body}");

    let quota = TenantQuota {
        push_per_sec: None,
        max_bytes: Some(1),
    };
    world
        .registry
        .set_tenant_quota(other, quota, 2)
        .expect("set quota");
    // The server reads quotas again within QUOTA_REFRESH.
    let mut refused = None;
    for serial in 0..80 {
        let (status, body) = world
            .push(&other_device, &receipts(&other_device, 100 + serial, 1))
            .await;
        if status == 507 {
            refused = Some(body);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let body = refused.expect("a tenant whose database is past 1 byte cannot push");
    assert_eq!(body["code"], "tenant_storage_full", "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_headers_and_wrong_methods_are_refused_as_code_and_message() {
    let world = World::start(4).await;
    let response = world
        .http
        .get(world.url("/healthz"))
        .header("x-pad", "p".repeat(100 * 1024))
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), 431, "100 KiB of headers");
    let body: Value = response.json().await.expect("a 431 in json");
    assert_eq!(body["code"], "headers_too_large", "{body}");
    assert!(body["message"].is_string(), "{body}");

    let response = world
        .http
        .delete(world.url("/healthz"))
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), 405, "healthz is GET only");
    let body: Value = response.json().await.expect("a 405 in json");
    assert_eq!(body["code"], "method_not_allowed", "{body}");
}

#[test]
fn set_quota_on_the_command_line_is_stored_in_the_registry() {
    let dir = tempfile::tempdir().expect("tempdir");
    let registry = aisle_server::SqliteRegistry::open(&aisle_server::registry_path(dir.path()))
        .expect("registry");
    let tenant = registry.add_tenant("acme", 1).expect("tenant");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_aisle-server"))
        .arg("--data")
        .arg(dir.path())
        .args([
            "tenant",
            "set-quota",
            "acme",
            "--push-per-sec",
            "250",
            "--max-bytes",
            "1048576",
        ])
        .output()
        .expect("runs");
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        registry.tenant_quota(tenant).expect("read"),
        TenantQuota {
            push_per_sec: Some(250),
            max_bytes: Some(1_048_576),
        }
    );
}

/// Regression: an adjustment note and an ERP item name took 1 MB each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_1_mb_note_or_name_is_refused_with_its_code() {
    let world = World::start(4).await;
    let (tenant, warehouse) = world.tenant("acme");
    let device = world.enroll(tenant, warehouse, "pc").await;
    let key = aisle_core::testkit::key(1, 1, None);
    let mut body = aisle_core::testkit::adjusted(&key, -1);
    if let aisle_core::event::EventBody::Adjusted { note, .. } = &mut body {
        *note = "x".repeat(1 << 20);
    }
    let event = crate::support::event(&device, 1, 1_700_000_000_000, body);
    let (status, answer) = world.push(&device, &[event]).await;
    assert_eq!(status, 200, "a push answers per event: {answer}");
    assert_eq!(
        crate::support::result_statuses(&answer),
        ["rejected"],
        "{answer}"
    );
    assert_eq!(answer["results"][0]["reason"], "invalid_event", "{answer}");

    let erp_key = crate::erp::api_key(&world, tenant, &[aisle_server::auth::Scope::MasterWrite]);
    let url = world.url(&format!("/v1/t/{tenant}/erp/items"));
    let items = serde_json::json!({ "items": [{ "sku": "SKU-1", "name": "n".repeat(1 << 20) }] });
    let (status, answer) = crate::erp::put_json(&world.http, &url, &erp_key, &items).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (422, Some("invalid_record")),
        "{answer}"
    );
    let message = answer["message"].as_str().expect("message");
    assert!(
        message.contains("items[0].name") && message.contains("200"),
        "the message names the field and its bound: {message}"
    );
}

/// The size quota on PostgreSQL, where a tenant's database is not a file: its
/// `pg_database_size`. A tenant at its quota gets `507 tenant_storage_full` and none of the
/// batch is logged (the device keeps it and sends it again), another tenant on the same
/// cluster pushes on, and once the operator raises the quota the same batch is applied once.
#[cfg(feature = "postgres")]
#[test]
fn a_postgresql_tenant_at_its_size_quota_gets_507_and_pushes_again_once_it_is_raised() {
    use crate::support::{device_from, post_json, push_to, result_statuses, try_pull_all_from};
    let cluster = aisle_pgtest::PgCluster::start().expect("a cluster starts");
    cluster
        .create_database("aisle_registry")
        .expect("registry database");
    let registry_url = cluster.url("aisle_registry");
    let admin = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let registry =
        aisle_server::pg::registry::PgRegistry::connect(&registry_url, admin.handle().clone())
            .expect("registry");
    registry
        .add_cluster("main", &cluster.base_url(), None, 1)
        .expect("cluster");
    let full = registry.add_tenant_on("full", None, 1).expect("tenant");
    let roomy = registry.add_tenant_on("roomy", None, 1).expect("tenant");
    let code = |tenant| {
        let warehouse = registry
            .add_warehouse(tenant, "main", 1)
            .expect("warehouse");
        registry
            .create_enrollment_code(tenant, warehouse, 3_600_000, aisle_server::now_ms())
            .expect("code")
    };
    let (full_code, roomy_code) = (code(full), code(roomy));
    registry
        .set_tenant_quota(
            full,
            TenantQuota {
                push_per_sec: None,
                max_bytes: Some(1),
            },
            2,
        )
        .expect("quota");

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let server = runtime
        .block_on(aisle_server::RunningServer::start(
            aisle_server::ServerConfig::postgres(registry_url, 8),
        ))
        .expect("the server starts on the PostgreSQL registry");
    let base = format!("http://{}", server.addr);
    let http = reqwest::Client::builder()
        .timeout(GENEROUS)
        .build()
        .expect("client");
    runtime.block_on(async {
        let enrolled = |code: String| {
            let (http, base) = (http.clone(), base.clone());
            async move {
                let (status, body) = post_json(
                    &http,
                    &format!("{base}/v1/enroll"),
                    None,
                    &serde_json::json!({ "code": code, "device_name": "pc" }),
                )
                .await;
                assert_eq!(status, 200, "enrollment: {body}");
                device_from(&body)
            }
        };
        let full_device = enrolled(full_code).await;
        let roomy_device = enrolled(roomy_code).await;
        let batch = receipts(&full_device, 1, 3);

        let (status, body) = push_to(&http, &base, &full_device, full, &batch).await;
        assert_eq!(
            status, 507,
            "a database past 1 byte is at its quota: {body}"
        );
        assert_eq!(body["code"], "tenant_storage_full", "{body}");
        let (status, body) = push_to(
            &http,
            &base,
            &roomy_device,
            roomy,
            &receipts(&roomy_device, 1, 3),
        )
        .await;
        assert_eq!(status, 200, "a tenant within the default quota: {body}");
        let logged = try_pull_all_from(&http, &base, &full_device)
            .await
            .expect("the tenant at its quota still pulls");
        assert!(
            logged.is_empty(),
            "a refused batch logs nothing: {logged:?}"
        );

        // The registry blocks: off this runtime's async threads.
        tokio::task::block_in_place(|| {
            registry.set_tenant_quota(
                full,
                TenantQuota {
                    push_per_sec: None,
                    max_bytes: Some(1 << 40),
                },
                3,
            )
        })
        .expect("quota raised");
        // The server reads quotas again within QUOTA_REFRESH.
        let deadline = std::time::Instant::now() + GENEROUS;
        let answer = loop {
            let (status, body) = push_to(&http, &base, &full_device, full, &batch).await;
            if status != 507 || std::time::Instant::now() > deadline {
                break (status, body);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        assert_eq!(answer.0, 200, "the raised quota lets it push: {}", answer.1);
        assert_eq!(
            result_statuses(&answer.1),
            ["applied", "applied", "applied"],
            "{}",
            answer.1
        );
        let logged = try_pull_all_from(&http, &base, &full_device)
            .await
            .expect("pull");
        assert_eq!(logged.len(), 3, "the batch is logged once: {logged:?}");
    });
    drop(server);
}
