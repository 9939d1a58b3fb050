//! Per-tenant connection pools, opened lazily and evicted least-recently-used.
//!
//! [`TenantPools::get`] is the only way to a tenant's database, and it takes an
//! [`Authenticated`] context (a device's `TenantContext` or an integration's
//! `IntegrationContext`), so a handle exists only for an authenticated request; the tenant comes
//! from the context, never from an argument a handler could fill in. The first open of a
//! tenant in this process runs its migrations, stamps the file with its tenant (or refuses a
//! file stamped for another) and records the version in the registry; a failed migration
//! or a wrong stamp marks the tenant in the registry, and it is refused from then on while
//! every other tenant keeps serving. Beyond `max_open` tenants the least recently used pool
//! is dropped from the map; requests still holding it finish, and its connections close
//! when the last of them is done. There is no "current tenant" anywhere.

use crate::auth::Authenticated;
use crate::error::{OpenRefusal, ServerError};
use crate::migrate;
use crate::registry::Registry;
use aisle_core::ids::TenantId;
use rusqlite::Connection;
use std::collections::HashMap;
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// Idle connections kept per tenant.
const MAX_IDLE_CONNECTIONS: usize = 4;

/// One tenant's database: a small pool of connections to its file.
#[derive(Debug)]
pub struct TenantDb {
    tenant: TenantId,
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    /// Taken by event pushes for their whole transaction; see [`TenantDb::write_turn`].
    writer: Mutex<()>,
}

/// A connection borrowed from a [`TenantDb`]; it goes back to the pool when dropped.
#[derive(Debug)]
pub struct PooledConnection<'p> {
    db: &'p TenantDb,
    conn: Option<Connection>,
}

impl TenantDb {
    pub fn tenant(&self) -> TenantId {
        self.tenant
    }

    /// Waits for this process's other pushes to the tenant to finish. SQLite allows one
    /// writer per file anyway; without this, concurrent pushes wait in SQLite's busy handler,
    /// which polls with sleeps of up to 100 ms, so under load a push slept long after the
    /// lock was free (p99 of seconds with 100 devices on 50 tenants). A mutex hands the
    /// turn over as soon as the previous push commits.
    pub fn write_turn(&self) -> std::sync::MutexGuard<'_, ()> {
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn connection(&self) -> Result<PooledConnection<'_>, ServerError> {
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let conn = match idle {
            Some(conn) => conn,
            None => open_connection(&self.path)?,
        };
        Ok(PooledConnection {
            db: self,
            conn: Some(conn),
        })
    }
}

impl Deref for PooledConnection<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn.as_ref().expect("present until drop")
    }
}

impl DerefMut for PooledConnection<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        self.conn.as_mut().expect("present until drop")
    }
}

impl Drop for PooledConnection<'_> {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else { return };
        // A connection left inside a transaction (a panic mid-write) is not reused.
        if !conn.is_autocommit() {
            return;
        }
        let mut idle = self.db.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < MAX_IDLE_CONNECTIONS {
            idle.push(conn);
        }
    }
}

fn open_connection(path: &Path) -> Result<Connection, ServerError> {
    let conn = Connection::open(path)?;
    migrate::configure(&conn)?;
    tune(&conn)?;
    Ok(conn)
}

/// Settings for ingest speed, measured in `docs/BENCHMARKS.md` ("Server: ingest").
///
/// - A push runs ~25 distinct cached statements (the event insert and `SqlLedger`'s), more
///   than rusqlite's default cache of 16, which would re-prepare them round-robin.
/// - SQLite's default 2 MB page cache per connection. A 16 MB cache took the kernel's
///   folio zeroing under spilled WAL writes out of the 50-tenant profile (19% of the CPU to
///   0.3%) and sped up pulls, but in the full benchmark on a quiet machine aggregate ingest
///   fell from 40,413 to 32,207 events/s with it (51 busy tenants' caches against the heap
///   limit below), so the default stays; see docs/BENCHMARKS.md. The whole process's SQLite
///   memory is held near [`SQLITE_MEMORY_LIMIT`] (a soft heap limit: past it, each cache
///   recycles its own least recently used pages instead of growing).
/// - SQLite checkpoints the WAL inside whichever commit crosses `wal_autocheckpoint` pages.
///   At the default (1,000 pages, 4 MB) a push of 500 events crossed it every few pushes and
///   the checkpoints were most of the ingest time; at 10,000 pages (~40 MB of WAL per busy
///   tenant on disk) they are ten times rarer. Durability is the same: commits are still
///   fsynced (`synchronous=FULL`).
fn tune(conn: &Connection) -> Result<(), ServerError> {
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.execute_batch(&format!(
        "PRAGMA wal_autocheckpoint = 10000; PRAGMA cache_size = -{CACHE_KIB};
         PRAGMA soft_heap_limit = {SQLITE_MEMORY_LIMIT};"
    ))?;
    Ok(())
}

