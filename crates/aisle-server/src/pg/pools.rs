//! Per-tenant PostgreSQL pools: one deadpool pool per tenant database, opened lazily,
//! evicted least-recently-used beyond a cap, under one connection budget per cluster.
//!
//! [`PgTenantPools::connect`] is the only way to a tenant's database, and it takes an
//! [`Authenticated`] context, as the SQLite [`crate::pool::TenantPools`] does: the tenant
//! comes from the context, never from an argument a handler could fill in. The first open of
//! a tenant in this process finds its database through [`Placements`], migrates it to the
//! tenant schema ([`super::tenant_schema`]) and stamps it with its tenant (or refuses a
//! database stamped for another). A failed migration or a wrong stamp marks the tenant
//! unavailable (`tenant_unavailable`, 503) through [`Placements::mark_unavailable`], in the
//! registry; every other tenant keeps serving. Each open reads that mark first
//! ([`Placements::unavailable_mark`]), so every instance refuses a marked tenant without
//! trying its migration again, and serves it again once an operator has cleared the mark
//! (`tenant retry-migration`). A database that cannot be reached now is refused for this
//! request only.
//!
//! The connection budget: every connection this process opens to a cluster holds one permit
//! of that cluster's semaphore for as long as it is open (not only while it is in use), so
//! the process never holds more than the budget on a cluster, whatever the number of tenant
//! pools; the budget is clamped under this instance's share (`PgPoolConfig::instances`) of
//! the cluster's own `max_connections` when the cluster is first reached. A tenant that
//! needs a connection while the budget is spent closes an idle connection of another tenant
//! of the cluster, or waits (at most the wait timeout, then a
//! retryable error) until a connection is handed back, which then closes an idle one for it.
//! An evicted pool is closed: its idle connections close at once, its busy ones when their
//! request hands them back.
//!
//! Report reads ([`PgTenantPools::report`], see [`super::reports`]): when the tenant's cluster
//! has a read replica, the tenant gets a second pool beside the first, on its database on the
//! replica, under a budget of its own for the replica server (the same size, clamped under the
//! same limit: a hot standby's `max_connections` is at least its primary's). A
//! [`ReadRouter`] per tenant sends report reads there while the replica's replay lag is under
//! [`PgPoolConfig::replica_max_lag`], and to the primary otherwise. Everything else,
//! [`PgTenantPools::connect`], is the primary.

use super::placement::{Placement, Placements};
use super::reports::ReportReads;
use crate::auth::Authenticated;
use crate::error::{OpenRefusal, ServerError};
use aisle_core::ids::TenantId;
use aisle_pg::deadpool_postgres::{
    self, Manager, ManagerConfig, RecyclingMethod, Runtime, WeakPool,
};
use aisle_pg::route::{ReadRouter, RouteConfig};
use aisle_pg::tokio_postgres;
use aisle_pg::{PgConn, PgError, PgTx};
use std::collections::HashMap;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::runtime::Handle;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Connections the server keeps free on a cluster below its `max_connections`, besides the
/// superuser's reserved ones: for the registry, an operator's psql, a second instance's
/// health checks.
const CLUSTER_HEADROOM: usize = 3;

/// The default bound on a replica's replay lag for report reads: 5 s.
pub const DEFAULT_REPLICA_MAX_LAG: Duration = Duration::from_secs(5);

/// How the tenant pools are sized.
#[derive(Clone, Debug)]
pub struct PgPoolConfig {
    /// Tenant pools kept open at once; beyond it the least recently used is closed.
    pub max_open_tenants: usize,
    /// Connections one tenant's pool may hold.
    pub max_tenant_connections: usize,
    /// Connections this process may hold on one cluster, all its tenants together. It is
    /// clamped under this instance's share ([`PgPoolConfig::instances`]) of the cluster's
    /// `max_connections`.
    pub cluster_budget: usize,
    /// Server instances sharing the clusters (`serve --instances`, which also divides the
    /// per-tenant rates): each clamps its budget under 1/N of what a cluster allows, so N
    /// instances at the default budget stay within the cluster's `max_connections` together.
    pub instances: usize,
    /// How long a request waits for a connection (its tenant's pool or the cluster's budget)
    /// before it is answered 503, to retry.
    pub wait_timeout: Duration,
    /// Report reads go to a cluster's replica while its replay lag is under this, to the
    /// primary otherwise.
    pub replica_max_lag: Duration,
    /// Whether a tenant's connections to its primary keep their statements prepared for
    /// their life ([`aisle_pg::StatementScope::Connection`]; `serve
    /// --keep-prepared-statements`) instead of per transaction (report reads, routed by
    /// `ReadRouter`, prepare per transaction either way). Off by default: on, the
    /// server relies on session state, so it is for clusters reached directly, never
    /// through PgBouncer in transaction mode.
    pub keep_statements: bool,
}

