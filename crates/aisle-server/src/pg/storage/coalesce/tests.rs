//! The queue alone, with a fake group runner: which pushes run together, and who gets which
//! answer. The real runner (one transaction per group) is pinned by the storage conformance
//! bodies on PostgreSQL.

use super::{Answer, Member, PushQueues};
use aisle_core::testkit::{key, received, tenant, Events};
use aisle_core::Event;
use aisle_protocol::{PushResult, PushStatus};
use std::sync::{Arc, Barrier, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

fn batch(device: u16, n: u64) -> Vec<Event> {
    let mut events = Events::default();
    (0..n)
        .map(|serial| {
            // The id comes from the time and the serial: unique per device and event.
            let serial = u64::from(device) * 1_000 + serial;
            events.make_numbered(
                device,
                1_700_000_000_000 + serial,
                serial,
                received(&key(1, 1, None), 1),
            )
        })
        .collect()
}

/// Answers each member with its own events' ids, applied, numbered by their place in the
/// group, so a test sees both which events a push got back and how the group was formed.
fn answer(events: &[Event], members: &[Member]) -> Vec<Answer> {
    members
        .iter()
        .map(|member| {
            Ok(member
                .events
                .clone()
                .map(|at| PushResult {
                    id: events[at].id,
                    status: PushStatus::Applied,
                    seq: Some(at as u64),
                    reason: None,
                    message: None,
                })
                .collect())
        })
        .collect()
}

fn ids(events: &[Event]) -> Vec<aisle_core::ids::EventId> {
    events.iter().map(|event| event.id).collect()
}

#[test]
fn a_push_with_nothing_running_runs_alone_and_the_tenant_is_forgotten_after() {
    let queues = PushQueues::default();
    let groups = Mutex::new(Vec::new());
    let events = batch(1, 3);
    let answer = queues
        .push(tenant(), &events, 42, |all, members| {
            groups.lock().unwrap().push(members.to_vec());
            answer(all, members)
        })
        .expect("answer");
    assert_eq!(
        answer.iter().map(|result| result.id).collect::<Vec<_>>(),
        ids(&events)
    );
    assert_eq!(
        *groups.lock().unwrap(),
        vec![vec![Member {
            events: 0..3,
            now_ms: 42
        }]]
    );
    assert_eq!(queues.tenants(), 0);
}

/// Every run's members, in run order.
type Groups = Arc<Mutex<Vec<Vec<Member>>>>;

/// A tenant whose first push's run holds until [`Held::release`], so the pushes the test
/// queues meanwhile wait behind it; every run's members are recorded, and the run numbered
/// `panic_run` (from 1) panics.
struct Held {
    queues: Arc<PushQueues>,
    groups: Groups,
    release: Arc<Barrier>,
    panic_run: Option<usize>,
    first: JoinHandle<Answer>,
}

impl Held {
    fn start(first: Vec<Event>, panic_run: Option<usize>) -> Self {
        let queues = Arc::new(PushQueues::default());
        let groups = Arc::new(Mutex::new(Vec::new()));
        let started = Arc::new(Barrier::new(2));
        let release = Arc::new(Barrier::new(2));
        let run = Self::runner(
            &groups,
            panic_run,
            Some((Arc::clone(&started), Arc::clone(&release))),
        );
        let first = {
            let queues = Arc::clone(&queues);
            std::thread::spawn(move || queues.push(tenant(), &first, 1, run))
        };
        started.wait();
        Self {
            queues,
            groups,
            release,
            panic_run,
            first,
        }
    }

    /// The run: records its members, holds the first run, panics at `panic_run`.
    fn runner(
        groups: &Groups,
        panic_run: Option<usize>,
        hold: Option<(Arc<Barrier>, Arc<Barrier>)>,
    ) -> impl Fn(&[Event], &[Member]) -> Vec<Answer> + Clone + Send + 'static {
        let groups = Arc::clone(groups);
        move |all: &[Event], members: &[Member]| {
            let run = {
                let mut groups = groups.lock().unwrap();
                groups.push(members.to_vec());
                groups.len()
            };
            if let (1, Some((started, release))) = (run, &hold) {
                started.wait();
                release.wait();
            }
            assert_ne!(Some(run), panic_run, "a bug in the group's run");
            answer(all, members)
        }
    }

    /// Queues `events` behind the held push and waits until it is queued.
    fn queue(&self, events: Vec<Event>, now_ms: i64) -> JoinHandle<(Vec<Event>, Answer)> {
        let queued = self.queues.waiting(tenant());
        let (queues, run) = (
            Arc::clone(&self.queues),
            Self::runner(&self.groups, self.panic_run, None),
        );
        let pusher = std::thread::spawn(move || {
            let answer = queues.push(tenant(), &events, now_ms, run);
            (events, answer)
        });
        while self.queues.waiting(tenant()) == queued {
            std::thread::sleep(Duration::from_millis(1));
        }
        pusher
    }

    /// Lets the held push end; its answer.
    fn release(self) -> (Answer, Groups, Arc<PushQueues>) {
        self.release.wait();
        let first = self.first.join().unwrap();
        (first, self.groups, self.queues)
    }
}

