//! The `aisle-server` binary: `serve` runs protocol v1; the other subcommands administer the
//! registry (tenants, warehouses, enrollment codes, devices) of a data directory.
//!
//! It prints ids and codes on stdout so scripts and tests can read them, and never prints or
//! logs a device token (those are shown only to the enrolling device).

use aisle_core::ids::DeviceId;
use aisle_server::pool::TenantPools;
use aisle_server::storage::{SqliteStorage, Storage};
use aisle_server::{
    registry_path, Backend, Registry, ServerConfig, SqliteRegistry, DEFAULT_MAX_CLOCK_AHEAD_MS,
    DEFAULT_MAX_OPEN_TENANTS,
};
use anyhow::Context;
use clap::{CommandFactory, Parser, Subcommand};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

mod admin_audit;
#[cfg(feature = "postgres")]
mod admin_clusters;
mod admin_limits;
mod admin_master;
#[cfg(feature = "postgres")]
mod admin_move;
#[cfg(feature = "postgres")]
mod admin_pools;
mod admin_releases;
mod admin_webhooks;
mod config_file;

#[derive(Debug, Parser)]
#[command(
    name = "aisle-server",
    version,
    about = "Aisle's multi-tenant sync server"
)]
struct Cli {
    /// A TOML file with the server's options (README, "Install"): each
    /// key a flag's long name (`listen`, `data`, `max-connections`, …). Flags and AISLE_*
    /// variables override it.
    #[arg(long, global = true, env = "AISLE_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// A SQLite server's data directory: registry.sqlite3 and tenants/<id>.sqlite3.
    #[arg(long, global = true, env = "AISLE_DATA_DIR", value_name = "DIR")]
    data: Option<PathBuf>,
    /// A PostgreSQL server's registry database (postgres://USER@HOST/aisle_registry); each
    /// tenant's own database is on the cluster the registry places it on.
    #[arg(
        long,
        global = true,
        env = "AISLE_DATABASE",
        hide_env_values = true,
        value_name = "URL"
    )]
    database: Option<String>,
    #[command(subcommand)]
    command: Command,
}

