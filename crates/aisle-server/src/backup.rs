//! Online backup and restore of one tenant's database, for the admin CLI
//! (`aisle-server backup` / `restore`), safe while a server serves the same data directory.
//!
//! Both go *through* SQLite rather than around it, which is what makes them safe next to a
//! running server without telling it anything:
//!
//! - **Backup** is `VACUUM INTO` a temporary file beside the target, then a rename. It reads
//!   one snapshot of the tenant's database inside a read transaction (WAL lets the server
//!   keep writing meanwhile), so the copy is exactly the tenant as of one instant.
//! - **Restore** first checks the backup file, read-only: `PRAGMA integrity_check`, a schema
//!   version this build knows, the tenant stamp (`tenant_meta`, written by the server when it
//!   opens a tenant's file; a file stamped for another tenant is always refused, an
//!   unstamped one only restores with `force_tenant`, which the registry's security audit
//!   log records), and that every event in it is this tenant's. It then checks a scratch
//!   copy beside the live file ([`check`]): migrated to this build's schema, it must have
//!   every table, column, index and trigger a fresh database has, and its projection must be
//!   what its own event log rebuilds to (with `repair`, the rebuilt projection is kept
//!   instead of refusing). The backup file itself is never written.
//!
//!   Only then is the checked copy copied *into* the live database file with SQLite's online
//!   backup API in a single step, which is one write transaction on the live file. The
//!   server's pushes wait for it on their busy timeout; its reads in progress finish on the
//!   snapshot they started with; every transaction after the commit sees the restored
//!   database through the server's existing pooled connections, with no stale cache. The file
//!   is never replaced or renamed under an open connection (which would pair the server's
//!   write-ahead log with the wrong file).
//!
//! Only the one tenant's file is read or written; other tenants are not touched.
//! The admin CLI works on the data directory it is given, as the operator; it does not go
//! through a device's [`crate::auth::TenantContext`], which is for network requests.

use crate::error::ServerError;
use crate::migrate;
use crate::registry::{AuditRow, Registry};
use aisle_core::ids::TenantId;
use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

mod check;

/// How long a restore waits for the server's writes to let it in before giving up.
const RESTORE_LOCK_TIMEOUT: Duration = Duration::from_secs(30);

/// What a backup or restore copied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogSummary {
    pub n_events: u64,
    /// The last seq of the tenant's log (0 when empty).
    pub last_seq: u64,
}

/// What a restore may accept beyond a sound backup of this tenant.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RestoreOptions {
    /// Restore a backup that carries no tenant stamp (one written before tenant schema 6),
    /// on the operator's word that it is this tenant's. Recorded in the security audit log.
    /// A stamp of another tenant is refused regardless.
    pub force_tenant: bool,
    /// Where the backup's projection differs from a rebuild of its event log, restore the
    /// rebuilt projection instead of refusing.
    pub repair: bool,
}

/// The outcome of a restore.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Restored {
    /// The log that was live before the restore.
    pub before: LogSummary,
    /// The log now live: the backup's.
    pub after: LogSummary,
    /// The backup had no tenant stamp and was restored with `force_tenant` (and stamped).
    pub forced_tenant: bool,
    /// The backup's projection was written under older stock rules and was rebuilt.
    pub rebuilt_for_rules: bool,
    /// Entries of the backup's projection that differed from the rebuild and were repaired.
    pub n_repaired: u64,
}

/// Why a restore does not go ahead, as the CLI says it.
fn refuse(why: String) -> ServerError {
    ServerError::Invalid(format!("refusing the backup: {why}"))
}

