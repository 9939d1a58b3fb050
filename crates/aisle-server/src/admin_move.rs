//! `aisle-server tenant move`: moves a PostgreSQL tenant's database to another cluster of
//! the PostgreSQL registry (see `aisle_server::pg::moving` for the steps and why a kill at
//! any point is safe). It prints each step as it settles, then where the move stands.
//!
//! `AISLE_MOVE_KILL_AFTER=STEP[:N]` (a test hook, not an option) makes the process kill
//! itself with SIGKILL right after the N-th (default first) settling of STEP, so tests can
//! check that a move killed at each step is finished by running the command again.

use aisle_server::pg::moving::{MoveOptions, TenantMove, DEFAULT_GRACE_SECS};
use aisle_server::pg::registry::PgRegistry;
use anyhow::Context;
use clap::Args;

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["to", "finish", "abort"])))]
pub struct MoveArgs {
    /// Tenant name or id.
    tenant: String,
    /// The cluster to move the tenant's database to (`cluster list` names them).
    #[arg(long)]
    to: Option<String>,
    /// Finish the tenant's recorded move: go on from where a killed run stopped, and drop
    /// the old database if its grace period has passed.
    #[arg(long)]
    finish: bool,
    /// Undo the tenant's move if it has not switched yet: writes resume on the old
    /// database and the copy is dropped.
    #[arg(long)]
    abort: bool,
    /// Seconds the old database is kept after the switch; 0 drops it at once.
    #[arg(long, default_value_t = DEFAULT_GRACE_SECS)]
    grace: u64,
    /// Events per copy batch before the pause.
    #[arg(long, hide = true, default_value_t = aisle_server::pg::moving::DEFAULT_BATCH_EVENTS)]
    batch_events: i64,
}

/// The test hook: `(step, n)` from `AISLE_MOVE_KILL_AFTER`.
fn kill_after() -> Option<(String, usize)> {
    let value = std::env::var("AISLE_MOVE_KILL_AFTER").ok()?;
    Some(match value.split_once(':') {
        Some((step, n)) => (step.to_owned(), n.parse().unwrap_or(1)),
        None => (value, 1),
    })
}

/// Runs the move against the PostgreSQL registry at `registry_url` (the global `--database`).
pub fn run(registry_url: &str, args: MoveArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let registry = PgRegistry::connect(registry_url, runtime.handle().clone())
        .context("cannot open the PostgreSQL registry")?;
    let tenant = registry.resolve_tenant(&args.tenant)?;
    let options = MoveOptions {
        grace_ms: i64::try_from(args.grace.saturating_mul(1000)).unwrap_or(i64::MAX),
        batch_events: args.batch_events.max(1),
    };
    let mover = TenantMove::new(&registry, runtime.handle().clone(), tenant, options);
    let kill = kill_after();
    let mut seen = std::collections::HashMap::<String, usize>::new();
    let on_step = |step: &str| {
        println!("{step}");
        let count = seen.entry(step.to_owned()).or_default();
        *count += 1;
        if let Some((kill_step, n)) = &kill {
            if kill_step == step && *count == *n {
                let pid = std::process::id().to_string();
                let _ = std::process::Command::new("kill")
                    .args(["-KILL", &pid])
                    .status();
                loop {
                    std::thread::park();
                }
            }
        }
    };
    if args.abort {
        mover.abort(on_step)?;
        println!(
            "the move of {} is undone; it stays where it was",
            args.tenant
        );
        return Ok(());
    }
    let report = match (&args.to, args.finish) {
        (Some(to), _) => Some(mover.run(to, on_step)?),
        (None, _) => mover.finish(on_step)?,
    };
    match report {
        None => println!("{} has no move under way", args.tenant),
        Some(report) => match report.drop_after_ms {
            Some(drop_after_ms) => println!(
                "{} is on cluster {}; its old database on {} is kept until {} ms since the epoch (`tenant move {} --finish` drops it then){}",
                args.tenant,
                report.to_cluster,
                report.from_cluster,
                drop_after_ms,
                args.tenant,
                report
                    .paused_ms
                    .map(|ms| format!("; writes were paused {ms} ms"))
                    .unwrap_or_default(),
            ),
            None => println!(
                "{} is on cluster {}; its old database is dropped{}",
                args.tenant,
                report.to_cluster,
                report
                    .paused_ms
                    .map(|ms| format!("; writes were paused {ms} ms"))
                    .unwrap_or_default(),
            ),
        },
    }
    Ok(())
}
