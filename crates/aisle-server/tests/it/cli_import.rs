//! The admin CLI's master-data commands, run as the real `aisle-server` binary on a
//! temporary data directory: CSV imports are all or nothing and name the bad row's line and
//! column, PINs are hashed and never printed, API keys made by the CLI work over HTTP until
//! revoked, and `export stock` prints the server's stock.

use crate::erp::{count_rows, put_json};
use crate::support::{event, get_json, World};
use aisle_core::ids::TenantId;
use aisle_server::Registry as _;
use std::path::Path;
use std::process::Output;

fn run(data_dir: &Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_aisle-server"))
        .arg("--data")
        .arg(data_dir)
        .args(args)
        .env_remove("AISLE_DATA_DIR")
        .output()
        .expect("the binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs a command that must succeed and returns its stdout.
fn ok(data_dir: &Path, args: &[&str]) -> String {
    let output = run(data_dir, args);
    assert!(
        output.status.success(),
        "`{}` succeeds: {}",
        args.join(" "),
        stderr(&output)
    );
    stdout(&output)
}

/// A tenant "acme" with a warehouse "main", made with the CLI; returns the tenant's id.
fn acme(data_dir: &Path) -> TenantId {
    let tenant = ok(data_dir, &["tenant", "add", "acme"])
        .trim()
        .parse()
        .expect("tenant id");
    ok(data_dir, &["warehouse", "add", "acme", "main"]);
    tenant
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write csv");
    path.to_str().expect("utf-8 path").to_owned()
}

fn count(data_dir: &Path, tenant: TenantId, table: &str) -> i64 {
    let path = aisle_server::tenant_db_path(data_dir, tenant);
    let conn = rusqlite::Connection::open(path).expect("open tenant db");
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |row| {
        row.get(0)
    })
    .expect("count")
}

#[test]
fn a_good_file_imports_every_row() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tenant = acme(dir.path());
    let items = write(
        dir.path(),
        "items.csv",
        "sku,name,base_unit,lot_tracked,barcodes\n\
         SKU-1,Blue widget,each,no,4006381333931;4006381333948:12\n\
         SKU-2,\"Red widget, large\",each,yes,\n\
         SKU-3,Green widget,,,4006381333955\n",
    );
    let out = ok(dir.path(), &["import", "items", "acme", &items]);
    assert!(out.contains("imported 3 items"), "{out}");
    assert_eq!(count(dir.path(), tenant, "items"), 3);
    assert_eq!(
        count(dir.path(), tenant, "item_barcodes"),
        3,
        "two barcodes of SKU-1, one of SKU-3"
    );

    let locations = write(
        dir.path(),
        "locations.csv",
        "code,warehouse,walk_order\nA-01,main,10\nA-02,main,20\n",
    );
    ok(dir.path(), &["import", "locations", "acme", &locations]);
    let lists = write(
        dir.path(),
        "picklists.csv",
        "warehouse,reference,sku,location,qty\n\
         main,SO-1,SKU-1,A-01,12\n\
         main,SO-2,SKU-2,A-02,1\n\
         main,SO-1,SKU-3,A-02,2\n",
    );
    let out = ok(dir.path(), &["import", "picklists", "acme", &lists]);
    assert!(
        out.contains("imported 2 pick lists"),
        "rows group into lists: {out}"
    );
    assert_eq!(count(dir.path(), tenant, "pick_lines"), 3);
}

