//! aisle-server: the cloud endpoint that Aisle devices sync to.
//!
//! Many tenants share one process, each with its own SQLite database file under the data
//! directory, plus one registry database for tenants, warehouses, devices, enrollment codes
//! and the security audit log. Devices push events and pull the events of their warehouse
//! over JSON protocol v1 (`docs/protocol.md`); the server keeps each tenant's stock
//! projection with the very same `aisle_core::stock::apply` the devices run, through
//! `aisle_projection::sqlite::SqlLedger`. It is the one replica that records the rules' automatic
//! decisions, as `resolved` events it authors itself (`storage`), so they are in the audit
//! trail of every device.
//!
//! ERPs upsert master data (items, locations, users, pick lists) and read stock with
//! per-tenant API keys; devices download master data by version.
//!
//! What it must never do: reach a tenant's data without an authenticated context
//! ([`auth::TenantContext`] for a device, [`auth::IntegrationContext`] for an API key, both
//! [`auth::Authenticated`], the only way to get a tenant database handle), keep any notion
//! of a "current tenant", store or log a device token, an API key or a PIN, or decide stock
//! semantics itself.

pub mod auth;
pub mod backup;
mod erp_out;
mod error;
pub mod http;
pub mod import;
pub mod lengths;
pub mod limits;
pub mod live;
pub mod master;
pub mod metrics;
pub mod migrate;
pub mod migrate_all;
pub mod openapi;
#[cfg(feature = "postgres")]
pub mod pg;
pub mod pool;
pub mod quota;
pub mod rebuild;
pub mod registry;
pub mod serve;
pub mod storage;
pub mod touching;
pub mod webhooks;
pub mod wire;

pub use error::{AppError, ServerError};
pub use registry::{Registry, SqliteRegistry};

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::net::TcpListener;

/// The default cap on tenant databases kept open at once.
pub const DEFAULT_MAX_OPEN_TENANTS: usize = 256;

/// How far ahead of the server's clock a pushed event may be stamped, by default: 10 minutes.
pub const DEFAULT_MAX_CLOCK_AHEAD_MS: i64 = 10 * 60 * 1000;

/// Where a server keeps its registry and its tenants' data.
#[derive(Clone, PartialEq, Eq)]
pub enum Backend {
    /// SQLite files under a data directory: `registry.sqlite3` ([`registry_path`]) and one
    /// file per tenant ([`tenant_db_path`]).
    Sqlite { data_dir: PathBuf },
    /// PostgreSQL: the registry database at `registry_url` (`postgres://…/aisle_registry`),
    /// and each tenant's own database on the cluster the registry places it on.
    Postgres { registry_url: String },
}

impl std::fmt::Debug for Backend {
    // The registry's URL may carry a password: it is never shown.
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sqlite { data_dir } => formatter
                .debug_struct("Sqlite")
                .field("data_dir", data_dir)
                .finish(),
            Self::Postgres { .. } => formatter.debug_struct("Postgres").finish_non_exhaustive(),
        }
    }
}

impl std::fmt::Display for Backend {
    /// The data directory, or the registry's URL without its password: what log lines and
    /// error messages name.
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sqlite { data_dir } => write!(formatter, "{}", data_dir.display()),
            #[cfg(feature = "postgres")]
            Self::Postgres { registry_url } => {
                formatter.write_str(&pg::registry::mask_password(registry_url))
            }
            #[cfg(not(feature = "postgres"))]
            Self::Postgres { .. } => formatter.write_str("a PostgreSQL registry"),
        }
    }
}

/// Where a server keeps its data, how many tenants it keeps open, and the limits it holds
/// pushes to.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub backend: Backend,
    pub max_open_tenants: usize,
    /// A pushed event stamped more than this ahead of the server's clock is refused
    /// (`rejected` / `clock_ahead`): an event from a PC whose clock jumped years ahead would
    /// otherwise become the newest count of its key forever (docs/protocol.md).
    pub max_clock_ahead_ms: i64,
    /// The security audit log's row cap: past it the oldest rows are pruned (and the prune
    /// recorded); see `registry::audit`.
    pub audit_max_rows: u64,
    /// What one client may take: connections, timeouts, body memory, rate limits and the
    /// tenants' default quotas (`limits`).
    pub limits: limits::Limits,
    /// On PostgreSQL, how the tenant pools are sized and where report reads go (`serve
    /// --database`'s pool flags and `--replica-max-lag-ms`). Its `max_open_tenants` is
    /// replaced by [`ServerConfig::max_open_tenants`], the one cap of both backends.
    #[cfg(feature = "postgres")]
    pub pg_pools: pg::pools::PgPoolConfig,
    /// How ERP webhooks are delivered (`serve --webhook-…`), and whether this process runs
    /// the delivery worker.
    pub webhooks: webhooks::worker::WebhookConfig,
    /// On PostgreSQL, where live sync's LISTEN/NOTIFY relay between instances connects
    /// (`serve --live-listen-url`); `None`: the registry database's url.
    #[cfg(feature = "postgres")]
    pub live_listen_url: Option<String>,
}