impl Default for PgPoolConfig {
    fn default() -> Self {
        Self {
            max_open_tenants: crate::DEFAULT_MAX_OPEN_TENANTS,
            max_tenant_connections: 4,
            cluster_budget: 64,
            instances: 1,
            wait_timeout: Duration::from_secs(10),
            replica_max_lag: DEFAULT_REPLICA_MAX_LAG,
            keep_statements: false,
        }
    }
}

/// One cluster's connection budget, shared by the pools of its tenants.
#[derive(Debug)]
struct ClusterBudget {
    cluster: String,
    permits: Arc<Semaphore>,
    /// The budget in permits, after clamping.
    size: AtomicUsize,
    clamped: AtomicBool,
    /// The instances that share the cluster: this one clamps under its share.
    instances: usize,
    /// Connects waiting for a permit; a connection handed back closes an idle one for them.
    waiting: AtomicUsize,
    /// The cluster's tenant pools, to close an idle connection of one for another.
    pools: Mutex<HashMap<TenantId, WeakPool>>,
}

impl ClusterBudget {
    fn new(cluster: String, size: usize, instances: usize) -> Self {
        Self {
            cluster,
            permits: Arc::new(Semaphore::new(size)),
            size: AtomicUsize::new(size),
            clamped: AtomicBool::new(false),
            instances: instances.max(1),
            waiting: AtomicUsize::new(0),
            pools: Mutex::new(HashMap::new()),
        }
    }

    /// Shrinks the budget under this instance's share of what the cluster allows, once.
    fn clamp(&self, cluster_limit: usize) {
        if self.clamped.swap(true, Ordering::SeqCst) {
            return;
        }
        let size = self.size.load(Ordering::SeqCst);
        let allowed = (cluster_limit.saturating_sub(CLUSTER_HEADROOM) / self.instances).max(1);
        if allowed < size {
            // Permits in use now are not taken back: they are returned as their
            // connections close, and only then forgotten by later clamps of the size.
            let forgotten = self.permits.forget_permits(size - allowed);
            self.size.store(size - forgotten, Ordering::SeqCst);
            tracing::warn!(
                cluster = %self.cluster,
                budget = size - forgotten,
                cluster_limit,
                instances = self.instances,
                "the cluster's connection budget is clamped under this instance's share of its max_connections"
            );
        }
    }

    /// Connections of this process open on the cluster now.
    fn open(&self) -> usize {
        self.size
            .load(Ordering::SeqCst)
            .saturating_sub(self.permits.available_permits())
    }

    /// A permit for one new connection, closing an idle connection of another tenant if the
    /// budget is spent; waits for one otherwise.
    async fn acquire(&self) -> OwnedSemaphorePermit {
        if let Ok(permit) = Arc::clone(&self.permits).try_acquire_owned() {
            return permit;
        }
        // Counted before looking for an idle connection, so a connection handed back after
        // this look sees the count and closes one (see `TenantConn`'s drop).
        self.waiting.fetch_add(1, Ordering::SeqCst);
        struct Waiting<'b>(&'b AtomicUsize);
        impl Drop for Waiting<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::SeqCst);
            }
        }
        let _waiting = Waiting(&self.waiting);
        self.close_one_idle();
        Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .expect("the budget's semaphore is never closed")
    }

    /// Closes the idle connection of the cluster's tenant pools that was used least
    /// recently, if there is one: a tenant that pushes keeps its connection between pushes,
    /// and one that stopped gives its up first. Its permit returns when its connection has
    /// ended.
    fn close_one_idle(&self) -> bool {
        let pools: Vec<deadpool_postgres::Pool> = self
            .pools
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .filter_map(WeakPool::upgrade)
            .collect();
        // Each pool's longest-idle connection (`retain` visits only idle ones).
        let oldest = pools
            .iter()
            .enumerate()
            .filter_map(|(n, pool)| {
                let mut longest = None;
                pool.retain(|_, metrics| {
                    longest = longest.max(Some(metrics.last_used()));
                    true
                });
                longest.map(|idle| (idle, n))
            })
            .max();
        let Some((idle, n)) = oldest else {
            return false;
        };
        // If that connection was taken meanwhile, any other idle one will do.
        close_idle(&pools[n], |metrics| metrics.last_used() >= idle)
            || pools.iter().any(|pool| close_idle(pool, |_| true))
    }
}

