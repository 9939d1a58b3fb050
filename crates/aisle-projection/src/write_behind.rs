//! What a ledger keeps in memory within one transaction, whatever its database: stock key
//! ids, the key states it read or changed, and the stock deltas it added, which
//! [`SqlLedger`](crate::sqlite::SqlLedger) and `PgLedger` write back once, at `finish`.
//!
//! A batch that touches a popular key a hundred times updates its row once, and the deltas
//! go in sorted, in bulk. Nothing outside the ledger reads these tables inside the
//! transaction; inside it, a backend's `sum_deltas_after` adds [`WriteBehind::pending_sum`]
//! to what its table holds. The rules of this cache are the ledger's semantics, so both
//! backends share this one copy.

use crate::{FastMap, KeyIds};
use aisle_core::ids::EventId;
use aisle_core::stock::{EventOrder, KeyState};

/// One `stock_deltas` row to write: key id, hlc, event seq, delta (the table's column
/// order, and the order rows are written in).
pub(crate) type DeltaRow = (i64, i64, i64, i64);

/// One `key_states` row to write: key id, state, `events.seq` of the baseline count.
pub(crate) type StateRow = (i64, KeyState, Option<i64>);

/// A delta added in this transaction, with its event's full place in the event order.
#[derive(Debug)]
struct PendingDelta {
    order: EventOrder,
    seq: i64,
    delta: i64,
}

/// A key's state as this transaction sees it, and whether it changed since it was read.
#[derive(Debug)]
struct CachedState {
    state: KeyState,
    /// The `events.seq` of the baseline count, if there is a baseline.
    baseline_seq: Option<i64>,
    dirty: bool,
    /// The table had no row for the key when this transaction read it (or the key is new in
    /// it), so writing the state adds a row. `false` when it had one, or nobody asked.
    absent: bool,
}

/// The changed states to write, by what their rows need.
#[cfg(feature = "pg")]
#[derive(Debug, Default)]
pub(crate) struct DirtyStates {
    /// Keys read without a row in this transaction: their rows are new.
    pub(crate) new: Vec<StateRow>,
    /// Every other key: a row to replace, or (if the state was never read) perhaps to add.
    pub(crate) replaced: Vec<StateRow>,
}

/// The transaction's view of the projection's hot tables (see the module doc).
#[derive(Debug, Default)]
pub(crate) struct WriteBehind {
    /// Stock key ids known to exist (committed, or created in this transaction).
    pub(crate) key_ids: KeyIds,
    /// The event being applied and its row in `events`.
    current: Option<(EventId, i64)>,
    /// Key states read or written in this transaction, by key id.
    states: FastMap<i64, CachedState>,
    /// Deltas added in this transaction and not yet written, by key id.
    deltas: FastMap<i64, Vec<PendingDelta>>,
}

impl WriteBehind {
    pub(crate) fn with_key_ids(key_ids: KeyIds) -> Self {
        Self {
            key_ids,
            ..Self::default()
        }
    }

    /// Says that the event about to be applied is row `seq` of `events`.
    pub(crate) fn applying(&mut self, event: EventId, seq: i64) {
        self.current = Some((event, seq));
    }

    /// The `events.seq` of `event` if it is the one being applied.
    pub(crate) fn current_seq(&self, event: EventId) -> Option<i64> {
        self.current
            .and_then(|(id, seq)| (id == event).then_some(seq))
    }

    /// The key's state if this transaction has read or written it.
    pub(crate) fn state(&self, key_id: i64) -> Option<KeyState> {
        self.states.get(&key_id).map(|cached| cached.state)
    }

    /// The key's state as this transaction has read or written it, with its key id and the
    /// baseline's `events.seq`.
    #[cfg(feature = "pg")]
    pub(crate) fn state_row(&self, key_id: i64) -> Option<StateRow> {
        self.states
            .get(&key_id)
            .map(|cached| (key_id, cached.state, cached.baseline_seq))
    }

    /// Remembers a state as read from the database (`None`: the key has no state row, so
    /// nothing on hand and no baseline).
    pub(crate) fn read(&mut self, key_id: i64, read: Option<(KeyState, Option<i64>)>) -> KeyState {
        let absent = read.is_none();
        let (state, baseline_seq) = read.unwrap_or_default();
        self.states.insert(
            key_id,
            CachedState {
                state,
                baseline_seq,
                dirty: false,
                absent,
            },
        );
        state
    }

