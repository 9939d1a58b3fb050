//! What managers look at and decide (variances, discrepancies, quarantined events, the
//! audit trail, stock over time), plus the read views pickers share: count tasks and
//! look-up.

use crate::error::could_be;
use crate::views::{
    count_words, CountTaskView, DiscrepancyView, HistoryArgs, HistoryEntry, HistoryPageView,
    ItemView, LocationView, LookupView, Names, QuarantinedView, RecordedView, RequestCountArgs,
    Resolved, StockPoint, StockRowView, VarianceView,
};
use crate::{AppError, Floor};
use aisle_core::event::{Date, EventBody, ReviewDecision, MAX_NOTE_CHARS};
use aisle_core::ids::{DeviceId, EventId, ItemId, LocationId, PickListId, UserId};
use aisle_core::scan::ScanConfig;
use aisle_core::stock::memory::Projection;
use aisle_core::stock::{CountTaskReason, DiscrepancyKind, StockKey};
use aisle_store::floor::HistoryFilter;
use aisle_store::names::NameMatch;
use aisle_store::queries::StockRow;
use std::collections::{BTreeSet, HashMap};

/// Entries per page of the audit trail.
const HISTORY_PAGE: u32 = 50;
/// Recent events shown under a look-up.
const LOOKUP_HISTORY: u32 = 20;

/// How many of the newest events are searched for the counts that reviews decide, when a
/// count is not on the page itself.
const COUNT_SEARCH_WINDOW: u32 = 5_000;

/// The floor's names, plus the counts that the reviews of one page decide.
struct PageNames<'a> {
    floor: &'a Floor,
    counts: HashMap<EventId, String>,
}

impl Names for PageNames<'_> {
    fn location(&self, id: LocationId) -> String {
        Names::location(self.floor, id)
    }
    fn item(&self, id: ItemId) -> String {
        Names::item(self.floor, id)
    }
    fn user(&self, id: UserId) -> String {
        Names::user(self.floor, id)
    }
    fn pick_list(&self, id: PickListId) -> String {
        Names::pick_list(self.floor, id)
    }
    fn count(&self, counted: EventId) -> Option<String> {
        self.counts.get(&counted).cloned()
    }
}

impl Floor {
    /// Entries for `events`; a review names the count it decides in words, looked up on the
    /// page first and then among the newest events (one search for the whole page).
    fn history_entries(&self, events: &[aisle_core::Event]) -> Vec<HistoryEntry> {
        let wanted: BTreeSet<EventId> = events
            .iter()
            .filter_map(|event| match event.body {
                EventBody::CountReviewed { counted, .. } => Some(counted),
                _ => None,
            })
            .collect();
        let words_of = |found: &[aisle_core::Event]| -> HashMap<EventId, String> {
            found
                .iter()
                .filter(|event| wanted.contains(&event.id))
                .filter_map(|event| Some((event.id, count_words(event, self)?)))
                .collect()
        };
        let mut counts = words_of(events);
        if counts.len() < wanted.len() {
            // A failed search only leaves the reviews without their count's words.
            if let Ok(newest) =
                self.store()
                    .history(&HistoryFilter::default(), 0, COUNT_SEARCH_WINDOW)
            {
                counts.extend(words_of(&newest));
            }
        }
        let names = PageNames {
            floor: self,
            counts,
        };
        events
            .iter()
            .map(|event| {
                let mut entry = HistoryEntry::from_event(event, &names);
                entry.device_name = self.store().device_name(event.device).ok().flatten();
                if let EventBody::CountReviewed { counted, .. } = event.body {
                    entry.summary.push_str(self.review_note(event.id, counted));
                }
                entry
            })
            .collect()
    }

