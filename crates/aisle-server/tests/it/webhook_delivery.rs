//! ERP webhook deliveries to a real HTTP receiver on loopback (issue 16): every delivery is
//! signed per Standard Webhooks and checked here with a second HMAC implementation; the
//! receiver answers from a script (500s, a 410); deliveries come in the feed's order, a
//! retry keeps its `webhook-id`, a 410 disables the endpoint, and a target that resolves to
//! a refused address is never reached.

use crate::erp::api_key;
use crate::support::{event, push_to, Device, World};
use aisle_core::event::CountDecision;
use aisle_core::ids::TenantId;
use aisle_core::testkit;
use aisle_server::auth::Scope;
use aisle_server::registry::WebhookId;
use aisle_server::webhooks::schedule::RetrySchedule;
use aisle_server::webhooks::sign::Secret;
use aisle_server::Registry as _;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request the receiver got.
#[derive(Clone, Debug)]
struct Got {
    id: String,
    signature_ok: bool,
    answered: u16,
    body: Value,
}

#[derive(Clone)]
struct Receiver {
    key: Arc<Vec<u8>>,
    script: Arc<Mutex<VecDeque<u16>>>,
    got: Arc<Mutex<Vec<Got>>>,
}

/// Checks `webhook-signature` the way a receiver would, from the specification's text.
pub(crate) fn verify(key: &[u8], headers: &HeaderMap, body: &[u8]) -> bool {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    let (Some(id), Some(timestamp), Some(signatures)) = (
        header("webhook-id"),
        header("webhook-timestamp"),
        header("webhook-signature"),
    ) else {
        return false;
    };
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).expect("key");
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    signatures
        .split(' ')
        .any(|signature| signature == format!("v1,{expected}"))
}

async fn hook(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let answered = receiver
        .script
        .lock()
        .expect("script")
        .pop_front()
        .unwrap_or(200);
    receiver.got.lock().expect("got").push(Got {
        id: headers
            .get("webhook-id")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
        signature_ok: verify(&receiver.key, &headers, &body),
        answered,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    });
    StatusCode::from_u16(answered).expect("status")
}

/// A receiver on loopback answering `script` first, then 200: its URL and its log.
async fn receiver(secret: &Secret, script: &[u16]) -> (String, Arc<Mutex<Vec<Got>>>) {
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.expose().strip_prefix("whsec_").expect("prefix"))
        .expect("key");
    let receiver = Receiver {
        key: Arc::new(key),
        script: Arc::new(Mutex::new(script.iter().copied().collect())),
        got: Arc::default(),
    };
    let got = Arc::clone(&receiver.got);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(hook))
        .with_state(receiver);
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/hook"), got)
}

async fn world() -> World {
    World::start_with(4, |config| {
        config.webhooks.policy.allow_http_loopback = true;
        config.webhooks.schedule = RetrySchedule::parse("1s,1s,1s").expect("schedule");
    })
    .await
}

async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn push_floor_work(world: &World, device: &Device, first_serial: u64) {
    let bin = testkit::key(1, 1, None);
    let now = aisle_server::now_ms() as u64;
    let events = vec![
        event(device, first_serial, now, testkit::received(&bin, 12)),
        event(
            device,
            first_serial + 1,
            now + 1,
            testkit::adjusted(&bin, -2),
        ),
        event(
            device,
            first_serial + 2,
            now + 2,
            testkit::counted(&bin, 9, 10, CountDecision::SelfApproved),
        ),
    ];
    let (status, body) = push_to(&world.http, &world.url(""), device, device.tenant, &events).await;
    assert_eq!(status, 200, "{body}");
}

