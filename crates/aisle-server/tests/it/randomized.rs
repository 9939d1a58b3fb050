//! Randomized acceptance test of the push endpoint and the server's projection.
//!
//! Three or four enrolled devices of one warehouse push random floor stories to the real
//! server over loopback: receipts, picks (some on pick lines), moves, adjustments, counts
//! that approve themselves or wait for review, reviews of any device's counts (approvals
//! and rejections from different devices, delivered out of order), pick-list claims, short
//! picks and count requests, on a few keys with and without lots. Each device's clock is
//! hours behind the server, in step with it (often tying with another device's), or a few
//! minutes ahead; a few events are stamped far ahead, carry a quantity beyond the per-event
//! bound, or are forged resolutions. Batches of random sizes (now and then with an event in
//! it twice) go out in random order, up to two devices at a time; earlier batches are
//! re-sent, and now and then an applied id is re-sent with another payload.
//!
//! Every push answer must be the documented one (`applied`, `duplicate` with the original
//! seq, `rejected` with its reason), and, at checkpoints and at the end, `GET /stock` must
//! be `reference::evaluate` of exactly the events the server applied, plus one
//! `lot_missing` discrepancy per lot-less event on the lot-tracked item. A full pull must
//! hold exactly those events and the server's own resolutions, the same for every device,
//! and every task and discrepancy the rules hold open must have been recorded as a decision.
//!
//! CI runs the fixed [`SEEDS`]; `AISLE_RANDOM_SEED=12345 cargo test -p aisle-server --test
//! it randomized` replays one seed. Every assertion message names its seed.

mod story;

use crate::erp::{api_key, upsert};
use crate::support::{get_json, Device, World};
use aisle_core::event::{EventBody, Resolution};
use aisle_core::ids::{DeviceId, EventId, ItemId};
use aisle_core::stock::memory::Snapshot;
use aisle_core::stock::reference::evaluate;
use aisle_core::stock::{CountTaskReason, Discrepancy, DiscrepancyKind};
use aisle_core::Event;
use aisle_server::auth::Scope;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use story::{Floor, Generator, Planned};

/// The seeds CI runs. Each takes well under a second on a loaded 2-core machine.
const SEEDS: [u64; 8] = [
    1,
    7,
    42,
    1_234,
    20_251_122,
    0x5eed_cafe,
    0xdead_beef,
    u64::MAX,
];

const MINUTE_MS: u64 = 60_000;
const HOUR_MS: u64 = 60 * MINUTE_MS;

/// SplitMix64: small, seedable, and the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// True one time in `n`.
    fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }

    fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for last in (1..items.len()).rev() {
            items.swap(last, self.index(last + 1));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_pushes_from_several_devices_leave_the_reference_stock() {
    let seeds: Vec<u64> = match std::env::var("AISLE_RANDOM_SEED") {
        Ok(seed) => vec![seed.parse().expect("AISLE_RANDOM_SEED is a number")],
        Err(_) => SEEDS.to_vec(),
    };
    for seed in seeds {
        // Printed before anything can fail, so even a panic without the seed in its
        // message (a refused connection, say) shows which seed to replay.
        eprintln!("randomized: seed {seed} (replay with AISLE_RANDOM_SEED={seed})");
        run_seed(seed).await;
    }
}

/// What the server answered for an event id the first time it saw it.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Answer {
    Applied(u64),
    Rejected(&'static str),
}

/// One event of a push: as generated, or an applied id re-sent with another payload.
#[derive(Clone)]
enum Sent {
    Generated(Event),
    Altered(Event),
}

impl Sent {
    fn event(&self) -> &Event {
        match self {
            Sent::Generated(event) | Sent::Altered(event) => event,
        }
    }
}

/// The oracle: what the server must answer each push, and the events it applied.
struct Oracle<'a> {
    seed: u64,
    world: &'a World,
    devices: &'a [Device],
    planned: HashMap<EventId, Planned>,
    answers: HashMap<EventId, Answer>,
    /// The events the server answered `applied`, in the order it did.
    accepted: Vec<Event>,
    /// Every batch pushed, with its device, for re-sending.
    sent: Vec<(usize, Vec<Sent>)>,
    n_duplicates: usize,
    n_altered: usize,
    max_seq: u64,
}