    /// Says whether a review decides its count, where there is a question: of several
    /// reviews of a count the latest stands and the earlier ones were overridden, and any
    /// review of a self-approved count changes nothing. Empty for a count's only review and
    /// when the count is not on this PC.
    fn review_note(&self, review: EventId, counted: EventId) -> &'static str {
        match self.store().review_standing(counted) {
            Ok(Some(standing)) if standing.self_approved => {
                " (changes nothing: the count approved itself)"
            }
            Ok(Some(standing)) if standing.n_reviews < 2 => "",
            Ok(Some(standing)) if standing.deciding == Some(review) => " (this decision stands)",
            Ok(Some(_)) => " (overridden by a later review)",
            Ok(None) | Err(_) => "",
        }
    }

    fn row_view(&self, row: &StockRow) -> Result<StockRowView, AppError> {
        Ok(StockRowView {
            location: LocationView::from(&self.location(row.key.location)?),
            item: ItemView::from(&self.item(row.key.item)?),
            lot: row.key.lot.as_ref().map(|lot| lot.as_str().to_string()),
            on_hand: row.on_hand,
            needs_update: self.store().needs_update(&row.key)?,
        })
    }

    /// Count tasks open in this warehouse: from negative stock, short picks, rejected
    /// counts and managers' requests (with who asked and their note).
    pub fn count_tasks(&self) -> Result<Vec<CountTaskView>, AppError> {
        let mut views = Vec::new();
        for task in self.store().open_tasks()? {
            let (requested_by, note) = match &task.reason {
                CountTaskReason::Requested { user, note, .. } => {
                    (Some(Names::user(self, *user)), Some(note.clone()))
                }
                _ => (None, None),
            };
            views.push(CountTaskView {
                id: task.id,
                location: LocationView::from(&self.location(task.key.location)?),
                item: ItemView::from(&self.item(task.key.item)?),
                lot: task.key.lot.as_ref().map(|lot| lot.as_str().to_string()),
                reason: task.reason.as_str().into(),
                requested_by,
                note,
                needs_update: self.store().needs_update(&task.key)?,
            });
        }
        Ok(views)
    }

    /// A manager asks for a key to be counted: one `count_requested` event, which opens a
    /// count task until a count of the key taken after it arrives. The note is trimmed.
    pub fn request_count(
        &mut self,
        args: RequestCountArgs,
        now_ms: u64,
    ) -> Result<RecordedView, AppError> {
        let user = self.require_manager(now_ms)?;
        let note = args.note.trim().to_string();
        if note.chars().count() > MAX_NOTE_CHARS {
            return Err(AppError::BadNote(format!(
                "a note can be at most {MAX_NOTE_CHARS} characters"
            )));
        }
        if note.chars().any(|c| c.is_control() && c != '\n') {
            return Err(AppError::BadNote(
                "a note cannot hold control characters".into(),
            ));
        }
        self.location(args.location)?;
        self.item(args.item)?;
        let key = self.key(args.location, args.item, args.lot.as_deref());
        let body = EventBody::CountRequested {
            location: args.location,
            item: args.item,
            lot: key.lot.clone(),
            note,
        };
        self.record(&user, body, &key, now_ms)
    }

    /// Scans anything and shows its stock by location and lot, with recent history. Only
    /// for a signed-in user: stock and who did what are the business's data.
    pub fn lookup(
        &mut self,
        raw: &str,
        config: &ScanConfig,
        today: Date,
        now_ms: u64,
    ) -> Result<LookupView, AppError> {
        self.touch(now_ms)?;
        let resolved = crate::resolve_scan(self.store(), raw, config, today)?;
        let (rows, filter) = match &resolved {
            Resolved::Location { location } => (
                self.store().on_hand_by_location(location.id)?,
                HistoryFilter {
                    location: Some(location.id),
                    ..HistoryFilter::default()
                },
            ),
            Resolved::Item { item, lot, .. } => {
                let mut rows = self.store().on_hand_by_item(item.id)?.rows;
                if let Some(lot) = lot {
                    rows.retain(|row| row.key.lot.as_ref().map(|l| l.as_str()) == Some(lot));
                }
                (
                    rows,
                    HistoryFilter {
                        item: Some(item.id),
                        ..HistoryFilter::default()
                    },
                )
            }
            Resolved::Badge { .. } => {
                return Err(AppError::BadScan(
                    "a badge has no stock: scan an item or a location".into(),
                ))
            }
        };
        let rows = rows
            .iter()
            .map(|row| self.row_view(row))
            .collect::<Result<Vec<_>, _>>()?;
        let events = self.store().history(&filter, 0, LOOKUP_HISTORY)?;
        Ok(LookupView {
            resolved,
            rows,
            history: self.history_entries(&events),
        })
    }

    /// The newest count of `key` (in event order) and when it was taken, among the key's
    /// newest events.
    fn latest_count_of(&self, key: &StockKey) -> Result<Option<(EventId, u64)>, AppError> {
        let filter = HistoryFilter {
            item: Some(key.item),
            location: Some(key.location),
            ..HistoryFilter::default()
        };
        Ok(self
            .store()
            .history(&filter, 0, COUNT_SEARCH_WINDOW)?
            .into_iter()
            .find(|event| match &event.body {
                EventBody::Counted { location, lot, .. } => {
                    *location == key.location && *lot == key.lot
                }
                _ => false,
            })
            .map(|event| (event.id, event.hlc.wall_ms)))
    }

    /// Counts outside the tolerance, waiting for a manager: per key only the newest count.
    /// A recount supersedes the count before it, which the rules leave open (a count is
    /// open until its own review), so without this a count and its recount showed as two
    /// rows, and deciding the recount left the first one behind.
    pub fn variances(&mut self, now_ms: u64) -> Result<Vec<VarianceView>, AppError> {
        self.require_manager(now_ms)?;
        let mut views = Vec::new();
        for discrepancy in self.store().open_discrepancies()? {
            if let DiscrepancyKind::CountVariance {
                key,
                counted,
                user,
                counted_qty,
                system_qty,
            } = discrepancy.kind
            {
                let hlc_ms = match self.latest_count_of(&key)? {
                    Some((latest, hlc_ms)) if latest == counted => hlc_ms,
                    // A later count of the key supersedes this one.
                    Some(_) => continue,
                    // Older than the search window: keep it, timed by its UUIDv7 id.
                    None => event_id_ms(counted),
                };
                views.push(VarianceView {
                    counted_event: counted,
                    location: LocationView::from(&self.location(key.location)?),
                    item: ItemView::from(&self.item(key.item)?),
                    lot: key.lot.as_ref().map(|lot| lot.as_str().to_string()),
                    counted_qty,
                    expected: system_qty,
                    variance: counted_qty - system_qty,
                    user: Names::user(self, user),
                    hlc_ms,
                });
            }
        }
        Ok(views)
    }

    /// A manager approves a count (it becomes the key's baseline) or rejects it (a recount
    /// task opens).
    pub fn review_count(
        &mut self,
        counted: EventId,
        approve: bool,
        now_ms: u64,
    ) -> Result<RecordedView, AppError> {
        let user = self.require_manager(now_ms)?;
        // The latest review decides, so a count already reviewed can be reviewed again (a
        // rejection by mistake approved after all). A count that approved itself stays
        // approved: a review of it would change nothing, so none is recorded.
        let (key, needed_review) = self
            .store()
            .count_key(counted)?
            .ok_or_else(|| AppError::NotFound(format!("a count waiting for review ({counted})")))?;
        if !needed_review {
            return Err(AppError::BadSetting(
                "this count approved itself within the tolerance; a review would change nothing"
                    .into(),
            ));
        }
        let decision = if approve {
            ReviewDecision::Approved
        } else {
            ReviewDecision::Rejected
        };
        let body = EventBody::CountReviewed { counted, decision };
        self.record(&user, body, &key, now_ms)
    }

    /// Everything the rules flagged for a person, open now.
    pub fn discrepancies(&mut self, now_ms: u64) -> Result<Vec<DiscrepancyView>, AppError> {
        self.require_manager(now_ms)?;
        let key_text = |key: &StockKey| {
            format!(
                "{} at {}{}",
                Names::item(self, key.item),
                Names::location(self, key.location),
                key.lot
                    .as_ref()
                    .map(|lot| format!(" lot {}", lot.as_str()))
                    .unwrap_or_default()
            )
        };
        let mut open = self.store().open_discrepancies()?;
        // A count's variance that a later count of its key superseded waits for nobody (the
        // variances tab does not offer it either).
        let mut superseded = BTreeSet::new();
        for discrepancy in &open {
            if let DiscrepancyKind::CountVariance { key, counted, .. } = &discrepancy.kind {
                if matches!(self.latest_count_of(key)?, Some((latest, _)) if latest != *counted) {
                    superseded.insert(discrepancy.id.clone());
                }
            }
        }
        open.retain(|discrepancy| !superseded.contains(&discrepancy.id));
        Ok(open
            .into_iter()
            .map(|discrepancy| {
                let (kind, summary) = match &discrepancy.kind {
                    DiscrepancyKind::NegativeStock { key, on_hand } => (
                        "negative_stock",
                        format!("{} is at {on_hand}", key_text(key)),
                    ),
                    DiscrepancyKind::CountVariance {
                        key,
                        counted_qty,
                        system_qty,
                        ..
                    } => (
                        "count_variance",
                        format!(
                            "{}: counted {counted_qty}, expected {system_qty}",
                            key_text(key)
                        ),
                    ),
                    DiscrepancyKind::OverPick {
                        line,
                        picked,
                        line_qty,
                        ..
                    } => (
                        "over_pick",
                        format!("line {line}: picked {picked} of {line_qty}"),
                    ),
                    DiscrepancyKind::PickListContested { winner, .. } => (
                        "pick_list_contested",
                        format!(
                            "claimed from two devices; {} on device {} won",
                            Names::user(self, winner.user),
                            winner.order.device
                        ),
                    ),
                    DiscrepancyKind::LotMissing {
                        key, event_kind, ..
                    } => (
                        "lot_missing",
                        format!("{}: {event_kind} with no lot", key_text(key)),
                    ),
                };
                let key = discrepancy.kind.key();
                DiscrepancyView {
                    id: discrepancy.id.clone(),
                    kind: kind.to_string(),
                    summary,
                    location: key
                        .and_then(|key| self.location(key.location).ok())
                        .map(|location| LocationView::from(&location)),
                    item: key
                        .and_then(|key| self.item(key.item).ok())
                        .map(|item| ItemView::from(&item)),
                    lot: key
                        .and_then(|key| key.lot.as_ref())
                        .map(|lot| lot.as_str().to_string()),
                }
            })
            .collect())
    }

    /// Local events the server refused, with its reasons.
    pub fn quarantined(&mut self, now_ms: u64) -> Result<Vec<QuarantinedView>, AppError> {
        self.require_manager(now_ms)?;
        Ok(self
            .store()
            .quarantined(500)?
            .into_iter()
            .map(|entry| QuarantinedView {
                event_id: entry.event.id,
                kind: entry.event.kind(),
                can_record_again: is_clock_ahead(&entry.reason),
                reason: entry.reason.clone(),
                attempts: entry.attempts,
                summary: HistoryEntry::from_event(&entry.event, self).summary,
            })
            .collect())
    }

    /// Records a refused `clock_ahead` event again now: a new event with the same body, a new
    /// id and this PC's corrected time, naming the original (`Event::replaces`). The original
    /// stays in the log for the audit trail and leaves the projection and the quarantine list,
    /// in the same transaction. The floor fact keeps its author.
    pub fn record_again(
        &mut self,
        original: EventId,
        now_ms: u64,
    ) -> Result<RecordedView, AppError> {
        self.require_manager(now_ms)?;
        let entry = self
            .store()
            .quarantined(u32::MAX)?
            .into_iter()
            .find(|entry| entry.event.id == original)
            .ok_or_else(|| AppError::NotFound(format!("a refused event {original}")))?;
        if !is_clock_ahead(&entry.reason) {
            return Err(AppError::BadSetting(format!(
                "only an event refused for its clock can be recorded again; this one was refused: {}",
                entry.reason
            )));
        }
        let key = entry
            .event
            .subject_key()
            .or_else(|| entry.event.deltas().into_iter().next().map(|(key, _)| key));
        let mut replacement = self.stamp_for(entry.event.user, entry.event.body.clone(), now_ms);
        replacement.replaces = Some(original);
        self.store_mut()
            .record_replacement(original, &replacement)?;
        Ok(RecordedView {
            event_id: replacement.id,
            on_hand: match key {
                Some(key) => self.store().on_hand(&key)?,
                None => 0,
            },
            notices: Vec::new(),
        })
    }

    /// The audit trail, filtered, newest first, a page at a time.
    pub fn history(
        &mut self,
        args: &HistoryArgs,
        now_ms: u64,
    ) -> Result<HistoryPageView, AppError> {
        self.require_manager(now_ms)?;
        let page = args.page.unwrap_or(0);
        let user = match args.user.as_deref().filter(|text| !text.trim().is_empty()) {
            Some(text) => Some(match self.store().find_user(text)? {
                NameMatch::One(id) => id,
                NameMatch::NoOne => {
                    return Err(AppError::NotFound(format!(
                        "a user called {:?}",
                        text.trim()
                    )))
                }
                NameMatch::Several { names, n_found } => {
                    return Err(could_be(
                        text.trim(),
                        &names,
                        n_found,
                        "user",
                        "type more of the name, or the badge",
                    ))
                }
            }),
            None => None,
        };
        let device = match args
            .device
            .as_deref()
            .filter(|text| !text.trim().is_empty())
        {
            Some(text) => Some(
                text.trim()
                    .parse::<DeviceId>()
                    .map_err(|_| AppError::NotFound(format!("a device with the id {text:?}")))?,
            ),
            None => None,
        };
        let filter = HistoryFilter {
            item: args.item,
            location: args.location,
            user,
            device,
        };
        let mut events =
            self.store()
                .history(&filter, page.saturating_mul(HISTORY_PAGE), HISTORY_PAGE + 1)?;
        let next_page = (events.len() > HISTORY_PAGE as usize).then_some(page + 1);
        events.truncate(HISTORY_PAGE as usize);
        Ok(HistoryPageView {
            entries: self.history_entries(&events),
            next_page,
        })
    }

    /// An item's on-hand over time across the warehouse, and the variance of each count:
    /// the item's events replayed in event order through the core's own rules, so the
    /// chart never disagrees with the projection.
    pub fn stock_series(&mut self, item: ItemId, now_ms: u64) -> Result<Vec<StockPoint>, AppError> {
        self.require_manager(now_ms)?;
        let events = self.store().item_timeline(item, 5_000)?;
        let mut projection = Projection::new();
        let mut keys = std::collections::BTreeSet::<StockKey>::new();
        let mut points = Vec::with_capacity(events.len());
        for event in &events {
            // A resolution or a count request names the item but moves no stock: it is no
            // point of the chart.
            if let EventBody::Resolved { .. } | EventBody::CountRequested { .. } = event.body {
                continue;
            }
            // Replaying distinct events from the log cannot mismatch; skip one if it did.
            if projection.apply(event).is_err() {
                continue;
            }
            let variance = match &event.body {
                EventBody::Counted {
                    location,
                    item: counted_item,
                    lot,
                    counted_qty,
                    system_qty,
                    ..
                } => {
                    keys.insert(StockKey {
                        warehouse: event.warehouse,
                        location: *location,
                        item: *counted_item,
                        lot: lot.clone(),
                    });
                    Some(counted_qty - system_qty)
                }
                _ => None,
            };
            keys.extend(
                event
                    .deltas()
                    .into_iter()
                    .map(|(key, _)| key)
                    .filter(|key| key.item == item),
            );
            points.push(StockPoint {
                hlc_ms: event.hlc.wall_ms,
                on_hand: keys.iter().map(|key| projection.on_hand(key)).sum(),
                variance,
            });
        }
        Ok(points)
    }
}