#[test]
fn a_bad_row_is_named_by_line_and_column_and_nothing_is_imported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tenant = acme(dir.path());
    let locations = write(
        dir.path(),
        "locations.csv",
        "warehouse,code,name,walk_order\n\
         main,A-01,first,10\n\
         main,A-02,second,20\n\
         main,A-03,third,abc\n\
         main,A-04,fourth,40\n",
    );
    let output = run(dir.path(), &["import", "locations", "acme", &locations]);
    assert!(!output.status.success(), "a bad row fails the import");
    let error = stderr(&output);
    assert!(
        error.contains("line 4, column 4 (walk_order): \"abc\" is not a whole number"),
        "the error names line 4 and the walk_order column: {error}"
    );
    assert!(
        error.contains("nothing"),
        "it says nothing was imported: {error}"
    );
    let path = aisle_server::tenant_db_path(dir.path(), tenant);
    assert!(
        !path.exists() || count(dir.path(), tenant, "locations") == 0,
        "rows 2 and 3 were not imported either"
    );

    // A row that parses but that the database refuses (an unknown SKU) fails the same way.
    let items = write(dir.path(), "items.csv", "sku,name\nSKU-1,one\n");
    ok(dir.path(), &["import", "items", "acme", &items]);
    let good = write(dir.path(), "good.csv", "warehouse,code\nmain,A-01\n");
    ok(dir.path(), &["import", "locations", "acme", &good]);
    let lists = write(
        dir.path(),
        "picklists.csv",
        "warehouse,reference,sku,location,qty\n\
         main,SO-1,SKU-1,A-01,1\n\
         main,SO-2,SKU-404,A-01,1\n",
    );
    let output = run(dir.path(), &["import", "picklists", "acme", &lists]);
    assert!(!output.status.success());
    let error = stderr(&output);
    assert!(
        error.contains("line 3, column 3 (sku)") && error.contains("SKU-404"),
        "the refused row and column are named: {error}"
    );
    assert_eq!(
        count(dir.path(), tenant, "pick_lists"),
        0,
        "SO-1 was not imported either"
    );
}

