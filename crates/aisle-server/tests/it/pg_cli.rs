//! The admin CLI on a PostgreSQL registry (`--database`), run as the real binary against a
//! real cluster: `cluster add`, `tenant add [--cluster]` creating the tenant's database,
//! `cluster list` with sizes and a masked password, and the registry commands that work the
//! same on both backends (warehouses, enrollment codes).

use aisle_pgtest::PgCluster;
use std::process::Output;

const BIN: &str = env!("CARGO_BIN_EXE_aisle-server");

fn run(registry_url: &str, args: &[&str]) -> Output {
    std::process::Command::new(BIN)
        .args(args)
        .args(["--database", registry_url])
        .env_remove("AISLE_DATA_DIR")
        .env_remove("AISLE_DATABASE")
        .output()
        .expect("the binary runs")
}

fn stdout_of(registry_url: &str, args: &[&str]) -> String {
    let output = run(registry_url, args);
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8")
}

#[test]
fn clusters_and_placed_tenants_from_the_command_line() {
    let registry_cluster = PgCluster::start().expect("registry cluster");
    registry_cluster
        .create_database("aisle_registry")
        .expect("registry database");
    let second = PgCluster::start().expect("second cluster");
    let registry = registry_cluster.url("aisle_registry");
    // Trust authentication ignores the password, so the URL works as given.
    let with_password = second.base_url().replace("aisle@", "aisle:s3cret@");

    let base_url = registry_cluster.base_url();
    assert_eq!(
        stdout_of(&registry, &["cluster", "add", "pg-a", "--url", &base_url]),
        "cluster pg-a added\n"
    );
    assert_eq!(
        stdout_of(
            &registry,
            &["cluster", "add", "pg-b", "--url", &with_password]
        ),
        "cluster pg-b added\n"
    );
    let acme = stdout_of(&registry, &["tenant", "add", "acme", "--cluster", "pg-b"]);
    acme.trim()
        .parse::<uuid::Uuid>()
        .expect("tenant add prints the id");
    stdout_of(&registry, &["tenant", "add", "globex"]);
    let missing = run(
        &registry,
        &["tenant", "add", "initech", "--cluster", "pg-z"],
    );
    assert!(!missing.status.success(), "an unknown cluster is refused");

    let list = stdout_of(&registry, &["cluster", "list"]);
    assert!(!list.contains("s3cret"), "the password is masked: {list}");
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 4, "{list}");
    assert!(
        lines[0].starts_with("pg-a  ") && lines[0].contains("  1 tenant  "),
        "{list}"
    );
    assert!(lines[1].starts_with("  globex  aisle_t_"), "{list}");
    assert!(
        lines[2].starts_with("pg-b  postgres://aisle:***@127.0.0.1:")
            && lines[2].contains("  1 tenant  "),
        "{list}"
    );
    assert!(
        lines[3].starts_with("  acme  aisle_t_")
            && lines[3].contains("  active  ")
            && lines[3].ends_with(" MB"),
        "each database's size, from its cluster: {list}"
    );

    stdout_of(&registry, &["warehouse", "add", "acme", "north"]);
    let code = stdout_of(&registry, &["enroll-code", "acme", "north"]);
    assert!(!code.trim().is_empty(), "an enrollment code is printed");
    let tenants = stdout_of(&registry, &["tenant", "list"]);
    assert!(
        tenants.contains("acme") && tenants.contains("globex"),
        "{tenants}"
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let on_sqlite = std::process::Command::new(BIN)
        .args(["cluster", "list", "--data"])
        .arg(dir.path())
        .env_remove("AISLE_DATABASE")
        .output()
        .expect("runs");
    assert!(
        !on_sqlite.status.success(),
        "clusters need a PostgreSQL registry"
    );
    assert!(
        String::from_utf8_lossy(&on_sqlite.stderr).contains("--database"),
        "{}",
        String::from_utf8_lossy(&on_sqlite.stderr)
    );
}

/// A free loopback port (free when asked; the script binds it a moment later).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// `scripts/serve-pg.sh` running in a process group of its own, stopped on drop as Ctrl-C
/// stops it (SIGINT to the group), with `scripts/pg.sh stop` after it in case the test
/// failed before the script could stop its cluster.
struct ServePg {
    child: std::process::Child,
    dir: std::path::PathBuf,
}

