//! The executor of a tenant move: reads a [`Snapshot`], asks [`plan`] (or [`plan_abort`])
//! for the next step, settles it, and reads again. Each step is one idempotent change (a
//! registry transaction, a database created or dropped, a batch copied in one target
//! transaction), so the move can be killed anywhere and run again.

use super::copy::{self, Db};
use super::{fence, plan, plan_abort, AbortStep, Comparison, Fence, Phase, Snapshot, Step, FENCE};
use crate::error::ServerError;
use crate::pg::registry::PgRegistry;
use aisle_core::ids::TenantId;
use tokio::runtime::Handle;

/// How a move runs.
#[derive(Clone, Debug)]
pub struct MoveOptions {
    /// How long the old database is kept after the switch, in milliseconds.
    pub grace_ms: i64,
    /// Events per copy batch before the pause.
    pub batch_events: i64,
}

impl Default for MoveOptions {
    fn default() -> Self {
        Self {
            grace_ms: (super::DEFAULT_GRACE_SECS * 1000) as i64,
            batch_events: super::DEFAULT_BATCH_EVENTS,
        }
    }
}

/// Where a move stands when a run returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MoveReport {
    pub from_cluster: String,
    pub to_cluster: String,
    /// The phase left in the registry; `None` once the move is over (old database dropped,
    /// or the move undone).
    pub phase: Option<Phase>,
    /// When the old database may be dropped, while it is kept.
    pub drop_after_ms: Option<i64>,
    /// Events copied by this run.
    pub events_copied: u64,
    /// How long this run kept the tenant's writes paused (fence to switch), in ms.
    pub paused_ms: Option<u64>,
}

/// A move's row in the registry, with both clusters' URLs.
#[derive(Clone, Debug)]
struct MoveRow {
    from_cluster: String,
    from_url: String,
    from_database: String,
    to_cluster: String,
    to_url: String,
    to_database: String,
    phase: Phase,
    drop_after_ms: Option<i64>,
}

/// One tenant's move, driven step by step.
#[derive(Debug)]
pub struct TenantMove<'r> {
    registry: &'r PgRegistry,
    runtime: Handle,
    tenant: TenantId,
    options: MoveOptions,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as i64)
}

impl<'r> TenantMove<'r> {
    /// Blocking, like the registry: call it from a plain thread or tokio's blocking pool,
    /// with `runtime` the handle of a runtime that is running.
    pub fn new(
        registry: &'r PgRegistry,
        runtime: Handle,
        tenant: TenantId,
        options: MoveOptions,
    ) -> Self {
        Self {
            registry,
            runtime,
            tenant,
            options,
        }
    }

    fn row(&self) -> Result<Option<MoveRow>, ServerError> {
        self.registry.with_tx(|tx| {
            let row = tx.query_opt(
                "SELECT m.from_cluster, f.url, m.from_database, m.to_cluster, t.url,
                        m.to_database, m.phase, m.drop_after_ms
                 FROM tenant_moves m
                 JOIN clusters f ON f.name = m.from_cluster
                 JOIN clusters t ON t.name = m.to_cluster
                 WHERE m.tenant = $1",
                &[self.tenant.as_uuid()],
            )?;
            row.map(|row| {
                Ok(MoveRow {
                    from_cluster: row.get(0),
                    from_url: row.get(1),
                    from_database: row.get(2),
                    to_cluster: row.get(3),
                    to_url: row.get(4),
                    to_database: row.get(5),
                    phase: Phase::parse(row.get(6))?,
                    drop_after_ms: row.get(7),
                })
            })
            .transpose()
        })
    }

    fn database_exists(&self, cluster_url: &str, database: &str) -> Result<bool, ServerError> {
        let config = crate::pg::registry::cluster_config(cluster_url, None)?;
        let database = database.to_owned();
        let found = self.runtime.block_on(async move {
            let (client, connection) = config.connect(aisle_pg::tokio_postgres::NoTls).await?;
            tokio::spawn(connection);
            client
                .query_opt(
                    "SELECT 1 FROM pg_database WHERE datname::TEXT = $1",
                    &[&database],
                )
                .await
        });
        Ok(found.map_err(aisle_pg::PgError::from)?.is_some())
    }

