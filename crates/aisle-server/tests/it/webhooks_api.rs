//! The ERP manages its own webhook endpoints with a `webhooks:manage` key, over the real
//! server on loopback: add (the secret shown once), list (never a secret), rotate, disable,
//! enable, replay and the delivery log; the server's target policy on the URLs; another
//! tenant's endpoint is not found; a key without the scope is refused.

use crate::support::World;
use aisle_server::auth::Scope;
use serde_json::{json, Value};

async fn call(
    world: &World,
    method: reqwest::Method,
    path: &str,
    key: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = world.http.request(method, world.url(path)).bearer_auth(key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("the server answers");
    let status = response.status().as_u16();
    let text = response.text().await.expect("a body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erp_manages_its_webhook_endpoints_within_its_tenant() {
    use reqwest::Method;
    let world = World::start(4).await;
    let (acme, _) = world.tenant("acme");
    let (globex, _) = world.tenant("globex");
    let key = crate::erp::api_key(&world, acme, &[Scope::WebhooksManage]);
    let other_key = crate::erp::api_key(&world, globex, &[Scope::WebhooksManage]);
    let feed_key = crate::erp::api_key(&world, acme, &[Scope::FeedRead]);
    let hooks = format!("/v1/t/{acme}/erp/webhooks");

    // The server's target policy, as the operator's CLI applies it.
    for (url, why) in [
        ("http://127.0.0.1:9/hook", "plain http"),
        ("https://10.1.2.3/hook", "a private address"),
        ("https://169.254.169.254/latest", "the metadata address"),
        ("not a url", "no URL at all"),
    ] {
        let (status, body) = call(
            &world,
            Method::POST,
            &hooks,
            &key,
            Some(json!({ "url": url })),
        )
        .await;
        assert_eq!(status, 422, "{why} is refused: {body}");
        assert_eq!(body["code"], "invalid_record", "{body}");
        assert!(
            body["message"].as_str().unwrap_or("").contains("url: "),
            "{body}"
        );
    }
    let (status, body) = call(
        &world,
        Method::POST,
        &hooks,
        &key,
        Some(json!({ "url": "https://93.184.215.14/hook", "event_types": ["goods.shipped"] })),
    )
    .await;
    assert_eq!(
        (status, &body["code"]),
        (422, &json!("invalid_record")),
        "{body}"
    );
    let (status, body) = call(
        &world,
        Method::POST,
        &hooks,
        &key,
        Some(json!({ "url": "https://93.184.215.14/hook", "secret": "mine" })),
    )
    .await;
    assert_eq!(
        (status, &body["code"]),
        (400, &json!("bad_json")),
        "unknown fields: {body}"
    );

    // Added, with its secret shown once.
    let (status, created) = call(
        &world,
        Method::POST,
        &hooks,
        &key,
        Some(json!({ "url": "https://93.184.215.14/hook", "event_types": ["goods.received", "pick_list.completed"] })),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().expect("an id").to_owned();
    let secret = created["secret"].as_str().expect("a secret").to_owned();
    assert!(secret.starts_with("whsec_"), "{created}");

    let (status, listed) = call(&world, Method::GET, &hooks, &key, None).await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(
        listed["webhooks"].as_array().map(Vec::len),
        Some(1),
        "{listed}"
    );
    let hook = &listed["webhooks"][0];
    assert_eq!(hook["id"], json!(id));
    assert_eq!(hook["enabled"], json!(true));
    assert_eq!(
        hook["event_types"],
        json!(["goods.received", "pick_list.completed"])
    );
    assert!(
        !listed.to_string().contains(&secret) && hook.get("secret").is_none(),
        "a listing never shows a secret: {listed}"
    );

    // Another tenant neither sees nor touches it.
    let other_hooks = format!("/v1/t/{globex}/erp/webhooks");
    let (status, theirs) = call(&world, Method::GET, &other_hooks, &other_key, None).await;
    assert_eq!(
        (status, theirs["webhooks"].clone()),
        (200, json!([])),
        "{theirs}"
    );
    for action in ["rotate", "disable", "enable", "replay"] {
        let body = (action == "replay")
            .then(|| json!({ "from": 1 }))
            .or(Some(json!({})));
        let path = format!("{other_hooks}/{id}/{action}");
        let (status, answer) = call(&world, Method::POST, &path, &other_key, body).await;
        assert_eq!(
            status, 404,
            "{action} of another tenant's endpoint: {answer}"
        );
    }
    // A key of one tenant on the other's path: refused before anything is read.
    let (status, answer) = call(&world, Method::GET, &hooks, &other_key, None).await;
    assert_eq!(status, 403, "{answer}");
    assert_eq!(answer["code"], "tenant_mismatch", "{answer}");
    let (status, answer) = call(&world, Method::GET, &hooks, &feed_key, None).await;
    assert_eq!(
        (status, &answer["code"]),
        (403, &json!("missing_scope")),
        "{answer}"
    );

    // Rotate: a new secret, the old one signing for the overlap.
    let before_ms = aisle_server::now_ms();
    let (status, rotated) = call(
        &world,
        Method::POST,
        &format!("{hooks}/{id}/rotate"),
        &key,
        Some(json!({ "overlap_hours": 2 })),
    )
    .await;
    assert_eq!(status, 200, "{rotated}");
    let new_secret = rotated["secret"].as_str().expect("a secret");
    assert!(
        new_secret.starts_with("whsec_") && new_secret != secret,
        "{rotated}"
    );
    let until = rotated["previous_secret_until_ms"].as_i64().expect("until");
    assert!(
        (before_ms + 2 * 3_600_000..=aisle_server::now_ms() + 2 * 3_600_000).contains(&until),
        "{rotated}"
    );
    let (status, answer) = call(
        &world,
        Method::POST,
        &format!("{hooks}/{id}/rotate"),
        &key,
        Some(json!({ "overlap_hours": 10_000 })),
    )
    .await;
    assert_eq!(
        (status, &answer["code"]),
        (422, &json!("invalid_record")),
        "{answer}"
    );

    // Disable with a reason, then enable.
    let (status, disabled) = call(
        &world,
        Method::POST,
        &format!("{hooks}/{id}/disable"),
        &key,
        Some(json!({ "reason": "ERP maintenance" })),
    )
    .await;
    assert_eq!(status, 200, "{disabled}");
    assert_eq!(disabled["enabled"], json!(false));
    assert_eq!(disabled["disabled_reason"], json!("ERP maintenance"));
    let (status, enabled) = call(
        &world,
        Method::POST,
        &format!("{hooks}/{id}/enable"),
        &key,
        None,
    )
    .await;
    assert_eq!(status, 200, "{enabled}");
    assert_eq!(enabled["enabled"], json!(true));

    let (status, replayed) = call(
        &world,
        Method::POST,
        &format!("{hooks}/{id}/replay"),
        &key,
        Some(json!({ "from": 1 })),
    )
    .await;
    assert_eq!(status, 202, "{replayed}");
    let (status, answer) = call(
        &world,
        Method::POST,
        &format!("{hooks}/{id}/replay"),
        &key,
        Some(json!({ "from": u64::MAX })),
    )
    .await;
    assert_eq!(
        (status, &answer["code"]),
        (422, &json!("invalid_record")),
        "{answer}"
    );

    let (status, log) = call(
        &world,
        Method::GET,
        &format!("{hooks}/deliveries?failed=true"),
        &key,
        None,
    )
    .await;
    assert_eq!(status, 200, "{log}");
    assert!(log["deliveries"].is_array(), "{log}");
    let (status, log) = call(
        &world,
        Method::GET,
        &format!("{hooks}/deliveries?limit=0"),
        &key,
        None,
    )
    .await;
    assert_eq!((status, &log["code"]), (400, &json!("bad_query")), "{log}");

    let (status, answer) = call(
        &world,
        Method::POST,
        &format!("{hooks}/not-an-id/enable"),
        &key,
        None,
    )
    .await;
    assert_eq!(status, 404, "{answer}");
}