impl Cli {
    /// The backend `--data` or `--database` names: exactly one of them. (Checked here, not
    /// by a clap group: a group does not see global flags given after the subcommand.)
    fn backend(&self) -> Result<Backend, clap::Error> {
        use clap::error::ErrorKind;
        match (&self.data, &self.database) {
            (Some(data_dir), None) => Ok(Backend::Sqlite {
                data_dir: data_dir.clone(),
            }),
            (None, Some(url)) => Ok(Backend::Postgres {
                registry_url: url.clone(),
            }),
            (Some(_), Some(_)) => Err(Cli::command().error(
                ErrorKind::ArgumentConflict,
                "give either --data DIR (SQLite) or --database URL (PostgreSQL), not both",
            )),
            (None, None) => Err(Cli::command().error(
                ErrorKind::MissingRequiredArgument,
                "give --data DIR (SQLite) or --database URL (PostgreSQL), or set \
                 AISLE_DATA_DIR or AISLE_DATABASE",
            )),
        }
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve protocol v1 over HTTP.
    #[command(
        after_help = "Example:\n  aisle-server serve --data /var/lib/aisle --listen 0.0.0.0:8080 --max-open-tenants 512\n  aisle-server serve --database postgres://aisle@db.internal/aisle_registry --listen 0.0.0.0:8080 --replica-max-lag-ms 2000\n\nPrints `listening on ADDR` once bound; use port 0 to pick a free port."
    )]
    Serve {
        /// The address and port to serve on.
        #[arg(long, env = "AISLE_LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
        /// Tenant databases kept open at once; the least recently used beyond it are closed.
        #[arg(long, env = "AISLE_MAX_OPEN_TENANTS", default_value_t = DEFAULT_MAX_OPEN_TENANTS)]
        max_open_tenants: usize,
        /// Refuse pushed events stamped more than this many seconds ahead of this server's
        /// clock (`rejected` / `clock_ahead`).
        #[arg(long, env = "AISLE_MAX_CLOCK_AHEAD_SECS", default_value_t = DEFAULT_MAX_CLOCK_AHEAD_MS / 1000)]
        max_clock_ahead_secs: i64,
        /// Rows the security audit log keeps; past it the oldest are pruned, and the prune
        /// is recorded (rows are at most about 1.3 KB; repeats coalesce per minute).
        #[arg(long, env = "AISLE_AUDIT_MAX_ROWS", default_value_t = aisle_server::registry::DEFAULT_AUDIT_MAX_ROWS)]
        audit_max_rows: u64,
        #[command(flatten)]
        limits: admin_limits::LimitArgs,
        #[command(flatten)]
        webhooks: admin_webhooks::WebhookServeArgs,
        #[cfg(feature = "postgres")]
        #[command(flatten)]
        pools: admin_pools::PoolArgs,
    },
    /// List, verify or prune the security audit log.
    #[command(
        after_help = "Example:\n  aisle-server audit list --limit 20\n  aisle-server audit verify\n  aisle-server audit prune --before 2026-01-01"
    )]
    Audit {
        #[command(subcommand)]
        command: admin_audit::AuditCommand,
    },
    /// Add or list tenants.
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// Add or list the desktop releases this server offers its PCs (`updates` endpoint).
    Release {
        #[command(subcommand)]
        command: admin_releases::ReleaseCommand,
    },
    /// Add or list the PostgreSQL clusters tenant databases are placed on (`--database`).
    #[cfg(feature = "postgres")]
    Cluster {
        #[command(subcommand)]
        command: admin_clusters::ClusterCommand,
    },
    /// Add warehouses.
    Warehouse {
        #[command(subcommand)]
        command: WarehouseCommand,
    },
    /// Make a one-time enrollment code for a device of a warehouse; prints the code.
    #[command(
        after_help = "Example:\n  aisle-server enroll-code acme north-dc --ttl-hours 4\n  3f9a-0c21-77de-41b0-9e6a-c4d2\n\nThe code works once, for one device, until it expires."
    )]
    EnrollCode {
        /// Tenant name or id.
        tenant: String,
        /// Warehouse name or id.
        warehouse: String,
        #[arg(long, default_value_t = 24)]
        ttl_hours: u32,
    },
    /// List or revoke devices.
    Device {
        #[command(subcommand)]
        command: DeviceCommand,
    },
    /// Import master data from a CSV file into a tenant, all or nothing.
    #[command(
        after_help = "Example:\n  aisle-server --data /var/lib/aisle import items acme items.csv\n  imported 1840 items into acme (master version 1840)\n\nSee `aisle-server import items --help` (and locations, users, picklists) for each file's columns."
    )]
    Import {
        #[command(subcommand)]
        command: admin_master::ImportCommand,
    },
    /// Add, list or revoke a tenant's API keys for ERP integrations.
    #[command(
        after_help = "Example:\n  aisle-server api-key add acme --scope master:write --scope stock:read --name sap-prod\n  aisle-server api-key list acme\n  aisle-server api-key revoke 0193a5c9-4e1f-7b20-9c3d-5e6f7a8b9c0d"
    )]
    ApiKey {
        #[command(subcommand)]
        command: admin_master::ApiKeyCommand,
    },
    /// Add, list, rotate, disable or enable a tenant's ERP webhook endpoints.
    #[command(
        after_help = "Example:\n  aisle-server webhook add acme --url https://erp.example.com/aisle --event goods.received\n  aisle-server webhook list acme\n  aisle-server webhook rotate 0193a5c9-4e1f-7b20-9c3d-5e6f7a8b9c0d"
    )]
    Webhook {
        #[command(subcommand)]
        command: admin_webhooks::WebhookCommand,
    },
    /// Export a tenant's data to stdout.
    #[command(
        after_help = "Example:\n  aisle-server export stock acme --warehouse north-dc --format json"
    )]
    Export {
        #[command(subcommand)]
        command: admin_master::ExportCommand,
    },
    /// Bring every tenant's database to this build's schema now, instead of on its first
    /// request; prints one line per tenant.
    #[command(
        after_help = "Example:\n  aisle-server --data /var/lib/aisle migrate --all\n  acme\t0193…\tschema 7, current\n  globex\t0193…\tschema 6 -> 7\n  initech\t0193…\tFAILED (marked unavailable): …\n\nA tenant that fails is marked failed in the registry (served 503 tenant_unavailable until\n`tenant retry-migration`), the others go on; the exit status is non-zero when any failed.\nA tenant that migrates clears an earlier mark. Safe while the server runs."
    )]
    Migrate {
        /// Every tenant (the only mode there is; required so it is never run by accident).
        #[arg(long, required = true)]
        all: bool,
    },
    /// Copy one tenant's database to a file, consistently, while the server may be running.
    #[command(
        after_help = "Example:\n  aisle-server --data /var/lib/aisle backup acme --out /backups/acme-2026-11-22.sqlite3\n  backed up acme: 1840 events, last seq 1840, to /backups/acme-2026-11-22.sqlite3\n\nOnly this tenant's file is read; the server keeps serving every tenant meanwhile.\nThe copy is one snapshot (SQLite VACUUM INTO), written beside FILE and renamed into place."
    )]
    Backup {
        /// Tenant name or id.
        tenant: String,
        /// The file to write; it must not exist yet.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Replace one tenant's database with a backup, while the server may be running.
    #[command(
        after_help = "Example:\n  aisle-server --data /var/lib/aisle restore acme --from /backups/acme-2026-11-22.sqlite3\n  restored acme: 1840 events, last seq 1840 (was 2210 events, last seq 2210)\n\nBefore anything live is touched, the backup is checked (FILE itself is only read):\n  - PRAGMA integrity_check passes, and its schema version is one this build knows;\n  - it is stamped for this tenant (a stamp of another tenant is always refused; a backup\n    from before stamping needs --force-tenant) and every event in it is this tenant's;\n  - a copy of it, migrated to this build's schema, has every table, column, index and\n    trigger that schema has;\n  - its stock, counts, tasks and discrepancies are what its own event log rebuilds to\n    (otherwise it is refused, naming what differs, unless --repair is given).\nThe checked copy is then copied into the live database in one SQLite transaction: a\nrunning server waits for it and then sees the restored data; other tenants are not\ntouched. Events pushed after the backup are gone from the server; devices that pulled past\nthe restored last seq must pull again from 0 (see docs/protocol.md)."
    )]
    Restore {
        /// Tenant name or id.
        tenant: String,
        /// A file written by `aisle-server backup` for this tenant.
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
        /// Restore a backup that has no tenant stamp (written before tenant schema 6) as this
        /// tenant's. Recorded in the registry's security audit log.
        #[arg(long)]
        force_tenant: bool,
        /// Where the backup's projection differs from a rebuild of its event log, restore the
        /// rebuilt projection instead of refusing.
        #[arg(long)]
        repair: bool,
    },
}