    fn snapshot(&self, row: Option<&MoveRow>, catch_ups: u32) -> Result<Snapshot, ServerError> {
        let mut snapshot = Snapshot {
            phase: row.map(|row| row.phase),
            source_exists: true,
            target_exists: false,
            target_migrated: false,
            source_last_seq: 0,
            target_last_seq: 0,
            source_fence: None,
            comparison: Comparison::NotCompared,
            catch_ups,
            now_ms: now_ms(),
            drop_after_ms: row.and_then(|row| row.drop_after_ms),
            batch_events: self.options.batch_events.max(1),
        };
        let Some(row) = row else {
            return Ok(snapshot);
        };
        snapshot.source_exists = self.database_exists(&row.from_url, &row.from_database)?;
        let source = self.source(row)?;
        if snapshot.source_exists {
            snapshot.source_last_seq = source.last_seq()?;
            snapshot.source_fence = source.with_tx(fence)?;
        }
        snapshot.target_exists = self.database_exists(&row.to_url, &row.to_database)?;
        if snapshot.target_exists {
            let target = self.target(row)?;
            let version: i64 = target.with_tx(|tx| {
                let exists: bool = tx
                    .query_one("SELECT to_regclass('aisle_migrations') IS NOT NULL", &[])?
                    .get(0);
                if !exists {
                    return Ok(0);
                }
                Ok(tx
                    .query_one(
                        "SELECT COALESCE(MAX(version), 0)::BIGINT FROM aisle_migrations",
                        &[],
                    )?
                    .get(0))
            })?;
            snapshot.target_migrated =
                version == i64::from(crate::pg::tenant_schema::TENANT_SCHEMA_VERSION);
            if snapshot.target_migrated {
                snapshot.target_last_seq = target.last_seq()?;
                if row.phase == Phase::Paused && snapshot.source_fence.is_some() {
                    snapshot.comparison = copy::compare(&source, &target)?;
                }
            }
            target.close();
        }
        source.close();
        Ok(snapshot)
    }

    fn source(&self, row: &MoveRow) -> Result<Db, ServerError> {
        Db::new(&row.from_url, &row.from_database, self.runtime.clone())
    }

    fn target(&self, row: &MoveRow) -> Result<Db, ServerError> {
        Db::new(&row.to_url, &row.to_database, self.runtime.clone())
    }

    /// Moves the tenant to cluster `to`, or goes on with the move to `to` that a killed run
    /// left. `on_step` hears each step's name once it is settled. Returns once the move has
    /// switched and the old database is either dropped or waiting for its grace period.
    pub fn run(&self, to: &str, mut on_step: impl FnMut(&str)) -> Result<MoveReport, ServerError> {
        let mut row = self.row()?;
        if let Some(recorded) = &row {
            if recorded.to_cluster != to {
                return Err(ServerError::Invalid(format!(
                    "a move of this tenant to cluster {:?} is under way: finish it \
                     (`tenant move NAME --finish`) or undo it (`--abort`) first",
                    recorded.to_cluster
                )));
            }
        }
        let mut report = MoveReport {
            from_cluster: String::new(),
            to_cluster: to.to_owned(),
            phase: None,
            drop_after_ms: None,
            events_copied: 0,
            paused_ms: None,
        };
        let mut catch_ups = 0;
        let mut paused_at: Option<std::time::Instant> = None;
        loop {
            let snapshot = self.snapshot(row.as_ref(), catch_ups)?;
            let step = plan(&snapshot);
            match &step {
                Step::Record => self.record(to)?,
                Step::CreateTarget => self.create_target(need(&row)?)?,
                Step::CopyEvents { after_seq, n } => {
                    let row = need(&row)?;
                    let (source, target) = (self.source(row)?, self.target(row)?);
                    report.events_copied +=
                        copy::copy_events(&source, &target, *after_seq, after_seq + n)?;
                    source.close();
                    target.close();
                }
                Step::Pause => self.set_phase(Phase::Copying, Phase::Paused)?,
                Step::Fence => {
                    paused_at = Some(std::time::Instant::now());
                    self.write_fence(need(&row)?, Some(Fence::Paused))?;
                }
                Step::CatchUp => {
                    paused_at.get_or_insert_with(std::time::Instant::now);
                    let row = need(&row)?;
                    let (source, target) = (self.source(row)?, self.target(row)?);
                    report.events_copied += copy::catch_up(&source, &target)?;
                    source.close();
                    target.close();
                    catch_ups += 1;
                }
                Step::Switch => {
                    self.switch(need(&row)?)?;
                    report.paused_ms = paused_at.map(|at| at.elapsed().as_millis() as u64);
                }
                Step::MarkMoved => self.write_fence(need(&row)?, Some(Fence::Moved))?,
                Step::DropSource => self.drop_source(need(&row)?)?,
                Step::WaitForGrace { .. } => {}
                Step::Abort { why } => {
                    let why = why.clone();
                    self.abort(&mut on_step)?;
                    return Err(ServerError::Invalid(format!(
                        "the copy still differs from the tenant's database after the final \
                         catch-up ({why}); the move was undone and the tenant stays where it was"
                    )));
                }
            }
            on_step(step.name());
            row = self.row()?;
            if let Some(row) = &row {
                report.from_cluster.clone_from(&row.from_cluster);
            }
            if matches!(step, Step::WaitForGrace { .. } | Step::DropSource) {
                report.phase = row.as_ref().map(|row| row.phase);
                report.drop_after_ms = row.as_ref().and_then(|row| row.drop_after_ms);
                return Ok(report);
            }
        }
    }