#[test]
fn pushes_that_queue_behind_a_running_one_run_as_one_group_each_with_its_own_answer() {
    let held = Held::start(batch(1, 2), None);
    let followers: Vec<_> = (2..=4)
        .map(|device| held.queue(batch(device, u64::from(device)), i64::from(device)))
        .collect();
    let (first, groups, queues) = held.release();
    assert_eq!(first.expect("first").len(), 2);
    for follower in followers {
        let (events, answer) = follower.join().unwrap();
        let answer = answer.expect("follower");
        assert_eq!(
            answer.iter().map(|result| result.id).collect::<Vec<_>>(),
            ids(&events),
            "each push gets its own events' results, in its order"
        );
    }
    let groups = groups.lock().unwrap().clone();
    assert_eq!(
        groups.len(),
        2,
        "the three followers ran as one group: {groups:?}"
    );
    assert_eq!(groups[1].len(), 3);
    let mut sizes: Vec<usize> = groups[1].iter().map(|member| member.events.len()).collect();
    sizes.sort_unstable();
    assert_eq!(sizes, vec![2, 3, 4]);
    // The members' events are consecutive ranges of the group's events.
    assert_eq!(groups[1][0].events.start, 0);
    assert_eq!(groups[1][1].events.start, groups[1][0].events.end);
    assert_eq!(groups[1][2].events.end, 9);
    assert_eq!(queues.tenants(), 0);
}

#[test]
fn a_group_whose_run_panics_tells_its_other_pushes_and_the_tenant_pushes_on() {
    let held = Held::start(batch(1, 1), Some(2));
    let followers: Vec<_> = (2..=3)
        .map(|device| held.queue(batch(device, 1), 1))
        .collect();
    let (first, groups, queues) = held.release();
    assert!(first.is_ok());
    let mut outcomes: Vec<String> = followers
        .into_iter()
        .map(|follower| match follower.join() {
            Err(_) => "panicked".to_owned(),
            Ok((_, Ok(_))) => "answered".to_owned(),
            Ok((_, Err(error))) => error.to_string(),
        })
        .collect();
    outcomes.sort();
    // The leader of the group panics (its request fails as any panic does); the other one
    // is told, and does not wait forever.
    assert_eq!(outcomes.len(), 2);
    assert_eq!(outcomes[1], "panicked", "{outcomes:?}");
    assert!(outcomes[0].contains("push again"), "{outcomes:?}");
    // The tenant is not left marked as running.
    let events = batch(9, 2);
    let run = Held::runner(&groups, None, None);
    let answer = queues
        .push(tenant(), &events, 1, run)
        .expect("a later push");
    assert_eq!(answer.len(), 2);
    assert_eq!(queues.tenants(), 0);
}

#[test]
fn a_group_takes_at_most_its_cap_of_events_and_the_rest_wait_for_the_next() {
    let held = Held::start(batch(1, 1), None);
    // Three pushes of 40% of the cap each queue, one after the other: two fit in a group.
    let size = (super::MAX_GROUP_EVENTS * 2 / 5) as u64;
    let followers: Vec<_> = (2..=4u16)
        .map(|device| held.queue(batch(device, size), 1))
        .collect();
    let (first, groups, _) = held.release();
    first.expect("first");
    for follower in followers {
        let (_, answer) = follower.join().unwrap();
        assert_eq!(answer.expect("follower").len(), size as usize);
    }
    let sizes: Vec<Vec<usize>> = groups
        .lock()
        .unwrap()
        .iter()
        .map(|group| group.iter().map(|member| member.events.len()).collect())
        .collect();
    let size = size as usize;
    assert_eq!(sizes, vec![vec![1], vec![size, size], vec![size]]);
}
