//! Moving a tenant's database to another cluster (`aisle-server tenant move NAME --to
//! CLUSTER`), planned as `aisle-sync`'s sync is: a pure [`plan`] of a [`Snapshot`] (the move's
//! row in the registry, both databases' last seqs, the source's write fence, the comparison
//! of both copies) answers the next [`Step`], and a thin executor ([`TenantMove`]) settles that
//! step in the registry or the databases, then reads a new snapshot. Every step is idempotent
//! and the snapshot is read afresh, so a move killed at any point is finished by running the
//! command again, or undone with `--abort` until it has switched.
//!
//! The steps, in order:
//! 1. **record**: a `tenant_moves` row (phase `copying`) and the placement's state `moving`;
//! 2. **create target**: the target database on the target cluster, migrated to the tenant
//!    schema ([`super::tenant_schema`]);
//! 3. **copy events**, batch by batch, while the tenant keeps working: the event log is
//!    append-only and its seqs commit in order, so `seq > target's last seq` is exactly what
//!    is missing (binary `COPY … TO STDOUT` piped into `COPY … FROM STDIN`);
//! 4. **pause** (phase `paused`), then **fence**: a `move_fence` row in the source database's
//!    `tenant_meta`, written under the tenant's push lock ([`super::PUSH_LOCK`]). Every write
//!    (push, master-data upsert, PIN policy) checks the fence right after it takes that lock
//!    ([`check_writable`]), so a push in flight when the fence is written commits before it
//!    (the fence waits for the lock) and every later one, on any server instance, is refused
//!    with `tenant_moving` (503, `Retry-After`) and drops its cached pool;
//! 5. **catch up**: the events still missing, and the tables that change in place (master
//!    data, the stock projection, `tenant_meta`), replaced whole in one target transaction;
//! 6. **switch**, once both copies compare equal (event count, last seq, the stock checksum
//!    of every warehouse through `aisle_projection::pg::checksum`, and a SHA-256 of every
//!    copied table's rows): the placement names the target, in one registry transaction;
//!    writes resume there (the retried request opens the tenant afresh from its placement);
//! 7. **mark moved**: the fence says `moved`, so an instance still holding a pool on the
//!    old database drops it on its next read too ([`check_readable`]);
//! 8. **drop source** once the grace period has passed (`--grace`, default
//!    [`DEFAULT_GRACE_SECS`]): by `tenant move NAME --finish`, or by the next `tenant move`
//!    of that tenant. Until then the old database is a read-only, fenced copy.
//!
//! Until the switch the source is the tenant's database and the target a scratch copy; from
//! the switch on the target is. A kill therefore leaves the tenant whole on exactly one side:
//! before the switch, undoing deletes the fence and drops the target; after it, the old copy
//! is only waiting to be dropped.

mod copy;
mod exec;

pub use exec::{MoveOptions, MoveReport, TenantMove};

use crate::error::ServerError;
use aisle_pg::PgTx;

/// The `tenant_meta` row that fences a tenant database during and after a move.
pub const FENCE: &str = "move_fence";

/// How long the old database is kept after a switch, by default: a day, so an operator can
/// still look at it should anything about the new one surprise them.
pub const DEFAULT_GRACE_SECS: u64 = 24 * 60 * 60;

/// Events per batch while copying the log before the pause.
pub const DEFAULT_BATCH_EVENTS: i64 = 50_000;

/// What a tenant database's fence says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fence {
    /// A move is catching up: writes are refused, reads are served.
    Paused,
    /// The tenant lives elsewhere now: this database is an old copy.
    Moved,
}

impl Fence {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Paused => "paused",
            Self::Moved => "moved",
        }
    }

    fn parse(value: &str) -> Self {
        // Anything but "paused" is treated as the stronger fence.
        if value == "paused" {
            Self::Paused
        } else {
            Self::Moved
        }
    }
}

/// The statement reading a tenant database's fence, with [`FENCE`] as its parameter.
pub const FENCE_SQL: &str = "SELECT value FROM tenant_meta WHERE name = $1";

/// The fence of the tenant database `tx` is in, if any.
pub fn fence(tx: &PgTx<'_>) -> Result<Option<Fence>, ServerError> {
    Ok(fence_of(tx.query_opt(FENCE_SQL, &[&FENCE])?.as_ref()))
}

/// The fence that [`FENCE_SQL`]'s row says, if it found one.
fn fence_of(row: Option<&aisle_pg::Row>) -> Option<Fence> {
    row.map(|row| Fence::parse(row.get(0)))
}

/// Refuses a write (`tenant_moving`) to a fenced tenant database. Call it right after taking
/// the push lock, in the write's own transaction: a move writes its fence under that lock,
/// so a write either commits before the fence or sees it.
pub fn check_writable(tx: &PgTx<'_>) -> Result<(), ServerError> {
    writable_by(fence(tx)?)
}

