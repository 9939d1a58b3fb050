//! The event log: recording local events, applying pulled ones, and rebuilding the
//! projection from the log.

use crate::queries::diff_snapshots;
use crate::{Profile, Store, StoreError};
use aisle_core::stock::{apply, Notice};
use aisle_core::Event;
use aisle_projection::sqlite::{rules, SqlLedger};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

/// What recording an event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// The event is new: logged, queued (if local) and applied. The notices are for the
    /// user (e.g. "your pick-list claim lost").
    New { notices: Vec<Notice> },
    /// The same event was already in the log; nothing changed.
    Duplicate,
}

/// What [`Store::rebuild_projection`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RebuildReport {
    pub n_events: u64,
    /// Where the incremental projection differed from the rebuild (empty when healthy).
    pub differences: Vec<String>,
}

/// What a write does besides its events, in their transaction.
#[derive(Default)]
pub(crate) struct Extras<'a> {
    /// A sync cursor to move (name, value).
    pub cursor: Option<(&'a str, &'a str)>,
    /// Envelopes of events this build cannot read yet, to keep.
    pub store_unread: &'a [crate::unread::Unread],
    /// Kept envelopes (by seq) whose events this write applies.
    pub clear_unread: &'a [u64],
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    Local,
    Remote,
}

impl Store {
    /// Records a local event: the event, its outbox row and the projection update, in one
    /// transaction. Recording an id that is present does nothing; the same id with another
    /// payload is an error.
    pub fn record(&mut self, event: &Event) -> Result<Recorded, StoreError> {
        Ok(self.record_batch(std::slice::from_ref(event))?.remove(0))
    }

    /// Records many local events in one transaction (e.g. a bulk receipt or an import).
    pub fn record_batch(&mut self, events: &[Event]) -> Result<Vec<Recorded>, StoreError> {
        self.write(events, Origin::Local, Extras::default())
    }

    /// Applies events pulled from the server under the same rules, without outbox rows,
    /// and (if given) moves the named sync cursor in the same transaction, so a crash can
    /// never leave the cursor past events that were not applied.
    pub fn apply_remote(
        &mut self,
        events: &[Event],
        cursor: Option<(&str, &str)>,
    ) -> Result<Vec<Recorded>, StoreError> {
        self.write(
            events,
            Origin::Remote,
            Extras {
                cursor,
                ..Extras::default()
            },
        )
    }

    pub(crate) fn write(
        &mut self,
        events: &[Event],
        origin: Origin,
        extras: Extras<'_>,
    ) -> Result<Vec<Recorded>, StoreError> {
        let profile = self.profile;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut results = Vec::with_capacity(events.len());
        // Key ids survive only a commit: if anything below fails, the transaction rolls
        // back and the ids it created are dropped with the taken cache.
        let mut ledger = SqlLedger::with_key_ids(&tx, std::mem::take(&mut self.key_ids));
        for event in events {
            results.push(write_one(&tx, &mut ledger, profile, event, origin)?);
        }
        let key_ids = ledger.finish()?;
        crate::unread::store(&tx, extras.store_unread)?;
        crate::unread::clear(&tx, extras.clear_unread)?;
        if let Some((name, value)) = extras.cursor {
            crate::outbox::set_cursor(&tx, name, value)?;
        }
        tx.commit()?;
        self.key_ids = key_ids;
        self.counters.committed(events.len() as u64);
        Ok(results)
    }

    /// Rebuilds the projection if an older version of the stock rules wrote it (see
    /// `aisle_core::stock::RULES_VERSION`), then records the current version. A crash in
    /// between only means the rebuild runs again at the next open.
    pub fn follow_rules_version(&mut self) -> Result<Option<RebuildReport>, StoreError> {
        if !rules::is_behind(&self.conn)? {
            return Ok(None);
        }
        let report = self.rebuild_projection()?;
        rules::record_current(&self.conn)?;
        Ok(Some(report))
    }

    /// Recomputes the whole projection from the log and reports any difference from the
    /// incremental one it replaces. The rebuild is the truth: it is what is kept.
    pub fn rebuild_projection(&mut self) -> Result<RebuildReport, StoreError> {
        let before = self.snapshot()?;
        // The rebuild deletes and renumbers every stock key.
        self.key_ids.clear();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let n_events = replay_projection(&tx)?;
        tx.commit()?;
        let after = self.snapshot()?;
        Ok(RebuildReport {
            n_events,
            differences: diff_snapshots(&before, &after),
        })
    }