impl Oracle<'_> {
    /// Pushes one or two devices' batches at the same time and checks every answer.
    async fn push(&mut self, batches: Vec<(usize, Vec<Sent>)>) {
        let events = |batch: &[Sent]| -> Vec<Event> {
            batch.iter().map(|sent| sent.event().clone()).collect()
        };
        let answers = match batches.as_slice() {
            [(device_idx, batch)] => vec![
                self.world
                    .push(&self.devices[*device_idx], &events(batch))
                    .await,
            ],
            [(first_idx, first), (second_idx, second)] => {
                let (first_events, second_events) = (events(first), events(second));
                let (first_answer, second_answer) = tokio::join!(
                    self.world.push(&self.devices[*first_idx], &first_events),
                    self.world.push(&self.devices[*second_idx], &second_events),
                );
                vec![first_answer, second_answer]
            }
            _ => unreachable!("one or two batches at a time"),
        };
        let seq_before = self.max_seq;
        for ((device_idx, batch), (status, body)) in batches.into_iter().zip(answers) {
            assert_eq!(
                status, 200,
                "seed {}: a push is answered: {body}",
                self.seed
            );
            self.settle(&batch, &body, seq_before);
            self.sent.push((device_idx, batch));
        }
    }

    /// Checks one push answer against what each event must get, and records it.
    fn settle(&mut self, batch: &[Sent], body: &Value, seq_before: u64) {
        let seed = self.seed;
        let results = body["results"].as_array().expect("results");
        assert_eq!(
            results.len(),
            batch.len(),
            "seed {seed}: one result per event: {body}"
        );
        let mut last_applied_seq = seq_before;
        for (sent, result) in batch.iter().zip(results) {
            let event = sent.event();
            let context = || format!("seed {seed}: {} event {}: {result}", event.kind(), event.id);
            assert_eq!(
                result["id"],
                event.id.to_string(),
                "{}: results are in request order",
                context()
            );
            let status = result["status"].as_str().expect("status");
            let known = self.answers.get(&event.id).copied();
            let refusal = match (sent, known) {
                (Sent::Altered(_), _) => Some("payload_mismatch"),
                (Sent::Generated(_), Some(Answer::Applied(seq))) => {
                    assert_eq!(
                        (status, result["seq"].as_u64()),
                        ("duplicate", Some(seq)),
                        "{}: a re-sent applied event is a duplicate with its original seq",
                        context()
                    );
                    self.n_duplicates += 1;
                    continue;
                }
                (Sent::Generated(_), Some(Answer::Rejected(reason))) => Some(reason),
                (Sent::Generated(_), None) => self.planned[&event.id].refusal,
            };
            match refusal {
                None => {
                    assert_eq!(status, "applied", "{}: a new valid event", context());
                    let seq = result["seq"].as_u64().expect("an applied event has a seq");
                    assert!(
                        seq > last_applied_seq,
                        "{}: seqs only grow (after {last_applied_seq})",
                        context()
                    );
                    last_applied_seq = seq;
                    self.max_seq = self.max_seq.max(seq);
                    self.answers.insert(event.id, Answer::Applied(seq));
                    self.accepted.push(event.clone());
                }
                Some(reason) => {
                    assert_eq!(
                        (status, result["reason"].as_str()),
                        ("rejected", Some(reason)),
                        "{}: the documented refusal",
                        context()
                    );
                    assert!(result["seq"].is_null(), "{}: no seq", context());
                    let message = result["message"].as_str().unwrap_or_default();
                    let says = match reason {
                        "clock_ahead" => "ahead of the server's clock",
                        "invalid_event" => "beyond the bound",
                        _ => "",
                    };
                    assert!(
                        message.contains(says),
                        "{}: the message says what is wrong",
                        context()
                    );
                    match sent {
                        Sent::Altered(_) => self.n_altered += 1,
                        Sent::Generated(_) => {
                            self.answers.insert(event.id, Answer::Rejected(reason));
                        }
                    }
                }
            }
        }
    }

    /// A copy of one of the device's applied events with another payload, if it has one.
    fn altered_copy(&self, rng: &mut Rng, device_idx: usize) -> Option<Sent> {
        let device = self.devices[device_idx].device;
        let mine: Vec<&Event> = self
            .accepted
            .iter()
            .filter(|event| event.device == device)
            .collect();
        if mine.is_empty() {
            return None;
        }
        let mut altered = mine[rng.index(mine.len())].clone();
        altered.clock_correction_ms += 1 + rng.below(1_000) as i64;
        Some(Sent::Altered(altered))
    }

    /// Re-sends a random earlier batch, reshuffled, from its own device.
    async fn resend(&mut self, rng: &mut Rng) {
        let (device_idx, mut batch) = self.sent[rng.index(self.sent.len())].clone();
        rng.shuffle(&mut batch);
        self.push(vec![(device_idx, batch)]).await;
    }

    /// The `lot_missing` discrepancies the applied events must have opened.
    fn expected_lot_missing(&self) -> BTreeMap<String, Discrepancy> {
        self.accepted
            .iter()
            .filter_map(|event| {
                let key = self.planned[&event.id].lot_missing.clone()?;
                let id = format!("lot_missing/{}", event.id);
                let discrepancy = Discrepancy {
                    id: id.clone(),
                    warehouse: key.warehouse,
                    kind: DiscrepancyKind::LotMissing {
                        key,
                        event: event.id,
                        event_kind: event.kind().to_owned(),
                    },
                };
                Some((id, discrepancy))
            })
            .collect()
    }

    /// `GET /stock` equals the reference evaluation of the applied events, key by key,
    /// and its open discrepancies are the reference's plus the expected `lot_missing`.
    async fn check_stock(&self, when: &str) {
        let seed = self.seed;
        let device = &self.devices[0];
        let (status, body) = get_json(
            &self.world.http,
            &self.world.url(&format!("/v1/t/{}/stock", device.tenant)),
            &device.token,
        )
        .await;
        assert_eq!(status, 200, "seed {seed}, {when}: the stock read: {body}");
        let reference = evaluate(&self.accepted);

        type Row = (String, String, Option<String>);
        let served: BTreeMap<Row, i64> = body["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .map(|row| {
                let text = |field: &str| row[field].as_str().expect(field).to_owned();
                let lot = row["lot"].as_str().map(str::to_owned);
                let on_hand = row["on_hand"].as_i64().expect("on_hand");
                ((text("location"), text("item"), lot), on_hand)
            })
            .collect();
        let expected: BTreeMap<Row, i64> = reference
            .on_hand
            .iter()
            .map(|(key, on_hand)| {
                let lot = key.lot.as_ref().map(|lot| lot.as_str().to_owned());
                (
                    (key.location.to_string(), key.item.to_string(), lot),
                    *on_hand,
                )
            })
            .collect();
        let unlisted: Vec<&Row> = expected
            .keys()
            .filter(|row| !served.contains_key(*row))
            .collect();
        assert!(
            unlisted.is_empty(),
            "seed {seed}, {when}: every key the applied events touch is a row: {unlisted:?}"
        );
        let nonzero = |rows: &BTreeMap<Row, i64>| -> BTreeMap<Row, i64> {
            rows.iter()
                .filter(|(_, on_hand)| **on_hand != 0)
                .map(|(row, on_hand)| (row.clone(), *on_hand))
                .collect()
        };
        assert_eq!(
            nonzero(&served),
            nonzero(&expected),
            "seed {seed}, {when}: on-hand per key is the reference's (other rows are 0)"
        );

        let served_discrepancies: Vec<Discrepancy> =
            serde_json::from_value(body["discrepancies"].clone()).expect("discrepancies");
        let (lot_missing, derived): (Vec<_>, Vec<_>) = served_discrepancies
            .into_iter()
            .map(|discrepancy| (discrepancy.id.clone(), discrepancy))
            .partition(|(_, discrepancy)| {
                matches!(discrepancy.kind, DiscrepancyKind::LotMissing { .. })
            });
        let derived: BTreeMap<String, Discrepancy> = derived.into_iter().collect();
        assert_eq!(
            derived, reference.discrepancies,
            "seed {seed}, {when}: the open discrepancies the rules derive are the reference's"
        );
        let lot_missing: BTreeMap<String, Discrepancy> = lot_missing.into_iter().collect();
        assert_eq!(
            lot_missing,
            self.expected_lot_missing(),
            "seed {seed}, {when}: lot_missing is open for exactly the applied events on the \
             lot-tracked item without a lot"
        );
    }

    /// Every device pulls the same log: exactly the applied events at the seqs they got,
    /// and resolutions by the server's own identity that change nothing the rules derive.
    async fn check_pulls(&self) {
        let seed = self.seed;
        let pulled = self.world.pull_all(&self.devices[0]).await;
        for other in &self.devices[1..] {
            assert!(
                self.world.pull_all(other).await == pulled,
                "seed {seed}: every device of the warehouse pulls the same log"
            );
        }
        assert!(
            pulled.windows(2).all(|pair| pair[0].0 < pair[1].0),
            "seed {seed}: a pull is in seq order"
        );
        let device = &self.devices[0];
        let server = DeviceId::server(device.tenant, device.warehouse);
        let mut floor: BTreeMap<EventId, (u64, Event)> = BTreeMap::new();
        for (seq, event) in &pulled {
            if let EventBody::Resolved { .. } = event.body {
                assert_eq!(
                    event.device, server,
                    "seed {seed}: {} is the server's",
                    event.id
                );
                assert_eq!(
                    event.validate(),
                    Ok(()),
                    "seed {seed}: {} is valid",
                    event.id
                );
            } else {
                floor.insert(event.id, (*seq, event.clone()));
            }
        }
        let expected: BTreeMap<EventId, (u64, Event)> = self
            .accepted
            .iter()
            .map(|event| match self.answers[&event.id] {
                Answer::Applied(seq) => (event.id, (seq, event.clone())),
                Answer::Rejected(reason) => unreachable!("an accepted event was {reason}"),
            })
            .collect();
        assert!(
            floor == expected,
            "seed {seed}: the floor events pulled are exactly the applied ones, at their seqs \
             ({} pulled, {} applied)",
            floor.len(),
            expected.len()
        );
        let everything: Vec<Event> = pulled.into_iter().map(|(_, event)| event).collect();
        let (with, without) = (evaluate(&everything), evaluate(&self.accepted));
        assert_decisions_recorded(seed, &without, &everything);
        assert_eq!(
            (with.on_hand, with.discrepancies),
            (without.on_hand, without.discrepancies),
            "seed {seed}: the server's resolutions change nothing the rules derive"
        );
    }
}

