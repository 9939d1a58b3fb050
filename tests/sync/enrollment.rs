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

/// `aisle enroll …`, the desktop binary without a window, with its files in `data_dir`.
fn aisle_enroll(
    world: &World,
    code: &str,
    profile: &str,
    data_dir: &std::path::Path,
) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_aisle"))
        .args(["enroll", "--server", &world.url(), "--code", code])
        .args([
            "--profile",
            profile,
            "--device-name",
            "dock-7",
            "--data-dir",
        ])
        .arg(data_dir)
        // No display: headless enrolment must not need one.
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .expect("the desktop binary runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aisle_enroll_enrols_a_pc_without_a_window_and_refuses_a_used_code_by_name() {
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
    let data_dir = world.devices_dir.path().join("pc-7");
    let profile = unique_profile("it-enrolled");
    let output = tokio::task::block_in_place(|| aisle_enroll(&world, &code, &profile, &data_dir));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "enrolled: {stderr}");
    assert!(String::from_utf8_lossy(&output.stdout).contains("enrolled"));

    // The token is in the keyring, under the profile, and the server knows the device.
    let token = KeyringTokenStore::new(KeyringTokenStore::SERVICE)
        .load(&profile)
        .expect("the keyring answers")
        .expect("the token is in the keyring");
    let devices = world.registry.list_devices(world.tenant).expect("devices");
    assert!(
        devices.iter().any(|device| device.name == "dock-7"),
        "the server has the PC under its name: {devices:?}"
    );
    // The profile book names it as the one to open, and no file holds the token.
    let book = std::fs::read_to_string(data_dir.join("profiles.json")).expect("profile book");
    assert!(book.contains(&profile), "{book}");
    let secret = token.expose().as_bytes();
    for entry in walk(&data_dir) {
        let bytes = std::fs::read(&entry).expect("file");
        assert!(
            !bytes.windows(secret.len()).any(|window| window == secret),
            "{} holds the token",
            entry.display()
        );
    }
    assert!(
        walk(&data_dir)
            .iter()
            .any(|path| path.extension().is_some_and(|ext| ext == "sqlite3")),
        "the store was created"
    );

    // The same code again: exit 1, the reason named, nothing new on disk.
    let again_dir = world.devices_dir.path().join("pc-8");
    let again = tokio::task::block_in_place(|| {
        aisle_enroll(&world, &code, &unique_profile("again"), &again_dir)
    });
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert_eq!(again.status.code(), Some(1), "a used code fails: {stderr}");
    assert!(
        stderr.contains("already been used") || stderr.contains("code_used"),
        "the message says the code was used: {stderr}"
    );
    assert!(
        !walk(&again_dir)
            .iter()
            .any(|path| path.extension().is_some_and(|ext| ext == "sqlite3")),
        "a refused enrolment creates no store"
    );
}

/// Every file under `dir` (none when it does not exist).
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files
}