/// Closes the first idle connection of `pool` that `pick` takes; whether it closed one.
fn close_idle(
    pool: &deadpool_postgres::Pool,
    mut pick: impl FnMut(&deadpool_postgres::Metrics) -> bool,
) -> bool {
    let mut closed = false;
    let removed = pool.retain(|_, metrics| {
        let close = !closed && pick(&metrics);
        closed |= close;
        !close
    });
    !removed.removed.is_empty()
}

/// One tenant's pool, and its pool on the cluster's replica when there is one.
#[derive(Debug)]
pub struct TenantPool {
    tenant: TenantId,
    placement: Placement,
    pool: deadpool_postgres::Pool,
    budget: Arc<ClusterBudget>,
    /// The tenant's database on the cluster's replica, and the replica server's budget.
    replica: Option<(deadpool_postgres::Pool, Arc<ClusterBudget>)>,
    /// Where report reads go: over `pool` and the replica's pool.
    reports: ReadRouter,
    runtime: Handle,
    /// How connections to the primary keep their statements ([`PgPoolConfig::keep_statements`]).
    statements: aisle_pg::StatementScope,
}

impl TenantPool {
    pub fn tenant(&self) -> TenantId {
        self.tenant
    }

    pub fn placement(&self) -> &Placement {
        &self.placement
    }

    /// Closes the tenant's pools (the replica's too) and forgets them in their budgets.
    fn close(&self) {
        self.pool.close();
        forget_pool(&self.budget, self.tenant);
        if let Some((replica, budget)) = &self.replica {
            replica.close();
            forget_pool(budget, self.tenant);
        }
    }

    /// Whether no request uses or waits on either pool.
    fn is_idle(&self) -> bool {
        let idle = |pool: &deadpool_postgres::Pool| {
            let status = pool.status();
            status.waiting == 0 && status.available == status.size
        };
        idle(&self.pool)
            && self
                .replica
                .as_ref()
                .is_none_or(|(replica, _)| idle(replica))
    }

    fn connect(self: &Arc<Self>) -> Result<TenantConn, PgError> {
        let conn = aisle_pg::connect_with(&self.pool, &self.runtime, self.statements)?;
        Ok(TenantConn {
            conn: Some(conn),
            pool: Arc::clone(self),
        })
    }
}

/// A connection to a tenant's database; back to its pool when dropped.
#[derive(Debug)]
pub struct TenantConn {
    conn: Option<PgConn>,
    pool: Arc<TenantPool>,
}

impl TenantConn {
    pub fn tenant(&self) -> TenantId {
        self.pool.tenant
    }
}

impl Deref for TenantConn {
    type Target = PgConn;
    fn deref(&self) -> &PgConn {
        self.conn.as_ref().expect("present until drop")
    }
}

impl DerefMut for TenantConn {
    fn deref_mut(&mut self) -> &mut PgConn {
        self.conn.as_mut().expect("present until drop")
    }
}

impl Drop for TenantConn {
    fn drop(&mut self) {
        // Back to the pool's idle list first; then, if another tenant of the cluster waits
        // for the budget, an idle connection is closed for it.
        drop(self.conn.take());
        if self.pool.budget.waiting.load(Ordering::SeqCst) > 0 {
            self.pool.budget.close_one_idle();
        }
    }
}

type Opened = Result<Arc<TenantPool>, OpenRefusal>;

#[derive(Debug)]
struct Slot {
    /// Filled once by whichever request opens the tenant first; others wait on it.
    cell: Arc<OnceLock<Opened>>,
    last_used: u64,
}

#[derive(Debug, Default)]
struct Slots {
    slots: HashMap<TenantId, Slot>,
    tick: u64,
}

/// The open tenant pools of this process.
#[derive(Debug)]
pub struct PgTenantPools {
    placements: Arc<dyn Placements>,
    config: PgPoolConfig,
    runtime: Handle,
    budgets: Mutex<HashMap<String, Arc<ClusterBudget>>>,
    /// The replicas' budgets, by cluster name: a replica is a server of its own.
    replica_budgets: Mutex<HashMap<String, Arc<ClusterBudget>>>,
    slots: Mutex<Slots>,
    metrics: crate::metrics::PoolMetrics,
    /// Report reads by cluster and target, for `/metrics`.
    report_reads: Arc<ReportReads>,
}