#[derive(Debug, Subcommand)]
enum TenantCommand {
    /// Add a tenant; prints its id. On PostgreSQL this creates the tenant's database, on the
    /// cluster `--cluster` names or else on the one with the fewest tenants.
    #[command(
        after_help = "Example:\n  aisle-server tenant add acme\n  0193a5c2-7d4e-7a10-8f3b-2c9d1e0f4a55\n  aisle-server --database postgres://aisle@db.internal/aisle_registry tenant add globex --cluster pg-b"
    )]
    Add {
        name: String,
        /// The PostgreSQL cluster for the tenant's database (`cluster list` names them).
        #[arg(long)]
        cluster: Option<String>,
    },
    /// List tenants: id, name, schema version, and any failed migration.
    #[command(after_help = "Example:\n  aisle-server --data /var/lib/aisle tenant list")]
    List,
    /// Clear a tenant's failed-migration mark once the cause is fixed; the next request to
    /// the tenant runs its migrations again.
    #[command(after_help = "Example:\n  aisle-server tenant retry-migration acme")]
    RetryMigration {
        /// Tenant name or id.
        tenant: String,
    },
    /// Set a tenant's own quotas (events pushed per second, database bytes); flags not
    /// given keep their value. A running server applies them within 5 seconds.
    #[command(
        after_help = "Example:\n  aisle-server tenant set-quota acme --push-per-sec 500 --max-bytes 2147483648\n  aisle-server tenant set-quota acme --reset"
    )]
    SetQuota(admin_limits::SetQuotaArgs),
    /// Set which desktop releases a tenant's PCs are offered: a channel, a pinned version,
    /// and the share of its PCs a release rolls out to (the same PCs at each check).
    #[command(
        after_help = "Example:\n  aisle-server tenant set-updates acme --channel stable --rollout 20\n  aisle-server tenant set-updates acme --pin 0.3.0\n  aisle-server tenant set-updates acme --unpin --rollout 100"
    )]
    SetUpdates(admin_releases::SetUpdatesArgs),
    /// Set the fewest digits a PIN may have, for pickers and for managers and admins
    /// (4 to 12; defaults 4 and 6). It applies to PINs the ERP or an import sends from now
    /// on, and devices refuse a shorter manager or admin PIN after their next sync.
    #[command(
        after_help = "Example:\n  aisle-server tenant set-pin-policy acme --picker-min 4 --manager-min 8\n  acme: pickers need 4 digits, managers and admins 8"
    )]
    SetPinPolicy(admin_master::SetPinPolicyArgs),
    /// Move a PostgreSQL tenant's database to another cluster: copy it while the tenant
    /// works, pause its writes for the final catch-up (devices get 503 `tenant_moving` with
    /// Retry-After), verify, switch, and drop the old copy after a grace period. Run it
    /// again after a kill to finish, or with `--abort` to undo before the switch.
    #[cfg(feature = "postgres")]
    #[command(
        after_help = "Example:\n  aisle-server tenant move acme --to pg-b --database postgres://aisle@db/aisle_registry\n  record\n  create_target\n  copy_events\n  pause\n  fence\n  catch_up\n  switch\n  mark_moved\n  wait_for_grace\n  acme is on cluster pg-b; its old database on pg-a is kept until … (`tenant move acme --finish` drops it then)"
    )]
    Move(admin_move::MoveArgs),
}

