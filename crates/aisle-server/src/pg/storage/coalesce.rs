//! A tenant's pushes in this process, one transaction at a time, and those that queued while
//! one ran, together in the next.
//!
//! The push lock (`PUSH_LOCK`) is what serialises a tenant's pushes, across instances. A
//! push waiting for it would hold a pooled connection and a permit of the cluster's budget
//! the whole time, doing nothing: with many devices of many tenants pushing at once the
//! waiters spent the budget, and every connection handed back closed another tenant's idle
//! one to reopen it (measured: 50 tenants × 100 devices went from ~27,000 to ~35,000
//! events/s with one connection a tenant). So a push waits here first, and a tenant's pushes
//! in this process hold one connection between them; the advisory lock still orders them
//! against other instances.
//!
//! While one push of a tenant runs, the next ones queue. When it ends, the first of them
//! leads: it takes the whole queue and runs it as one transaction (each push still gets its
//! own results, numbered in queue order), then hands over to whoever queued meanwhile. So
//! a tenant whose pushes arrive faster than they commit pays a transaction's fixed costs
//! (the lock, the log's next seq, the read-ahead of its keys, a commit that waits for the
//! disk) once per group instead of once per push, and its queue drains faster the longer it
//! is: the server's capacity grows with its load instead of its latency. A tenant pushed to
//! one push at a time sees no difference.

use crate::error::ServerError;
use aisle_core::ids::TenantId;
use aisle_core::Event;
use aisle_protocol::PushResult;
use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// A push's answer, as the storage gives it.
pub(super) type Answer = Result<Vec<PushResult>, ServerError>;

/// One push of a group: its events (a range of the group's events) and its time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Member {
    pub(super) events: Range<usize>,
    pub(super) now_ms: i64,
}

/// Runs a group: the group's events, its members in queue order, and one answer per member,
/// in the same order.
pub(super) trait RunGroup: Fn(&[Event], &[Member]) -> Vec<Answer> {}
impl<F: Fn(&[Event], &[Member]) -> Vec<Answer>> RunGroup for F {}

/// Every tenant with a push in this process, and its queue.
#[derive(Debug, Default)]
pub(super) struct PushQueues(Mutex<HashMap<TenantId, Arc<Queue>>>);

#[derive(Debug, Default)]
struct Queue {
    state: Mutex<QueueState>,
}

#[derive(Debug, Default)]
struct QueueState {
    /// A push (or a group) of the tenant is running.
    running: bool,
    /// The pushes waiting for it, in arrival order.
    waiting: Vec<Waiting>,
}

#[derive(Debug)]
struct Waiting {
    events: Vec<Event>,
    now_ms: i64,
    slot: Arc<Slot>,
}

/// Where a waiting push learns what to do: take the lead, or its answer.
#[derive(Debug, Default)]
struct Slot {
    outcome: Mutex<Option<Outcome>>,
    ready: Condvar,
}

#[derive(Debug)]
enum Outcome {
    /// Run the queue (this push is in it) as the next group.
    Lead,
    Done(Answer),
}

impl Slot {
    fn tell(&self, outcome: Outcome) {
        *lock(&self.outcome) = Some(outcome);
        self.ready.notify_one();
    }

    fn wait(&self) -> Outcome {
        let mut outcome = lock(&self.outcome);
        loop {
            if let Some(told) = outcome.take() {
                return told;
            }
            outcome = self
                .ready
                .wait(outcome)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }
}

/// A lock that a panicked holder left behind is still usable: every state kept under these
/// locks is whole between statements.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl PushQueues {
    /// Pushes `events` for `tenant`: at once and alone if none of the tenant's pushes is
    /// running here, otherwise in the group that runs after it. `run` runs a group.
    pub(super) fn push(
        &self,
        tenant: TenantId,
        events: &[Event],
        now_ms: i64,
        run: impl RunGroup,
    ) -> Answer {
        let queue = Arc::clone(lock(&self.0).entry(tenant).or_default());
        let answer = {
            let mut state = lock(&queue.state);
            if state.running {
                let slot = Arc::new(Slot::default());
                state.waiting.push(Waiting {
                    events: events.to_vec(),
                    now_ms,
                    slot: Arc::clone(&slot),
                });
                drop(state);
                match slot.wait() {
                    Outcome::Done(answer) => {
                        self.forget_if_idle(tenant, &queue);
                        return answer;
                    }
                    Outcome::Lead => {
                        let _turn = Turn(&queue);
                        lead(&queue, &slot, &run)
                    }
                }
            } else {
                state.running = true;
                drop(state);
                let _turn = Turn(&queue);
                let members = [Member {
                    events: 0..events.len(),
                    now_ms,
                }];
                run(events, &members)
                    .pop()
                    .expect("a group of one has one answer")
            }
        };
        self.forget_if_idle(tenant, &queue);
        answer
    }

