//! The queue alone, with a fake group runner: which pushes run together, and who gets which
//! answer. The real runner (one transaction per group) is pinned by the storage conformance
//! bodies on PostgreSQL.

use super::{Answer, Member, PushQueues};
use aisle_core::testkit::{key, received, tenant, Events};
use aisle_core::Event;
use aisle_protocol::{PushResult, PushStatus};
use std::sync::{Arc, Barrier, Mutex};
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

#[test]
fn pushes_that_queue_behind_a_running_one_run_as_one_group_each_with_its_own_answer() {
    let queues = Arc::new(PushQueues::default());
    let tenant = tenant();
    let groups = Arc::new(Mutex::new(Vec::<Vec<Member>>::new()));
    // The first push holds its run until the three others have queued behind it.
    let started = Arc::new(Barrier::new(2));
    let release = Arc::new(Barrier::new(2));
    let run = {
        let groups = Arc::clone(&groups);
        let (started, release) = (Arc::clone(&started), Arc::clone(&release));
        move |all: &[Event], members: &[Member]| {
            let first = groups.lock().unwrap().is_empty();
            groups.lock().unwrap().push(members.to_vec());
            if first {
                started.wait();
                release.wait();
            }
            answer(all, members)
        }
    };
    let first = {
        let (queues, run) = (Arc::clone(&queues), run.clone());
        std::thread::spawn(move || queues.push(tenant, &batch(1, 2), 1, run))
    };
    started.wait();
    let followers: Vec<_> = (2..=4)
        .map(|device| {
            let (queues, run) = (Arc::clone(&queues), run.clone());
            let events = batch(device, u64::from(device));
            std::thread::spawn(move || {
                let answer = queues.push(tenant, &events, i64::from(device), run);
                (events, answer)
            })
        })
        .collect();
    // Every follower is queued before the first push ends.
    while queues.0.lock().unwrap()[&tenant]
        .state
        .lock()
        .unwrap()
        .waiting
        .len()
        < 3
    {
        std::thread::sleep(Duration::from_millis(1));
    }
    release.wait();
    assert_eq!(first.join().unwrap().expect("first").len(), 2);
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
    let queues = Arc::new(PushQueues::default());
    let tenant = tenant();
    let started = Arc::new(Barrier::new(2));
    let release = Arc::new(Barrier::new(2));
    let runs = Arc::new(Mutex::new(0));
    let run = {
        let (started, release, runs) = (
            Arc::clone(&started),
            Arc::clone(&release),
            Arc::clone(&runs),
        );
        move |all: &[Event], members: &[Member]| {
            let run = {
                let mut runs = runs.lock().unwrap();
                *runs += 1;
                *runs
            };
            if run == 1 {
                started.wait();
                release.wait();
            }
            if run == 2 {
                panic!("a bug in the group's run");
            }
            answer(all, members)
        }
    };
    let first = {
        let (queues, run) = (Arc::clone(&queues), run.clone());
        std::thread::spawn(move || queues.push(tenant, &batch(1, 1), 1, run))
    };
    started.wait();
    let followers: Vec<_> = (2..=3)
        .map(|device| {
            let (queues, run) = (Arc::clone(&queues), run.clone());
            std::thread::spawn(move || queues.push(tenant, &batch(device, 1), 1, run))
        })
        .collect();
    while queues.0.lock().unwrap()[&tenant]
        .state
        .lock()
        .unwrap()
        .waiting
        .len()
        < 2
    {
        std::thread::sleep(Duration::from_millis(1));
    }
    release.wait();
    assert!(first.join().unwrap().is_ok());
    let mut outcomes: Vec<String> = followers
        .into_iter()
        .map(|follower| match follower.join() {
            Err(_) => "panicked".to_owned(),
            Ok(Ok(_)) => "answered".to_owned(),
            Ok(Err(error)) => error.to_string(),
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
    let answer = queues.push(tenant, &events, 1, run).expect("a later push");
    assert_eq!(answer.len(), 2);
    assert_eq!(queues.tenants(), 0);
}

#[test]
fn a_group_takes_at_most_its_cap_of_events_and_the_rest_wait_for_the_next() {
    let queues = Arc::new(PushQueues::default());
    let tenant = tenant();
    let groups = Arc::new(Mutex::new(Vec::<Vec<Member>>::new()));
    let started = Arc::new(Barrier::new(2));
    let release = Arc::new(Barrier::new(2));
    let run = {
        let groups = Arc::clone(&groups);
        let (started, release) = (Arc::clone(&started), Arc::clone(&release));
        move |all: &[Event], members: &[Member]| {
            let first = groups.lock().unwrap().is_empty();
            groups.lock().unwrap().push(members.to_vec());
            if first {
                started.wait();
                release.wait();
            }
            answer(all, members)
        }
    };
    let first = {
        let (queues, run) = (Arc::clone(&queues), run.clone());
        std::thread::spawn(move || queues.push(tenant, &batch(1, 1), 1, run))
    };
    started.wait();
    // Three pushes of 40% of the cap each queue, one after the other: two fit in a group.
    let size = (super::MAX_GROUP_EVENTS * 2 / 5) as u64;
    let mut followers = Vec::new();
    for device in 2..=4u16 {
        let (pusher, run) = (Arc::clone(&queues), run.clone());
        followers.push(std::thread::spawn(move || {
            pusher.push(tenant, &batch(device, size), 1, run)
        }));
        while queues.0.lock().unwrap()[&tenant]
            .state
            .lock()
            .unwrap()
            .waiting
            .len()
            < usize::from(device - 1)
        {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    release.wait();
    first.join().unwrap().expect("first");
    for follower in followers {
        assert_eq!(
            follower.join().unwrap().expect("follower").len(),
            size as usize
        );
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