#[derive(Debug, Subcommand)]
enum WarehouseCommand {
    /// Add a warehouse to a tenant; prints its id.
    #[command(
        after_help = "Example:\n  aisle-server warehouse add acme north-dc\n  0193a5c3-1b2a-7c44-9d0e-5f6a7b8c9d0e"
    )]
    Add {
        /// Tenant name or id.
        tenant: String,
        name: String,
    },
}

#[derive(Debug, Subcommand)]
enum DeviceCommand {
    /// List a tenant's devices: id, warehouse, name, active or revoked.
    #[command(after_help = "Example:\n  aisle-server device list acme")]
    List {
        /// Tenant name or id.
        tenant: String,
    },
    /// Revoke a device's token at once; its next request gets `revoked_token`.
    #[command(
        after_help = "Example:\n  aisle-server device revoke 0193a5c4-2222-7abc-8def-0123456789ab"
    )]
    Revoke { device: DeviceId },
}

fn main() -> anyhow::Result<()> {
    let cli = parse_cli();
    let backend = cli.backend().unwrap_or_else(|error| error.exit());
    match cli.command {
        Command::Serve {
            listen,
            max_open_tenants,
            max_clock_ahead_secs,
            audit_max_rows,
            limits,
            webhooks,
            #[cfg(feature = "postgres")]
            pools,
        } => {
            let mut config = ServerConfig::with_backend(backend, max_open_tenants);
            config.max_clock_ahead_ms = max_clock_ahead_secs.saturating_mul(1000);
            config.audit_max_rows = audit_max_rows;
            config.limits = limits.limits();
            config.webhooks = webhooks.config()?;
            #[cfg(feature = "postgres")]
            {
                config.pg_pools = pools.config(max_open_tenants);
                config.live_listen_url = pools.live_listen_url();
            }
            serve(config, &listen)
        }
        #[cfg(feature = "postgres")]
        Command::Tenant {
            command: TenantCommand::Move(args),
        } => match &backend {
            Backend::Postgres { registry_url } => admin_move::run(registry_url, args),
            Backend::Sqlite { .. } => anyhow::bail!(
                "tenant move moves a tenant between PostgreSQL clusters: use --database"
            ),
        },
        command => admin(&backend, command),
    }
}

/// The command line, with the defaults the config file sets (`--config`, `AISLE_CONFIG`).
fn parse_cli() -> Cli {
    use clap::FromArgMatches as _;
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let mut command = Cli::command();
    if let Some(path) = config_file::named(&args) {
        command = config_file::apply(command, &path).unwrap_or_else(|message| {
            Cli::command()
                .error(clap::error::ErrorKind::InvalidValue, message)
                .exit()
        });
    }
    let matches = command.get_matches_from(args);
    Cli::from_arg_matches(&matches).unwrap_or_else(|error| error.exit())
}

/// Completes on SIGTERM (what systemd and `docker stop` send) or Ctrl-C.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(error) => {
                tracing::warn!(%error, "cannot watch for SIGTERM; only Ctrl-C stops the server");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
    tracing::info!(
        grace_secs = aisle_server::serve::SHUTDOWN_GRACE.as_secs(),
        "shutting down: no new connections; finishing the requests in flight"
    );
}

