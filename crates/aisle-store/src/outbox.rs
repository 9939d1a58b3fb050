//! The outbox (local events waiting for the push) and the sync cursors.
//!
//! An outbox row is `pending` until the server answers for it: `sent` when the server
//! applied it or already had it, `quarantined` when the server rejected it (shown to
//! managers, and never blocking the rows behind it).

use crate::{Store, StoreError};
use aisle_core::ids::EventId;
use aisle_core::Event;
use rusqlite::{Connection, OptionalExtension};

/// A pending event and how often pushing it has failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    pub event: Event,
    pub attempts: u32,
    pub last_error: Option<String>,
}

/// A local event the server rejected, kept out of the queue for a manager to look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarantinedEvent {
    pub event: Event,
    pub attempts: u32,
    /// The server's reason code and message.
    pub reason: String,
}

/// Where one outbox row stands.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum OutboxState {
    Pending,
    Sent,
    Quarantined,
}

/// One outbox row's delivery state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    pub id: EventId,
    pub state: OutboxState,
    /// How many pushes of this event failed (or were answered with a rejection).
    pub attempts: u32,
    pub next_attempt_ms: i64,
    pub last_error: Option<String>,
}

impl Store {
    pub fn pending_outbox_count(&self) -> Result<u64, StoreError> {
        Ok(self.conn.query_row(
            "SELECT COUNT(*) FROM outbox WHERE state = 'pending'",
            [],
            |row| row.get(0),
        )?)
    }

    pub fn quarantined_count(&self) -> Result<u64, StoreError> {
        Ok(self.conn.query_row(
            "SELECT COUNT(*) FROM outbox WHERE state = 'quarantined'
             AND event_id NOT IN (SELECT event_id FROM replaced_events)",
            [],
            |row| row.get(0),
        )?)
    }

