//! An in-memory [`Ledger`], and [`Projection`]: a ledger plus the event-id deduplication a
//! real store does. Tests and tools use it; the stores keep the same state in SQLite.

use super::{
    apply_with_resolutions, saturating_sum, Applied, Claim, CountRecord, CountStatus, CountTask,
    Discrepancy, EventOrder, KeyState, Ledger, Notice, PickLineState, ReviewRecord, StockKey,
};
use crate::event::Event;
use crate::ids::{EventId, PickListId, TaskId};
use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;

/// The rules' state, kept in maps.
#[derive(Debug, Default, Clone)]
pub struct MemoryLedger {
    keys: BTreeMap<StockKey, KeyState>,
    deltas: BTreeMap<StockKey, BTreeMap<EventOrder, i64>>,
    counts: HashMap<EventId, CountRecord>,
    reviews: HashMap<EventId, Vec<ReviewRecord>>,
    pick_lines: HashMap<(PickListId, u32), PickLineState>,
    claims: HashMap<PickListId, Vec<Claim>>,
    tasks: BTreeMap<TaskId, CountTask>,
    discrepancies: BTreeMap<String, (Discrepancy, bool)>,
}

impl Ledger for MemoryLedger {
    type Error = Infallible;

    fn key_state(&mut self, key: &StockKey) -> Result<Option<KeyState>, Infallible> {
        Ok(self.keys.get(key).copied())
    }
    fn put_key_state(&mut self, key: &StockKey, state: &KeyState) -> Result<(), Infallible> {
        self.keys.insert(key.clone(), *state);
        Ok(())
    }
    fn add_delta(
        &mut self,
        key: &StockKey,
        order: &EventOrder,
        delta: i64,
    ) -> Result<(), Infallible> {
        self.deltas
            .entry(key.clone())
            .or_default()
            .insert(*order, delta);
        Ok(())
    }
    fn sum_deltas_after(
        &mut self,
        key: &StockKey,
        after: Option<&EventOrder>,
    ) -> Result<i64, Infallible> {
        let Some(deltas) = self.deltas.get(key) else {
            return Ok(0);
        };
        Ok(match after {
            None => saturating_sum(deltas.values().copied()),
            Some(after) => saturating_sum(
                deltas
                    .range((
                        std::ops::Bound::Excluded(*after),
                        std::ops::Bound::Unbounded,
                    ))
                    .map(|(_, d)| *d),
            ),
        })
    }
    fn count(&mut self, counted: EventId) -> Result<Option<CountRecord>, Infallible> {
        Ok(self.counts.get(&counted).cloned())
    }
    fn put_count(&mut self, count: &CountRecord) -> Result<(), Infallible> {
        self.counts.insert(count.order.id, count.clone());
        Ok(())
    }
    fn latest_count(
        &mut self,
        key: &StockKey,
        approved_only: bool,
    ) -> Result<Option<CountRecord>, Infallible> {
        Ok(self
            .counts
            .values()
            .filter(|count| &count.key == key)
            .filter(|count| {
                if approved_only {
                    count.status == CountStatus::Approved
                } else {
                    count.status != CountStatus::Rejected
                }
            })
            .max_by_key(|count| count.order)
            .cloned())
    }
    fn add_review(&mut self, review: &ReviewRecord) -> Result<(), Infallible> {
        self.reviews
            .entry(review.counted)
            .or_default()
            .push(review.clone());
        Ok(())
    }
    fn reviews(&mut self, counted: EventId) -> Result<Vec<ReviewRecord>, Infallible> {
        Ok(self.reviews.get(&counted).cloned().unwrap_or_default())
    }
    fn pick_line(
        &mut self,
        pick_list: PickListId,
        line: u32,
    ) -> Result<Option<PickLineState>, Infallible> {
        Ok(self.pick_lines.get(&(pick_list, line)).copied())
    }
    fn put_pick_line(
        &mut self,
        pick_list: PickListId,
        line: u32,
        state: &PickLineState,
    ) -> Result<(), Infallible> {
        self.pick_lines.insert((pick_list, line), *state);
        Ok(())
    }
    fn add_claim(&mut self, claim: &Claim) -> Result<(), Infallible> {
        self.claims
            .entry(claim.pick_list)
            .or_default()
            .push(claim.clone());
        Ok(())
    }
    fn claims(&mut self, pick_list: PickListId) -> Result<Vec<Claim>, Infallible> {
        Ok(self.claims.get(&pick_list).cloned().unwrap_or_default())
    }
    fn count_tasks(&mut self, key: &StockKey) -> Result<Vec<CountTask>, Infallible> {
        Ok(self
            .tasks
            .values()
            .filter(|task| &task.key == key)
            .cloned()
            .collect())
    }
    fn put_task(&mut self, task: &CountTask) -> Result<(), Infallible> {
        self.tasks.insert(task.id, task.clone());
        Ok(())
    }
    fn open_discrepancy(&mut self, discrepancy: &Discrepancy) -> Result<(), Infallible> {
        self.discrepancies
            .insert(discrepancy.id.clone(), (discrepancy.clone(), true));
        Ok(())
    }
    fn resolve_discrepancy(&mut self, id: &str) -> Result<(), Infallible> {
        if let Some(entry) = self.discrepancies.get_mut(id) {
            entry.1 = false;
        }
        Ok(())
    }
    fn discrepancy_open(&mut self, id: &str) -> Result<bool, Infallible> {
        Ok(self.discrepancies.get(id).is_some_and(|entry| entry.1))
    }
}