pub(crate) fn summary(conn: &Connection) -> Result<LogSummary, ServerError> {
    let (n_events, last_seq): (i64, i64) = conn.query_row(
        "SELECT count(*), coalesce(max(seq), 0) FROM events",
        [],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    Ok(LogSummary {
        n_events: n_events as u64,
        last_seq: last_seq as u64,
    })
}

/// Writes a consistent copy of `tenant`'s database to `out`, which must not exist yet.
pub fn backup_tenant(
    data_dir: &Path,
    tenant: TenantId,
    out: &Path,
) -> Result<LogSummary, ServerError> {
    let source_path = crate::tenant_db_path(data_dir, tenant);
    if !source_path.exists() {
        return Err(ServerError::NotFound(format!(
            "tenant {tenant} has no database yet (nothing was pushed to it)"
        )));
    }
    if out.exists() {
        return Err(ServerError::Invalid(format!(
            "{} exists already; choose a new file",
            out.display()
        )));
    }
    let source = Connection::open_with_flags(&source_path, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
    migrate::configure(&source)?;
    // Written beside the target and renamed, so a crash never leaves a half file at `out`.
    let partial = partial_path(out);
    let _ = std::fs::remove_file(&partial);
    let vacuumed = source
        .execute(
            "VACUUM INTO ?1",
            [partial.to_str().ok_or_else(|| {
                ServerError::Invalid(format!("{} is not valid UTF-8", out.display()))
            })?],
        )
        .map_err(ServerError::from)
        .and_then(|_| {
            let copy = Connection::open_with_flags(&partial, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
            summary(&copy)
        });
    let copied = match vacuumed {
        Ok(copied) => copied,
        Err(error) => {
            let _ = std::fs::remove_file(&partial);
            return Err(error);
        }
    };
    std::fs::rename(&partial, out).map_err(ServerError::Io)?;
    Ok(copied)
}

fn partial_path(out: &Path) -> PathBuf {
    let mut name = out.file_name().unwrap_or_default().to_owned();
    name.push(".partial");
    out.with_file_name(name)
}

/// Replaces `tenant`'s database with the backup at `from`, online, once the backup has passed
/// every check (see the module docs). Nothing live is touched when a check refuses.
pub fn restore_tenant(
    data_dir: &Path,
    registry: &dyn Registry,
    tenant: TenantId,
    from: &Path,
    options: RestoreOptions,
) -> Result<Restored, ServerError> {
    let target_path = crate::tenant_db_path(data_dir, tenant);
    std::fs::create_dir_all(
        target_path
            .parent()
            .expect("tenant files live in a directory"),
    )
    .map_err(ServerError::Io)?;
    let Checked {
        conn: checked,
        after,
        stamped,
        verified,
        scratch: _scratch,
    } = checked_backup(
        registry,
        tenant,
        from,
        options,
        Scratch::beside(&target_path),
    )?;

    let mut target = Connection::open(&target_path)?;
    migrate::configure(&target)?;
    let before = if target_has_events(&target)? {
        summary(&target)?
    } else {
        LogSummary {
            n_events: 0,
            last_seq: 0,
        }
    };
    {
        let copy = Backup::new(&checked, &mut target)?;
        let started = Instant::now();
        // All pages in one step: one write transaction on the live file, so no reader ever
        // sees half a restore and the copy never restarts because the server wrote between
        // steps. Busy means a server transaction holds the lock: wait for it.
        loop {
            match copy.step(-1)? {
                StepResult::Done => break,
                StepResult::More => continue,
                StepResult::Busy | StepResult::Locked => {
                    if started.elapsed() > RESTORE_LOCK_TIMEOUT {
                        return Err(ServerError::Invalid(format!(
                            "the tenant's database stayed busy for {}s; nothing was restored",
                            RESTORE_LOCK_TIMEOUT.as_secs()
                        )));
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                _ => {
                    return Err(ServerError::Invalid(
                        "unexpected backup step result".to_owned(),
                    ))
                }
            }
        }
    }
    // The checked copy is at this build's schema already; this records it, as a first open
    // by the server would.
    let version = migrate::migrate_tenant(&mut target)?;
    registry.record_tenant_version(tenant, version)?;
    target.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
    // Closed before its scratch file is removed.
    drop(checked);
    Ok(Restored {
        before,
        after,
        forced_tenant: !stamped,
        rebuilt_for_rules: verified.rebuilt_for_rules,
        n_repaired: verified.n_repaired,
    })
}

/// A backup that passed every check of a restore: its checked (migrated, stamped, maybe
/// repaired) scratch copy, open, and what the checks found. Dropping it removes the copy.
pub(crate) struct Checked {
    pub(crate) conn: Connection,
    pub(crate) after: LogSummary,
    pub(crate) stamped: bool,
    pub(crate) verified: check::Verified,
    /// Declared last, so the connection closes before the file is removed.
    pub(crate) scratch: Scratch,
}

/// Runs every check a restore runs on the backup at `from` (the file itself is only read;
/// the checks that write run on `scratch`), and records a forced tenant in the security
/// audit log. Shared by the SQLite restore and the PostgreSQL one (`crate::pg::backup`),
/// so both refuse the same files with the same words.
pub(crate) fn checked_backup(
    registry: &dyn Registry,
    tenant: TenantId,
    from: &Path,
    options: RestoreOptions,
    scratch: Scratch,
) -> Result<Checked, ServerError> {
    let backup =
        Connection::open_with_flags(from, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(|error| {
            ServerError::Invalid(format!("cannot open {}: {error}", from.display()))
        })?;
    let stamped = check_backup(&backup, tenant, options)?;
    let after = summary(&backup)?;
    let mut checked = scratch.copy_of(&backup)?;
    drop(backup);
    let verified = check::verify(&mut checked, tenant, options.repair)?;
    if !stamped {
        registry.audit(
            &AuditRow {
                tenant: Some(tenant),
                warehouse: None,
                device: None,
                reason: "restore_forced_tenant".to_owned(),
                detail: format!(
                    "operator (admin CLI, restore --force-tenant): a backup with no tenant \
                     stamp restored as tenant {tenant}, from {}",
                    from.display()
                ),
            },
            crate::now_ms(),
        )?;
    }
    Ok(Checked {
        conn: checked,
        after,
        stamped,
        verified,
        scratch,
    })
}

/// The scratch copy a restore checks (and repairs), beside the live file so it is on the
/// same disk; removed with its journal files when dropped, whatever happened.
pub(crate) struct Scratch {
    path: PathBuf,
}

impl Scratch {
    pub(crate) fn beside(target: &Path) -> Self {
        // The process id and a number of this process's own: two restores of one tenant at
        // once in one process (the PostgreSQL restore's copy goes to the temp directory,
        // named by tenant) must not remove each other's copy.
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut name = target.file_name().unwrap_or_default().to_owned();
        name.push(format!(".restore-{}-{n}", std::process::id()));
        let scratch = Self {
            path: target.with_file_name(name),
        };
        scratch.remove();
        scratch
    }

    /// Copies `backup` into the scratch file with the online backup API and opens it.
    fn copy_of(&self, backup: &Connection) -> Result<Connection, ServerError> {
        backup.backup(rusqlite::MAIN_DB, &self.path, None)?;
        let copy = Connection::open(&self.path)?;
        copy.busy_timeout(Duration::from_secs(10))?;
        copy.execute_batch("PRAGMA foreign_keys = ON;")?;
        Ok(copy)
    }

    fn remove(&self) {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut name = self.path.as_os_str().to_owned();
            name.push(suffix);
            let _ = std::fs::remove_file(PathBuf::from(name));
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        self.remove();
    }
}

fn target_has_events(conn: &Connection) -> Result<bool, ServerError> {
    let n: i64 = conn.query_row(
        "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'events'",
        [],
        |row| row.get(0),
    )?;
    Ok(n == 1)
}

/// Refuses a file that is not a sound tenant database of this build's schema or older, that
/// is stamped for another tenant or holds another tenant's events, or that has no stamp
/// unless `force_tenant`. Answers whether the file was stamped (for this tenant).
fn check_backup(
    backup: &Connection,
    tenant: TenantId,
    options: RestoreOptions,
) -> Result<bool, ServerError> {
    // The full check, not `quick_check`: it also compares every index with its table.
    let mut statement = backup
        .prepare("PRAGMA integrity_check(10)")
        .map_err(|error| refuse(format!("it is not a readable database ({error})")))?;
    let problems: Vec<String> = statement
        .query_map([], |row| row.get(0))
        .and_then(|rows| rows.collect())
        .map_err(|error| refuse(format!("it is not a readable database ({error})")))?;
    drop(statement);
    if problems != ["ok"] {
        return Err(refuse(format!(
            "its integrity check failed: {}",
            problems.join("; ")
        )));
    }
    let version: i64 = backup.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if !(1..=migrate::TENANT_SCHEMA_VERSION).contains(&version) {
        return Err(refuse(format!(
            "its schema version is {version}; this build knows 1 to {}",
            migrate::TENANT_SCHEMA_VERSION
        )));
    }
    if !target_has_events(backup)? {
        return Err(refuse("it has no events table".to_owned()));
    }
    let stamp = migrate::tenant_stamp(backup)?;
    if let Some(stamp) = &stamp {
        if *stamp != tenant.to_string() {
            return Err(refuse(format!(
                "it is stamped for tenant {stamp}, not {tenant}; it is another tenant's backup"
            )));
        }
    }
    let foreign: i64 = backup.query_row(
        "SELECT count(*) FROM events WHERE json_extract(payload, '$.tenant') IS NOT ?1",
        [tenant.to_string()],
        |row| row.get(0),
    )?;
    if foreign > 0 {
        return Err(refuse(format!(
            "{foreign} of its events belong to another tenant than {tenant}"
        )));
    }
    if stamp.is_none() && !options.force_tenant {
        return Err(refuse(format!(
            "it has no tenant stamp (it was written before tenant schema 6), so nothing in it \
             says it is {tenant}'s; if you are sure it is, restore it with --force-tenant, \
             which is recorded in the security audit log"
        )));
    }
    Ok(stamp.is_some())
}
