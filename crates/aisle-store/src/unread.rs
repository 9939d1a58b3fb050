//! Events this build cannot read yet, kept until an update can (docs/protocol.md,
//! "Mixed-version fleets").
//!
//! A server sends an event of a kind the PC does not read as an envelope with the stock keys
//! it touches. The envelope is kept here, in the transaction that applies the rest of its
//! page and moves the pull cursor, so syncing goes on and nothing is lost. Its keys are
//! *marked*: the PC's figure for them may be off until it can apply the event, which the
//! look-up and count screens say ([`Store::needs_update`]). After an update,
//! [`Store::apply_unread`] applies every kept event the build now reads, in the server's
//! order, and drops its envelope and marks in the same transaction.

use crate::log::{Extras, Origin};
use crate::{Store, StoreError};
use aisle_core::stock::StockKey;
use aisle_core::Event;
use rusqlite::{params, OptionalExtension, Transaction};
use std::collections::BTreeSet;

/// An event kept unread: the server's envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unread {
    /// Its seq in the warehouse's log on the server.
    pub seq: u64,
    pub kind: String,
    /// The first Aisle version that reads `kind`.
    pub needs: String,
    /// The stock keys the server says it touches.
    pub keys: Vec<StockKey>,
    /// The event's JSON, as sent.
    pub event: String,
}

/// What [`Store::apply_unread`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AppliedUnread {
    pub n_applied: u64,
    /// Kept events this build still cannot read.
    pub n_left: u64,
}

fn lot_text(key: &StockKey) -> &str {
    key.lot.as_ref().map_or("", |lot| lot.as_str())
}

/// Keeps envelopes and marks their keys (an envelope kept already is left as it is).
pub(crate) fn store(tx: &Transaction<'_>, unread: &[Unread]) -> Result<(), StoreError> {
    if unread.is_empty() {
        return Ok(());
    }
    let mut event = tx.prepare_cached(
        "INSERT OR IGNORE INTO unread_events (seq, kind, needs, event) VALUES (?1, ?2, ?3, ?4)",
    )?;
    let mut mark = tx.prepare_cached(
        "INSERT OR IGNORE INTO unread_keys (seq, location, item, lot) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for envelope in unread {
        let seq = i64::try_from(envelope.seq).unwrap_or(i64::MAX);
        event.execute(params![seq, envelope.kind, envelope.needs, envelope.event])?;
        for key in &envelope.keys {
            mark.execute(params![
                seq,
                key.location.as_bytes(),
                key.item.as_bytes(),
                lot_text(key)
            ])?;
        }
    }
    Ok(())
}

/// Drops applied envelopes and their marks.
pub(crate) fn clear(tx: &Transaction<'_>, seqs: &[u64]) -> Result<(), StoreError> {
    let mut delete = tx.prepare_cached("DELETE FROM unread_events WHERE seq = ?1")?;
    for seq in seqs {
        delete.execute([i64::try_from(*seq).unwrap_or(i64::MAX)])?;
    }
    Ok(())
}

/// Dotted version numbers compared as numbers (`0.10.0` after `0.9.0`).
fn version_order(version: &str) -> Vec<u64> {
    version
        .split('.')
        .map(|part| part.parse().unwrap_or(0))
        .collect()
}

impl Store {
    /// Applies pulled events, keeps the envelopes of those this build cannot read, and moves
    /// the pull cursor, in one transaction.
    pub fn apply_pulled(
        &mut self,
        events: &[Event],
        unread: &[Unread],
        cursor: Option<(&str, &str)>,
    ) -> Result<Vec<crate::Recorded>, StoreError> {
        self.write(
            events,
            Origin::Remote,
            Extras {
                cursor,
                store_unread: unread,
                clear_unread: &[],
            },
        )
    }

    /// Applies every kept event whose kind `reads` accepts and that decodes, in the server's
    /// order, dropping its envelope and marks in the same transaction. Run after an update.
    pub fn apply_unread(
        &mut self,
        reads: &dyn Fn(&str) -> bool,
    ) -> Result<AppliedUnread, StoreError> {
        let kept: Vec<(i64, String, String)> = {
            let mut statement = self
                .conn
                .prepare("SELECT seq, kind, event FROM unread_events ORDER BY seq")?;
            let rows =
                statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?;
            rows.collect::<Result<_, _>>()?
        };
        let mut events = Vec::new();
        let mut seqs = Vec::new();
        for (seq, kind, json) in &kept {
            if !reads(kind) {
                continue;
            }
            // A kind this build names but whose event it still cannot decode stays kept.
            if let Ok(event) = serde_json::from_str::<Event>(json) {
                events.push(event);
                seqs.push(*seq as u64);
            }
        }
        let n_left = (kept.len() - seqs.len()) as u64;
        if !seqs.is_empty() {
            self.write(
                &events,
                Origin::Remote,
                Extras {
                    cursor: None,
                    store_unread: &[],
                    clear_unread: &seqs,
                },
            )?;
        }
        Ok(AppliedUnread {
            n_applied: seqs.len() as u64,
            n_left,
        })
    }

    /// The Aisle version this PC needs to read every event it keeps unread (the highest);
    /// `None` when it keeps none.
    pub fn unread_needs(&self) -> Result<Option<String>, StoreError> {
        let mut statement = self
            .conn
            .prepare_cached("SELECT DISTINCT needs FROM unread_events")?;
        let needs = statement
            .query_map([], |row| row.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(needs
            .into_iter()
            .max_by_key(|version| version_order(version)))
    }

    /// How many events are kept unread.
    pub fn n_unread(&self) -> Result<u64, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT COUNT(*) FROM unread_events", [], |row| {
                row.get::<_, i64>(0)
            })? as u64)
    }

    /// The Aisle version needed to show `key` exactly, when an event kept unread touches it
    /// (the highest, when several do); `None` when the figure here is complete.
    pub fn needs_update(&self, key: &StockKey) -> Result<Option<String>, StoreError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT DISTINCT e.needs FROM unread_keys k JOIN unread_events e ON e.seq = k.seq
             WHERE k.location = ?1 AND k.item = ?2 AND k.lot = ?3",
        )?;
        let needs = statement
            .query_map(
                params![key.location.as_bytes(), key.item.as_bytes(), lot_text(key)],
                |row| row.get::<_, String>(0),
            )?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(needs
            .into_iter()
            .max_by_key(|version| version_order(version)))
    }

    /// Whether an event kept unread touches any of `keys`.
    pub fn any_marked(&self, keys: &BTreeSet<StockKey>) -> Result<bool, StoreError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT 1 FROM unread_keys WHERE location = ?1 AND item = ?2 AND lot = ?3 LIMIT 1",
        )?;
        for key in keys {
            let found = statement
                .query_row(
                    params![key.location.as_bytes(), key.item.as_bytes(), lot_text(key)],
                    |_| Ok(()),
                )
                .optional()?;
            if found.is_some() {
                return Ok(true);
            }
        }
        Ok(false)
    }
}