impl Names for Floor {
    fn location(&self, id: LocationId) -> String {
        match self.store().location(id) {
            Ok(Some(location)) => location.code,
            _ => id.to_string(),
        }
    }

    fn item(&self, id: ItemId) -> String {
        match self.store().item(id) {
            Ok(Some(item)) => item.sku,
            _ => id.to_string(),
        }
    }

    fn user(&self, id: UserId) -> String {
        self.user_name(id).unwrap_or_else(|| id.to_string())
    }

    fn pick_list(&self, id: PickListId) -> String {
        match self.store().pick_list(id) {
            Ok(Some(list)) => list.reference,
            _ => id.to_string(),
        }
    }

    /// Only [`Floor::history_entries`] looks counts up (once per page).
    fn count(&self, _counted: EventId) -> Option<String> {
        None
    }
}

/// The Unix milliseconds in a UUIDv7 event id: the wall clock of the hlc it was stamped with.
fn event_id_ms(id: EventId) -> u64 {
    id.as_bytes()[..6]
        .iter()
        .fold(0, |ms, byte| (ms << 8) | u64::from(*byte))
}

/// Whether a quarantine reason is the server's `clock_ahead` (stored as `code: message`).
fn is_clock_ahead(reason: &str) -> bool {
    reason == "clock_ahead" || reason.starts_with("clock_ahead:")
}
