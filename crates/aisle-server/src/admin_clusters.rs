//! `aisle-server cluster add|list` and `tenant add --cluster`: the PostgreSQL clusters that
//! tenant databases are placed on (see `aisle_server::pg::registry` for placement). They
//! need a PostgreSQL registry (`--database`).
//!
//! A cluster URL may carry a password: it is taken from the command line or the
//! environment and stored in the registry, but never printed; `cluster list` masks it.

use crate::{Command, TenantCommand};
use aisle_server::pg::registry::{mask_password, ClusterRow, PgRegistry};
use aisle_server::Backend;
use anyhow::Context;
use clap::Subcommand;
use std::sync::OnceLock;

#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Register a PostgreSQL cluster for tenant databases, once it answers. Its role needs
    /// CREATEDB; tenants added later go to the cluster with the fewest tenants, or to the
    /// one `tenant add --cluster` names.
    #[command(
        after_help = "Example:\n  aisle-server cluster add pg-a --url postgres://aisle:PASSWORD@pg-a.internal:5432 --replica postgres://aisle:PASSWORD@pg-a-replica.internal:5432 --database postgres://aisle@db.internal/aisle_registry\n  cluster pg-a added"
    )]
    Add {
        name: String,
        /// The primary's URL, without a database (the maintenance database is `postgres`
        /// unless the URL names another).
        #[arg(long, env = "AISLE_CLUSTER_URL", hide_env_values = true)]
        url: String,
        /// A streaming replica's URL, for report reads.
        #[arg(long, env = "AISLE_CLUSTER_REPLICA_URL", hide_env_values = true)]
        replica: Option<String>,
    },
    /// List the clusters: URLs (password masked), tenants, their databases and sizes.
    #[command(
        after_help = "Example:\n  aisle-server cluster list --database postgres://aisle@db.internal/aisle_registry\n  pg-a  postgres://aisle:***@pg-a.internal:5432  replica postgres://aisle:***@pg-a-replica.internal:5432  2 tenants  15.1 MB\n    acme    aisle_t_0193a5c27d4e7a108f3b2c9d1e0f4a55  active  7.6 MB\n    globex  aisle_t_0193a5c31b2a7c449d0e5f6a7b8c9d0e  active  7.5 MB"
    )]
    List,
}

/// Opens (and migrates) the PostgreSQL registry at `url`. Its pool runs on a runtime that
/// lives as long as the process (an admin command is one short process).
pub fn open(url: &str) -> anyhow::Result<PgRegistry> {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    let runtime = match RUNTIME.get() {
        Some(runtime) => runtime,
        None => {
            let runtime =
                tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
            RUNTIME.get_or_init(|| runtime)
        }
    };
    // The error never quotes the URL, which may carry a password.
    PgRegistry::connect(url, runtime.handle().clone())
        .context("cannot open the PostgreSQL registry")
}

/// The admin commands that need the PostgreSQL registry's own type (clusters, and a tenant
/// placed on a named cluster); `None` for every other command.
pub fn admin(backend: &Backend, command: &Command, now_ms: i64) -> Option<anyhow::Result<()>> {
    match (command, backend) {
        (Command::Cluster { command }, Backend::Postgres { registry_url }) => {
            Some(open(registry_url).and_then(|registry| run(&registry, command, now_ms)))
        }
        (Command::Cluster { .. }, Backend::Sqlite { .. }) => Some(Err(anyhow::anyhow!(
            "clusters belong to a PostgreSQL registry: use --database URL"
        ))),
        (
            Command::Tenant {
                command:
                    TenantCommand::Add {
                        name,
                        cluster: Some(cluster),
                    },
            },
            Backend::Postgres { registry_url },
        ) => Some(open(registry_url).and_then(|registry| {
            let tenant = registry.add_tenant_on(name, Some(cluster), now_ms)?;
            println!("{tenant}");
            Ok(())
        })),
        _ => None,
    }
}

fn run(registry: &PgRegistry, command: &ClusterCommand, now_ms: i64) -> anyhow::Result<()> {
    match command {
        ClusterCommand::Add { name, url, replica } => {
            registry.add_cluster(name, url, replica.as_deref(), now_ms)?;
            println!("cluster {name} added");
        }
        ClusterCommand::List => print!("{}", render(&registry.list_clusters()?)),
    }
    Ok(())
}

/// Bytes as B, kB, MB, GB or TB (powers of 1000), one decimal from kB up.
fn size(bytes: i64) -> String {
    let units = ["kB", "MB", "GB", "TB"];
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1000.0;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < units.len() {
        value /= 1000.0;
        unit += 1;
    }
    format!("{value:.1} {}", units[unit])
}

/// The `cluster list` text: a line per cluster, then a line per tenant database.
fn render(clusters: &[ClusterRow]) -> String {
    let mut out = String::new();
    if clusters.is_empty() {
        out.push_str("no clusters (add one with `aisle-server cluster add`)\n");
    }
    for cluster in clusters {
        let replica = cluster
            .replica_url
            .as_deref()
            .map_or("no replica".to_owned(), |url| {
                format!("replica {}", mask_password(url))
            });
        let total = match &cluster.unreachable {
            Some(why) => format!("sizes unknown: {why}"),
            None => size(cluster.total_bytes()),
        };
        out.push_str(&format!(
            "{}  {}  {replica}  {} tenant{}  {total}\n",
            cluster.name,
            mask_password(&cluster.url),
            cluster.n_tenants(),
            if cluster.n_tenants() == 1 { "" } else { "s" },
        ));
        for database in &cluster.databases {
            out.push_str(&format!(
                "  {}  {}  {}  {}\n",
                database.tenant_name,
                database.database,
                database.state,
                database.size_bytes.map_or("?".to_owned(), size),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use aisle_core::ids::TenantId;
    use aisle_server::pg::registry::ClusterDatabase;

    #[test]
    fn sizes_read_as_people_write_them() {
        for (bytes, shown) in [
            (0, "0 B"),
            (999, "999 B"),
            (1_000, "1.0 kB"),
            (7_654_321, "7.7 MB"),
            (12_300_000_000, "12.3 GB"),
        ] {
            assert_eq!(size(bytes), shown);
        }
    }

    #[test]
    fn the_list_masks_passwords_and_names_each_tenant_database() {
        let tenant = TenantId::new_v7(1, [1; 10]);
        let clusters = [
            ClusterRow {
                name: "pg-a".to_owned(),
                url: "postgres://aisle:s3cret@pg-a:5432".to_owned(),
                replica_url: Some("postgres://aisle:s3cret@pg-a-replica:5432".to_owned()),
                created_ms: 1,
                databases: vec![ClusterDatabase {
                    tenant,
                    tenant_name: "acme".to_owned(),
                    database: "aisle_t_x".to_owned(),
                    state: "active".to_owned(),
                    size_bytes: Some(7_600_000),
                }],
                unreachable: None,
            },
            ClusterRow {
                name: "pg-b".to_owned(),
                url: "postgres://aisle:s3cret@pg-b:5432".to_owned(),
                replica_url: None,
                created_ms: 2,
                databases: vec![],
                unreachable: Some("connection refused".to_owned()),
            },
        ];
        assert_eq!(
            render(&clusters),
            "pg-a  postgres://aisle:***@pg-a:5432  replica postgres://aisle:***@pg-a-replica:5432  1 tenant  7.6 MB\n\
             \x20 acme  aisle_t_x  active  7.6 MB\n\
             pg-b  postgres://aisle:***@pg-b:5432  no replica  0 tenants  sizes unknown: connection refused\n"
        );
    }
}
