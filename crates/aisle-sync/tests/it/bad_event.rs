//! A push the server cannot decode names the event at fault in its `bad_json` answer
//! (`event_index`); the engine sets that one event aside and sends the rest.
//!
//! Regression: the engine looked for the index by parsing the message, as `events[1]: ...`,
//! but the server's message starts with "the request body is not valid protocol json: ", so
//! the index was never found and the whole batch was retried forever.

use aisle_core::event::EventVersion;
use aisle_core::ids::{DeviceId, EventId, TenantId, UserId, WarehouseId};
use aisle_core::testkit::{key, received};
use aisle_core::{Event, Hlc};
use aisle_protocol::{ErrorBody, PullResponse, PushResponse, PushResult, PushStatus};
use aisle_store::Store;
use aisle_sync::{system_now_ms, DeviceClock, DeviceProfile, Engine, SyncConfig, Token};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The event ids of every push the fake server received, in order.
type Pushes = Arc<Mutex<Vec<Vec<EventId>>>>;

/// The first push is refused as `bad_json` about its event 1, as the real server words it;
/// every later push is applied.
async fn push(State(pushes): State<Pushes>, body: Bytes) -> Response {
    let body: serde_json::Value = serde_json::from_slice(&body).expect("a push is json");
    let ids: Vec<EventId> = body["events"]
        .as_array()
        .expect("a push has events")
        .iter()
        .map(|event| event["id"].as_str().expect("an id").parse().expect("an id"))
        .collect();
    let n_pushes = {
        let mut pushes = pushes.lock().expect("pushes");
        pushes.push(ids.clone());
        pushes.len()
    };
    if n_pushes == 1 {
        let mut error = ErrorBody::new(
            "bad_json",
            "the request body is not valid protocol json: events[1]: unknown variant `teleported`",
        );
        error.event_index = Some(1);
        return (StatusCode::BAD_REQUEST, Json(error)).into_response();
    }
    let results = ids
        .into_iter()
        .enumerate()
        .map(|(n, id)| PushResult {
            id,
            status: PushStatus::Applied,
            seq: Some(n as u64 + 1),
            reason: None,
            message: None,
        })
        .collect();
    Json(PushResponse {
        results,
        server_time_ms: system_now_ms(),
    })
    .into_response()
}

async fn pull() -> Json<PullResponse> {
    Json(PullResponse {
        events: Vec::new(),
        unread: Vec::new(),
        next: 0,
        checksum: None,
        checksum_seq: None,
        server_time_ms: system_now_ms(),
    })
}

fn receipt(profile: &DeviceProfile, n: u8) -> Event {
    let now_ms = system_now_ms() as u64;
    let stock_key = aisle_core::stock::StockKey {
        warehouse: profile.warehouse,
        ..key(1, 1, None)
    };
    Event {
        v: EventVersion::CURRENT,
        id: EventId::new_v7(now_ms, [n; 10]),
        tenant: profile.tenant,
        warehouse: profile.warehouse,
        device: profile.device,
        user: UserId::new_v7(1, [7; 10]),
        hlc: Hlc {
            wall_ms: now_ms,
            counter: u16::from(n),
        },
        clock_correction_ms: 0,
        replaces: None,
        body: received(&stock_key, 1),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_the_server_cannot_decode_is_quarantined_and_the_rest_are_sent() {
    let pushes = Pushes::default();
    let app = Router::new()
        .route("/v1/t/{tenant}/events", post(push).get(pull))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(Arc::clone(&pushes));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let profile = DeviceProfile {
        name: "dock".into(),
        server_url: format!("http://{addr}/"),
        allow_insecure_http: false,
        tenant: TenantId::new_v7(1, [1; 10]),
        warehouse: WarehouseId::new_v7(1, [2; 10]),
        device: DeviceId::new_v7(1, [3; 10]),
    };
    let device_dir = tempfile::tempdir().expect("tempdir");
    let db_path = device_dir.path().join("device.sqlite3");
    let store_key = aisle_store::StoreKey::from_bytes([7; 32]);
    let mut recorder = Store::open(&db_path, profile.store_profile(), &store_key).expect("store");
    let events: Vec<Event> = (1..=3).map(|n| receipt(&profile, n)).collect();
    for event in &events {
        recorder.record(event).expect("recorded");
    }
    let config = SyncConfig {
        pull_master: false,
        watch_network: false,
        request_timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(5),
        interval: Duration::from_secs(3_600),
        ..SyncConfig::default()
    };
    let mut engine = Engine::new(
        Store::open(&db_path, profile.store_profile(), &store_key).expect("second connection"),
        &profile,
        Token::new("aisle_dev_test".into()),
        config,
        DeviceClock::new(Hlc::default(), 5_000).shared(),
    )
    .expect("engine");

    engine.sync_once().await.expect("the round succeeds");

    let pushes = pushes.lock().expect("pushes").clone();
    let ids: Vec<EventId> = events.iter().map(|event| event.id).collect();
    assert_eq!(
        pushes,
        vec![ids.clone(), vec![ids[0], ids[2]]],
        "the batch is sent again without the event the server named"
    );
    let quarantined = recorder.quarantined(10).expect("quarantined");
    assert_eq!(
        quarantined
            .iter()
            .map(|row| row.event.id)
            .collect::<Vec<_>>(),
        vec![ids[1]],
        "only the named event is set aside"
    );
    assert!(
        quarantined[0].reason.starts_with("bad_json"),
        "the reason keeps the server's code: {}",
        quarantined[0].reason
    );
    let status = engine.status().borrow().clone();
    assert_eq!((status.pending, status.quarantined), (0, 1), "{status:?}");
    server.abort();
}
