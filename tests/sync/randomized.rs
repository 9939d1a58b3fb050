//! Randomized: 3-5 devices, random offline schedules and random events, then a full sync.
//! Every device's projection equals the server's and equals a rebuild from its own log.
//!
//! `AISLE_SYNC_SEEDS` sets how many seeds run (default 20); `AISLE_SYNC_SEED` runs one.

use crate::support::{fast_config, key, Device, World};
use aisle_core::event::CountDecision;
use aisle_core::stock::StockKey;
use aisle_core::testkit::{adjusted, claimed, counted, moved, pick_list, picked, received};

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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_offline_schedules_converge() {
    let seeds: Vec<u64> = match std::env::var("AISLE_SYNC_SEED") {
        Ok(seed) => vec![seed.parse().expect("AISLE_SYNC_SEED is a number")],
        Err(_) => {
            let n: u64 = std::env::var("AISLE_SYNC_SEEDS")
                .ok()
                .and_then(|n| n.parse().ok())
                .unwrap_or(20);
            (1..=n).collect()
        }
    };
    for seed in seeds {
        run_seed(seed).await;
    }
}

async fn run_seed(seed: u64) {
    let mut rng = Rng(seed);
    let world = World::start().await;
    let n_devices = 3 + rng.below(3) as usize;
    let mut devices: Vec<Device> = Vec::new();
    for device_idx in 0..n_devices {
        devices.push(
            world
                .device(&format!("d{device_idx}"), None, fast_config())
                .await,
        );
    }
    let keys: Vec<StockKey> = (1..=3)
        .flat_map(|location| (1..=2).map(move |item| (location, item)))
        .map(|(l, i)| key(&world, l, i))
        .collect();
    let mut online = vec![true; n_devices];
    let n_steps = 30 + rng.below(30);
    for _ in 0..n_steps {
        let device_idx = rng.below(n_devices as u64) as usize;
        if rng.below(5) == 0 {
            online[device_idx] = !online[device_idx];
        }
        let device = &mut devices[device_idx];
        let bin = keys[rng.below(keys.len() as u64) as usize].clone();
        let body = match rng.below(7) {
            0 | 1 => received(&bin, 1 + rng.below(5) as i64),
            2 => picked(&bin, 1 + rng.below(3) as i64),
            3 => moved(&bin, 1 + rng.below(4) as u16 + 3, 1 + rng.below(2) as i64),
            4 => adjusted(&bin, if rng.below(2) == 0 { -1 } else { 2 }),
            5 => {
                let system = device.on_hand(&bin);
                let found = (system + rng.below(3) as i64 - 1).max(0);
                let decision = if found == system {
                    CountDecision::SelfApproved
                } else {
                    CountDecision::NeedsReview
                };
                counted(&bin, found, system, decision)
            }
            _ => claimed(pick_list(1 + rng.below(2) as u16)),
        };
        device.record(body);
        if online[device_idx] && rng.below(3) == 0 {
            device
                .engine()
                .sync_now()
                .await
                .unwrap_or_else(|error| panic!("seed {seed}: an online sync failed: {error}"));
        }
    }
    // Everyone reconnects: one round each pushes, a second round pulls what others pushed.
    for _ in 0..2 {
        for device in devices.iter_mut() {
            device
                .engine()
                .sync_now()
                .await
                .unwrap_or_else(|error| panic!("seed {seed}: final sync: {error}"));
        }
    }
    let server = world.server_view(&devices[0]).await;
    let first = devices[0].view();
    let n_events = world.server_events(&devices[0]).await.len() as u64;
    for (device_idx, device) in devices.iter_mut().enumerate() {
        let view = device.view();
        assert_eq!(
            view.without_tasks(),
            server,
            "seed {seed}: device {device_idx} equals the server"
        );
        assert_eq!(
            view, first,
            "seed {seed}: device {device_idx} equals device 0, tasks included"
        );
        assert_eq!(
            device.recorder.event_count().expect("count"),
            n_events,
            "seed {seed}: device {device_idx} has every event"
        );
        let report = device.recorder.rebuild_projection().expect("rebuild");
        assert!(
            report.differences.is_empty(),
            "seed {seed}: device {device_idx} equals a rebuild from its log: {:?}",
            report.differences
        );
        assert_eq!(
            device.view(),
            view,
            "seed {seed}: the rebuild changed nothing"
        );
        let mismatches = device.engine().status().borrow().checksum_mismatches;
        assert_eq!(
            mismatches, 0,
            "seed {seed}: device {device_idx} agreed with every pulled checksum"
        );
    }
}