/// [`check_writable`] on the rows [`FENCE_SQL`] answered (in a pipeline, after the lock).
pub fn check_writable_rows(rows: &[aisle_pg::Row]) -> Result<(), ServerError> {
    writable_by(fence_of(rows.first()))
}

fn writable_by(fence: Option<Fence>) -> Result<(), ServerError> {
    match fence {
        None => Ok(()),
        Some(_) => Err(ServerError::TenantMoving),
    }
}

/// Refuses a read (`tenant_moving`) of a database the tenant has moved away from, so an
/// instance that still holds a pool on it drops it and reads the new one next time.
pub fn check_readable(tx: &PgTx<'_>) -> Result<(), ServerError> {
    match fence(tx)? {
        Some(Fence::Moved) => Err(ServerError::TenantMoving),
        _ => Ok(()),
    }
}

/// A move's phase, as the registry's `tenant_moves.phase` records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Copying,
    Paused,
    Switched,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Copying => "copying",
            Self::Paused => "paused",
            Self::Switched => "switched",
        }
    }

    pub fn parse(value: &str) -> Result<Self, ServerError> {
        match value {
            "copying" => Ok(Self::Copying),
            "paused" => Ok(Self::Paused),
            "switched" => Ok(Self::Switched),
            other => Err(ServerError::Invalid(format!(
                "unknown move phase {other:?}"
            ))),
        }
    }
}

/// Whether the two copies hold the same tenant, as far as it was compared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Comparison {
    /// Not compared (not paused yet, or the target is missing).
    NotCompared,
    Equal,
    /// What differs, for the operator.
    Differs(String),
}

/// Everything [`plan`] decides from, read afresh before every step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// The recorded move's phase; `None` when no move is recorded.
    pub phase: Option<Phase>,
    pub source_exists: bool,
    pub target_exists: bool,
    /// Whether the target database is at this build's tenant schema.
    pub target_migrated: bool,
    /// The last seq of the source's event log and of the target's (0 when empty or missing).
    pub source_last_seq: i64,
    pub target_last_seq: i64,
    pub source_fence: Option<Fence>,
    /// Both copies compared (only while paused, with the source fenced).
    pub comparison: Comparison,
    /// Catch-ups this run has made since the last comparison that differed; a second
    /// catch-up that still leaves the copies different means something else writes.
    pub catch_ups: u32,
    pub now_ms: i64,
    /// When the old database may be dropped (phase switched).
    pub drop_after_ms: Option<i64>,
    /// Events per copy batch; the move pauses once the target is less than one behind.
    pub batch_events: i64,
}

/// The next thing a move does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Record,
    CreateTarget,
    /// Copy the events after `after_seq`, at most `n` of them.
    CopyEvents {
        after_seq: i64,
        n: i64,
    },
    Pause,
    Fence,
    CatchUp,
    Switch,
    MarkMoved,
    DropSource,
    /// Switched; the old database is kept until `drop_after_ms`.
    WaitForGrace {
        drop_after_ms: i64,
    },
    /// The copies still differ after a catch-up: undo the move ([`plan_abort`]).
    Abort {
        why: String,
    },
}

impl Step {
    /// The step's name, as `AISLE_MOVE_KILL_AFTER` and the progress lines say it.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Record => "record",
            Self::CreateTarget => "create_target",
            Self::CopyEvents { .. } => "copy_events",
            Self::Pause => "pause",
            Self::Fence => "fence",
            Self::CatchUp => "catch_up",
            Self::Switch => "switch",
            Self::MarkMoved => "mark_moved",
            Self::DropSource => "drop_source",
            Self::WaitForGrace { .. } => "wait_for_grace",
            Self::Abort { .. } => "abort",
        }
    }
}

/// The next step of a move forward, from `snapshot`.
pub fn plan(snapshot: &Snapshot) -> Step {
    let Some(phase) = snapshot.phase else {
        return Step::Record;
    };
    match phase {
        Phase::Copying => {
            if !snapshot.target_exists || !snapshot.target_migrated {
                return Step::CreateTarget;
            }
            let behind = snapshot.source_last_seq - snapshot.target_last_seq;
            if behind > snapshot.batch_events {
                Step::CopyEvents {
                    after_seq: snapshot.target_last_seq,
                    n: snapshot.batch_events,
                }
            } else {
                Step::Pause
            }
        }
        Phase::Paused => {
            if !snapshot.target_exists || !snapshot.target_migrated {
                return Step::CreateTarget;
            }
            if snapshot.source_fence.is_none() {
                return Step::Fence;
            }
            match &snapshot.comparison {
                Comparison::Equal => Step::Switch,
                Comparison::Differs(why) if snapshot.catch_ups >= 2 => {
                    Step::Abort { why: why.clone() }
                }
                Comparison::Differs(_) | Comparison::NotCompared => Step::CatchUp,
            }
        }
        Phase::Switched => {
            if !snapshot.source_exists {
                // Dropped, but the move not forgotten yet.
                return Step::DropSource;
            }
            if snapshot.source_fence != Some(Fence::Moved) {
                return Step::MarkMoved;
            }
            match snapshot.drop_after_ms {
                Some(drop_after_ms) if snapshot.now_ms < drop_after_ms => {
                    Step::WaitForGrace { drop_after_ms }
                }
                _ => Step::DropSource,
            }
        }
    }
}

