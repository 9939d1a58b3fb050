//! The clusters tenant databases live on, and where each tenant's database is
//! (`clusters`, `placements`): a database per tenant, placed on one of several PostgreSQL
//! clusters.
//!
//! - [`PgRegistry::add_cluster`] registers a cluster after checking that it answers.
//! - [`PgRegistry::add_tenant_on`] creates the tenant's database, `aisle_t_<uuid>`, on the
//!   named cluster or on the one with the fewest tenants, and only then records the tenant
//!   and its placement, so a create that fails leaves no placement (and a record that
//!   fails, say for a taken name, drops the database it created).
//! - [`PgRegistry::list_clusters`] asks each cluster for its tenant databases' sizes.
//! - [`PgRegistry`] answers [`Placements`] for the tenant pools.
//!
//! `CREATE DATABASE` cannot run in a transaction, so creating, dropping and sizing databases
//! use a short-lived connection to the cluster's maintenance database (the URL's own
//! database, else `postgres`), not a pooled [`aisle_pg::PgTx`].
//!
//! A cluster URL may carry a password: it is never logged, never part of an error message,
//! and shown only through [`mask_password`].

use super::{constraint_violation, new_id_random, PgRegistry};
use crate::error::ServerError;
use crate::pg::placement::{Placement, Placements};
use aisle_core::ids::TenantId;
use aisle_pg::tokio_postgres::{self, NoTls};
use std::fmt;
use std::time::Duration;

/// How long a connection to a cluster's maintenance database may take to open.
const CLUSTER_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A registered cluster, its tenant databases and their sizes.
#[derive(Clone, PartialEq, Eq)]
pub struct ClusterRow {
    pub name: String,
    /// The primary's URL, without a database; may carry a password (see [`mask_password`]).
    pub url: String,
    pub replica_url: Option<String>,
    pub created_ms: i64,
    /// The tenant databases placed on it, by tenant name.
    pub databases: Vec<ClusterDatabase>,
    /// Why the cluster could not be asked for sizes, when it could not.
    pub unreachable: Option<String>,
}

impl ClusterRow {
    pub fn n_tenants(&self) -> usize {
        self.databases.len()
    }

    /// The tenant databases' total size, in bytes, as far as the cluster answered.
    pub fn total_bytes(&self) -> i64 {
        self.databases
            .iter()
            .filter_map(|database| database.size_bytes)
            .sum()
    }
}

impl fmt::Debug for ClusterRow {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("ClusterRow")
            .field("name", &self.name)
            .field("url", &mask_password(&self.url))
            .field(
                "replica_url",
                &self.replica_url.as_deref().map(mask_password),
            )
            .field("created_ms", &self.created_ms)
            .field("databases", &self.databases)
            .field("unreachable", &self.unreachable)
            .finish()
    }
}

/// One tenant's database on a cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterDatabase {
    pub tenant: TenantId,
    pub tenant_name: String,
    pub database: String,
    pub state: String,
    /// `pg_database_size`, or `None` when the cluster did not answer or has no such database.
    pub size_bytes: Option<i64>,
}

/// `url` with its password, if any, replaced by `***`: the URL's `user:password@` part and
/// any `password=` parameter (URL query or key=value form).
pub fn mask_password(url: &str) -> String {
    let mut masked = url.to_owned();
    if let Some(scheme_end) = masked.find("://") {
        let authority_start = scheme_end + 3;
        let authority_end = masked[authority_start..]
            .find(['/', '?'])
            .map_or(masked.len(), |at| authority_start + at);
        if let Some(at) = masked[authority_start..authority_end].rfind('@') {
            let userinfo = &masked[authority_start..authority_start + at];
            if let Some(colon) = userinfo.find(':') {
                let password_start = authority_start + colon + 1;
                masked.replace_range(password_start..authority_start + at, "***");
            }
        }
    }
    let mut from = 0;
    while let Some(found) = masked[from..].find("password=") {
        let value_start = from + found + "password=".len();
        let value_end = masked[value_start..]
            .find(['&', ' '])
            .map_or(masked.len(), |at| value_start + at);
        masked.replace_range(value_start..value_end, "***");
        from = value_start + 3;
    }
    masked
}

/// The connection settings for database `database` on the cluster at `url`, or for the
/// cluster's maintenance database (the URL's own, else `postgres`) when `database` is `None`.
pub(crate) fn cluster_config(
    url: &str,
    database: Option<&str>,
) -> Result<tokio_postgres::Config, ServerError> {
    // The parser's error may quote the URL: say only that it is not one.
    let mut config: tokio_postgres::Config = url.parse().map_err(|_| {
        ServerError::Invalid("the cluster url is not a valid postgres:// url".to_owned())
    })?;
    match database {
        Some(database) => {
            config.dbname(database);
        }
        None if config.get_dbname().is_none() => {
            config.dbname("postgres");
        }
        None => {}
    }
    config.connect_timeout(CLUSTER_CONNECT_TIMEOUT);
    Ok(config)
}

/// The database name a tenant gets: fixed characters only, so it is safe as an identifier.
fn tenant_database_name(tenant: TenantId) -> String {
    format!("aisle_t_{}", tenant.as_uuid().simple())
}

