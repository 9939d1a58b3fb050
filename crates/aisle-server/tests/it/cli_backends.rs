//! The admin CLI's backend flags, run as the real `aisle-server` binary: `--database URL`
//! works on the PostgreSQL registry (a real cluster from aisle-pgtest), neither flag nor
//! both is refused before anything is opened, and the commands that reach a tenant's own
//! database (import, export, set-pin-policy, backup, restore, migrate --all) reach it on its
//! cluster. `--data DIR` is what every other CLI test runs.

use aisle_pgtest::PgCluster;
use aisle_server::pg::registry::PgRegistry;
use std::process::Output;

fn run(args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_aisle-server"))
        .args(args)
        .env_remove("AISLE_DATA_DIR")
        .env_remove("AISLE_DATABASE")
        .output()
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs a command against the PostgreSQL registry at `url` that must succeed; its stdout.
fn ok(url: &str, args: &[&str]) -> String {
    let output = run(&[&["--database", url][..], args].concat());
    assert!(
        output.status.success(),
        "`{}` succeeds: {}",
        args.join(" "),
        text(&output.stderr)
    );
    text(&output.stdout)
}

/// A cluster with an `aisle_registry` database, migrated, with the cluster itself
/// registered as the one tenant databases go to.
fn registry_cluster() -> (PgCluster, String) {
    let cluster = PgCluster::start().expect("a test cluster starts");
    cluster
        .create_database("aisle_registry")
        .expect("registry database");
    let url = cluster.url("aisle_registry");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let registry = PgRegistry::connect(&url, runtime.handle().clone()).expect("registry");
    registry
        .add_cluster("main", &cluster.base_url(), None, 1)
        .expect("tenant cluster");
    (cluster, url)
}

#[test]
fn admin_commands_on_database_work_on_the_postgresql_registry() {
    let (_cluster, url) = registry_cluster();
    let tenant = ok(&url, &["tenant", "add", "acme"]);
    ok(&url, &["warehouse", "add", "acme", "north-dc"]);
    let code = ok(&url, &["enroll-code", "acme", "north-dc"]);
    assert!(!code.trim().is_empty(), "an enrollment code is printed");
    let listed = ok(&url, &["tenant", "list"]);
    assert!(
        listed.contains(tenant.trim()) && listed.contains("acme"),
        "the tenant added through --database is listed through it: {listed}"
    );
    ok(
        &url,
        &[
            "api-key",
            "add",
            "acme",
            "--scope",
            "stock:read",
            "--name",
            "erp",
        ],
    );
    assert!(
        ok(&url, &["api-key", "list", "acme"]).contains("erp"),
        "the key is listed"
    );
    ok(&url, &["audit", "verify"]);

    // The same registry, opened in-process: the CLI wrote to PostgreSQL, not to files.
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let registry = PgRegistry::connect(&url, runtime.handle().clone()).expect("registry");
    let acme = registry
        .resolve_tenant("acme")
        .expect("acme is in the registry");
    assert_eq!(acme.to_string(), tenant.trim());
    assert_eq!(
        registry.list_warehouses(acme).expect("warehouses").len(),
        1,
        "north-dc is in the registry"
    );
}

#[test]
fn neither_or_both_backend_flags_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().to_str().expect("utf-8 path");
    for (args, says) in [
        (&["tenant", "list"][..], "give --data DIR"),
        (
            &[
                "--data",
                data,
                "tenant",
                "list",
                "--database",
                "postgres://aisle@127.0.0.1:1/aisle_registry",
            ][..],
            "not both",
        ),
    ] {
        let output = run(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}: a usage error");
        assert!(
            text(&output.stderr).contains(says),
            "{args:?}: {}",
            text(&output.stderr)
        );
    }
    assert!(
        std::fs::read_dir(dir.path()).expect("dir").next().is_none(),
        "a refused command creates no registry"
    );
}

/// Runs a command against the PostgreSQL registry at `url`, success or not.
fn on(url: &str, args: &[&str]) -> Output {
    run(&[&["--database", url][..], args].concat())
}

fn write(dir: &std::path::Path, name: &str, contents: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("write");
    path.display().to_string()
}