    /// Drops the tenant's queue once no push runs or waits on it, so the map holds only
    /// tenants being pushed to.
    fn forget_if_idle(&self, tenant: TenantId, queue: &Arc<Queue>) {
        let mut queues = lock(&self.0);
        let idle = {
            let state = lock(&queue.state);
            !state.running && state.waiting.is_empty()
        };
        // The map's reference and ours: nobody else holds it.
        if idle && Arc::strong_count(queue) == 2 {
            queues.remove(&tenant);
        }
    }

    #[cfg(test)]
    fn tenants(&self) -> usize {
        lock(&self.0).len()
    }

    /// How many of the tenant's pushes wait behind a running one.
    #[cfg(test)]
    pub(super) fn waiting(&self, tenant: TenantId) -> usize {
        lock(&self.0)
            .get(&tenant)
            .map_or(0, |queue| lock(&queue.state).waiting.len())
    }
}

/// The run of one push or group; when it ends, even by a panic, the first push that queued
/// meanwhile takes the lead, or the tenant has nothing running.
struct Turn<'q>(&'q Queue);

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let mut state = lock(&self.0.state);
        match state.waiting.first() {
            Some(next) => next.slot.tell(Outcome::Lead),
            None => state.running = false,
        }
    }
}

/// The most events a group takes: ten pushes of the devices' 500. A group is one
/// transaction, so this bounds what one commit waits for and what the server holds of it;
/// past it, pushes wait for the next group. A push larger than this still runs (alone).
pub(super) const MAX_GROUP_EVENTS: usize = 5_000;

/// Runs the waiting pushes (`me`, the first, and those after it up to
/// [`MAX_GROUP_EVENTS`]) as one group; tells the others their answers and returns `me`'s.
fn lead(queue: &Queue, me: &Arc<Slot>, run: &impl RunGroup) -> Answer {
    let waiting = {
        let mut state = lock(&queue.state);
        let mut taken = 0;
        let mut events = 0;
        for push in &state.waiting {
            if taken > 0 && events + push.events.len() > MAX_GROUP_EVENTS {
                break;
            }
            taken += 1;
            events += push.events.len();
        }
        state.waiting.drain(..taken).collect::<Vec<_>>()
    };
    debug_assert!(waiting
        .first()
        .is_some_and(|push| Arc::ptr_eq(&push.slot, me)));
    let mut events = Vec::with_capacity(waiting.iter().map(|push| push.events.len()).sum());
    let mut members = Vec::with_capacity(waiting.len());
    let mut slots = Vec::with_capacity(waiting.len());
    for push in waiting {
        let start = events.len();
        events.extend(push.events);
        members.push(Member {
            events: start..events.len(),
            now_ms: push.now_ms,
        });
        slots.push(push.slot);
    }
    let mut told = Told {
        slots,
        me: Arc::clone(me),
        mine: None,
    };
    let answers = run(&events, &members);
    assert_eq!(answers.len(), members.len(), "one answer per push");
    for (slot, answer) in std::mem::take(&mut told.slots).into_iter().zip(answers) {
        if Arc::ptr_eq(&slot, me) {
            told.mine = Some(answer);
        } else {
            slot.tell(Outcome::Done(answer));
        }
    }
    told.mine.take().expect("the leader is in its group")
}

/// The group's pushes not told their answer yet: if the run panics, they are told it
/// failed, rather than wait forever.
struct Told {
    slots: Vec<Arc<Slot>>,
    me: Arc<Slot>,
    mine: Option<Answer>,
}

impl Drop for Told {
    fn drop(&mut self) {
        for slot in self.slots.drain(..) {
            if !Arc::ptr_eq(&slot, &self.me) {
                slot.tell(Outcome::Done(Err(ServerError::Io(std::io::Error::other(
                    "the push this one was grouped with failed inside the server; push again",
                )))));
            }
        }
    }
}

#[cfg(test)]
mod tests;