impl PgRegistry {
    /// Runs `sql` (no parameters, no transaction) on the maintenance database of the
    /// cluster at `url`; `CREATE DATABASE` and `DROP DATABASE` need exactly that.
    pub(crate) fn on_cluster(&self, url: &str, sql: &str) -> Result<(), ServerError> {
        let config = cluster_config(url, None)?;
        self.runtime.block_on(async {
            let (client, connection) = config.connect(NoTls).await?;
            let driver = tokio::spawn(connection);
            let result = client.batch_execute(sql).await;
            drop(client);
            let _ = driver.await;
            result.map_err(aisle_pg::PgError::from)
        })?;
        Ok(())
    }

    /// The sizes of `databases` on the cluster at `url`.
    fn database_sizes(
        &self,
        url: &str,
        databases: Vec<String>,
    ) -> Result<std::collections::HashMap<String, i64>, ServerError> {
        let config = cluster_config(url, None)?;
        let rows = self.runtime.block_on(async {
            let (client, connection) = config.connect(NoTls).await?;
            let driver = tokio::spawn(connection);
            let rows = client
                .query(
                    "SELECT datname::TEXT, pg_database_size(oid) FROM pg_database
                     WHERE datname::TEXT = ANY($1::TEXT[])",
                    &[&databases],
                )
                .await;
            drop(client);
            let _ = driver.await;
            rows.map_err(aisle_pg::PgError::from)
        })?;
        Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
    }

    /// Registers the cluster `name` at `url` (and its read replica), once it answers.
    pub fn add_cluster(
        &self,
        name: &str,
        url: &str,
        replica_url: Option<&str>,
        now_ms: i64,
    ) -> Result<(), ServerError> {
        let valid_name = !name.is_empty()
            && name.len() <= 63
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid_name {
            return Err(ServerError::Invalid(format!(
                "cluster name {name:?}: use 1 to 63 letters, digits, '-' or '_'"
            )));
        }
        cluster_config(url, None)?;
        if let Some(replica_url) = replica_url {
            cluster_config(replica_url, None)?;
        }
        self.on_cluster(url, "SELECT 1").map_err(|error| {
            ServerError::Invalid(format!("cluster {name:?} does not answer: {error}"))
        })?;
        self.with_tx(|tx| {
            tx.execute(
                "INSERT INTO clusters (name, url, replica_url, created_ms) VALUES ($1, $2, $3, $4)",
                &[&name, &url, &replica_url, &now_ms],
            )
            .map_err(|error| {
                constraint_violation(error, format!("a cluster named {name:?} exists"))
            })?;
            Ok(())
        })
    }

    /// Every cluster, by name, with its tenant databases and their sizes (asked from each
    /// cluster; a cluster that does not answer is listed with `unreachable` set).
    pub fn list_clusters(&self) -> Result<Vec<ClusterRow>, ServerError> {
        let mut clusters = self.with_tx(|tx| {
            let clusters = tx.query(
                "SELECT name, url, replica_url, created_ms FROM clusters ORDER BY name COLLATE \"C\"",
                &[],
            )?;
            let placements = tx.query(
                "SELECT p.cluster, p.tenant, t.name, p.database, p.state
                 FROM placements p JOIN tenants t ON t.id = p.tenant
                 ORDER BY t.name COLLATE \"C\"",
                &[],
            )?;
            Ok(clusters
                .iter()
                .map(|cluster| {
                    let name: String = cluster.get(0);
                    let databases = placements
                        .iter()
                        .filter(|placement| placement.get::<_, &str>(0) == name)
                        .map(|placement| ClusterDatabase {
                            tenant: TenantId::from_uuid(placement.get(1)),
                            tenant_name: placement.get(2),
                            database: placement.get(3),
                            state: placement.get(4),
                            size_bytes: None,
                        })
                        .collect();
                    ClusterRow {
                        name,
                        url: cluster.get(1),
                        replica_url: cluster.get(2),
                        created_ms: cluster.get(3),
                        databases,
                        unreachable: None,
                    }
                })
                .collect::<Vec<_>>())
        })?;
        for cluster in &mut clusters {
            let names = cluster
                .databases
                .iter()
                .map(|database| database.database.clone())
                .collect();
            match self.database_sizes(&cluster.url, names) {
                Ok(sizes) => {
                    for database in &mut cluster.databases {
                        database.size_bytes = sizes.get(&database.database).copied();
                    }
                }
                Err(error) => cluster.unreachable = Some(error.to_string()),
            }
        }
        Ok(clusters)
    }

    /// Adds a tenant and creates its database on the cluster with the fewest tenants.
    pub fn add_tenant(&self, name: &str, now_ms: i64) -> Result<TenantId, ServerError> {
        self.add_tenant_on(name, None, now_ms)
    }