#[test]
fn users_are_imported_with_hashed_pins_that_are_never_printed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tenant = acme(dir.path());
    let users = write(
        dir.path(),
        "users.csv",
        "badge,name,role,pin,warehouses\nB-1,Ana,picker,482193,main\nB-2,Ben,manager,906113,main\n",
    );
    let output = run(dir.path(), &["import", "users", "acme", &users]);
    assert!(output.status.success(), "{}", stderr(&output));
    let printed = format!("{}{}", stdout(&output), stderr(&output));
    assert!(!printed.contains("482193"), "no PIN is printed: {printed}");
    let path = aisle_server::tenant_db_path(dir.path(), tenant);
    let conn = rusqlite::Connection::open(path).expect("open");
    let hash: String = conn
        .query_row(
            "SELECT pin_hash FROM users WHERE badge = 'B-1'",
            [],
            |row| row.get(0),
        )
        .expect("B-1");
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(
        aisle_pin::PinHash::from_phc(&hash)
            .expect("phc")
            .verify("482193"),
        "the stored hash checks the PIN"
    );

    let bad = write(
        dir.path(),
        "bad-users.csv",
        "badge,name,role,pin,warehouses\nB-3,Cy,picker,1234,main\nB-4,Di,picker,12ab9,main\n",
    );
    let output = run(dir.path(), &["import", "users", "acme", &bad]);
    assert!(!output.status.success());
    let error = stderr(&output);
    assert!(error.contains("line 3, column 4 (pin)"), "{error}");
    assert!(
        !error.contains("12ab9"),
        "a bad PIN is not echoed either: {error}"
    );
    assert_eq!(
        count(dir.path(), tenant, "users"),
        2,
        "B-3 was not imported"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_api_keys_work_over_http_until_revoked_and_export_prints_stock() {
    let world = World::start(8).await;
    let data = world.dir.path();
    let tenant = acme(data);
    let warehouse = world
        .registry
        .resolve_warehouse(tenant, "main")
        .expect("main");
    let device = world.enroll(tenant, warehouse, "pc-1").await;

    let key = ok(
        data,
        &[
            "api-key",
            "add",
            "acme",
            "--scope",
            "master:write",
            "--name",
            "sap",
        ],
    );
    let key = key.trim().to_owned();
    assert!(
        key.starts_with("aisle_key_"),
        "the key is printed once: {key}"
    );
    let listed = ok(data, &["api-key", "list", "acme"]);
    assert!(
        listed.contains("sap") && listed.contains("master:write") && !listed.contains(&key),
        "the list shows the key's name and scopes, never the key: {listed}"
    );
    let url = world.url(&format!("/v1/t/{tenant}/erp/locations"));
    let body = serde_json::json!({ "locations": [{ "warehouse": "main", "code": "A-01" }] });
    let (status, answer) = put_json(&world.http, &url, &key, &body).await;
    assert_eq!(status, 200, "the CLI's key works: {answer}");
    let items = write(data, "items.csv", "sku,name\nSKU-1,one\n");
    ok(data, &["import", "items", "acme", &items]);

    // The device learns the ids from the master pull and receives stock under them.
    let (_, page) = get_json(
        &world.http,
        &world.url(&format!("/v1/t/{tenant}/master")),
        &device.token,
    )
    .await;
    let id = |collection: &str| -> uuid::Uuid {
        page[collection][0]["id"]
            .as_str()
            .expect("id")
            .parse()
            .expect("uuid")
    };
    let stock_key = aisle_core::stock::StockKey {
        warehouse,
        location: aisle_core::ids::LocationId::from_uuid(id("locations")),
        item: aisle_core::ids::ItemId::from_uuid(id("items")),
        lot: None,
    };
    let receipt = event(
        &device,
        1,
        1_700_000_000_000,
        aisle_core::testkit::received(&stock_key, 7),
    );
    let (status, answer) = world.push(&device, &[receipt]).await;
    assert_eq!(status, 200, "{answer}");
    let csv = ok(data, &["export", "stock", "acme", "--warehouse", "main"]);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2, "a header and one row: {csv}");
    assert!(
        lines[0].starts_with("warehouse,location,sku,lot,on_hand"),
        "{csv}"
    );
    assert!(lines[1].starts_with("main,A-01,SKU-1,,7,"), "{csv}");
    let json = ok(data, &["export", "stock", "acme", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(json["rows"][0]["on_hand"], 7, "{json}");

    let key_id = listed.split('\t').next().expect("id").to_owned();
    ok(data, &["api-key", "revoke", &key_id]);
    let (status, answer) = put_json(&world.http, &url, &key, &body).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (401, Some("revoked_key")),
        "{answer}"
    );
    assert_eq!(count_rows(&world, tenant, "locations"), 1);
}

#[test]
fn every_new_subcommand_shows_an_example() {
    let dir = tempfile::tempdir().expect("tempdir");
    for args in [
        &["import", "--help"][..],
        &["import", "items", "--help"],
        &["import", "locations", "--help"],
        &["import", "users", "--help"],
        &["import", "picklists", "--help"],
        &["api-key", "--help"],
        &["api-key", "add", "--help"],
        &["api-key", "list", "--help"],
        &["api-key", "revoke", "--help"],
        &["export", "--help"],
        &["export", "stock", "--help"],
    ] {
        let help = ok(dir.path(), args);
        assert!(
            help.contains("Example:\n  aisle-server"),
            "`{}` shows an example: {help}",
            args.join(" ")
        );
    }
}

/// Issue 12 §3: the tenant's PIN minimum is set by the admin CLI and holds for imports;
/// a manager's PIN shorter than it is refused without being echoed.
#[test]
fn set_pin_policy_raises_the_managers_minimum_for_imports() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tenant = acme(dir.path());
    let printed = ok(
        dir.path(),
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
        dir.path(),
        "users.csv",
        "badge,name,role,pin,warehouses\nB-1,Ana,picker,4821,main\nB-2,Ben,manager,906113,main\n",
    );
    let output = run(dir.path(), &["import", "users", "acme", &users]);
    assert!(
        !output.status.success(),
        "a 6-digit manager PIN is too short now"
    );
    let error = stderr(&output);
    assert!(
        error.contains("line 3, column 4 (pin)") && error.contains("at least 8 digits"),
        "{error}"
    );
    assert!(!error.contains("906113"), "the PIN is not echoed: {error}");
    assert_eq!(count(dir.path(), tenant, "users"), 0, "nothing of the file");

    let refused = run(
        dir.path(),
        &[
            "tenant",
            "set-pin-policy",
            "acme",
            "--picker-min",
            "6",
            "--manager-min",
            "4",
        ],
    );
    assert!(
        !refused.status.success(),
        "managers cannot need fewer digits than pickers"
    );
}
