//! Test fixtures for the PostgreSQL backend (`cfg(test)` only): placements kept in a map,
//! and a tenant storage over a throwaway cluster of `aisle-pgtest`.

use super::placement::{Placement, Placements};
use super::pools::{PgPoolConfig, PgTenantPools};
use super::storage::PgStorage;
use crate::error::ServerError;
use aisle_core::ids::TenantId;
use aisle_pgtest::PgCluster;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Placements in a map, as the PostgreSQL registry would answer them, and the tenants marked
/// unavailable.
#[derive(Debug, Default)]
pub(crate) struct MapPlacements {
    pub(crate) placements: Mutex<HashMap<TenantId, Placement>>,
    pub(crate) marked: Mutex<HashMap<TenantId, String>>,
}

impl Placements for MapPlacements {
    fn placement(&self, tenant: TenantId) -> Result<Option<Placement>, ServerError> {
        Ok(self.placements.lock().expect("lock").get(&tenant).cloned())
    }

    fn mark_unavailable(&self, tenant: TenantId, reason: &str) -> Result<(), ServerError> {
        self.marked
            .lock()
            .expect("lock")
            .insert(tenant, reason.to_owned());
        Ok(())
    }

    fn unavailable_mark(&self, tenant: TenantId) -> Result<Option<String>, ServerError> {
        Ok(self.marked.lock().expect("lock").get(&tenant).cloned())
    }
}

/// A cluster, a runtime to drive its connections, and tenant storage over it.
#[derive(Debug)]
pub(crate) struct PgFixture {
    pub(crate) storage: PgStorage,
    pub(crate) metrics: crate::metrics::PoolMetrics,
    pub(crate) placements: Arc<MapPlacements>,
    n_tenants: AtomicUsize,
    /// Dropped before the cluster, so connections close before it stops.
    pub(crate) _runtime: tokio::runtime::Runtime,
    pub(crate) cluster: PgCluster,
}

impl PgFixture {
    pub(crate) fn start(config: PgPoolConfig) -> Self {
        Self::on(
            PgCluster::start().expect("a PostgreSQL cluster starts"),
            config,
        )
    }

    pub(crate) fn on(cluster: PgCluster, config: PgPoolConfig) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let placements = Arc::new(MapPlacements::default());
        let metrics = crate::metrics::PoolMetrics::default();
        let pools = PgTenantPools::new(
            Arc::clone(&placements) as Arc<dyn Placements>,
            config,
            runtime.handle().clone(),
        )
        .with_metrics(metrics.clone());
        Self {
            storage: PgStorage::new(pools),
            metrics,
            placements,
            n_tenants: AtomicUsize::new(0),
            _runtime: runtime,
            cluster,
        }
    }

    /// A new tenant with an empty database of its own on the cluster.
    pub(crate) fn add_tenant(&self) -> TenantId {
        let n = self.n_tenants.fetch_add(1, Ordering::SeqCst) + 1;
        let database = format!("tenant_{n}");
        self.cluster
            .create_database(&database)
            .expect("create the tenant's database");
        let tenant = TenantId::new_v7(1_700_000_000_000 + n as u64, [n as u8; 10]);
        self.placements.placements.lock().expect("lock").insert(
            tenant,
            Placement {
                cluster: "main".to_owned(),
                primary_url: self.cluster.base_url(),
                replica_url: None,
                database,
            },
        );
        tenant
    }

    /// The database name of a tenant added with [`PgFixture::add_tenant`].
    pub(crate) fn database(&self, tenant: TenantId) -> String {
        self.placements.placements.lock().expect("lock")[&tenant]
            .database
            .clone()
    }

    /// Client connections to the tenant databases now, as the cluster counts them.
    pub(crate) fn tenant_connections(&self) -> usize {
        self.count(r"SELECT count(*) FROM pg_stat_activity WHERE datname LIKE 'tenant\_%'")
    }

    /// Client connections to one tenant's database now.
    pub(crate) fn connections_to(&self, tenant: TenantId) -> usize {
        self.count(&format!(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = '{}'",
            self.database(tenant)
        ))
    }

    fn count(&self, sql: &str) -> usize {
        let out = self
            .cluster
            .psql("postgres", sql)
            .expect("count connections");
        out.trim()
            .parse()
            .unwrap_or_else(|_| panic!("a count: {out:?}"))
    }
}