    /// The baseline's `events.seq` for `state` if it is already known without a lookup:
    /// the key's cached baseline is the same count, or the count is the event being applied.
    /// `Ok(None)` for a state without a baseline; `Err(event)` names the count to look up.
    pub(crate) fn baseline_seq(
        &self,
        key_id: i64,
        state: &KeyState,
    ) -> Result<Option<i64>, EventId> {
        let Some(baseline) = state.baseline else {
            return Ok(None);
        };
        let cached = self.states.get(&key_id).and_then(|cached| {
            let unchanged = cached.state.baseline.map(|b| b.order.id) == Some(baseline.order.id);
            unchanged.then_some(cached.baseline_seq).flatten()
        });
        // A new baseline is usually the count being applied; otherwise an earlier one.
        match cached.or_else(|| self.current_seq(baseline.order.id)) {
            Some(seq) => Ok(Some(seq)),
            None => Err(baseline.order.id),
        }
    }

    /// Records the key's new state, to be written at the end.
    pub(crate) fn put(&mut self, key_id: i64, state: KeyState, baseline_seq: Option<i64>) {
        let absent = self.states.get(&key_id).is_some_and(|cached| cached.absent);
        self.states.insert(
            key_id,
            CachedState {
                state,
                baseline_seq,
                dirty: true,
                absent,
            },
        );
    }

    /// Records a delta, to be written at the end.
    pub(crate) fn add_delta(&mut self, key_id: i64, order: EventOrder, seq: i64, delta: i64) {
        self.deltas
            .entry(key_id)
            .or_default()
            .push(PendingDelta { order, seq, delta });
    }

    /// The sum of the key's deltas added in this transaction and ordered strictly after
    /// `after` (all of them if `None`).
    pub(crate) fn pending_sum(&self, key_id: i64, after: Option<&EventOrder>) -> i64 {
        self.deltas.get(&key_id).map_or(0, |pending| {
            pending
                .iter()
                .filter(|d| after.is_none_or(|after| d.order > *after))
                .map(|d| d.delta)
                .sum()
        })
    }

    /// The changed states, in key order (so writes walk the table in order), marked clean.
    pub(crate) fn take_dirty_states(&mut self) -> Vec<StateRow> {
        let mut dirty: Vec<StateRow> = self
            .states
            .iter_mut()
            .filter(|(_, cached)| cached.dirty)
            .map(|(key_id, cached)| {
                cached.dirty = false;
                (*key_id, cached.state, cached.baseline_seq)
            })
            .collect();
        dirty.sort_unstable_by_key(|(key_id, _, _)| *key_id);
        dirty
    }

    /// [`WriteBehind::take_dirty_states`], split into the rows to add and the others, in one
    /// pass; the ones added are known to have a row from here on.
    #[cfg(feature = "pg")]
    pub(crate) fn take_dirty_states_split(&mut self) -> DirtyStates {
        let mut split = DirtyStates::default();
        for (key_id, cached) in self.states.iter_mut().filter(|(_, cached)| cached.dirty) {
            cached.dirty = false;
            let row = (*key_id, cached.state, cached.baseline_seq);
            if std::mem::take(&mut cached.absent) {
                split.new.push(row);
            } else {
                split.replaced.push(row);
            }
        }
        split.new.sort_unstable_by_key(|(key_id, _, _)| *key_id);
        split
            .replaced
            .sort_unstable_by_key(|(key_id, _, _)| *key_id);
        split
    }

    /// The pending deltas in primary-key order (consecutive rows usually share a page),
    /// taken out of the cache.
    pub(crate) fn take_deltas(&mut self) -> Vec<DeltaRow> {
        let mut deltas: Vec<DeltaRow> = std::mem::take(&mut self.deltas)
            .into_iter()
            .flat_map(|(key_id, pending)| {
                pending
                    .into_iter()
                    .map(move |d| (key_id, d.order.hlc.to_packed(), d.seq, d.delta))
            })
            .collect();
        deltas.sort_unstable();
        deltas
    }
}

#[cfg(all(test, feature = "pg"))]
mod tests {
    use super::*;

    fn on_hand(qty: i64) -> KeyState {
        KeyState {
            baseline: None,
            on_hand: qty,
        }
    }

    fn ids(rows: &[StateRow]) -> Vec<i64> {
        rows.iter().map(|(key_id, _, _)| *key_id).collect()
    }

    #[test]
    fn only_a_state_read_without_a_row_is_written_as_a_new_row() {
        let mut cache = WriteBehind::default();
        cache.read(1, None); // no row
        cache.read(2, Some((on_hand(5), None))); // a row
        cache.read(3, None); // no row, and never changed
        cache.put(1, on_hand(7), None);
        cache.put(2, on_hand(6), None);
        cache.put(4, on_hand(1), None); // never read: perhaps a row
        let split = cache.take_dirty_states_split();
        assert_eq!(ids(&split.new), [1]);
        assert_eq!(ids(&split.replaced), [2, 4]);
        assert_eq!(split.new[0].1, on_hand(7));

        // Key 1 has its row once written: a later change replaces it.
        cache.put(1, on_hand(8), None);
        cache.put(3, on_hand(2), None);
        let split = cache.take_dirty_states_split();
        assert_eq!(ids(&split.new), [3]);
        assert_eq!(ids(&split.replaced), [1]);
    }
}