/// What the rules say right now: every key's on-hand, and what is open.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Snapshot {
    pub on_hand: BTreeMap<StockKey, i64>,
    pub discrepancies: BTreeMap<String, Discrepancy>,
    pub tasks: BTreeMap<TaskId, CountTask>,
}

impl MemoryLedger {
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            on_hand: self
                .keys
                .iter()
                .map(|(key, state)| (key.clone(), state.on_hand))
                .collect(),
            discrepancies: self
                .discrepancies
                .iter()
                .filter(|(_, (_, open))| *open)
                .map(|(id, (discrepancy, _))| (id.clone(), discrepancy.clone()))
                .collect(),
            tasks: self
                .tasks
                .iter()
                .filter(|(_, task)| task.open)
                .map(|(id, task)| (*id, task.clone()))
                .collect(),
        }
    }
}

/// A ledger that, like a store, applies each event id once. Recording the same id with a
/// different payload is refused.
#[derive(Debug, Default, Clone)]
pub struct Projection {
    ledger: MemoryLedger,
    seen: HashMap<EventId, Event>,
}

/// The same event id arrived with a different payload.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event {0} was already recorded with a different payload")]
pub struct PayloadMismatch(pub EventId);

impl Projection {
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies the event unless its id was seen. Returns notices for the user.
    pub fn apply(&mut self, event: &Event) -> Result<Vec<Notice>, PayloadMismatch> {
        Ok(self.apply_with_resolutions(event)?.notices)
    }

    /// [`Projection::apply`], also returning the decisions the rules took (nothing for an
    /// event seen before), as a server would record them.
    pub fn apply_with_resolutions(&mut self, event: &Event) -> Result<Applied, PayloadMismatch> {
        if let Some(seen) = self.seen.get(&event.id) {
            return if seen == event {
                Ok(Applied::default())
            } else {
                Err(PayloadMismatch(event.id))
            };
        }
        self.seen.insert(event.id, event.clone());
        let Ok(applied) = apply_with_resolutions(&mut self.ledger, event);
        Ok(applied)
    }

    pub fn snapshot(&self) -> Snapshot {
        self.ledger.snapshot()
    }

    pub fn on_hand(&self, key: &StockKey) -> i64 {
        self.ledger.keys.get(key).map_or(0, |state| state.on_hand)
    }
}
