//! Queries the floor and manager screens need beyond stock: pick lists with their progress
//! and claims, the latest clock reading in the log, and the audit trail filtered by item,
//! location, user or device.
//!
//! Like [`crate::queries`], everything here only reads; what it returns is derived by the
//! stock rules or stored as master data, never computed anew.

use crate::names::{escape_like, first_found, NameMatch, FOUND_LIMIT};
use crate::{Store, StoreError};
use aisle_core::ids::{DeviceId, ItemId, LocationId, PickListId, UserId};
use aisle_core::stock::Claim;
use aisle_core::{Event, Hlc};
use aisle_projection::sqlite::columns::uuid_at;
use rusqlite::OptionalExtension;
use std::collections::BTreeMap;

/// A pick list as the list screen shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickListSummary {
    pub id: PickListId,
    pub reference: String,
    pub status: String,
    pub n_lines: u32,
    /// Lines whose picked quantity has reached the line quantity.
    pub n_done: u32,
    /// The winning claim, if anyone has claimed the list.
    pub claimed_by: Option<Claim>,
    /// For a list the ERP cancelled: units picked for it that are not back on a shelf.
    pub put_back_due: i64,
}

/// What the audit trail is filtered by; `None` fields match everything.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HistoryFilter {
    pub item: Option<ItemId>,
    pub location: Option<LocationId>,
    pub user: Option<UserId>,
    pub device: Option<DeviceId>,
}

impl Store {
    /// The greatest hlc in the log, so a restarted device's clock never goes back.
    pub fn latest_hlc(&self) -> Result<Option<Hlc>, StoreError> {
        let packed: Option<i64> =
            self.conn
                .query_row("SELECT MAX(hlc) FROM events", [], |row| row.get(0))?;
        Ok(packed.map(Hlc::from_packed))
    }

    /// The users a manager's typed text names in the audit trail's filter: an id, a badge
    /// exactly, a whole name ignoring case, or else part of a name ignoring case. The first
    /// of these that names anyone decides, so a whole name is never made ambiguous by
    /// longer names containing it. Case is folded for ASCII letters only (SQLite's `LIKE`).
    pub fn find_user(&self, text: &str) -> Result<NameMatch<UserId>, StoreError> {
        let text = text.trim();
        if let Ok(id) = text.parse::<UserId>() {
            return Ok(NameMatch::One(id));
        }
        let mut found = self.users_where("badge = ?1 OR lower(name) = lower(?1)", text)?;
        if found.0.is_empty() {
            let pattern = format!("%{}%", escape_like(text));
            found = self.users_where("name LIKE ?1 ESCAPE '\\'", &pattern)?;
        }
        let (found, n_found) = found;
        Ok(NameMatch::from_found(found, n_found))
    }

    /// The first users whose row matches `condition` on `?1`, in name order, and how many
    /// match.
    fn users_where(
        &self,
        condition: &str,
        value: &str,
    ) -> Result<(Vec<(UserId, String)>, usize), StoreError> {
        let mut statement = self.conn.prepare_cached(&format!(
            "SELECT id, name, COUNT(*) OVER () FROM users WHERE {condition}
             ORDER BY name, id LIMIT {FOUND_LIMIT}"
        ))?;
        Ok(first_found(&mut statement, value, |row| {
            Ok(UserId::from_uuid(uuid_at(row, 0)?))
        })?)
    }