/// Every task and discrepancy the rules hold open was recorded as a decision when it was
/// taken: a resolution naming the task, the key, the count or the pick line, and, for a
/// contested pick list, one naming its current winner for each losing device. A task a
/// manager requested has none (the request is its record), nor has `lot_missing`, which
/// the server opens from master data, not the rules.
fn assert_decisions_recorded(seed: u64, snapshot: &Snapshot, log: &[Event]) {
    let resolutions: Vec<&Resolution> = log
        .iter()
        .filter_map(|event| match &event.body {
            EventBody::Resolved { resolution } => Some(resolution),
            _ => None,
        })
        .collect();
    let recorded = |decided: &dyn Fn(&Resolution) -> bool| {
        resolutions.iter().any(|resolution| decided(resolution))
    };
    for (task, open) in snapshot.tasks.iter().filter(|(_, task)| task.open) {
        let requested = matches!(open.reason, CountTaskReason::Requested { .. });
        assert_eq!(
            recorded(&|resolution| resolution.task() == Some(*task)),
            !requested,
            "seed {seed}: open task {open:?} is recorded as a decision unless requested"
        );
    }
    for discrepancy in snapshot.discrepancies.values() {
        let decided = match &discrepancy.kind {
            DiscrepancyKind::NegativeStock { key, .. } => recorded(&|resolution| {
                matches!(resolution, Resolution::NegativeStock { location, item, lot, .. }
                    if *location == key.location && *item == key.item && *lot == key.lot)
            }),
            DiscrepancyKind::CountVariance { counted, .. } => recorded(&|resolution| {
                matches!(resolution, Resolution::CountVariance { counted: named, .. }
                    if named == counted)
            }),
            DiscrepancyKind::OverPick {
                pick_list, line, ..
            } => recorded(&|resolution| {
                matches!(resolution, Resolution::OverPick { pick_list: list, line: named, .. }
                    if list == pick_list && named == line)
            }),
            DiscrepancyKind::PickListContested { winner, losers, .. } => {
                losers.iter().all(|loser| {
                    recorded(&|resolution| {
                        matches!(resolution, Resolution::ClaimConflict { winner: named, loser: lost, .. }
                            if named.event == winner.order.id && lost.device == loser.order.device)
                    })
                })
            }
            DiscrepancyKind::LotMissing { .. } => true,
        };
        assert!(
            decided,
            "seed {seed}: open discrepancy {} was recorded as a decision",
            discrepancy.id
        );
    }
}

