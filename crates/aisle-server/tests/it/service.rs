//! The server as a service runs it (issue 17): options from `--config FILE` with `AISLE_*`
//! variables and flags over it, and a graceful stop on SIGTERM that stops accepting,
//! finishes the push in flight and exits cleanly with everything on disk.

use crate::support::{pull_all_from, receipts, Device};
use aisle_server::{Registry, RunningServer, ServerConfig, SqliteRegistry};
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_aisle-server");

fn write_config(dir: &Path, text: &str) -> std::path::PathBuf {
    let path = dir.join("server.toml");
    std::fs::write(&path, text).expect("config written");
    path
}

/// `aisle-server ARGS` with only `variables` of the AISLE_* environment set.
fn run(args: &[&str], variables: &[(&str, &Path)]) -> std::process::Output {
    let mut command = Command::new(BIN);
    for (name, _) in std::env::vars() {
        if name.starts_with("AISLE_") {
            command.env_remove(name);
        }
    }
    command
        .args(args)
        .envs(variables.iter().copied())
        .output()
        .expect("the binary runs")
}

fn has_tenant(data: &Path, name: &str) -> bool {
    aisle_server::registry_path(data).exists()
        && SqliteRegistry::open(&aisle_server::registry_path(data))
            .expect("registry")
            .list_tenants()
            .expect("tenants")
            .iter()
            .any(|tenant| tenant.name == name)
}

#[test]
fn a_config_file_sets_the_options_and_variables_and_flags_win_over_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (from_file, from_env, from_flag) = (
        dir.path().join("file"),
        dir.path().join("env"),
        dir.path().join("flag"),
    );
    let config = write_config(
        dir.path(),
        &format!("data = {:?}\n", from_file.display().to_string()),
    );
    let config = config.to_str().expect("utf-8 path");

    let output = run(&["--config", config, "tenant", "add", "one"], &[]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        has_tenant(&from_file, "one"),
        "the file's data directory is used"
    );

    let output = run(
        &["--config", config, "tenant", "add", "two"],
        &[("AISLE_DATA_DIR", &from_env)],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        has_tenant(&from_env, "two") && !has_tenant(&from_file, "two"),
        "AISLE_DATA_DIR wins over the file"
    );

    let flag = from_flag.to_str().expect("utf-8");
    let output = run(
        &["--config", config, "--data", flag, "tenant", "add", "three"],
        &[("AISLE_DATA_DIR", &from_env)],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        has_tenant(&from_flag, "three") && !has_tenant(&from_env, "three"),
        "--data wins over the variable and the file"
    );

    // The same file through AISLE_CONFIG.
    let output = run(
        &["tenant", "add", "four"],
        &[("AISLE_CONFIG", Path::new(config))],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        has_tenant(&from_file, "four"),
        "AISLE_CONFIG names the file too"
    );
}

#[test]
fn a_config_file_with_an_unknown_option_is_refused_by_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), "data = \"/tmp/x\"\nmax_conections = 10\n");
    let output = run(&["--config", config.to_str().expect("utf-8"), "serve"], &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "refused: {stderr}");
    assert!(
        stderr.contains("unknown option `max_conections`")
            && stderr.contains("max-connections")
            && stderr.contains(&config.display().to_string()),
        "the error names the key, the file and what it could have been: {stderr}"
    );
}

#[test]
fn sigterm_stops_accepting_finishes_the_push_in_flight_and_exits_cleanly() {
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
    drop(registry);
    let device = Device {
        tenant,
        warehouse,
        device: enrolled.device,
        token: enrolled.token,
    };
    let config = write_config(
        dir.path(),
        &format!(
            "listen = \"127.0.0.1:0\"\ndata = {:?}\n",
            data.display().to_string()
        ),
    );
    let mut server = Command::new(BIN)
        .args(["--config", config.to_str().expect("utf-8"), "serve"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the server starts");
    let addr = crate::support::listening_addr(&mut server);

    // A push whose body is half sent when SIGTERM arrives.
    let events = receipts(&device, 1, 200);
    let body = serde_json::to_vec(&serde_json::json!({ "events": events })).expect("json");
    let mut connection = std::net::TcpStream::connect(&addr).expect("connects");
    connection
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    let head = format!(
        "POST /v1/t/{tenant}/events HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n",
        device.token,
        body.len()
    );
    let half = body.len() / 2;
    connection.write_all(head.as_bytes()).expect("head sent");
    connection
        .write_all(&body[..half])
        .expect("half the body sent");
    connection.flush().expect("flushed");
    // Until the server has read the head, the connection is idle and a graceful stop would
    // close it; the server reads it at once, this only orders the test's two steps.
    std::thread::sleep(Duration::from_millis(300));
    let killed = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());

    // New connections are refused once the server stops accepting.
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(&addr).is_ok() {
        assert!(
            Instant::now() < deadline,
            "the server should stop accepting on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    connection
        .write_all(&body[half..])
        .expect("the rest of the body is taken");
    let mut answer = Vec::new();
    let mut reader = connection;
    let mut buffer = [0u8; 8192];
    loop {
        match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buffer[..n]),
            Err(error) => panic!("reading the answer: {error}"),
        }
        if answer.windows(4).any(|window| window == b"\r\n\r\n")
            && String::from_utf8_lossy(&answer)
                .matches("\"applied\"")
                .count()
                == 200
        {
            break;
        }
    }
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "the push in flight is answered: {answer:.300}"
    );
    assert_eq!(
        answer.matches("\"applied\"").count(),
        200,
        "every event applied"
    );

    let status = server.wait().expect("the server exits");
    let mut stderr = String::new();
    server
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("stderr read");
    assert!(
        status.success(),
        "a clean exit after SIGTERM ({status}): {stderr}"
    );
    assert!(
        stderr.contains("shutting down") && stderr.contains("stopped"),
        "{stderr}"
    );

    // Everything is on disk: a new server on the same directory serves the 200 events.
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let server = RunningServer::start(ServerConfig::new(&data, 4))
            .await
            .expect("restarts");
        let log = pull_all_from(
            &reqwest::Client::new(),
            &format!("http://{}", server.addr),
            &device,
        )
        .await;
        assert_eq!(
            log.len(),
            200,
            "the push finished during the stop is durable"
        );
    });
}