    /// Up to `limit` pending events due at `now_ms`, in hlc order.
    pub fn outbox_batch(&self, now_ms: i64, limit: u32) -> Result<Vec<OutboxEntry>, StoreError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT e.payload, o.attempts, o.last_error FROM outbox o JOIN events e ON e.id = o.event_id
             WHERE o.state = 'pending' AND o.next_attempt_ms <= ?1
             ORDER BY o.hlc, o.device, o.event_id LIMIT ?2",
        )?;
        let rows = statement.query_map((now_ms, limit), |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, u32>(1)?,
                row.get::<_, Option<String>>(2)?,
            ))
        })?;
        rows.map(|row| {
            let (payload, attempts, last_error) = row?;
            Ok(OutboxEntry {
                event: serde_json::from_str(&payload)?,
                attempts,
                last_error,
            })
        })
        .collect()
    }

    /// The server applied these events or already had them.
    pub fn mark_sent(&mut self, ids: &[EventId]) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        {
            let mut statement = tx.prepare_cached(
                "UPDATE outbox SET state = 'sent', last_error = NULL WHERE event_id = ?1",
            )?;
            for id in ids {
                statement.execute([id.as_bytes()])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// A push failed in a way worth retrying: try again at `next_attempt_ms`.
    pub fn mark_retry(
        &mut self,
        id: EventId,
        error: &str,
        next_attempt_ms: i64,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, next_attempt_ms = ?3
             WHERE event_id = ?1 AND state = 'pending'",
            (id.as_bytes(), error, next_attempt_ms),
        )?;
        Ok(())
    }

    /// The server rejected the event: keep it out of the queue, with the reason, for a manager.
    pub fn quarantine(&mut self, id: EventId, reason: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE outbox SET state = 'quarantined', attempts = attempts + 1, last_error = ?2 WHERE event_id = ?1",
            (id.as_bytes(), reason),
        )?;
        Ok(())
    }

    /// Settles one push answer in one transaction: `sent` ids were applied or already
    /// known by the server, `rejected` ones are quarantined with the server's reason.
    pub fn settle_push(
        &mut self,
        sent: &[EventId],
        rejected: &[(EventId, String)],
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        {
            let mut mark_sent = tx.prepare_cached(
                "UPDATE outbox SET state = 'sent', last_error = NULL WHERE event_id = ?1",
            )?;
            for id in sent {
                mark_sent.execute([id.as_bytes()])?;
            }
            let mut quarantine = tx.prepare_cached(
                "UPDATE outbox SET state = 'quarantined', attempts = attempts + 1, last_error = ?2 WHERE event_id = ?1",
            )?;
            for (id, reason) in rejected {
                quarantine.execute((id.as_bytes(), reason))?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// [`Store::mark_retry`] for a whole batch, in one transaction.
    pub fn mark_retry_batch(
        &mut self,
        ids: &[EventId],
        error: &str,
        next_attempt_ms: i64,
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        {
            let mut statement = tx.prepare_cached(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, next_attempt_ms = ?3
                 WHERE event_id = ?1 AND state = 'pending'",
            )?;
            for id in ids {
                statement.execute((id.as_bytes(), error, next_attempt_ms))?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// When the earliest pending event is due, if any is pending.
    pub fn next_outbox_attempt_ms(&self) -> Result<Option<i64>, StoreError> {
        Ok(self.conn.query_row(
            "SELECT MIN(next_attempt_ms) FROM outbox WHERE state = 'pending'",
            [],
            |row| row.get(0),
        )?)
    }

    /// Events the server rejected, oldest first, with its reason: for the managers' view.
    pub fn quarantined(&self, limit: u32) -> Result<Vec<QuarantinedEvent>, StoreError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT e.payload, o.attempts, o.last_error FROM outbox o JOIN events e ON e.id = o.event_id
             WHERE o.state = 'quarantined' AND o.event_id NOT IN (SELECT event_id FROM replaced_events)
             ORDER BY o.hlc, o.device, o.event_id LIMIT ?1",
        )?;
        let rows = statement.query_map([limit], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, u32>(1)?,
                row.get::<_, Option<String>>(2)?,
            ))
        })?;
        rows.map(|row| {
            let (payload, attempts, reason) = row?;
            Ok(QuarantinedEvent {
                event: serde_json::from_str(&payload)?,
                attempts,
                reason: reason.unwrap_or_default(),
            })
        })
        .collect()
    }

    /// Every outbox row's delivery state, in hlc order. For diagnostics and tests.
    pub fn outbox_rows(&self) -> Result<Vec<OutboxRow>, StoreError> {
        let mut statement = self.conn.prepare(
            "SELECT event_id, state, attempts, next_attempt_ms, last_error FROM outbox
             ORDER BY hlc, device, event_id",
        )?;
        let rows = statement.query_map([], |row| {
            Ok((
                row.get::<_, Vec<u8>>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, u32>(2)?,
                row.get::<_, i64>(3)?,
                row.get::<_, Option<String>>(4)?,
            ))
        })?;
        rows.map(|row| {
            let (id, state, attempts, next_attempt_ms, last_error) = row?;
            let id = uuid::Uuid::from_slice(&id)
                .map_err(|error| StoreError::Corrupt(error.to_string()))?;
            let state = match state.as_str() {
                "pending" => OutboxState::Pending,
                "sent" => OutboxState::Sent,
                "quarantined" => OutboxState::Quarantined,
                other => return Err(StoreError::Corrupt(format!("outbox state {other:?}"))),
            };
            Ok(OutboxRow {
                id: EventId::from_uuid(id),
                state,
                attempts,
                next_attempt_ms,
                last_error,
            })
        })
        .collect()
    }

    pub fn cursor(&self, name: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT value FROM sync_cursors WHERE name = ?1",
                [name],
                |row| row.get(0),
            )
            .optional()?)
    }

    pub fn set_cursor(&self, name: &str, value: &str) -> Result<(), StoreError> {
        set_cursor(&self.conn, name, value)
    }
}

pub(crate) fn set_cursor(conn: &Connection, name: &str, value: &str) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO sync_cursors (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
    )?
    .execute((name, value))?;
    Ok(())
}
