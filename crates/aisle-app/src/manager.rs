//! What managers look at and decide (variances, discrepancies, quarantined events, the
//! audit trail, stock over time), plus the read views pickers share: count tasks and
//! look-up.

use crate::views::{
    CountTaskView, DiscrepancyView, HistoryArgs, HistoryEntry, HistoryPageView, ItemView,
    LocationView, LookupView, Names, QuarantinedView, RecordedView, RequestCountArgs, Resolved,
    StockPoint, StockRowView, VarianceView,
};
use crate::{AppError, Floor};
use aisle_core::event::{Date, EventBody, ReviewDecision, MAX_NOTE_CHARS};
use aisle_core::ids::{DeviceId, EventId, ItemId, LocationId, PickListId, UserId};
use aisle_core::scan::ScanConfig;
use aisle_core::stock::memory::Projection;
use aisle_core::stock::{CountTaskReason, DiscrepancyKind, StockKey};
use aisle_store::floor::HistoryFilter;
use aisle_store::queries::StockRow;

/// Entries per page of the audit trail.
const HISTORY_PAGE: u32 = 50;
/// Recent events shown under a look-up.
const LOOKUP_HISTORY: u32 = 20;

impl Floor {
    fn history_entries(&self, events: &[aisle_core::Event]) -> Vec<HistoryEntry> {
        events
            .iter()
            .map(|event| HistoryEntry::from_event(event, self))
            .collect()
    }

    fn row_view(&self, row: &StockRow) -> Result<StockRowView, AppError> {
        Ok(StockRowView {
            location: LocationView::from(&self.location(row.key.location)?),
            item: ItemView::from(&self.item(row.key.item)?),
            lot: row.key.lot.as_ref().map(|lot| lot.as_str().to_string()),
            on_hand: row.on_hand,
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

    /// Counts outside the tolerance, waiting for a manager.
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
                views.push(VarianceView {
                    counted_event: counted,
                    location: LocationView::from(&self.location(key.location)?),
                    item: ItemView::from(&self.item(key.item)?),
                    lot: key.lot.as_ref().map(|lot| lot.as_str().to_string()),
                    counted_qty,
                    expected: system_qty,
                    variance: counted_qty - system_qty,
                    user: Names::user(self, user),
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
        let key = self
            .open_variance_key(counted)?
            .ok_or_else(|| AppError::NotFound(format!("a count waiting for review ({counted})")))?;
        let decision = if approve {
            ReviewDecision::Approved
        } else {
            ReviewDecision::Rejected
        };
        let body = EventBody::CountReviewed { counted, decision };
        self.record(&user, body, &key, now_ms)
    }

    fn open_variance_key(&self, counted: EventId) -> Result<Option<StockKey>, AppError> {
        Ok(self
            .store()
            .open_discrepancies()?
            .into_iter()
            .find_map(|discrepancy| match discrepancy.kind {
                DiscrepancyKind::CountVariance {
                    key, counted: id, ..
                } if id == counted => Some(key),
                _ => None,
            }))
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
        Ok(self
            .store()
            .open_discrepancies()?
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
                DiscrepancyView {
                    id: discrepancy.id.clone(),
                    kind: kind.to_string(),
                    summary,
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
                reason: entry.reason.clone(),
                attempts: entry.attempts,
                summary: HistoryEntry::from_event(&entry.event, self).summary,
            })
            .collect())
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
            Some(text) => Some(
                self.store()
                    .find_user(text)?
                    .ok_or_else(|| AppError::NotFound(format!("a user called {text:?}")))?,
            ),
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
}