    /// Units picked so far per line of a pick list (lines nobody picked are absent).
    pub fn pick_progress(&self, pick_list: PickListId) -> Result<BTreeMap<u32, i64>, StoreError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT line, picked_total FROM pick_line_progress WHERE pick_list = ?1",
        )?;
        let rows = statement.query_map([pick_list.as_bytes()], |row| {
            Ok((row.get::<_, u32>(0)?, row.get::<_, i64>(1)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The winning claim on a pick list: the earliest in event order.
    pub fn pick_list_winner(&self, pick_list: PickListId) -> Result<Option<Claim>, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT event_id, hlc, device, user_id FROM pick_claims WHERE pick_list = ?1
                 ORDER BY hlc, device, event_id LIMIT 1",
            )?
            .query_row([pick_list.as_bytes()], |row| {
                Ok(Claim {
                    pick_list,
                    order: aisle_core::stock::EventOrder {
                        hlc: Hlc::from_packed(row.get(1)?),
                        device: DeviceId::from_uuid(uuid_at(row, 2)?),
                        id: aisle_core::ids::EventId::from_uuid(uuid_at(row, 0)?),
                    },
                    user: UserId::from_uuid(uuid_at(row, 3)?),
                })
            })
            .optional()
            .map_err(StoreError::from)
    }

    /// The events `sql` (selecting `payload`, with one parameter) finds in the log.
    pub(crate) fn events_where(&self, sql: &str, param: &str) -> Result<Vec<Event>, StoreError> {
        let mut statement = self.conn.prepare_cached(sql)?;
        let rows = statement.query_map([param], |row| row.get::<_, String>(0))?;
        rows.map(|payload| Ok(serde_json::from_str::<Event>(&payload?)?))
            .collect()
    }

    /// The `picked` and `put_back` events of a pick list, in event order, found through
    /// the two indexes of schema 10 without reading the rest of the log.
    pub fn pick_list_picks(&self, pick_list: PickListId) -> Result<Vec<Event>, StoreError> {
        let mut events = self.events_where(
            "SELECT payload FROM events
             WHERE kind = 'picked' AND json_extract(payload, '$.body.pick_line.pick_list') = ?1
             UNION ALL
             SELECT payload FROM events
             WHERE kind = 'put_back' AND json_extract(payload, '$.body.pick_list') = ?1",
            &pick_list.to_string(),
        )?;
        events.sort_by_key(Event::order);
        Ok(events)
    }

    /// Per line and lot of a pick list: picked, put back and still to put back (see
    /// `aisle_core::stock::put_back`). Only a cancelled list has put-back work, but the
    /// tally is the same for any list.
    pub fn put_back_tally(
        &self,
        pick_list: PickListId,
    ) -> Result<Vec<aisle_core::stock::put_back::PutBackDue>, StoreError> {
        let events = self.pick_list_picks(pick_list)?;
        Ok(aisle_core::stock::put_back::tally(pick_list, &events))
    }

    /// Every pick list of the store's warehouse the floor has work on, by reference: the
    /// open ones with their progress, and the cancelled ones with units still to put back.
    pub fn pick_list_summaries(&self) -> Result<Vec<PickListSummary>, StoreError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT id, reference, status FROM pick_lists
             WHERE warehouse = ?1 AND status IN ('open', 'cancelled')
             ORDER BY reference, id",
        )?;
        let lists = statement
            .query_map([self.profile.warehouse.as_bytes()], |row| {
                Ok((
                    PickListId::from_uuid(uuid_at(row, 0)?),
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut summaries = Vec::with_capacity(lists.len());
        for (id, reference, mut status) in lists {
            if status == "open" && self.cancellation_logged(id)? {
                status = "cancelled".to_owned();
            }
            let put_back_due = if status == "cancelled" {
                let due: i64 = self.put_back_tally(id)?.iter().map(|due| due.due).sum();
                if due == 0 {
                    continue;
                }
                due
            } else {
                0
            };
            let lines: Vec<(u32, i64)> = self
                .conn
                .prepare_cached("SELECT line, qty FROM pick_lines WHERE pick_list = ?1")?
                .query_map([id.as_bytes()], |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect::<Result<_, _>>()?;
            let progress = self.pick_progress(id)?;
            let n_done = lines
                .iter()
                .filter(|(line, qty)| progress.get(line).is_some_and(|picked| picked >= qty))
                .count() as u32;
            summaries.push(PickListSummary {
                id,
                reference,
                status,
                n_lines: lines.len() as u32,
                n_done,
                claimed_by: self.pick_list_winner(id)?,
                put_back_due,
            });
        }
        Ok(summaries)
    }

    /// Every event that can move an item's stock, oldest first in event order: the
    /// item's own events and every count review (a review names only the count it
    /// decides). At most `limit` of the newest.
    pub fn item_timeline(&self, item: ItemId, limit: u32) -> Result<Vec<Event>, StoreError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT payload FROM (
                 SELECT payload, hlc, device, id FROM events
                 WHERE json_extract(payload, '$.body.item') = ?1 OR kind = 'count_reviewed'
                 ORDER BY hlc DESC, device DESC, id DESC LIMIT ?2)
             ORDER BY hlc, device, id",
        )?;
        let rows = statement.query_map((item.to_string(), i64::from(limit)), |row| {
            row.get::<_, String>(0)
        })?;
        rows.map(|payload| Ok(serde_json::from_str::<Event>(&payload?)?))
            .collect()
    }

    /// The audit trail: events matching `filter`, newest first in event order, `limit` at a
    /// time after skipping `offset`. Item and location match any part of the event that
    /// names them (a move matches both its locations).
    pub fn history(
        &self,
        filter: &HistoryFilter,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<Event>, StoreError> {
        let item = filter.item.map(|id| id.to_string());
        let location = filter.location.map(|id| id.to_string());
        let user = filter.user.map(|id| id.to_string());
        let mut statement = self.conn.prepare_cached(
            "SELECT payload FROM events
             WHERE (?1 IS NULL OR json_extract(payload, '$.body.item') = ?1)
               AND (?2 IS NULL OR json_extract(payload, '$.body.location') = ?2
                               OR json_extract(payload, '$.body.from') = ?2
                               OR json_extract(payload, '$.body.to') = ?2)
               AND (?3 IS NULL OR json_extract(payload, '$.user') = ?3)
               AND (?4 IS NULL OR device = ?4)
             ORDER BY hlc DESC, device DESC, id DESC LIMIT ?5 OFFSET ?6",
        )?;
        let rows = statement.query_map(
            (
                item,
                location,
                user,
                filter.device.map(|id| id.as_bytes().to_vec()),
                i64::from(limit),
                i64::from(offset),
            ),
            |row| row.get::<_, String>(0),
        )?;
        rows.map(|payload| Ok(serde_json::from_str::<Event>(&payload?)?))
            .collect()
    }
}