impl ServePg {
    fn start(dir: &std::path::Path, port: u16, pg_port: u16) -> (Self, String) {
        use std::io::{BufRead, BufReader};
        use std::os::unix::process::CommandExt;
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        // Its errors and the server's log, for the failure messages below.
        let log = dir.with_extension("log");
        let mut child = std::process::Command::new("bash")
            .arg(root.join("scripts/serve-pg.sh"))
            .arg(dir)
            .arg(port.to_string())
            .env("AISLE_SERVER_BIN", BIN)
            .env("AISLE_SKIP_SETUP", "1")
            .env("AISLE_PG_PORT", pg_port.to_string())
            .env_remove("AISLE_DATA_DIR")
            .env_remove("AISLE_DATABASE")
            .stdout(std::process::Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("the script's log"))
            .process_group(0)
            .spawn()
            .expect("the script starts");
        let stdout = child.stdout.take().expect("stdout");
        let script = Self {
            child,
            dir: dir.to_owned(),
        };
        // Its lines up to "serving on …"; the one after the code's heading is the code.
        let mut code = None;
        let mut lines = BufReader::new(stdout).lines();
        let mut previous = String::new();
        loop {
            let Some(Ok(line)) = lines.next() else {
                panic!(
                    "the script ended before it served: {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            };
            if previous.starts_with("enrollment code for tenant demo") {
                code = Some(line.trim().to_owned());
            }
            if line.starts_with("serving on ") {
                assert!(
                    line.starts_with(&format!("serving on http://127.0.0.1:{port} ")),
                    "serves on the port asked for: {line}"
                );
                break;
            }
            previous = line;
        }
        // The server's own lines are not read again: drain them so it never blocks.
        std::thread::spawn(move || lines.for_each(drop));
        (script, code.expect("an enrollment code was printed"))
    }

    /// Ctrl-C, then waits for the script to end; its exit trap stops the cluster.
    fn interrupt(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = std::process::Command::new("kill")
            .args(["-INT", "--", &group])
            .status();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while std::time::Instant::now() < deadline {
            if self.child.try_wait().expect("wait").is_some() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("the script did not end within 60 s of Ctrl-C");
    }
}

impl Drop for ServePg {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let group = format!("-{}", self.child.id());
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &group])
                .status();
            let _ = self.child.wait();
        }
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        if self.dir.join("data/postmaster.pid").exists() {
            let _ = std::process::Command::new("bash")
                .arg(root.join("scripts/pg.sh"))
                .args(["stop".as_ref(), self.dir.as_os_str()])
                .status();
        }
    }
}

/// The README's one command for the server on PostgreSQL (`scripts/serve-pg.sh`, which
/// starts its cluster through `scripts/pg.sh`), run as a person runs it: it serves, its code
/// enrolls a device, Ctrl-C stops the server and the cluster, and a second run finds the
/// same tenant and cluster instead of adding them again.
#[test]
fn the_readmes_command_serves_on_a_postgresql_cluster_of_its_own_and_stops_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // scripts/pg.sh runs PostgreSQL as `postgres` when we are root: it must reach the dir.
    std::fs::set_permissions(
        tmp.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    let dir = tmp.path().join("pg");
    let pg_port = free_port();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    for run in ["first", "second"] {
        let port = free_port();
        let (mut script, code) = ServePg::start(&dir, port, pg_port);
        let (ready, enrolled) = runtime.block_on(async {
            let client = reqwest::Client::new();
            let mut ready = None;
            for _ in 0..150 {
                if let Ok(response) = client
                    .get(format!("http://127.0.0.1:{port}/readyz"))
                    .send()
                    .await
                {
                    ready = Some(response.status());
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            let enrolled = client
                .post(format!("http://127.0.0.1:{port}/v1/enroll"))
                .json(&serde_json::json!({ "code": code, "device_name": format!("pc-{run}") }))
                .send()
                .await
                .expect("enroll answers");
            (ready, enrolled.status())
        });
        assert_eq!(ready, Some(reqwest::StatusCode::OK), "{run} run: ready");
        assert_eq!(
            enrolled,
            reqwest::StatusCode::OK,
            "{run} run: the printed code enrolls a device"
        );
        let registry = format!("postgres://aisle@127.0.0.1:{pg_port}/aisle_registry");
        let tenants = stdout_of(&registry, &["tenant", "list"]);
        assert_eq!(
            tenants.matches("demo").count(),
            1,
            "{run} run: one tenant demo: {tenants}"
        );
        let clusters = stdout_of(&registry, &["cluster", "list"]);
        assert!(clusters.contains("local"), "{run} run: {clusters}");
        // The script's own cluster is reached directly, so it keeps statements prepared on
        // the connections (`--keep-prepared-statements`), as the server says at start.
        let log = std::fs::read_to_string(dir.with_extension("log")).expect("the script's log");
        let pools = log
            .lines()
            .find(|line| line.contains("PostgreSQL tenant pools"))
            .unwrap_or_else(|| panic!("{run} run: the server names its pool settings: {log}"));
        assert!(
            pools.contains("kept on the connection"),
            "{run} run: statements are kept on the connection: {pools}"
        );
        script.interrupt();
        assert!(
            !dir.join("data/postmaster.pid").exists(),
            "{run} run: Ctrl-C stopped the cluster too"
        );
    }
}
