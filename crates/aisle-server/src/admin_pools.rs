//! `serve`'s flags for the PostgreSQL backend (`--database`): how the tenant pools are sized
//! (`aisle_server::pg::pools::PgPoolConfig`) and how far behind a read replica may be to take
//! report reads. With `--data` (SQLite) they are ignored.

use aisle_server::pg::pools::{PgPoolConfig, DEFAULT_REPLICA_MAX_LAG};
use std::time::Duration;

/// The PostgreSQL tenant pools' flags; each has its `AISLE_*` variable.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "PostgreSQL (--database only; ignored with --data)")]
pub struct PoolArgs {
    /// Connections one tenant database's pool may hold (on the primary, and as many on the
    /// cluster's replica for report reads).
    #[arg(long, env = "AISLE_MAX_TENANT_CONNECTIONS", default_value_t = PgPoolConfig::default().max_tenant_connections)]
    max_tenant_connections: usize,
    /// Connections this instance may hold on one cluster, all its tenants together (and as
    /// many on its replica); clamped under this instance's share of the cluster's
    /// max_connections (1/N with --instances N).
    #[arg(long, env = "AISLE_CLUSTER_CONNECTION_BUDGET", default_value_t = PgPoolConfig::default().cluster_budget)]
    cluster_connection_budget: usize,
    /// Seconds a request waits for a tenant connection (its pool or its cluster's budget)
    /// before it is answered 503, to retry.
    #[arg(long, env = "AISLE_POOL_WAIT_SECS", default_value_t = PgPoolConfig::default().wait_timeout.as_secs())]
    pool_wait_secs: u64,
    /// Report reads (ERP stock, exports) go to a cluster's read replica while its replay lag
    /// is under this many milliseconds, to the primary otherwise. Device push and pull
    /// always read the primary.
    #[arg(long, env = "AISLE_REPLICA_MAX_LAG_MS", default_value_t = DEFAULT_REPLICA_MAX_LAG.as_millis() as u64)]
    replica_max_lag_ms: u64,
    /// Where live sync's listener connects for LISTEN/NOTIFY between instances (a pull
    /// waiting on one instance wakes for a push on another): the registry database, by
    /// default the --database url. Behind PgBouncer in transaction mode, which keeps no
    /// LISTEN, give a direct url to the same database.
    #[arg(long, env = "AISLE_LIVE_LISTEN_URL")]
    live_listen_url: Option<String>,
    /// Keep each statement prepared on its tenant connection for the connection's life, so
    /// PostgreSQL parses it once per connection rather than once per transaction, and plans
    /// it once when it settles on a generic plan (the benchmark's paced push load took about
    /// a tenth less CPU; docs/scaling.md). Only for
    /// clusters this instance reaches directly, or through a pooler that tracks prepared
    /// statements (PgBouncer 1.21+ with max_prepared_statements): never behind PgBouncer in
    /// transaction mode without it, where the next transaction may land on a server
    /// connection that lacks them.
    #[arg(long, env = "AISLE_KEEP_PREPARED_STATEMENTS")]
    keep_prepared_statements: bool,
}

impl PoolArgs {
    /// `--live-listen-url`, if given.
    pub fn live_listen_url(&self) -> Option<String> {
        self.live_listen_url.clone()
    }

    /// The pool configuration these flags give; `max_open_tenants` is `serve
    /// --max-open-tenants`, which both backends take.
    pub fn config(&self, max_open_tenants: usize) -> PgPoolConfig {
        PgPoolConfig {
            max_open_tenants,
            max_tenant_connections: self.max_tenant_connections,
            cluster_budget: self.cluster_connection_budget,
            wait_timeout: Duration::from_secs(self.pool_wait_secs),
            replica_max_lag: Duration::from_millis(self.replica_max_lag_ms),
            keep_statements: self.keep_prepared_statements,
            // `serve --instances`, a limits flag, sets it where the server opens its pools.
            instances: PgPoolConfig::default().instances,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Flags {
        #[command(flatten)]
        pools: PoolArgs,
    }

    #[test]
    fn the_flags_set_every_field_of_the_pool_configuration() {
        let flags = Flags::try_parse_from([
            "serve",
            "--max-tenant-connections",
            "2",
            "--cluster-connection-budget",
            "40",
            "--pool-wait-secs",
            "3",
            "--replica-max-lag-ms",
            "750",
            "--keep-prepared-statements",
        ])
        .expect("the flags parse");
        let config = flags.pools.config(128);
        assert_eq!(config.max_open_tenants, 128, "serve --max-open-tenants");
        assert_eq!(config.max_tenant_connections, 2);
        assert_eq!(config.cluster_budget, 40);
        assert_eq!(config.wait_timeout, Duration::from_secs(3));
        assert_eq!(config.replica_max_lag, Duration::from_millis(750));
        assert!(config.keep_statements);
    }

    #[test]
    fn without_flags_the_defaults_are_the_pool_configurations() {
        // The environment may set them (AISLE_REPLICA_MAX_LAG_MS, ...); clap then rightly
        // takes its values, and there is nothing to check here.
        let variables = [
            "AISLE_MAX_TENANT_CONNECTIONS",
            "AISLE_CLUSTER_CONNECTION_BUDGET",
            "AISLE_POOL_WAIT_SECS",
            "AISLE_REPLICA_MAX_LAG_MS",
            "AISLE_KEEP_PREPARED_STATEMENTS",
        ];
        if variables
            .iter()
            .any(|name| std::env::var_os(name).is_some())
        {
            return;
        }
        let config = Flags::try_parse_from(["serve"])
            .expect("no flag is required")
            .pools
            .config(256);
        let defaults = PgPoolConfig::default();
        assert_eq!(
            (
                config.max_tenant_connections,
                config.cluster_budget,
                config.wait_timeout,
                config.replica_max_lag,
                config.keep_statements
            ),
            (
                defaults.max_tenant_connections,
                defaults.cluster_budget,
                defaults.wait_timeout,
                Duration::from_secs(5),
                false
            )
        );
    }
}