#[test]
fn import_export_and_set_pin_policy_reach_the_tenants_postgresql_database() {
    let (_cluster, url) = registry_cluster();
    let files = tempfile::tempdir().expect("tempdir");
    let tenant: aisle_core::ids::TenantId = ok(&url, &["tenant", "add", "acme"])
        .trim()
        .parse()
        .expect("tenant id");
    ok(&url, &["warehouse", "add", "acme", "main"]);

    // The PIN policy lands in the tenant's database, where the import reads it.
    let printed = ok(
        &url,
        &[
            "tenant",
            "set-pin-policy",
            "acme",
            "--picker-min",
            "4",
            "--manager-min",
            "8",
        ],
    );
    assert!(printed.contains("managers and admins 8"), "{printed}");
    let users = write(
        files.path(),
        "users.csv",
        "badge,name,role,pin,warehouses\nB-1,Ana,picker,4821,main\nB-2,Ben,manager,906113,main\n",
    );
    let refused = on(&url, &["import", "users", "acme", &users]);
    assert!(
        !refused.status.success(),
        "a 6-digit manager PIN is too short now"
    );
    let error = text(&refused.stderr);
    assert!(
        error.contains("line 3, column 4 (pin)") && error.contains("at least 8 digits"),
        "{error}"
    );
    assert!(!error.contains("906113"), "the PIN is not echoed: {error}");

    let items = write(files.path(), "items.csv", "sku,name\nSKU-1,one\n");
    let imported = ok(&url, &["import", "items", "acme", &items]);
    assert!(imported.contains("imported 1 items"), "{imported}");
    let locations = write(
        files.path(),
        "locations.csv",
        "code,warehouse,walk_order\nA-01,main,10\n",
    );
    ok(&url, &["import", "locations", "acme", &locations]);

    // A device of the PostgreSQL server receives 7 under the imported ids; the CLI exports it.
    let code = ok(&url, &["enroll-code", "acme", "main"]);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let server = aisle_server::RunningServer::start(aisle_server::ServerConfig::postgres(
            url.clone(),
            8,
        ))
        .await
        .expect("the server starts on the PostgreSQL registry");
        let base = format!("http://{}", server.addr);
        let http = reqwest::Client::new();
        let (status, body) = crate::support::post_json(
            &http,
            &format!("{base}/v1/enroll"),
            None,
            &serde_json::json!({ "code": code.trim(), "device_name": "pc-1" }),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let device = crate::support::device_from(&body);
        assert_eq!(device.tenant, tenant, "the code's tenant: {body}");
        let (status, page) = crate::support::get_json(
            &http,
            &format!("{base}/v1/t/{tenant}/master"),
            &device.token,
        )
        .await;
        assert_eq!(status, 200, "{page}");
        let master_id = |collection: &str| -> uuid::Uuid {
            page[collection][0]["id"]
                .as_str()
                .expect("id")
                .parse()
                .expect("uuid")
        };
        let stock_key = aisle_core::stock::StockKey {
            warehouse: device.warehouse,
            location: aisle_core::ids::LocationId::from_uuid(master_id("locations")),
            item: aisle_core::ids::ItemId::from_uuid(master_id("items")),
            lot: None,
        };
        let receipt = crate::support::event(
            &device,
            1,
            1_700_000_000_000,
            aisle_core::testkit::received(&stock_key, 7),
        );
        let (status, answer) =
            crate::support::push_to(&http, &base, &device, tenant, &[receipt]).await;
        assert_eq!(status, 200, "{answer}");
    });

    let csv = ok(&url, &["export", "stock", "acme", "--warehouse", "main"]);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2, "a header and one row: {csv}");
    assert!(lines[1].starts_with("main,A-01,SKU-1,,7,"), "{csv}");
    let json: serde_json::Value =
        serde_json::from_str(&ok(&url, &["export", "stock", "acme", "--format", "json"]))
            .expect("json");
    assert_eq!(json["rows"][0]["on_hand"], 7, "{json}");

    // Backup, restore and `migrate --all` through the binary on `--database` too.
    let backup = files.path().join("acme.backup");
    let backup = backup.to_str().expect("utf-8 path");
    let backed = ok(&url, &["backup", "acme", "--out", backup]);
    assert!(
        backed.starts_with("backed up acme: 1 events, last seq 1, to "),
        "{backed}"
    );
    let restored = ok(&url, &["restore", "acme", "--from", backup]);
    assert!(
        restored.starts_with("restored acme: 1 events, last seq 1 (was 1 events, last seq 1)"),
        "{restored}"
    );
    assert_eq!(
        ok(&url, &["export", "stock", "acme", "--warehouse", "main"]),
        csv,
        "the restored database holds the same stock"
    );
    let migrated = ok(&url, &["migrate", "--all"]);
    assert!(
        migrated.contains(&format!("acme\t{tenant}\tschema "))
            && migrated.trim_end().ends_with(", current"),
        "one line for the tenant, current: {migrated}"
    );
}

