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