const STATEMENT_CACHE: usize = 64;
/// Each connection's page cache, in KiB.
const CACHE_KIB: u32 = 2 * 1024;
/// The soft limit on all of SQLite's memory in this process (every tenant's connections and
/// the registry's), in bytes. `PRAGMA soft_heap_limit` is process-wide.
pub const SQLITE_MEMORY_LIMIT: u64 = 192 * 1024 * 1024;

type Opened = Result<Arc<TenantDb>, OpenRefusal>;

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

/// The open tenant databases.
#[derive(Debug)]
pub struct TenantPools {
    data_dir: PathBuf,
    registry: Arc<dyn Registry>,
    max_open: usize,
    slots: Mutex<Slots>,
    metrics: crate::metrics::PoolMetrics,
}

impl TenantPools {
    /// The directory the tenants' database files are under.
    pub fn data_dir(&self) -> &std::path::Path {
        &self.data_dir
    }

    pub fn new(data_dir: PathBuf, registry: Arc<dyn Registry>, max_open: usize) -> Self {
        Self {
            data_dir,
            registry,
            max_open: max_open.max(1),
            slots: Mutex::new(Slots::default()),
            metrics: crate::metrics::PoolMetrics::default(),
        }
    }

    /// Reports open tenants and evictions to these instruments (see [`crate::metrics`]).
    pub fn with_metrics(mut self, metrics: crate::metrics::PoolMetrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// The authenticated tenant's database, opening (and migrating) it if needed. Any
    /// [`Authenticated`] context will do: a device's or an integration's.
    pub fn get(&self, context: &impl Authenticated) -> Result<Arc<TenantDb>, ServerError> {
        let tenant = context.authenticated_tenant();
        let cell = {
            let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
            slots.tick += 1;
            let tick = slots.tick;
            let slot = slots.slots.entry(tenant).or_insert_with(|| Slot {
                cell: Arc::new(OnceLock::new()),
                last_used: tick,
            });
            slot.last_used = tick;
            let cell = Arc::clone(&slot.cell);
            let n_evicted = evict(&mut slots, self.max_open);
            self.metrics.evictions.inc_by(n_evicted);
            self.metrics.open.set(slots.slots.len() as i64);
            cell
        };
        // Opening happens outside the map's lock, so a slow open blocks only its own tenant.
        let opened = cell.get_or_init(|| self.open(tenant)).clone();
        if opened.is_err() {
            // A refusal is not kept: the next request asks again, so a passing registry
            // hiccup does not wedge the tenant, and a marked tenant is refused by its mark.
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

    /// How many tenants are open now (for tests and metrics).
    pub fn open_count(&self) -> usize {
        self.slots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .slots
            .len()
    }

    fn open(&self, tenant: TenantId) -> Opened {
        let state = match self.registry.tenant(tenant) {
            Ok(Some(state)) => state,
            Ok(None) => {
                return Err(OpenRefusal::Unavailable(
                    "the tenant does not exist".to_owned(),
                ))
            }
            Err(error) => return Err(registry_refusal(&error)),
        };
        if let Some(failure) = state.failed_migration {
            return Err(OpenRefusal::Unavailable(format!(
                "its migration failed earlier: {failure}"
            )));
        }
        let path = crate::tenant_db_path(&self.data_dir, tenant);
        let migrated = open_connection(&path).and_then(|mut conn| {
            let version = migrate::migrate_tenant(&mut conn)?;
            // The path names the tenant, so a file from before stamping is stamped now; a
            // file copied from another tenant is refused.
            migrate::stamp_tenant(&conn, tenant)?;
            if let Some(n_events) = crate::rebuild::follow_rules_version(&mut conn)? {
                tracing::info!(%tenant, n_events, "projection rebuilt under the current stock rules");
            }
            Ok((conn, version))
        });
        match migrated {
            Ok((conn, version)) => {
                if let Err(error) = self.registry.record_tenant_version(tenant, version) {
                    return Err(registry_refusal(&error));
                }
                Ok(Arc::new(TenantDb {
                    tenant,
                    path,
                    idle: Mutex::new(vec![conn]),
                    writer: Mutex::new(()),
                }))
            }
            Err(error) if error.is_retryable() => {
                // Not a failed migration: the file's lock was held past the busy timeout (by
                // an evicted copy of this tenant's pool whose pushes are still running, under
                // load, or a backup). Marking the tenant would refuse it until an operator
                // came; the next request opens it again instead.
                let reason = error.to_string();
                tracing::warn!(%tenant, %reason, "tenant database busy at open; not marked");
                Err(OpenRefusal::Away(reason))
            }
            Err(error) => {
                let reason = error.to_string();
                tracing::error!(%tenant, %reason, "tenant migration failed; refusing the tenant");
                if let Err(error) = self.registry.mark_tenant_failed(tenant, &reason) {
                    tracing::error!(%tenant, %error, "cannot mark the tenant as failed");
                }
                Err(OpenRefusal::Unavailable(reason))
            }
        }
    }
}

/// The refusal for a registry that failed while a tenant was opened: worth a retry when the
/// registry was only busy, else the tenant is refused for this request (not marked).
pub(crate) fn registry_refusal(error: &ServerError) -> OpenRefusal {
    let reason = format!("registry: {error}");
    if error.is_retryable() {
        OpenRefusal::Away(reason)
    } else {
        OpenRefusal::Unavailable(reason)
    }
}

/// Drops least recently used slots beyond `max_open`. A slot still being opened is never
/// dropped, so two requests can never migrate the same file at once; the map may briefly
/// exceed the cap instead. Returns how many slots it dropped.
fn evict(slots: &mut Slots, max_open: usize) -> u64 {
    let mut n_evicted = 0;
    while slots.slots.len() > max_open {
        let victim = slots
            .slots
            .iter()
            .filter(|(_, slot)| slot.cell.get().is_some())
            .min_by_key(|(_, slot)| slot.last_used)
            .map(|(tenant, _)| *tenant);
        match victim {
            Some(tenant) => {
                slots.slots.remove(&tenant);
                n_evicted += 1;
            }
            None => break,
        }
    }
    n_evicted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(opened: bool, last_used: u64) -> Slot {
        let cell = OnceLock::new();
        if opened {
            cell.set(Err(OpenRefusal::Unavailable("test".to_owned())))
                .expect("fresh cell");
        }
        Slot {
            cell: Arc::new(cell),
            last_used,
        }
    }

    #[test]
    fn eviction_drops_the_least_recently_used_opened_slot() {
        let ids: Vec<TenantId> = (1..=4u8).map(|n| TenantId::new_v7(1, [n; 10])).collect();
        let mut slots = Slots::default();
        slots.slots.insert(ids[0], slot(false, 1)); // oldest, but still opening
        slots.slots.insert(ids[1], slot(true, 2));
        slots.slots.insert(ids[2], slot(true, 3));
        slots.slots.insert(ids[3], slot(true, 4));
        evict(&mut slots, 2);
        let mut kept: Vec<TenantId> = slots.slots.keys().copied().collect();
        kept.sort();
        let mut expected = vec![ids[0], ids[3]];
        expected.sort();
        assert_eq!(
            kept, expected,
            "the opening slot survives and the newest opened one is kept"
        );
    }

    #[test]
    fn tenant_connections_get_their_cache_under_a_process_wide_memory_limit() {
        let dir = tempfile::tempdir().expect("tempdir");
        let conn = open_connection(&dir.path().join("t.sqlite3")).expect("open");
        let pragma = |name: &str| -> i64 {
            conn.query_row(&format!("PRAGMA {name}"), [], |row| row.get(0))
                .expect(name)
        };
        assert_eq!(pragma("cache_size"), -i64::from(CACHE_KIB));
        assert_eq!(pragma("soft_heap_limit"), SQLITE_MEMORY_LIMIT as i64);
        assert_eq!(pragma("synchronous"), 2, "tuning keeps synchronous=FULL");
    }
}