/// `aisle-server serve --database url` on a free loopback port, killed when dropped: the
/// process and the address it says it listens on.
struct Served {
    child: std::process::Child,
    addr: String,
}

impl Served {
    fn start(url: &str) -> Self {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_aisle-server"))
            .args(["serve", "--listen", "127.0.0.1:0", "--database", url])
            .env_remove("AISLE_DATA_DIR")
            .env_remove("AISLE_DATABASE")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("the server starts");
        let addr = crate::support::listening_addr(&mut child);
        Self { child, addr }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn serve_on_database_enrolls_a_device_through_the_postgresql_registry() {
    let (_cluster, url) = registry_cluster();
    ok(&url, &["tenant", "add", "acme"]);
    ok(&url, &["warehouse", "add", "acme", "north-dc"]);
    let code = ok(&url, &["enroll-code", "acme", "north-dc"]);
    let server = Served::start(&url);
    let addr = server.addr.clone();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (ready, enrolled) = runtime.block_on(async {
        let client = reqwest::Client::new();
        let ready = client
            .get(format!("http://{addr}/readyz"))
            .send()
            .await
            .expect("readyz answers")
            .status();
        let enrolled = client
            .post(format!("http://{addr}/v1/enroll"))
            .json(&serde_json::json!({ "code": code.trim(), "device_name": "pc-1" }))
            .send()
            .await
            .expect("enroll answers");
        (ready, enrolled.status())
    });
    drop(server);
    assert_eq!(
        ready,
        reqwest::StatusCode::OK,
        "the PostgreSQL registry answers"
    );
    assert_eq!(
        enrolled,
        reqwest::StatusCode::OK,
        "a code made by the CLI on PostgreSQL enrolls a device on the PostgreSQL server"
    );
    let listed = ok(&url, &["device", "list", "acme"]);
    assert!(
        listed.contains("pc-1"),
        "the device is in the registry: {listed}"
    );
}

/// A tenant whose database its first migration cannot run on, run as an operator meets it
/// on PostgreSQL, through the binary: its device's requests are answered `503` with the
/// code `tenant_unavailable` and no internal detail, while a tenant on the same cluster is
/// served; `migrate --all` names it as marked and exits non-zero; once the database is
/// repaired, `tenant retry-migration` brings it back.
#[test]
fn a_tenant_whose_migration_fails_is_refused_with_its_own_code_and_migrate_all_names_it() {
    use aisle_server::pg::placement::Placements as _;
    let (cluster, url) = registry_cluster();
    let mut ids = Vec::new();
    let mut codes = Vec::new();
    for name in ["healthy", "broken"] {
        ids.push(ok(&url, &["tenant", "add", name]).trim().to_owned());
        ok(&url, &["warehouse", "add", name, "main"]);
        codes.push(ok(&url, &["enroll-code", name, "main"]).trim().to_owned());
    }
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let broken_db = PgRegistry::connect(&url, runtime.handle().clone())
        .expect("registry")
        .placement(ids[1].parse().expect("`tenant add` prints the tenant's id"))
        .expect("placement")
        .expect("placed")
        .database;
    // A table of the tenant schema's first migration, made by hand and different.
    cluster
        .psql(&broken_db, "CREATE TABLE events (x integer)")
        .expect("the conflicting table");

    let server = Served::start(&url);
    let base = format!("http://{}", server.addr);
    // Each device's first pull: its status and body.
    let pull = |code: &str, name: &str| {
        runtime.block_on(async {
            let client = reqwest::Client::new();
            let enrolled: serde_json::Value = client
                .post(format!("{base}/v1/enroll"))
                .json(&serde_json::json!({ "code": code, "device_name": name }))
                .send()
                .await
                .expect("enroll answers")
                .json()
                .await
                .expect("an enrollment");
            let token = enrolled["token"].as_str().expect("a token");
            let tenant = enrolled["tenant"].as_str().expect("a tenant");
            let answer = client
                .get(format!("{base}/v1/t/{tenant}/events?after=0"))
                .bearer_auth(token)
                .send()
                .await
                .expect("pull answers");
            let status = answer.status().as_u16();
            let body: serde_json::Value = answer.json().await.expect("a JSON body");
            (status, body)
        })
    };
    let (status, body) = pull(&codes[1], "pc-broken");
    assert_eq!(
        (status, body["code"].as_str()),
        (503, Some("tenant_unavailable")),
        "{body}"
    );
    let message = body["message"].as_str().expect("a message");
    assert!(
        !message.contains("events") && !message.contains("postgres"),
        "no internal detail reaches the device: {message}"
    );
    let (status, body) = pull(&codes[0], "pc-healthy");
    assert_eq!(status, 200, "the other tenant is served: {body}");

    let migrated = run(&["--database", &url, "migrate", "--all"]);
    let report = text(&migrated.stdout);
    assert!(
        !migrated.status.success(),
        "a failed tenant fails the command: {report}"
    );
    let line_of = |name: &str| {
        report
            .lines()
            .find(|line| line.starts_with(&format!("{name}\t")))
            .unwrap_or_else(|| panic!("a line for {name}: {report}"))
            .to_owned()
    };
    assert!(
        line_of("broken").contains("FAILED (marked unavailable)"),
        "{report}"
    );
    assert!(line_of("healthy").contains(", current"), "{report}");
    assert!(
        text(&migrated.stderr).contains("1 of 2 tenants failed to migrate"),
        "{}",
        text(&migrated.stderr)
    );

    // Repaired by hand, then cleared: its next request migrates it, and it is served.
    cluster
        .psql(&broken_db, "DROP TABLE events")
        .expect("the repair");
    ok(&url, &["tenant", "retry-migration", "broken"]);
    let code = ok(&url, &["enroll-code", "broken", "main"]);
    let (status, body) = pull(code.trim(), "pc-broken-2");
    assert_eq!(status, 200, "the repaired tenant is served: {body}");
    drop(server);
}

/// `release add`, `release list` and `tenant set-updates`, as the operator runs them: on
/// the PostgreSQL registry the artifact goes into the database, and what the commands
/// print is what the registry holds.
#[test]
fn releases_and_update_policies_are_set_from_the_command_line() {
    let (_cluster, url) = registry_cluster();
    let dir = tempfile::tempdir().expect("tempdir");
    let artifact = dir.path().join("Aisle_0.3.0_amd64.AppImage.tar.gz");
    std::fs::write(&artifact, vec![7u8; 2 * 1024 * 1024 + 3]).expect("artifact");
    let signature = write(
        dir.path(),
        "Aisle_0.3.0_amd64.AppImage.tar.gz.sig",
        "c2lnbmF0dXJl\n",
    );
    let path = artifact.to_str().expect("utf-8 path");
    let add = [
        "release",
        "add",
        "--file",
        path,
        "--signature",
        &signature,
        "--version",
        "0.3.0",
        "--target",
        "linux-x86_64",
    ];
    let added = ok(&url, &add);
    assert!(
        added.starts_with("release 0.3.0 for linux-x86_64 on stable: 2097155 bytes, sha256 "),
        "{added}"
    );
    let listed = ok(&url, &["release", "list"]);
    assert!(
        listed.starts_with("linux-x86_64\t0.3.0\tstable\t2097155\t"),
        "{listed}"
    );
    let again = on(&url, &add);
    assert!(!again.status.success(), "a release is stored once");
    assert!(
        text(&again.stderr).contains("exists"),
        "{}",
        text(&again.stderr)
    );

    ok(&url, &["tenant", "add", "acme"]);
    let set = ok(
        &url,
        &[
            "tenant",
            "set-updates",
            "acme",
            "--channel",
            "beta",
            "--rollout",
            "20",
        ],
    );
    assert!(
        set.contains("channel: beta\tpin: none\trollout: 20%"),
        "{set}"
    );
    let pinned = ok(&url, &["tenant", "set-updates", "acme", "--pin", "0.3.0"]);
    assert!(
        pinned.contains("channel: beta\tpin: 0.3.0\trollout: 20%"),
        "flags not given keep their value: {pinned}"
    );
    let bad = on(&url, &["tenant", "set-updates", "acme", "--pin", "three"]);
    assert!(!bad.status.success());
    assert!(
        text(&bad.stderr).contains("not a semantic version"),
        "{}",
        text(&bad.stderr)
    );
    let too_much = on(&url, &["tenant", "set-updates", "acme", "--rollout", "150"]);
    assert!(!too_much.status.success(), "a rollout is 0 to 100");
}
