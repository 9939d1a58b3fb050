//! The harness against real PostgreSQL: a cluster starts and answers, a replica replays the
//! primary's writes, a killed cluster recovers its committed data, PgBouncer forwards.

use aisle_pgtest::{PgBouncer, PgCluster, PgOptions};

#[test]
fn a_cluster_starts_answers_on_its_port_and_creates_databases() {
    let cluster = PgCluster::start_with(PgOptions {
        max_connections: Some(42),
        settings: vec![("statement_timeout".to_owned(), "'7s'".to_owned())],
    })
    .unwrap();
    assert_eq!(
        cluster.url("stock"),
        format!("postgres://aisle@127.0.0.1:{}/stock", cluster.port())
    );
    assert_eq!(
        cluster.psql("aisle", "SELECT current_user").unwrap(),
        "aisle"
    );
    assert_eq!(
        cluster.psql("postgres", "SHOW max_connections").unwrap(),
        "42"
    );
    assert_eq!(
        cluster.psql("postgres", "SHOW statement_timeout").unwrap(),
        "7s"
    );
    assert_eq!(cluster.psql("postgres", "SHOW fsync").unwrap(), "off");
    cluster.create_database("tenant one").unwrap();
    cluster
        .psql(
            "tenant one",
            "CREATE TABLE t (n int); INSERT INTO t VALUES (1), (2)",
        )
        .unwrap();
    assert_eq!(
        cluster
            .psql("tenant one", "SELECT n, n * 10 FROM t ORDER BY n")
            .unwrap(),
        "1|10\n2|20",
        "psql answers unaligned rows, one per line"
    );
    assert!(
        cluster
            .socket_dir()
            .join(format!(".s.PGSQL.{}", cluster.port()))
            .exists(),
        "the unix socket lives in the cluster's own directory"
    );
    let error = cluster
        .psql("postgres", "SELECT * FROM missing")
        .unwrap_err();
    assert!(
        error.to_string().contains("missing"),
        "a failed statement is an error carrying PostgreSQL's message: {error}"
    );
}

#[test]
fn two_clusters_run_side_by_side_and_drop_removes_the_directory() {
    let first = PgCluster::start().unwrap();
    let second = PgCluster::start().unwrap();
    assert_ne!(first.port(), second.port());
    first
        .psql("aisle", "CREATE TABLE only_here (n int)")
        .unwrap();
    assert!(second.psql("aisle", "SELECT * FROM only_here").is_err());
    let dir = first.socket_dir().to_path_buf();
    let port = first.port();
    drop(first);
    assert!(!dir.exists(), "dropping a cluster removes its directory");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "dropping a cluster stops it"
    );
}

#[test]
fn a_replica_replays_the_primarys_writes_and_refuses_its_own() {
    let primary = PgCluster::start().unwrap();
    let replica = primary.start_replica().unwrap();
    assert_ne!(primary.port(), replica.port());
    assert_eq!(
        replica.psql("aisle", "SELECT pg_is_in_recovery()").unwrap(),
        "t"
    );
    primary
        .psql(
            "aisle",
            "CREATE TABLE picks (n int); INSERT INTO picks VALUES (7)",
        )
        .unwrap();
    replica.wait_for_replay(&primary).unwrap();
    assert_eq!(replica.psql("aisle", "SELECT n FROM picks").unwrap(), "7");
    assert!(
        replica
            .psql("aisle", "INSERT INTO picks VALUES (8)")
            .is_err(),
        "a hot standby is read-only"
    );
}

#[test]
fn a_killed_cluster_starts_again_with_its_committed_data() {
    let mut cluster = PgCluster::start().unwrap();
    cluster
        .psql(
            "aisle",
            "CREATE TABLE counts (n int); INSERT INTO counts VALUES (3)",
        )
        .unwrap();
    let port = cluster.port();
    cluster.kill().unwrap();
    assert!(!cluster.is_running());
    assert!(
        cluster.psql("aisle", "SELECT 1").is_err(),
        "a killed cluster does not answer"
    );
    cluster.start_again().unwrap();
    assert_eq!(cluster.port(), port, "it comes back on the same port");
    assert_eq!(cluster.psql("aisle", "SELECT n FROM counts").unwrap(), "3");
    assert!(
        cluster.log().contains("not properly shut down"),
        "the restart ran crash recovery"
    );
    cluster.stop().unwrap();
    assert!(cluster.psql("aisle", "SELECT 1").is_err());
    cluster.start_again().unwrap();
    assert_eq!(cluster.psql("aisle", "SELECT n FROM counts").unwrap(), "3");
}

#[test]
fn pgbouncer_forwards_to_the_cluster_in_transaction_mode() {
    let cluster = PgCluster::start().unwrap();
    let bouncer = PgBouncer::start(&cluster).unwrap();
    assert_ne!(bouncer.port(), cluster.port());
    cluster.create_database("through").unwrap();
    assert_eq!(
        bouncer
            .psql("through", "SELECT current_database()")
            .unwrap_or_else(|error| panic!("{error}\n{}", bouncer.log())),
        "through"
    );
    let config = bouncer.psql("pgbouncer", "SHOW CONFIG").unwrap();
    assert!(
        config
            .lines()
            .any(|line| line.starts_with("pool_mode|transaction")),
        "the admin console reports transaction pooling: {config}"
    );
}