impl PgTenantPools {
    /// Pools over the tenant databases `placements` names; connections are driven on
    /// `runtime` (the server's), from blocking threads.
    pub fn new(placements: Arc<dyn Placements>, config: PgPoolConfig, runtime: Handle) -> Self {
        let config = PgPoolConfig {
            max_open_tenants: config.max_open_tenants.max(1),
            max_tenant_connections: config.max_tenant_connections.max(1),
            cluster_budget: config.cluster_budget.max(1),
            ..config
        };
        Self {
            placements,
            config,
            runtime,
            budgets: Mutex::new(HashMap::new()),
            replica_budgets: Mutex::new(HashMap::new()),
            slots: Mutex::new(Slots::default()),
            metrics: crate::metrics::PoolMetrics::default(),
            report_reads: Arc::new(ReportReads::default()),
        }
    }

    /// Counts report reads in `report_reads` (which `/metrics` renders) instead of counters
    /// of their own.
    pub fn with_report_reads(mut self, report_reads: Arc<ReportReads>) -> Self {
        self.report_reads = report_reads;
        self
    }

    /// Report reads by cluster and target so far.
    pub fn report_reads(&self) -> &Arc<ReportReads> {
        &self.report_reads
    }

    /// Runs the report read `read` (see [`super::reports`]) for the authenticated tenant in
    /// one transaction, on the cluster's replica while it keeps up and on the primary
    /// otherwise; a read the replica fails runs again on the primary. Blocking: call it from
    /// tokio's blocking pool. `read` may run twice, so it must only read.
    pub fn report<T>(
        &self,
        context: &impl Authenticated,
        mut read: impl FnMut(&PgTx<'_>) -> Result<T, ServerError>,
    ) -> Result<T, ServerError> {
        let tenant = context.authenticated_tenant();
        // The router wants database errors as they are (to fall back on the replica's);
        // any other failure of `read` is carried through as the answer.
        let mut routed = |tx: &PgTx<'_>| match read(tx) {
            Err(ServerError::Pg(error)) => Err(error),
            answered => Ok(answered),
        };
        let mut attempts = 0;
        loop {
            let pool = self.pool(tenant)?;
            match pool.reports.read_blocking(&self.runtime, &mut routed) {
                // Evicted between finding it and reading: ask the tenant's next pool.
                Err(PgError::Pool(deadpool_postgres::PoolError::Closed)) if attempts < 8 => {
                    attempts += 1;
                }
                Ok((_target, answered)) => return answered,
                Err(error) => return Err(error.into()),
            }
        }
    }