/// Upserts a plain and a lot-tracked item through the ERP API and reads their ids back
/// from the master data a device pulls.
async fn catalogue(world: &World, device: &Device) -> (ItemId, ItemId) {
    let key = api_key(world, device.tenant, &[Scope::MasterWrite]);
    let items = json!({ "items": [
        { "sku": "PLAIN-1", "name": "Plain widget" },
        { "sku": "LOT-1", "name": "Lot-tracked widget", "lot_tracked": true },
    ]});
    upsert(world, device.tenant, &key, "items", items).await;
    let (status, page) = get_json(
        &world.http,
        &world.url(&format!("/v1/t/{}/master?after=0", device.tenant)),
        &device.token,
    )
    .await;
    assert_eq!(status, 200, "the master data pull: {page}");
    let id = |sku: &str| -> ItemId {
        let item = page["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|item| item["sku"] == sku)
            .unwrap_or_else(|| panic!("{sku} is in the master data: {page}"));
        ItemId::from_uuid(item["id"].as_str().expect("id").parse().expect("a uuid"))
    };
    (id("PLAIN-1"), id("LOT-1"))
}

async fn run_seed(seed: u64) {
    let mut rng = Rng(seed);
    let world = World::start(4).await;
    let (tenant, warehouse) = world.tenant("t");
    let n_devices = 3 + rng.index(2);
    let mut devices = Vec::new();
    for device_idx in 0..n_devices {
        devices.push(
            world
                .enroll(tenant, warehouse, &format!("pc-{device_idx}"))
                .await,
        );
    }
    let (plain, lot_tracked) = catalogue(&world, &devices[0]).await;
    let floor = Floor {
        warehouse,
        items: [
            aisle_core::testkit::item(1),
            aisle_core::testkit::item(2),
            plain,
            lot_tracked,
        ],
        lot_tracked,
    };

    let now_ms = aisle_server::now_ms() as u64;
    let mut generator = Generator::new(&mut rng, &floor, &devices, now_ms);
    let n_steps = 200 + generator.rng.below(150);
    for _ in 0..n_steps {
        let device_idx = generator.rng.index(n_devices);
        generator.random_event(device_idx);
    }
    generator.cover_everything();
    let Generator {
        streams, planned, ..
    } = generator;
    let n_events: usize = streams.iter().map(Vec::len).sum();

    let mut oracle = Oracle {
        seed,
        world: &world,
        devices: &devices,
        planned,
        answers: HashMap::new(),
        accepted: Vec::new(),
        sent: Vec::new(),
        n_duplicates: 0,
        n_altered: 0,
        max_seq: 0,
    };
    let mut cursors = vec![0; n_devices];
    let mut checkpoints = [n_events / 3, 2 * n_events / 3].into_iter().peekable();
    loop {
        let mut pending: Vec<usize> = (0..n_devices)
            .filter(|device_idx| cursors[*device_idx] < streams[*device_idx].len())
            .collect();
        if pending.is_empty() {
            break;
        }
        rng.shuffle(&mut pending);
        let n_pushing = if pending.len() > 1 && rng.one_in(2) {
            2
        } else {
            1
        };
        let mut batches = Vec::new();
        for &device_idx in &pending[..n_pushing] {
            let stream = &streams[device_idx];
            let start = cursors[device_idx];
            let end = stream.len().min(start + 1 + rng.index(12));
            cursors[device_idx] = end;
            let mut batch: Vec<Sent> = stream[start..end]
                .iter()
                .map(|id| Sent::Generated(oracle.planned[id].event.clone()))
                .collect();
            if rng.one_in(6) {
                if let Some(altered) = oracle.altered_copy(&mut rng, device_idx) {
                    batch.insert(rng.index(batch.len() + 1), altered);
                }
            }
            if rng.one_in(8) {
                // The same event twice in one batch: the second is a duplicate of the first.
                let again = batch[rng.index(batch.len())].clone();
                batch.insert(rng.index(batch.len() + 1), again);
            }
            if rng.one_in(3) {
                rng.shuffle(&mut batch);
            }
            batches.push((device_idx, batch));
        }
        oracle.push(batches).await;
        if rng.one_in(4) {
            oracle.resend(&mut rng).await;
        }
        let n_sent: usize = cursors.iter().sum();
        if checkpoints.next_if(|at| n_sent >= *at).is_some() {
            oracle
                .check_stock(&format!("after {n_sent} of {n_events} events"))
                .await;
        }
    }
    if oracle.n_duplicates == 0 {
        oracle.resend(&mut rng).await;
    }
    if oracle.n_altered == 0 {
        let (device_idx, altered) = (0..n_devices)
            .find_map(|device_idx| {
                let altered = oracle.altered_copy(&mut rng, device_idx)?;
                Some((device_idx, altered))
            })
            .expect("some event was applied");
        oracle.push(vec![(device_idx, vec![altered])]).await;
    }

    oracle.check_stock("at the end").await;
    oracle.check_pulls().await;

    // The story covered what it is for, so a passing run means something.
    let refused = |reason: &'static str| {
        oracle
            .answers
            .values()
            .filter(|answer| **answer == Answer::Rejected(reason))
            .count()
    };
    for reason in ["invalid_event", "clock_ahead", "server_only"] {
        assert!(refused(reason) > 0, "seed {seed}: the story has a {reason}");
    }
    assert!(
        oracle.n_duplicates > 0 && oracle.n_altered > 0,
        "seed {seed}: the story re-sends events, with the same payload and another"
    );
    assert!(
        !oracle.expected_lot_missing().is_empty(),
        "seed {seed}: the story has an applied event on the lot-tracked item without a lot"
    );
    eprintln!(
        "randomized: seed {seed}: {n_devices} devices, {n_events} events, {} applied, {} \
         duplicates, {} refused, {} re-sent with another payload",
        oracle.accepted.len(),
        oracle.n_duplicates,
        oracle.answers.len() - oracle.accepted.len(),
        oracle.n_altered
    );
}