    /// Adds a tenant and creates its database on `cluster`, or on the cluster with the
    /// fewest tenants when `None`, then records the placement.
    pub fn add_tenant_on(
        &self,
        name: &str,
        cluster: Option<&str>,
        now_ms: i64,
    ) -> Result<TenantId, ServerError> {
        let (cluster, url) = self.with_tx(|tx| {
            if tx
                .query_opt("SELECT 1 FROM tenants WHERE name = $1", &[&name])?
                .is_some()
            {
                return Err(ServerError::Invalid(format!(
                    "a tenant named {name:?} exists"
                )));
            }
            let chosen = match cluster {
                Some(cluster) => tx
                    .query_opt(
                        "SELECT name, url FROM clusters WHERE name = $1",
                        &[&cluster],
                    )?
                    .ok_or_else(|| ServerError::NotFound(format!("cluster {cluster:?}")))?,
                None => tx
                    .query_opt(
                        "SELECT c.name, c.url FROM clusters c
                         LEFT JOIN placements p ON p.cluster = c.name
                         GROUP BY c.name, c.url, c.created_ms
                         ORDER BY count(p.tenant), c.created_ms, c.name COLLATE \"C\" LIMIT 1",
                        &[],
                    )?
                    .ok_or_else(|| {
                        ServerError::Invalid(
                            "no cluster is registered: add one with `aisle-server cluster add`"
                                .to_owned(),
                        )
                    })?,
            };
            Ok((chosen.get::<_, String>(0), chosen.get::<_, String>(1)))
        })?;
        let (ms, random) = new_id_random(now_ms);
        let tenant = TenantId::new_v7(ms, random);
        let database = tenant_database_name(tenant);
        self.on_cluster(&url, &format!("CREATE DATABASE \"{database}\""))?;
        let recorded = self.with_tx(|tx| {
            tx.execute(
                "INSERT INTO tenants (id, name, created_ms) VALUES ($1, $2, $3)",
                &[tenant.as_uuid(), &name, &now_ms],
            )
            .map_err(|error| {
                constraint_violation(error, format!("a tenant named {name:?} exists"))
            })?;
            tx.execute(
                "INSERT INTO placements (tenant, cluster, database, state)
                 VALUES ($1, $2, $3, 'active')",
                &[tenant.as_uuid(), &cluster, &database],
            )
            .map_err(|error| constraint_violation(error, format!("cluster {cluster:?}")))?;
            Ok(())
        });
        if let Err(error) = recorded {
            // The database is nobody's: drop it. Should that fail too, it is an orphan named
            // `aisle_t_…` that no placement points to, which is harmless.
            if let Err(drop_error) =
                self.on_cluster(&url, &format!("DROP DATABASE IF EXISTS \"{database}\""))
            {
                tracing::warn!(%cluster, %database, %drop_error, "could not drop an unrecorded tenant database");
            }
            return Err(error);
        }
        tracing::info!(%tenant, %cluster, %database, "tenant database created");
        Ok(tenant)
    }
}

impl Placements for PgRegistry {
    fn placement(&self, tenant: TenantId) -> Result<Option<Placement>, ServerError> {
        self.with_tx(|tx| {
            let row = tx.query_opt(
                "SELECT p.cluster, c.url, c.replica_url, p.database
                 FROM placements p JOIN clusters c ON c.name = p.cluster WHERE p.tenant = $1",
                &[tenant.as_uuid()],
            )?;
            Ok(row.map(|row| Placement {
                cluster: row.get(0),
                primary_url: row.get(1),
                replica_url: row.get(2),
                database: row.get(3),
            }))
        })
    }

    /// The registry's failed-migration mark, which every instance reads on its next request
    /// for the tenant (`tenant retry-migration` clears it).
    fn mark_unavailable(&self, tenant: TenantId, reason: &str) -> Result<(), ServerError> {
        self.mark_tenant_failed(tenant, reason)
    }

    fn unavailable_mark(&self, tenant: TenantId) -> Result<Option<String>, ServerError> {
        Ok(PgRegistry::tenant(self, tenant)?.and_then(|row| row.failed_migration))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn a_password_is_masked_wherever_the_url_carries_it() {
        for (url, masked) in [
            (
                "postgres://aisle:s3cret@db.example:5432",
                "postgres://aisle:***@db.example:5432",
            ),
            (
                "postgresql://aisle:p@ss@db/postgres?sslmode=disable",
                "postgresql://aisle:***@db/postgres?sslmode=disable",
            ),
            (
                "postgres://aisle@db?password=s3cret&sslmode=disable",
                "postgres://aisle@db?password=***&sslmode=disable",
            ),
            (
                "host=db user=aisle password=s3cret dbname=x",
                "host=db user=aisle password=*** dbname=x",
            ),
            (
                "postgres://aisle@127.0.0.1:5432",
                "postgres://aisle@127.0.0.1:5432",
            ),
        ] {
            assert_eq!(mask_password(url), masked, "{url}");
            assert!(!mask_password(url).contains("s3cret"));
        }
    }

    #[test]
    fn a_tenant_database_name_is_a_plain_identifier() {
        let name = tenant_database_name(TenantId::from_uuid(Uuid::from_u128(0xabc)));
        assert_eq!(name, "aisle_t_00000000000000000000000000000abc");
        assert!(name.len() <= 63, "PostgreSQL cuts identifiers at 63 bytes");
    }
}