fn serve(config: ServerConfig, listen: &str) -> anyhow::Result<()> {
    let backend = config.backend.clone();
    // PostgreSQL NOTICEs (e.g. "relation … already exists, skipping" from an idempotent
    // migration) reach tokio_postgres's log at info; they are not news to an operator.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tokio_postgres=warn")),
        )
        .with_writer(std::io::stderr)
        // Colours for a person at a terminal; none in a file or the journal, where the
        // escape codes would be noise.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    // Create and migrate the registry before saying "listening": an admin command run as
    // soon as the server is up must find it ready, not race its first migration.
    match &backend {
        Backend::Sqlite { data_dir } => {
            std::fs::create_dir_all(data_dir.join("tenants"))
                .with_context(|| format!("cannot create {}", data_dir.display()))?;
            drop(
                SqliteRegistry::open(&registry_path(data_dir)).with_context(|| {
                    format!("cannot open the registry in {}", data_dir.display())
                })?,
            );
        }
        #[cfg(feature = "postgres")]
        Backend::Postgres { .. } => drop(open_registry(&backend)?),
        #[cfg(not(feature = "postgres"))]
        Backend::Postgres { .. } => return Err(aisle_server::not_yet_for_postgres("serve").into()),
    }
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let addr = listener.local_addr().context("no local address")?;
        let mut stdout = std::io::stdout();
        writeln!(stdout, "listening on {addr}")?;
        stdout.flush()?;
        aisle_server::serve(config, listener, shutdown_signal())
            .await
            .with_context(|| format!("serving {backend}"))?;
        // The storage and registry were dropped with the router: every database is closed.
        tracing::info!("stopped");
        Ok(())
    })
}

/// An admin command's registry, the tenant storage on it (opened lazily: nothing connects or
/// creates a file until a command reaches a tenant's data), and, on PostgreSQL, the runtime
/// their connection pools run on (the fields drop in order: the pools before their runtime).
struct AdminRegistry {
    storage: Arc<dyn Storage>,
    registry: Arc<dyn Registry>,
    _runtime: Option<tokio::runtime::Runtime>,
}

/// The registry `backend` names, opened (and migrated) for an admin command.
fn open_registry(backend: &Backend) -> anyhow::Result<AdminRegistry> {
    match backend {
        Backend::Sqlite { data_dir } => {
            std::fs::create_dir_all(data_dir.join("tenants"))
                .with_context(|| format!("cannot create {}", data_dir.display()))?;
            let registry = SqliteRegistry::open(&registry_path(data_dir))
                .with_context(|| format!("cannot open the registry in {}", data_dir.display()))?;
            let registry: Arc<dyn Registry> = Arc::new(registry);
            // One tenant at a time: a command touches at most one tenant's database.
            let storage =
                SqliteStorage::new(TenantPools::new(data_dir.clone(), Arc::clone(&registry), 1));
            Ok(AdminRegistry {
                storage: Arc::new(storage),
                registry,
                _runtime: None,
            })
        }
        #[cfg(feature = "postgres")]
        Backend::Postgres { registry_url } => {
            // A multi-threaded runtime: the pool's connections are driven by its workers
            // while this thread blocks on each registry call.
            let runtime =
                tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
            let registry = aisle_server::pg::registry::PgRegistry::connect(
                registry_url,
                runtime.handle().clone(),
            )
            .with_context(|| format!("cannot open the PostgreSQL registry {backend}"))?;
            let registry = Arc::new(registry);
            // The tenant's database is found through its placement, as `serve` finds it.
            let pools = aisle_server::pg::pools::PgTenantPools::new(
                Arc::clone(&registry) as Arc<dyn aisle_server::pg::placement::Placements>,
                aisle_server::pg::pools::PgPoolConfig {
                    max_open_tenants: 1,
                    ..aisle_server::pg::pools::PgPoolConfig::default()
                },
                runtime.handle().clone(),
            );
            Ok(AdminRegistry {
                storage: Arc::new(aisle_server::pg::storage::PgStorage::new(pools)),
                registry,
                _runtime: Some(runtime),
            })
        }
        #[cfg(not(feature = "postgres"))]
        Backend::Postgres { .. } => {
            Err(aisle_server::not_yet_for_postgres("the admin commands").into())
        }
    }
}