    /// Records `replacement` as a new local event that records `original` again, in one
    /// transaction: the new event with its outbox row, the original marked replaced (so it
    /// leaves the quarantine list and is never sent), and the projection rebuilt without the
    /// original. `original` must be a quarantined local event not replaced already, and
    /// `replacement` must name it.
    pub fn record_replacement(
        &mut self,
        original: aisle_core::ids::EventId,
        replacement: &Event,
    ) -> Result<RebuildReport, StoreError> {
        if replacement.replaces != Some(original) {
            return Err(StoreError::Invalid(format!(
                "event {} does not name {original} as the event it records again",
                replacement.id
            )));
        }
        let before = self.snapshot()?;
        self.key_ids.clear();
        let profile = self.profile;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let quarantined: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM outbox WHERE event_id = ?1 AND state = 'quarantined'
                 AND event_id NOT IN (SELECT event_id FROM replaced_events))",
            [original.as_bytes()],
            |row| row.get(0),
        )?;
        if !quarantined {
            return Err(StoreError::Invalid(format!(
                "event {original} is not a refused event of this device waiting for a decision"
            )));
        }
        {
            let mut ledger = SqlLedger::new(&tx);
            write_one(&tx, &mut ledger, profile, replacement, Origin::Local)?;
            ledger.finish()?;
        }
        tx.execute(
            "INSERT INTO replaced_events (event_id, replacement) VALUES (?1, ?2)",
            (original.as_bytes(), replacement.id.as_bytes()),
        )?;
        let n_events = replay_projection(&tx)?;
        tx.commit()?;
        let after = self.snapshot()?;
        Ok(RebuildReport {
            n_events,
            differences: diff_snapshots(&before, &after),
        })
    }

    /// Every event in the log, in event order. For tools and tests on small stores.
    pub fn load_events(&self) -> Result<Vec<Event>, StoreError> {
        let mut statement = self
            .conn
            .prepare("SELECT payload FROM events ORDER BY hlc, device, id")?;
        let rows = statement.query_map([], |row| row.get::<_, String>(0))?;
        rows.map(|payload| Ok(serde_json::from_str(&payload?)?))
            .collect()
    }

    /// The number of events in the log.
    pub fn event_count(&self) -> Result<u64, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT COUNT(*) FROM events", [], |row| row.get(0))?)
    }
}

/// Empties the projection and applies every logged event again, in event order, except the
/// events recorded again by a later one (`replaced_events`). Answers how many it applied.
fn replay_projection(tx: &rusqlite::Transaction<'_>) -> Result<u64, StoreError> {
    rules::replay(
        tx,
        "SELECT seq, payload FROM events WHERE id NOT IN (SELECT event_id FROM replaced_events)
         ORDER BY hlc, device, id",
        |_, _| Ok::<(), StoreError>(()),
    )
}

fn write_one(
    conn: &Connection,
    ledger: &mut SqlLedger<'_>,
    profile: Profile,
    event: &Event,
    origin: Origin,
) -> Result<Recorded, StoreError> {
    if event.tenant != profile.tenant {
        return Err(StoreError::ForeignEvent {
            id: event.id,
            field: "tenant",
        });
    }
    if event.warehouse != profile.warehouse {
        return Err(StoreError::ForeignEvent {
            id: event.id,
            field: "warehouse",
        });
    }
    event
        .validate()
        .map_err(|source| StoreError::InvalidEvent {
            id: event.id,
            source,
        })?;
    let payload =
        serde_json::to_string(event).map_err(|error| StoreError::Invalid(error.to_string()))?;
    let inserted = conn
        .prepare_cached(
            "INSERT INTO events (id, hlc, device, kind, origin, payload) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (id) DO NOTHING",
        )?
        .execute((
            event.id.as_bytes(),
            event.hlc.to_packed(),
            event.device.as_bytes(),
            event.kind(),
            match origin {
                Origin::Local => "local",
                Origin::Remote => "remote",
            },
            &payload,
        ))?;
    if inserted == 0 {
        let stored: Option<String> = conn
            .prepare_cached("SELECT payload FROM events WHERE id = ?1")?
            .query_row([event.id.as_bytes()], |row| row.get(0))
            .optional()?;
        return match stored {
            Some(stored) if stored == payload => Ok(Recorded::Duplicate),
            _ => Err(StoreError::PayloadMismatch(event.id)),
        };
    }
    // Read before the outbox insert below replaces it.
    let seq = conn.last_insert_rowid();
    if origin == Origin::Local {
        conn.prepare_cached("INSERT INTO outbox (event_id, hlc, device) VALUES (?1, ?2, ?3)")?
            .execute((
                event.id.as_bytes(),
                event.hlc.to_packed(),
                event.device.as_bytes(),
            ))?;
    }
    ledger.applying(event.id, seq);
    let notices = apply(ledger, event)?;
    Ok(Recorded::New { notices })
}