impl ServerConfig {
    /// A configuration with the default limits, on SQLite files under `data_dir`.
    pub fn new(data_dir: impl Into<PathBuf>, max_open_tenants: usize) -> Self {
        Self::with_backend(
            Backend::Sqlite {
                data_dir: data_dir.into(),
            },
            max_open_tenants,
        )
    }

    /// A configuration with the default limits, on PostgreSQL with the registry database
    /// at `registry_url`.
    pub fn postgres(registry_url: impl Into<String>, max_open_tenants: usize) -> Self {
        Self::with_backend(
            Backend::Postgres {
                registry_url: registry_url.into(),
            },
            max_open_tenants,
        )
    }

    /// A configuration with the default limits on `backend`.
    pub fn with_backend(backend: Backend, max_open_tenants: usize) -> Self {
        Self {
            backend,
            max_open_tenants,
            max_clock_ahead_ms: DEFAULT_MAX_CLOCK_AHEAD_MS,
            audit_max_rows: registry::DEFAULT_AUDIT_MAX_ROWS,
            limits: limits::Limits::default(),
            #[cfg(feature = "postgres")]
            pg_pools: pg::pools::PgPoolConfig::default(),
            #[cfg(feature = "postgres")]
            live_listen_url: None,
            webhooks: webhooks::worker::WebhookConfig::default(),
        }
    }
}

/// The registry database under a data directory.
pub fn registry_path(data_dir: &Path) -> PathBuf {
    data_dir.join("registry.sqlite3")
}

/// A tenant's own database under a data directory.
pub fn tenant_db_path(data_dir: &Path, tenant: aisle_core::ids::TenantId) -> PathBuf {
    data_dir.join("tenants").join(format!("{tenant}.sqlite3"))
}

/// The milliseconds since the Unix epoch, by the server's clock.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as i64)
}

/// Random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the operating system's random source is available");
    bytes
}

/// Opens the registry and the tenants' storage and serves protocol v1 on `listener` until
/// `shutdown` completes.
pub async fn serve(
    config: ServerConfig,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let (app, guards, live) = build(&config).await?;
    serve::run(listener, app, guards, closing_live(shutdown, live)).await
}

/// `shutdown`, which also ends every waiting pull the moment it completes, so that the
/// graceful shutdown does not wait out their waits.
async fn closing_live(
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    live: Arc<live::Live>,
) {
    shutdown.await;
    live.close();
}

/// The router over the configured backend, for serving or for tests.
pub async fn app(config: &ServerConfig) -> Result<axum::Router, ServerError> {
    Ok(build(config).await?.0)
}

/// What [`build`] gives: the router, the limits' state and the live-sync hub.
type Built = (axum::Router, Arc<limits::Guards>, Arc<live::Live>);

/// What a backend serves from: its registry and its tenants' storage.
struct Opened {
    registry: Arc<dyn Registry>,
    storage: Arc<dyn storage::Storage>,
}

/// The registry and the tenants' storage the configuration names, behind the router.
async fn build(config: &ServerConfig) -> Result<Built, ServerError> {
    let metrics = Arc::new(metrics::Metrics::new());
    let opened = match &config.backend {
        Backend::Sqlite { data_dir } => open_sqlite(config, data_dir, &metrics)?,
        #[cfg(feature = "postgres")]
        Backend::Postgres { registry_url } => open_postgres(config, registry_url, &metrics).await?,
        #[cfg(not(feature = "postgres"))]
        Backend::Postgres { .. } => return Err(not_yet_for_postgres("serving")),
    };
    let guards = Arc::new(limits::Guards::new(
        config.limits.clone(),
        Arc::clone(&opened.registry),
    ));
    let live = Arc::new(live::Live::new(
        config.limits.max_live_waits,
        config.limits.max_connections,
    ));
    // Several instances share a PostgreSQL registry: a push on one wakes the pulls waiting
    // on the others through it.
    #[cfg(feature = "postgres")]
    if let Backend::Postgres { registry_url } = &config.backend {
        let url = config.live_listen_url.as_deref().unwrap_or(registry_url);
        pg::live::start(&live, url, hex::encode(random_bytes::<8>()))?;
    }
    // The ERP webhook deliveries, until the server closes.
    let closing = Arc::clone(&live);
    let webhook_wake = webhooks::worker::Wake::default();
    live.wake_on_push(webhook_wake.clone());
    webhooks::worker::spawn(
        config.webhooks.clone(),
        Arc::clone(&opened.registry),
        Arc::clone(&opened.storage),
        webhook_wake.clone(),
        async move { closing.closed().await },
    )?;
    let router = http::router(http::AppState {
        registry: opened.registry,
        storage: opened.storage,
        metrics: Arc::clone(&metrics),
        guards: Arc::clone(&guards),
        live: Arc::clone(&live),
        webhook_policy: Arc::new(config.webhooks.policy.clone()),
    });
    // Added last, so it wraps every route (and the fallback) and sees each matched route.
    let router = router.layer(axum::middleware::from_fn_with_state(
        metrics,
        metrics::track,
    ));
    Ok((router, guards, live))
}