/// The PostgreSQL backend's admin operations (backup, restore) on the registry at `url`.
#[cfg(feature = "postgres")]
fn postgres_admin(url: &str) -> anyhow::Result<aisle_server::pg::admin::PgAdmin> {
    Ok(aisle_server::pg::admin::PgAdmin::connect(url)?)
}

/// Without the `postgres` feature there is no PostgreSQL backend to administer.
#[cfg(not(feature = "postgres"))]
fn postgres_admin(_url: &str) -> anyhow::Result<NoPostgres> {
    Err(aisle_server::not_yet_for_postgres("backup and restore").into())
}

/// What [`postgres_admin`] would return in a build without PostgreSQL: never made.
#[cfg(not(feature = "postgres"))]
enum NoPostgres {}

#[cfg(not(feature = "postgres"))]
impl NoPostgres {
    fn backup(
        &self,
        _tenant: &str,
        _out: &Path,
    ) -> Result<aisle_server::backup::LogSummary, aisle_server::ServerError> {
        match *self {}
    }

    fn restore(
        &self,
        _tenant: &str,
        _from: &Path,
        _options: aisle_server::backup::RestoreOptions,
    ) -> Result<aisle_server::backup::Restored, aisle_server::ServerError> {
        match *self {}
    }

    fn migrate_all(
        &self,
    ) -> Result<Vec<aisle_server::migrate_all::TenantMigrated>, aisle_server::ServerError> {
        match *self {}
    }
}

