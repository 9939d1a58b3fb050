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
            "SELECT COUNT(*) FROM outbox WHERE state = 'quarantined'",
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