    /// Reports open tenants and evictions to these instruments (see [`crate::metrics`]).
    pub fn with_metrics(mut self, metrics: crate::metrics::PoolMetrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// The instruments these pools report to.
    pub(crate) fn metrics(&self) -> &crate::metrics::PoolMetrics {
        &self.metrics
    }

    /// A connection to the authenticated tenant's database, opening (and migrating) its
    /// pool if needed. Blocking: call it from tokio's blocking pool.
    pub fn connect(&self, context: &impl Authenticated) -> Result<TenantConn, ServerError> {
        let tenant = context.authenticated_tenant();
        // A pool evicted between our finding it and asking it for a connection is closed;
        // the tenant's next pool is asked instead.
        let mut attempts = 0;
        loop {
            let pool = self.pool(tenant)?;
            match pool.connect() {
                Err(PgError::Pool(deadpool_postgres::PoolError::Closed)) if attempts < 8 => {
                    attempts += 1;
                }
                connected => return Ok(connected?),
            }
        }
    }

    /// How many tenant pools are open now (for tests and metrics).
    pub fn open_count(&self) -> usize {
        self.slots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .slots
            .len()
    }

    /// Connections this process holds open on `cluster` now, and its budget there.
    pub fn cluster_connections(&self, cluster: &str) -> Option<(usize, usize)> {
        let budgets = self.budgets.lock().unwrap_or_else(|p| p.into_inner());
        let budget = budgets.get(cluster)?;
        Some((budget.open(), budget.size.load(Ordering::SeqCst)))
    }

    /// Connections this process holds open on `cluster`'s replica now, and its budget there.
    pub fn replica_connections(&self, cluster: &str) -> Option<(usize, usize)> {
        let budgets = self
            .replica_budgets
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let budget = budgets.get(cluster)?;
        Some((budget.open(), budget.size.load(Ordering::SeqCst)))
    }

    /// Closes the tenant's pool, if it is open, so that the next request opens it again from
    /// its placement (after a tenant has moved to another cluster).
    pub fn forget(&self, tenant: TenantId) {
        let removed = {
            let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
            let removed = slots.slots.remove(&tenant);
            self.metrics.open.set(slots.slots.len() as i64);
            removed
        };
        if let Some(slot) = removed {
            close(&slot);
        }
    }

    fn pool(&self, tenant: TenantId) -> Result<Arc<TenantPool>, ServerError> {
        let (cell, evicted) = {
            let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
            slots.tick += 1;
            let tick = slots.tick;
            let slot = slots.slots.entry(tenant).or_insert_with(|| Slot {
                cell: Arc::new(OnceLock::new()),
                last_used: tick,
            });
            slot.last_used = tick;
            let cell = Arc::clone(&slot.cell);
            let evicted = evict(&mut slots, self.config.max_open_tenants);
            self.metrics.evictions.inc_by(evicted.len() as u64);
            self.metrics.open.set(slots.slots.len() as i64);
            (cell, evicted)
        };
        for slot in &evicted {
            close(slot);
        }
        // Opening happens outside the map's lock, so a slow open blocks only its own tenant.
        let opened = cell.get_or_init(|| self.open(tenant)).clone();
        if opened.is_err() {
            // A refusal is not kept in the map: the next request asks again, so a cluster
            // that was briefly away does not wedge the tenant; a tenant whose migration
            // failed is refused by its mark.
            let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
            if slots
                .slots
                .get(&tenant)
                .is_some_and(|slot| Arc::ptr_eq(&slot.cell, &cell))
            {
                slots.slots.remove(&tenant);
            }
            self.metrics.open.set(slots.slots.len() as i64);
        }
        opened.map_err(|refusal| refusal.into_error(tenant))
    }

    fn budget(&self, cluster: &str) -> Arc<ClusterBudget> {
        budget_in(&self.budgets, cluster, cluster, &self.config)
    }

    fn replica_budget(&self, cluster: &str) -> Arc<ClusterBudget> {
        let name = format!("{cluster} (replica)");
        budget_in(&self.replica_budgets, cluster, &name, &self.config)
    }

    fn open(&self, tenant: TenantId) -> Opened {
        // Marked by this instance, another, or `migrate --all`: refused, without trying
        // its migration again, until an operator clears the mark.
        match self.placements.unavailable_mark(tenant) {
            Ok(None) => {}
            Ok(Some(reason)) => {
                return Err(OpenRefusal::Unavailable(format!(
                    "its migration failed earlier: {reason}"
                )))
            }
            Err(error) => return Err(crate::pool::registry_refusal(&error)),
        }
        let placement = match self.placements.placement(tenant) {
            Ok(Some(placement)) => placement,
            Ok(None) => {
                return Err(OpenRefusal::Unavailable(
                    "the tenant has no database".to_owned(),
                ))
            }
            Err(error) => return Err(crate::pool::registry_refusal(&error)),
        };
        let budget = self.budget(&placement.cluster);
        let pool = match self.build_pool(&placement.primary_url, &placement.database, &budget) {
            Ok(pool) => pool,
            Err(error) => {
                return Err(OpenRefusal::Unavailable(format!(
                    "its database url is unusable: {error}"
                )))
            }
        };
        let replica = match &placement.replica_url {
            None => None,
            Some(replica_url) => {
                let replica_budget = self.replica_budget(&placement.cluster);
                match self.build_pool(replica_url, &placement.database, &replica_budget) {
                    Ok(replica) => Some((replica, replica_budget)),
                    // Reports then go to the primary: an unusable replica URL must not
                    // take the tenant's writes down with it.
                    Err(error) => {
                        tracing::error!(cluster = %placement.cluster, %error, "the cluster's replica url is unusable; report reads go to the primary");
                        None
                    }
                }
            }
        };
        budget
            .pools
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(tenant, pool.weak());
        if let Some((replica, replica_budget)) = &replica {
            replica_budget
                .pools
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(tenant, replica.weak());
        }
        let reports = ReadRouter::new(
            pool.clone(),
            replica.as_ref().map(|(replica, _)| replica.clone()),
            RouteConfig {
                max_lag: self.config.replica_max_lag,
                ..RouteConfig::default()
            },
            self.report_reads.cluster(&placement.cluster),
        );
        let tenant_pool = Arc::new(TenantPool {
            tenant,
            placement,
            pool,
            budget,
            replica,
            reports,
            runtime: self.runtime.clone(),
            statements: if self.config.keep_statements {
                aisle_pg::StatementScope::Connection
            } else {
                aisle_pg::StatementScope::Transaction
            },
        });
        match migrate(&tenant_pool) {
            Ok(()) => Ok(tenant_pool),
            Err(failure) => {
                tenant_pool.close();
                if failure.marks {
                    tracing::error!(%tenant, reason = %failure.reason, "tenant migration failed; refusing the tenant");
                    if let Err(error) = self.placements.mark_unavailable(tenant, &failure.reason) {
                        // Unmarked, its next request tries the migration again.
                        tracing::error!(%tenant, %error, "cannot mark the tenant as unavailable");
                    }
                    Err(OpenRefusal::Unavailable(failure.reason))
                } else if failure.retry {
                    // Its cluster is away (a failover, a restart): devices wait
                    // `Retry-After` and push again; the tenant is not marked.
                    tracing::warn!(%tenant, reason = %failure.reason, "tenant database unreachable");
                    Err(OpenRefusal::Away(failure.reason))
                } else {
                    tracing::error!(%tenant, reason = %failure.reason, "tenant database refused the open; not marked");
                    Err(OpenRefusal::Unavailable(failure.reason))
                }
            }
        }
    }

    /// A pool on database `database` of the server at `server_url`, under `budget`.
    fn build_pool(
        &self,
        server_url: &str,
        database: &str,
        budget: &Arc<ClusterBudget>,
    ) -> Result<deadpool_postgres::Pool, String> {
        let mut pg_config: tokio_postgres::Config = server_url
            .parse()
            .map_err(|error: tokio_postgres::Error| error.to_string())?;
        pg_config.dbname(database);
        let manager = Manager::from_connect(
            pg_config,
            connect::BudgetedConnect {
                budget: Arc::clone(budget),
            },
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let max_size = self
            .config
            .max_tenant_connections
            .min(budget.size.load(Ordering::SeqCst));
        deadpool_postgres::Pool::builder(manager)
            .max_size(max_size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(self.config.wait_timeout))
            .create_timeout(Some(self.config.wait_timeout))
            .recycle_timeout(Some(self.config.wait_timeout))
            .build()
            .map_err(|error| error.to_string())
    }
}

/// Why a tenant could not be opened, and whether that marks it unavailable (its schema or
/// its stamp is wrong) or only fails this request; and then whether a retry may succeed
/// (its cluster is away or failing over) or not (another error of the database).
struct OpenFailure {
    reason: String,
    marks: bool,
    retry: bool,
}

/// Migrates the tenant's database and stamps it with its tenant, in one transaction.
fn migrate(pool: &Arc<TenantPool>) -> Result<(), OpenFailure> {
    let transient = |error: PgError| OpenFailure {
        retry: error.is_retryable(),
        reason: error.to_string(),
        marks: false,
    };
    let mut conn = pool.connect().map_err(transient)?;
    let tx = conn.transaction().map_err(transient)?;
    // What the cluster allows this process, read once per cluster.
    let replica_unclamped = pool
        .replica
        .as_ref()
        .is_some_and(|(_, budget)| !budget.clamped.load(Ordering::SeqCst));
    if !pool.budget.clamped.load(Ordering::SeqCst) || replica_unclamped {
        let row = tx
            .query_one(
                "SELECT current_setting('max_connections')::int
                      - current_setting('superuser_reserved_connections')::int",
                &[],
            )
            .map_err(transient)?;
        let limit: i32 = row.get(0);
        let limit = usize::try_from(limit).unwrap_or(0);
        pool.budget.clamp(limit);
        // A hot standby refuses to start with fewer connections than its primary, so the
        // primary's limit holds for the replica too.
        if let Some((_, replica_budget)) = &pool.replica {
            replica_budget.clamp(limit);
        }
    }
    let report = aisle_pg::migrate(&tx, super::tenant_schema::MIGRATIONS).map_err(|error| {
        let marks = error.is_wrong_schema();
        OpenFailure {
            retry: error.is_retryable(),
            reason: error.to_string(),
            marks,
        }
    })?;
    let tenant = pool.tenant.to_string();
    let stamped = tx
        .query_opt("SELECT value FROM tenant_meta WHERE name = 'tenant'", &[])
        .map_err(transient)?
        .map(|row| row.get::<_, String>(0));
    match stamped {
        None => {
            tx.execute(
                "INSERT INTO tenant_meta (name, value) VALUES ('tenant', $1)",
                &[&tenant],
            )
            .map_err(transient)?;
        }
        Some(stamp) if stamp == tenant => {}
        Some(stamp) => {
            return Err(OpenFailure {
                reason: format!("its database is stamped for tenant {stamp}"),
                marks: true,
                retry: false,
            })
        }
    }
    let replayed = follow_rules_version(&tx).map_err(|error| OpenFailure {
        marks: !error.is_retryable(),
        retry: error.is_retryable(),
        reason: format!("rebuilding its projection under the current rules: {error}"),
    })?;
    tx.commit().map_err(transient)?;
    if let Some(n_events) = replayed {
        tracing::info!(tenant = %pool.tenant, n_events, "projection rebuilt under the current stock rules");
    }
    if report.from != report.to {
        tracing::info!(tenant = %pool.tenant, from = report.from, to = report.to, "tenant database migrated");
    }
    Ok(())
}

/// Rebuilds the projection if an older version of the stock rules wrote it (as the SQLite
/// backend's `crate::rebuild`), under the push lock so no push applies to a half-rebuilt
/// projection. Answers the number of events replayed, if it ran.
fn follow_rules_version(tx: &aisle_pg::PgTx<'_>) -> Result<Option<u64>, ServerError> {
    use aisle_projection::pg::rules;
    if !rules::is_behind(tx)? {
        return Ok(None);
    }
    tx.advisory_lock(super::PUSH_LOCK)?;
    let mut lot_tracking = crate::storage::push::LotTracking::default();
    let n_events = rules::replay(tx, |ledger, event| {
        if let Some(discrepancy) =
            lot_tracking.missing_lot(event, |item| super::storage::lot_tracked(tx, item))?
        {
            aisle_core::stock::Ledger::open_discrepancy(ledger, &discrepancy)?;
        }
        Ok::<(), ServerError>(())
    })?;
    rules::record_current(tx)?;
    Ok(Some(n_events))
}

/// The budget named `name` for cluster `cluster` in `budgets`, made on first use.
fn budget_in(
    budgets: &Mutex<HashMap<String, Arc<ClusterBudget>>>,
    cluster: &str,
    name: &str,
    config: &PgPoolConfig,
) -> Arc<ClusterBudget> {
    let mut budgets = budgets.lock().unwrap_or_else(|p| p.into_inner());
    Arc::clone(budgets.entry(cluster.to_owned()).or_insert_with(|| {
        Arc::new(ClusterBudget::new(
            name.to_owned(),
            config.cluster_budget,
            config.instances,
        ))
    }))
}

fn forget_pool(budget: &ClusterBudget, tenant: TenantId) {
    budget
        .pools
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(&tenant);
}

/// Closes an evicted slot's pool: idle connections close now, busy ones when handed back.
fn close(slot: &Slot) {
    if let Some(Ok(pool)) = slot.cell.get() {
        pool.close();
    }
}

/// Takes least recently used slots beyond `max_open` out of the map and returns them. A slot
/// still being opened, or whose pool is in use, is never taken, so two requests can never migrate the same database
/// at once in this process; the map may briefly exceed the cap instead.
fn evict(slots: &mut Slots, max_open: usize) -> Vec<Slot> {
    let mut evicted = Vec::new();
    while slots.slots.len() > max_open {
        let victim = slots
            .slots
            .iter()
            .filter(|(_, slot)| match slot.cell.get() {
                // A pool a request is using or waiting on is left alone (closing it would
                // fail that request); the map may exceed the cap until it is idle.
                Some(Ok(pool)) => pool.is_idle(),
                Some(Err(_)) => true,
                None => false,
            })
            .min_by_key(|(_, slot)| slot.last_used)
            .map(|(tenant, _)| *tenant);
        match victim.and_then(|tenant| slots.slots.remove(&tenant)) {
            Some(slot) => evicted.push(slot),
            None => break,
        }
    }
    evicted
}

mod connect;
#[cfg(test)]
mod tests;