fn admin(backend: &Backend, command: Command) -> anyhow::Result<()> {
    let now_ms = aisle_server::now_ms();
    #[cfg(feature = "postgres")]
    if let Some(done) = admin_clusters::admin(backend, &command, now_ms) {
        return done;
    }
    let opened = open_registry(backend)?;
    let registry = Arc::clone(&opened.registry);
    match command {
        Command::Serve { .. } => unreachable!("handled in main"),
        #[cfg(feature = "postgres")]
        Command::Tenant {
            command: TenantCommand::Move(_),
        } => unreachable!("handled in main"),
        #[cfg(feature = "postgres")]
        Command::Cluster { .. } => unreachable!("handled by admin_clusters::admin"),
        Command::Tenant {
            command: TenantCommand::Add { name, cluster },
        } => {
            if cluster.is_some() {
                anyhow::bail!("--cluster places a tenant on a PostgreSQL cluster: use --database");
            }
            println!("{}", registry.add_tenant(&name, now_ms)?)
        }
        Command::Tenant {
            command: TenantCommand::List,
        } => {
            for tenant in registry.list_tenants()? {
                let state = match &tenant.failed_migration {
                    Some(reason) => format!("FAILED MIGRATION: {reason}"),
                    None => "ok".to_owned(),
                };
                println!(
                    "{}\t{}\tschema {}\t{state}",
                    tenant.id, tenant.name, tenant.schema_version
                );
            }
        }
        Command::Tenant {
            command: TenantCommand::RetryMigration { tenant },
        } => {
            let tenant = registry.resolve_tenant(&tenant)?;
            registry.clear_tenant_failure(tenant)?;
            println!("cleared {tenant}; its next request migrates it again");
        }
        Command::Tenant {
            command: TenantCommand::SetQuota(args),
        } => admin_limits::set_quota(&*registry, args, now_ms)?,
        Command::Tenant {
            command: TenantCommand::SetUpdates(args),
        } => admin_releases::set_updates(&*registry, args, now_ms)?,
        Command::Release { command } => admin_releases::run(&*registry, command, now_ms)?,
        Command::Tenant {
            command: TenantCommand::SetPinPolicy(args),
        } => admin_master::set_pin_policy(&*opened.storage, registry, args)?,
        Command::Warehouse {
            command: WarehouseCommand::Add { tenant, name },
        } => {
            let tenant = registry.resolve_tenant(&tenant)?;
            println!("{}", registry.add_warehouse(tenant, &name, now_ms)?);
        }
        Command::EnrollCode {
            tenant,
            warehouse,
            ttl_hours,
        } => {
            let tenant = registry.resolve_tenant(&tenant)?;
            let warehouse = registry.resolve_warehouse(tenant, &warehouse)?;
            let ttl_ms = i64::from(ttl_hours) * 3_600_000;
            println!(
                "{}",
                registry.create_enrollment_code(tenant, warehouse, ttl_ms, now_ms)?
            );
        }
        Command::Audit { command } => admin_audit::audit(&*registry, command, now_ms)?,
        Command::Import { command } => admin_master::import(&*opened.storage, registry, command)?,
        Command::ApiKey { command } => admin_master::api_key(&*registry, command, now_ms)?,
        Command::Webhook { command } => admin_webhooks::run(&*registry, command, now_ms)?,
        Command::Export { command } => admin_master::export(&*opened.storage, registry, command)?,
        Command::Device {
            command: DeviceCommand::List { tenant },
        } => {
            let tenant = registry.resolve_tenant(&tenant)?;
            for device in registry.list_devices(tenant)? {
                let state = if device.revoked { "revoked" } else { "active" };
                println!(
                    "{}\t{}\t{}\t{state}",
                    device.id, device.warehouse, device.name
                );
            }
        }
        Command::Migrate { all: _ } => {
            let done = match backend {
                Backend::Sqlite { data_dir } => {
                    aisle_server::migrate_all::migrate_all_sqlite(data_dir, &*registry)?
                }
                Backend::Postgres { registry_url } => {
                    postgres_admin(registry_url)?.migrate_all()?
                }
            };
            for migrated in &done {
                println!("{}", migrated.line());
            }
            let n_failed = done.iter().filter(|migrated| !migrated.is_ok()).count();
            if n_failed > 0 {
                anyhow::bail!("{n_failed} of {} tenants failed to migrate", done.len());
            }
        }
        Command::Backup { tenant, out } => {
            let copied = match backend {
                Backend::Sqlite { data_dir } => {
                    let tenant_id = registry.resolve_tenant(&tenant)?;
                    aisle_server::backup::backup_tenant(data_dir, tenant_id, &out)
                }
                Backend::Postgres { registry_url } => {
                    postgres_admin(registry_url)?.backup(&tenant, &out)
                }
            }
            .with_context(|| format!("backing up {tenant}"))?;
            println!(
                "backed up {tenant}: {} events, last seq {}, to {}",
                copied.n_events,
                copied.last_seq,
                out.display()
            );
        }
        Command::Restore {
            tenant,
            from,
            force_tenant,
            repair,
        } => {
            let options = aisle_server::backup::RestoreOptions {
                force_tenant,
                repair,
            };
            let restored = match backend {
                Backend::Sqlite { data_dir } => {
                    let tenant_id = registry.resolve_tenant(&tenant)?;
                    aisle_server::backup::restore_tenant(
                        data_dir, &*registry, tenant_id, &from, options,
                    )
                }
                Backend::Postgres { registry_url } => {
                    postgres_admin(registry_url)?.restore(&tenant, &from, options)
                }
            }
            .with_context(|| format!("restoring {tenant} from {}", from.display()))?;
            println!(
                "restored {tenant}: {} events, last seq {} (was {} events, last seq {})",
                restored.after.n_events,
                restored.after.last_seq,
                restored.before.n_events,
                restored.before.last_seq
            );
            if restored.forced_tenant {
                println!(
                    "the backup had no tenant stamp; restored as {tenant} (--force-tenant, \
                     recorded in the security audit log) and stamped"
                );
            }
            if restored.rebuilt_for_rules {
                println!("its projection was written under older stock rules and was rebuilt");
            }
            if restored.n_repaired > 0 {
                println!(
                    "repaired {} projection entries that differed from a rebuild of its log (--repair)",
                    restored.n_repaired
                );
            }
            if restored.before.last_seq > restored.after.last_seq {
                eprintln!(
                    "warning: seqs {}..={} were handed out before the restore and will be reused; \
                     devices that pulled past seq {} must pull again from 0",
                    restored.after.last_seq + 1,
                    restored.before.last_seq,
                    restored.after.last_seq
                );
            }
        }
        Command::Device {
            command: DeviceCommand::Revoke { device },
        } => {
            if !registry.revoke_device(device, now_ms)? {
                anyhow::bail!("no device {device}");
            }
            println!("revoked {device}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const REGISTRY_URL: &str = "postgres://aisle:secret@db.internal/aisle_registry";

    fn backend_of(args: &[&str]) -> Result<Backend, clap::Error> {
        Cli::try_parse_from(std::iter::once("aisle-server").chain(args.iter().copied()))?.backend()
    }

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn the_packaged_sample_config_is_one_this_server_takes() {
        use clap::FromArgMatches as _;
        let sample =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../packaging/server.toml");
        let command = config_file::apply(Cli::command(), &sample)
            .unwrap_or_else(|error| panic!("packaging/server.toml is refused: {error}"));
        let matches = command
            .try_get_matches_from(["aisle-server", "serve"])
            .expect("serve parses with the sample's values");
        let cli = Cli::from_arg_matches(&matches).expect("the sample's values have their types");
        assert_eq!(
            cli.data.as_deref(),
            Some(std::path::Path::new("/var/lib/aisle-server")),
            "the sample serves from the unit's StateDirectory"
        );
        match cli.command {
            Command::Serve { listen, limits, .. } => {
                assert_eq!(listen, "127.0.0.1:8080");
                assert_eq!(limits.limits().max_live_waits, 4096);
            }
            other => panic!("not serve: {other:?}"),
        }
    }

    #[test]
    fn data_chooses_sqlite_and_database_chooses_postgres_before_or_after_the_subcommand() {
        let sqlite = Backend::Sqlite {
            data_dir: PathBuf::from("/var/lib/aisle"),
        };
        let postgres = Backend::Postgres {
            registry_url: REGISTRY_URL.to_owned(),
        };
        let cases: [(&[&str], &Backend); 6] = [
            (&["--data", "/var/lib/aisle", "serve"], &sqlite),
            (&["serve", "--data", "/var/lib/aisle"], &sqlite),
            (&["tenant", "list", "--data", "/var/lib/aisle"], &sqlite),
            (&["--database", REGISTRY_URL, "serve"], &postgres),
            (&["serve", "--database", REGISTRY_URL], &postgres),
            (
                &[
                    "backup",
                    "acme",
                    "--out",
                    "a.db",
                    "--database",
                    REGISTRY_URL,
                ],
                &postgres,
            ),
        ];
        for (args, expected) in cases {
            assert_eq!(
                &backend_of(args).unwrap_or_else(|error| panic!("{args:?}: {error}")),
                expected,
                "{args:?}"
            );
        }
    }

    #[test]
    fn data_and_database_together_are_refused() {
        let error = backend_of(&[
            "--data",
            "/var/lib/aisle",
            "serve",
            "--database",
            REGISTRY_URL,
        ])
        .expect_err("one backend only");
        assert_eq!(error.kind(), clap::error::ErrorKind::ArgumentConflict);
    }

    #[test]
    fn neither_data_nor_database_is_refused() {
        // The environment could name one (AISLE_DATA_DIR, AISLE_DATABASE); then clap rightly
        // takes it, and there is nothing to check here.
        if std::env::var_os("AISLE_DATA_DIR").is_some()
            || std::env::var_os("AISLE_DATABASE").is_some()
        {
            return;
        }
        let error = backend_of(&["tenant", "list"]).expect_err("a backend is required");
        assert_eq!(
            error.kind(),
            clap::error::ErrorKind::MissingRequiredArgument
        );
    }

    #[test]
    fn the_registry_password_is_not_shown() {
        let backend = backend_of(&["--database", REGISTRY_URL, "serve"]).expect("parses");
        assert!(
            !format!("{backend} {backend:?}").contains("secret"),
            "neither the Display (log lines, errors) nor the Debug form shows the password"
        );
    }

    #[test]
    fn tenant_data_commands_on_an_unreachable_registry_say_which_without_its_password() {
        // Port 1 on loopback: nothing listens there. Import, export and set-pin-policy reach
        // the tenant's database through the registry's placement, so they fail opening it.
        const URL: &str = "postgres://aisle:s3cret@127.0.0.1:1/aisle_registry";
        let backend = Backend::Postgres {
            registry_url: URL.to_owned(),
        };
        let cases: [&[&str]; 3] = [
            &["import", "items", "acme", "items.csv"],
            &["export", "stock", "acme"],
            &["tenant", "set-pin-policy", "acme"],
        ];
        for args in cases {
            let cli = Cli::try_parse_from(
                std::iter::once("aisle-server")
                    .chain(args.iter().copied())
                    .chain(["--database", URL]),
            )
            .unwrap_or_else(|error| panic!("{args:?}: {error}"));
            let error = format!(
                "{:#}",
                admin(&backend, cli.command).expect_err("no registry there")
            );
            assert!(
                error.starts_with("cannot open the PostgreSQL registry"),
                "{args:?}: {error}"
            );
            assert!(!error.contains("s3cret"), "{args:?}: {error}");
        }
    }
}