    /// Finishes whatever move of the tenant is recorded (to its own target), dropping the old
    /// database if its grace period has passed. Nothing to do answers `Ok(None)`.
    pub fn finish(&self, on_step: impl FnMut(&str)) -> Result<Option<MoveReport>, ServerError> {
        match self.row()? {
            None => Ok(None),
            Some(row) => self.run(&row.to_cluster, on_step).map(Some),
        }
    }

    /// Undoes a move that has not switched: unfences the source (writes resume there), drops
    /// the target copy, forgets the move. Refused once the move has switched.
    pub fn abort(&self, mut on_step: impl FnMut(&str)) -> Result<(), ServerError> {
        loop {
            let row = self.row()?;
            let snapshot = self.snapshot(row.as_ref(), 0)?;
            let Some(step) = plan_abort(&snapshot) else {
                return Err(ServerError::Invalid(
                    "the move has switched already: the tenant lives on the new cluster; \
                     move it back with another `tenant move`"
                        .to_owned(),
                ));
            };
            match step {
                AbortStep::Unfence => self.write_fence(need(&row)?, None)?,
                AbortStep::DropTarget => {
                    let row = need(&row)?;
                    self.registry.on_cluster(
                        &row.to_url,
                        &format!(
                            "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                            row.to_database
                        ),
                    )?;
                }
                AbortStep::Forget => self.registry.with_tx(|tx| {
                    tx.execute(
                        "DELETE FROM tenant_moves WHERE tenant = $1 AND phase <> 'switched'",
                        &[self.tenant.as_uuid()],
                    )?;
                    tx.execute(
                        "UPDATE placements SET state = 'active' WHERE tenant = $1",
                        &[self.tenant.as_uuid()],
                    )?;
                    Ok(())
                })?,
                AbortStep::Done => return Ok(()),
            }
            on_step(step.name());
        }
    }

