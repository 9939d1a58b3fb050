//! Enrollment keeps the token in the OS keyring and nowhere else, and plain http to a
//! non-loopback host is refused.

use crate::support::{fast_config, unique_profile, World, KEYRING_SERVICE};
use aisle_server::Registry as _;
use aisle_sync::enroll::EnrollForm;
use aisle_sync::{KeyringTokenStore, SyncError, TokenStore};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_goes_to_the_keyring_and_not_into_the_store() {
    let world = World::start().await;
    let device = world.device("dock-1", None, fast_config()).await;
    let token = KeyringTokenStore::new(KEYRING_SERVICE)
        .load(&device.profile.name)
        .expect("the keyring answers")
        .expect("enrollment saved the token under the profile name");
    assert!(token.expose().starts_with("aisle_"), "a protocol v1 token");
    let file = std::fs::read(&device.db_path).expect("store file");
    let secret = token.expose().as_bytes();
    assert!(
        !file.windows(secret.len()).any(|window| window == secret),
        "the token must never be written to the SQLite file"
    );
    let wal = device.db_path.with_extension("sqlite3-wal");
    if let Ok(wal) = std::fs::read(wal) {
        assert!(
            !wal.windows(secret.len()).any(|window| window == secret),
            "nor to its WAL"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_to_another_host_is_refused_before_any_request() {
    let tokens = KeyringTokenStore::new(KEYRING_SERVICE);
    let profile = unique_profile("refused");
    let error = aisle_sync::enroll(
        &EnrollForm {
            server_url: "http://sync.example.com",
            code: "0000-0000",
            device_name: "pc",
            profile_name: &profile,
            allow_insecure_http: false,
        },
        &tokens,
        &fast_config(),
    )
    .await
    .expect_err("plain http off loopback");
    assert!(matches!(error, SyncError::InsecureUrl { .. }), "{error}");
    assert!(
        tokens.load(&profile).expect("keyring").is_none(),
        "nothing was saved"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_used_code_is_refused_with_the_servers_code() {
    let world = World::start().await;
    let code = world
        .registry
        .create_enrollment_code(
            world.tenant,
            world.warehouse,
            3_600_000,
            aisle_server::now_ms(),
        )
        .expect("code");
    let tokens = KeyringTokenStore::new(KEYRING_SERVICE);
    let url = world.url();
    let form = |profile: &'static str| EnrollForm {
        server_url: &url,
        code: &code,
        device_name: "pc",
        profile_name: profile,
        allow_insecure_http: false,
    };
    let first = unique_profile("first");
    let first: &'static str = Box::leak(first.into_boxed_str());
    aisle_sync::enroll(&form(first), &tokens, &fast_config())
        .await
        .expect("first use");
    let second: &'static str = Box::leak(unique_profile("second").into_boxed_str());
    let error = aisle_sync::enroll(&form(second), &tokens, &fast_config())
        .await
        .expect_err("codes are one-time");
    assert_eq!(error.code(), "code_used", "{error}");
    assert!(!error.is_retryable(), "retrying a used code cannot help");
    tokens.delete(first).expect("cleanup");
}