/// The SQLite registry and tenant pools under `data_dir`, created if needed.
fn open_sqlite(
    config: &ServerConfig,
    data_dir: &Path,
    metrics: &metrics::Metrics,
) -> Result<Opened, ServerError> {
    std::fs::create_dir_all(data_dir.join("tenants")).map_err(ServerError::Io)?;
    let registry: Arc<dyn Registry> = Arc::new(
        SqliteRegistry::open(&registry_path(data_dir))?.with_audit_max_rows(config.audit_max_rows),
    );
    let pools = pool::TenantPools::new(
        data_dir.to_owned(),
        Arc::clone(&registry),
        config.max_open_tenants,
    )
    .with_metrics(metrics.pool());
    let storage = Arc::new(
        storage::SqliteStorage::new(pools).with_max_clock_ahead_ms(config.max_clock_ahead_ms),
    );
    Ok(Opened { registry, storage })
}

/// The PostgreSQL registry at `registry_url` (migrated) and the tenant pools it places.
#[cfg(feature = "postgres")]
async fn open_postgres(
    config: &ServerConfig,
    registry_url: &str,
    metrics: &metrics::Metrics,
) -> Result<Opened, ServerError> {
    let runtime = tokio::runtime::Handle::current();
    let (url, handle, audit_max_rows) = (
        registry_url.to_owned(),
        runtime.clone(),
        config.audit_max_rows,
    );
    // The registry's calls block on its pool, so it is opened (and migrated) off the
    // async task, as every later call is.
    let registry = tokio::task::spawn_blocking(move || {
        pg::registry::PgRegistry::connect(&url, handle)
            .map(|registry| registry.with_audit_max_rows(audit_max_rows))
    })
    .await
    .map_err(|error| {
        ServerError::Io(std::io::Error::other(format!(
            "opening the PostgreSQL registry: {error}"
        )))
    })??;
    let registry = Arc::new(registry);
    // `serve --instances` divides a cluster's connections among the instances, as it
    // divides the per-tenant rates.
    let pool_config = pg::pools::PgPoolConfig {
        max_open_tenants: config.max_open_tenants,
        instances: usize::try_from(config.limits.instances.max(1)).unwrap_or(1),
        ..config.pg_pools.clone()
    };
    // What the operator chose, once at start: what they read first when tuning (and what
    // tells them a flag such as --keep-prepared-statements reached the server).
    tracing::info!(
        max_open_tenants = pool_config.max_open_tenants,
        instances = pool_config.instances,
        max_tenant_connections = pool_config.max_tenant_connections,
        cluster_connection_budget = pool_config.cluster_budget,
        pool_wait_secs = pool_config.wait_timeout.as_secs(),
        replica_max_lag_ms = pool_config.replica_max_lag.as_millis() as u64,
        statements = if pool_config.keep_statements {
            "kept on the connection"
        } else {
            "prepared per transaction"
        },
        "PostgreSQL tenant pools"
    );
    let pools = pg::pools::PgTenantPools::new(
        Arc::clone(&registry) as Arc<dyn pg::placement::Placements>,
        pool_config,
        runtime,
    )
    .with_metrics(metrics.pool())
    .with_report_reads(metrics.report_reads());
    let storage = Arc::new(
        pg::storage::PgStorage::new(pools).with_max_clock_ahead_ms(config.max_clock_ahead_ms),
    );
    Ok(Opened { registry, storage })
}

/// The refusal of something the PostgreSQL backend cannot do yet (`what`, and what to do
/// instead), or, in a build without the `postgres` feature, at all.
pub fn not_yet_for_postgres(what: &str) -> ServerError {
    if cfg!(feature = "postgres") {
        ServerError::Invalid(format!("not yet for PostgreSQL: {what}"))
    } else {
        ServerError::Invalid(format!(
            "not in this build: {what} (aisle-server was built without its `postgres` feature)"
        ))
    }
}

/// A server running in this process on 127.0.0.1, for tests: dropping it stops the server.
#[derive(Debug)]
pub struct RunningServer {
    pub addr: SocketAddr,
    /// The live-sync hub, so that tests can see how many pulls wait.
    pub live: Arc<live::Live>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), ServerError>>,
}

impl RunningServer {
    /// Binds 127.0.0.1 on a free port and serves in a background task.
    pub async fn start(config: ServerConfig) -> Result<Self, ServerError> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(ServerError::Io)?;
        let addr = listener.local_addr().map_err(ServerError::Io)?;
        let (sender, receiver) = tokio::sync::oneshot::channel::<()>();
        let (app, guards, live) = build(&config).await?;
        let shutdown = async move {
            let _ = receiver.await;
        };
        let task = tokio::spawn(serve::run(
            listener,
            app,
            guards,
            closing_live(shutdown, Arc::clone(&live)),
        ));
        Ok(Self {
            addr,
            live,
            shutdown: Some(sender),
            task,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(sender) = self.shutdown.take() {
            let _ = sender.send(());
        }
        // The task is aborted before it may see the signal above: the waiting pulls are
        // told here, so that their connections answer now rather than at their timeout.
        self.live.close();
        self.task.abort();
    }
}