    fn record(&self, to: &str) -> Result<(), ServerError> {
        let (database, to_url) = self.registry.with_tx(|tx| {
            let placement = tx
                .query_opt(
                    "SELECT cluster, database FROM placements WHERE tenant = $1",
                    &[self.tenant.as_uuid()],
                )?
                .ok_or_else(|| {
                    ServerError::NotFound("the tenant has no PostgreSQL placement".to_owned())
                })?;
            let (from, database): (String, String) = (placement.get(0), placement.get(1));
            if from == to {
                return Err(ServerError::Invalid(format!(
                    "the tenant's database is on cluster {to:?} already"
                )));
            }
            let to_url: String = tx
                .query_opt("SELECT url FROM clusters WHERE name = $1", &[&to])?
                .ok_or_else(|| ServerError::NotFound(format!("cluster {to:?}")))?
                .get(0);
            Ok((database, to_url))
        })?;
        // A database of that name on the target would be taken for the copy: refuse it.
        if self.database_exists(&to_url, &database)? {
            return Err(ServerError::Invalid(format!(
                "cluster {to:?} has a database named {database:?} already; drop it first"
            )));
        }
        let grace_ms = self.options.grace_ms.max(0);
        self.registry.with_tx(|tx| {
            let placement = tx.query_one(
                "SELECT cluster, database FROM placements WHERE tenant = $1 FOR UPDATE",
                &[self.tenant.as_uuid()],
            )?;
            let (from, database): (String, String) = (placement.get(0), placement.get(1));
            tx.execute(
                "INSERT INTO tenant_moves (tenant, from_cluster, from_database, to_cluster,
                     to_database, phase, grace_ms, started_ms)
                 VALUES ($1, $2, $3, $4, $3, 'copying', $5, $6)",
                &[
                    self.tenant.as_uuid(),
                    &from,
                    &database,
                    &to,
                    &grace_ms,
                    &now_ms(),
                ],
            )?;
            tx.execute(
                "UPDATE placements SET state = 'moving' WHERE tenant = $1",
                &[self.tenant.as_uuid()],
            )?;
            Ok(())
        })
    }

    fn create_target(&self, row: &MoveRow) -> Result<(), ServerError> {
        if !self.database_exists(&row.to_url, &row.to_database)? {
            self.registry.on_cluster(
                &row.to_url,
                &format!("CREATE DATABASE \"{}\"", row.to_database),
            )?;
        }
        let target = self.target(row)?;
        target.with_tx(|tx| {
            aisle_pg::migrate(tx, crate::pg::tenant_schema::MIGRATIONS)?;
            Ok(())
        })?;
        target.close();
        Ok(())
    }

    fn set_phase(&self, from: Phase, to: Phase) -> Result<(), ServerError> {
        self.registry.with_tx(|tx| {
            tx.execute(
                "UPDATE tenant_moves SET phase = $3 WHERE tenant = $1 AND phase = $2",
                &[self.tenant.as_uuid(), &from.as_str(), &to.as_str()],
            )?;
            Ok(())
        })
    }

    /// Sets (or, with `None`, removes) the source's fence, under the tenant's push lock: a
    /// write holding the lock commits first, every later one sees the fence.
    fn write_fence(&self, row: &MoveRow, value: Option<Fence>) -> Result<(), ServerError> {
        let source = self.source(row)?;
        source.with_tx(|tx| {
            tx.advisory_lock(crate::pg::PUSH_LOCK)?;
            match value {
                Some(value) => tx.execute(
                    "INSERT INTO tenant_meta (name, value) VALUES ($1, $2)
                     ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                    &[&FENCE, &value.as_str()],
                )?,
                None => tx.execute("DELETE FROM tenant_meta WHERE name = $1", &[&FENCE])?,
            };
            Ok(())
        })?;
        source.close();
        Ok(())
    }

    /// Points the placement at the target, in one registry transaction.
    fn switch(&self, row: &MoveRow) -> Result<(), ServerError> {
        let now = now_ms();
        self.registry.with_tx(|tx| {
            let switched = tx.execute(
                "UPDATE tenant_moves SET phase = 'switched', switched_ms = $2,
                     drop_after_ms = $2 + grace_ms
                 WHERE tenant = $1 AND phase = 'paused'",
                &[self.tenant.as_uuid(), &now],
            )?;
            if switched != 1 {
                return Err(ServerError::Invalid(
                    "the move is no longer paused: another run changed it".to_owned(),
                ));
            }
            tx.execute(
                "UPDATE placements SET cluster = $2, database = $3, state = 'active'
                 WHERE tenant = $1",
                &[self.tenant.as_uuid(), &row.to_cluster, &row.to_database],
            )?;
            Ok(())
        })?;
        tracing::info!(tenant = %self.tenant, from = %row.from_cluster, to = %row.to_cluster, "tenant placement switched");
        Ok(())
    }

    fn drop_source(&self, row: &MoveRow) -> Result<(), ServerError> {
        // FORCE ends the sessions an instance may still hold on the old copy; they see a
        // broken connection and reopen the tenant from its placement.
        self.registry.on_cluster(
            &row.from_url,
            &format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                row.from_database
            ),
        )?;
        self.registry.with_tx(|tx| {
            tx.execute(
                "DELETE FROM tenant_moves WHERE tenant = $1 AND phase = 'switched'",
                &[self.tenant.as_uuid()],
            )?;
            Ok(())
        })?;
        tracing::info!(tenant = %self.tenant, cluster = %row.from_cluster, "old tenant database dropped");
        Ok(())
    }
}

fn need(row: &Option<MoveRow>) -> Result<&MoveRow, ServerError> {
    row.as_ref()
        .ok_or_else(|| ServerError::Invalid("the move's record vanished".to_owned()))
}
