//! The planner: what to do next, as a pure function of what the store holds and where the
//! current round stands.
//!
//! A sync round is a loop of "snapshot the store, plan, execute" until the plan is empty.
//! The order within a round is: settle events that can never be accepted (they are
//! quarantined here rather than sent, so they cannot hold up a batch), push the due outbox
//! in hlc order one batch at a time, then pull events after the stored cursor until caught
//! up, then pull master data. While a retry delay runs nothing is planned, and the plan
//! says when to wake up.
//!
//! Nothing here reads a clock, the network or the disk, so every decision is unit-tested
//! without a server.

use aisle_core::ids::{DeviceId, EventId, TenantId, WarehouseId};
use aisle_core::Event;

/// What the store holds, as far as the planner cares.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// Due pending events in hlc order, at most one batch.
    pub due: Vec<Event>,
    /// All pending events, due or not.
    pub n_pending: u64,
    /// When the earliest pending event is due (device ms).
    pub next_due_ms: Option<i64>,
    /// The last server seq applied here.
    pub pull_cursor: u64,
    /// The master-data version held here.
    pub master_cursor: u64,
}

/// Who this device is, as enrolled: events it may push must be its own.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub tenant: TenantId,
    pub warehouse: WarehouseId,
    pub device: DeviceId,
}

/// Where the engine stands: retry timing across rounds, progress within one.
#[derive(Clone, Debug, Default)]
pub struct State {
    /// Failures in a row; 0 after a success.
    pub consecutive_failures: u32,
    /// No request before this device time (backoff, or the server's Retry-After).
    pub retry_at_ms: Option<i64>,
    /// This round pulled events until a short page.
    pub pulled_to_end: bool,
    /// This round pulled master data until it was current (or the server has none).
    pub master_to_end: bool,
}

/// One operation for the executor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// Settle without sending: the server would refuse the whole batch for it.
    Quarantine { id: EventId, reason: String },
    /// Push these events (due, hlc order, at most one batch) in one request.
    Push { events: Vec<Event> },
    /// Pull and apply pages of events after `after` until a short page.
    Pull { after: u64 },
    /// Pull master data newer than `after`.
    PullMaster { after: u64 },
}

/// The planner's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plan {
    /// Run these, then plan again.
    Run(Vec<Op>),
    /// Nothing may be sent before `until_ms`.
    Wait { until_ms: i64 },
    /// The round is complete.
    Done,
}

/// Plans the next step of a round.
pub fn plan(
    snapshot: &Snapshot,
    state: &State,
    identity: &Identity,
    pull_master: bool,
    now_ms: i64,
) -> Plan {
    if let Some(until_ms) = state.retry_at_ms.filter(|until_ms| *until_ms > now_ms) {
        return Plan::Wait { until_ms };
    }
    let mut ops = Vec::new();
    let mut push = Vec::with_capacity(snapshot.due.len());
    for event in &snapshot.due {
        match foreign_field(event, identity) {
            Some(field) => ops.push(Op::Quarantine {
                id: event.id,
                reason: format!("{field}_mismatch: the event names another {field} than this device's enrollment"),
            }),
            None => push.push(event.clone()),
        }
    }
    if !push.is_empty() {
        ops.push(Op::Push { events: push });
    }
    if !ops.is_empty() {
        return Plan::Run(ops);
    }
    if !state.pulled_to_end {
        return Plan::Run(vec![Op::Pull {
            after: snapshot.pull_cursor,
        }]);
    }
    if pull_master && !state.master_to_end {
        return Plan::Run(vec![Op::PullMaster {
            after: snapshot.master_cursor,
        }]);
    }
    Plan::Done
}

/// Which enrollment field an event contradicts: the server refuses a whole batch for it.
fn foreign_field(event: &Event, identity: &Identity) -> Option<&'static str> {
    if event.tenant != identity.tenant {
        Some("tenant")
    } else if event.warehouse != identity.warehouse {
        Some("warehouse")
    } else if event.device != identity.device {
        Some("device")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aisle_core::testkit::{self, key, received, Events};

    fn identity() -> Identity {
        Identity {
            tenant: testkit::tenant(),
            warehouse: testkit::warehouse(),
            device: testkit::device(1),
        }
    }

    fn due(n: u64) -> Vec<Event> {
        let mut events = Events::default();
        (0..n)
            .map(|serial| {
                events.make_numbered(1, 1_000 + serial, serial, received(&key(1, 1, None), 1))
            })
            .collect()
    }

    #[test]
    fn a_round_pushes_then_pulls_then_pulls_master_then_ends() {
        let mut snapshot = Snapshot {
            due: due(3),
            n_pending: 3,
            pull_cursor: 41,
            master_cursor: 7,
            ..Snapshot::default()
        };
        let mut state = State::default();
        assert_eq!(
            plan(&snapshot, &state, &identity(), true, 0),
            Plan::Run(vec![Op::Push {
                events: snapshot.due.clone()
            }])
        );
        snapshot.due.clear();
        assert_eq!(
            plan(&snapshot, &state, &identity(), true, 0),
            Plan::Run(vec![Op::Pull { after: 41 }])
        );
        state.pulled_to_end = true;
        assert_eq!(
            plan(&snapshot, &state, &identity(), true, 0),
            Plan::Run(vec![Op::PullMaster { after: 7 }])
        );
        assert_eq!(
            plan(&snapshot, &state, &identity(), false, 0),
            Plan::Done,
            "without master data the round ends after the pull"
        );
        state.master_to_end = true;
        assert_eq!(plan(&snapshot, &state, &identity(), true, 0), Plan::Done);
    }

    #[test]
    fn nothing_is_sent_while_a_retry_delay_runs() {
        let snapshot = Snapshot {
            due: due(1),
            ..Snapshot::default()
        };
        let state = State {
            consecutive_failures: 2,
            retry_at_ms: Some(5_000),
            ..State::default()
        };
        assert_eq!(
            plan(&snapshot, &state, &identity(), true, 4_999),
            Plan::Wait { until_ms: 5_000 }
        );
        assert!(matches!(
            plan(&snapshot, &state, &identity(), true, 5_000),
            Plan::Run(_)
        ));
    }

    #[test]
    fn an_event_of_another_device_is_quarantined_not_sent() {
        let mut events = due(3);
        events[1].device = testkit::device(2);
        let snapshot = Snapshot {
            due: events.clone(),
            ..Snapshot::default()
        };
        let Plan::Run(ops) = plan(&snapshot, &State::default(), &identity(), true, 0) else {
            panic!("expected ops");
        };
        assert!(
            matches!(&ops[0], Op::Quarantine { id, reason } if *id == events[1].id && reason.starts_with("device_mismatch")),
            "{ops:?}"
        );
        assert_eq!(
            ops[1],
            Op::Push {
                events: vec![events[0].clone(), events[2].clone()]
            },
            "the rest keep flowing, in hlc order"
        );
    }
}