/// The ids of the tenant's feed, in order, read with a `feed:read` key.
async fn feed_ids(world: &World, tenant: TenantId) -> Vec<String> {
    let key = api_key(world, tenant, &[Scope::FeedRead]);
    let page: Value = world
        .http
        .get(world.url(&format!("/v1/t/{tenant}/erp/feed")))
        .bearer_auth(key)
        .send()
        .await
        .expect("feed")
        .json()
        .await
        .expect("json");
    page["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|entry| entry["message"]["id"].as_str().expect("id").to_owned())
        .collect()
}

fn add_webhook(world: &World, tenant: TenantId, url: &str, secret: &Secret) -> WebhookId {
    world
        .registry
        .add_webhook(tenant, url, &[], secret, aisle_server::now_ms())
        .expect("webhook")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_are_signed_in_the_feeds_order_and_a_failed_one_is_retried_with_its_id() {
    let world = world().await;
    let (tenant, warehouse) = world.tenant("acme");
    let device = world.enroll(tenant, warehouse, "dock-1").await;
    let secret = Secret::from_key([5; 32]);
    let (url, got) = receiver(&secret, &[500, 503]).await;
    add_webhook(&world, tenant, &url, &secret);
    push_floor_work(&world, &device, 1).await;

    until("three messages delivered", || {
        got.lock()
            .expect("got")
            .iter()
            .filter(|got| got.answered == 200)
            .count()
            == 3
    })
    .await;
    let got = got.lock().expect("got").clone();
    assert!(
        got.iter().all(|got| got.signature_ok),
        "every signature verifies: {got:?}"
    );
    let answers: Vec<u16> = got.iter().map(|got| got.answered).collect();
    assert_eq!(
        answers,
        [500, 503, 200, 200, 200],
        "two failures, then each once"
    );
    assert!(
        got[0].id == got[1].id && got[1].id == got[2].id,
        "a retry keeps its webhook-id: {got:?}"
    );
    let delivered: Vec<String> = got
        .iter()
        .filter(|got| got.answered == 200)
        .map(|got| got.id.clone())
        .collect();
    assert_eq!(
        delivered,
        feed_ids(&world, tenant).await,
        "the feed's messages, in its order"
    );
    assert!(
        got.iter()
            .all(|got| got.body["id"].as_str() == Some(got.id.as_str())),
        "the webhook-id is the message's id"
    );
    let failed = world
        .registry
        .webhook_deliveries(tenant, true, 50)
        .expect("log");
    assert_eq!(
        failed
            .iter()
            .map(|row| (row.outcome.as_str(), row.status))
            .collect::<Vec<_>>(),
        [("retry", Some(503)), ("retry", Some(500))],
        "the log keeps each failed attempt, newest first"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_410_disables_the_endpoint_which_resumes_from_the_same_message_when_enabled() {
    let world = world().await;
    let (tenant, warehouse) = world.tenant("acme");
    let device = world.enroll(tenant, warehouse, "dock-1").await;
    let secret = Secret::from_key([6; 32]);
    let (url, got) = receiver(&secret, &[410]).await;
    let hook = add_webhook(&world, tenant, &url, &secret);
    push_floor_work(&world, &device, 1).await;
    until("the endpoint is disabled", || {
        !world
            .registry
            .webhook(hook)
            .expect("db")
            .expect("hook")
            .enabled
    })
    .await;
    let row = world.registry.webhook(hook).expect("db").expect("hook");
    assert!(
        row.disabled_reason
            .as_deref()
            .is_some_and(|reason| reason.contains("410")),
        "{row:?}"
    );
    let gone_id = got.lock().expect("got")[0].id.clone();
    assert!(world
        .registry
        .set_webhook_enabled(hook, true, None, aisle_server::now_ms())
        .expect("enable"));
    until("all three delivered after enabling", || {
        got.lock()
            .expect("got")
            .iter()
            .filter(|got| got.answered == 200)
            .count()
            == 3
    })
    .await;
    assert_eq!(
        got.lock().expect("got")[1].id,
        gone_id,
        "the message the 410 answered is sent first again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_that_resolves_to_loopback_is_never_reached_without_the_operators_flag() {
    // The default policy: no loopback. The URL is stored directly, as if its name had
    // resolved to a public address when it was added and was rebound since.
    let world = World::start_with(4, |config| {
        config.webhooks.schedule = RetrySchedule::parse("1s").expect("schedule");
    })
    .await;
    let (tenant, warehouse) = world.tenant("acme");
    let device = world.enroll(tenant, warehouse, "dock-1").await;
    let secret = Secret::from_key([7; 32]);
    let (url, got) = receiver(&secret, &[]).await;
    let rebound = url.replace("http://127.0.0.1", "https://localhost");
    add_webhook(&world, tenant, &rebound, &secret);
    push_floor_work(&world, &device, 1).await;
    until("the attempt is logged", || {
        !world
            .registry
            .webhook_deliveries(tenant, true, 10)
            .expect("log")
            .is_empty()
    })
    .await;
    let failed = world
        .registry
        .webhook_deliveries(tenant, true, 10)
        .expect("log");
    assert!(
        failed[0]
            .error
            .as_deref()
            .is_some_and(|error| error.contains("loopback")),
        "refused at connect time, by name: {failed:?}"
    );
    assert!(
        got.lock().expect("got").is_empty(),
        "the receiver was never reached"
    );
}