/// The next step of undoing a move that has not switched (`tenant move --abort`), from
/// `snapshot`: the source is unfenced first, so the tenant writes again at once, then the
/// target copy is dropped and the move forgotten. `None` once the move has switched: the
/// target is the tenant's database then, and undoing means moving back.
pub fn plan_abort(snapshot: &Snapshot) -> Option<AbortStep> {
    match snapshot.phase {
        Some(Phase::Switched) => None,
        None => Some(AbortStep::Done),
        Some(_) if snapshot.source_fence.is_some() => Some(AbortStep::Unfence),
        Some(_) if snapshot.target_exists => Some(AbortStep::DropTarget),
        Some(_) => Some(AbortStep::Forget),
    }
}

/// A step of undoing a move.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AbortStep {
    Unfence,
    DropTarget,
    Forget,
    Done,
}

impl AbortStep {
    pub fn name(self) -> &'static str {
        match self {
            Self::Unfence => "unfence",
            Self::DropTarget => "drop_target",
            Self::Forget => "forget",
            Self::Done => "done",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot() -> Snapshot {
        Snapshot {
            phase: Some(Phase::Copying),
            source_exists: true,
            target_exists: true,
            target_migrated: true,
            source_last_seq: 1_000,
            target_last_seq: 0,
            source_fence: None,
            comparison: Comparison::NotCompared,
            catch_ups: 0,
            now_ms: 10_000,
            drop_after_ms: None,
            batch_events: 100,
        }
    }

    #[test]
    fn a_move_goes_through_its_steps_in_order() {
        let mut s = Snapshot {
            phase: None,
            ..snapshot()
        };
        assert_eq!(plan(&s), Step::Record);
        s.phase = Some(Phase::Copying);
        s.target_exists = false;
        assert_eq!(plan(&s), Step::CreateTarget);
        s.target_exists = true;
        s.target_migrated = false;
        assert_eq!(
            plan(&s),
            Step::CreateTarget,
            "an unmigrated target is created again"
        );
        s.target_migrated = true;
        assert_eq!(
            plan(&s),
            Step::CopyEvents {
                after_seq: 0,
                n: 100
            }
        );
        s.target_last_seq = 950;
        assert_eq!(
            plan(&s),
            Step::Pause,
            "within one batch: pause and catch up"
        );
        s.phase = Some(Phase::Paused);
        assert_eq!(plan(&s), Step::Fence);
        s.source_fence = Some(Fence::Paused);
        assert_eq!(plan(&s), Step::CatchUp);
        s.comparison = Comparison::Differs("events".into());
        s.catch_ups = 1;
        assert_eq!(plan(&s), Step::CatchUp, "one more catch-up after a kill");
        s.comparison = Comparison::Equal;
        assert_eq!(plan(&s), Step::Switch);
        s.phase = Some(Phase::Switched);
        s.drop_after_ms = Some(20_000);
        assert_eq!(plan(&s), Step::MarkMoved);
        s.source_fence = Some(Fence::Moved);
        assert_eq!(
            plan(&s),
            Step::WaitForGrace {
                drop_after_ms: 20_000
            }
        );
        s.now_ms = 20_000;
        assert_eq!(plan(&s), Step::DropSource);
        s.source_exists = false;
        s.source_fence = None;
        assert_eq!(
            plan(&s),
            Step::DropSource,
            "a drop killed before the move was forgotten forgets it"
        );
    }

    #[test]
    fn copies_that_still_differ_after_two_catch_ups_abort() {
        let s = Snapshot {
            phase: Some(Phase::Paused),
            source_fence: Some(Fence::Paused),
            comparison: Comparison::Differs("stock checksum".into()),
            catch_ups: 2,
            ..snapshot()
        };
        assert_eq!(
            plan(&s),
            Step::Abort {
                why: "stock checksum".into()
            }
        );
    }

    #[test]
    fn undoing_unfences_first_then_drops_the_target_and_never_after_the_switch() {
        let mut s = Snapshot {
            phase: Some(Phase::Paused),
            source_fence: Some(Fence::Paused),
            ..snapshot()
        };
        assert_eq!(plan_abort(&s), Some(AbortStep::Unfence));
        s.source_fence = None;
        assert_eq!(plan_abort(&s), Some(AbortStep::DropTarget));
        s.target_exists = false;
        assert_eq!(plan_abort(&s), Some(AbortStep::Forget));
        s.phase = None;
        assert_eq!(plan_abort(&s), Some(AbortStep::Done));
        s.phase = Some(Phase::Switched);
        assert_eq!(plan_abort(&s), None);
    }
}

#[cfg(test)]
mod on_clusters;
