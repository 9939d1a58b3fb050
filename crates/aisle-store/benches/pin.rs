//! Benchmark: how long one PIN check (an argon2id verify) takes for a few cost settings,
//! so the production cost in `aisle_store::pin::PinCost::PRODUCTION` can be chosen to be
//! about 250 ms on a warehouse PC: slow for someone guessing PINs from a stolen file, still
//! quick enough for a person signing in.
//!
//! Run it with `cargo bench -p aisle-store --bench pin`. It prints the median of a few
//! verifies per setting and never fails on timing. `AISLE_BENCH_PIN_ROUNDS` sets how many
//! verifies are timed per setting (default 5).

use aisle_store::pin::{PinCost, PinHash};
use std::time::Instant;

fn main() {
    let rounds: usize = std::env::var("AISLE_BENCH_PIN_ROUNDS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(5)
        .max(1);
    let candidates = [
        PinCost::new(19_456, 2, 1),
        PinCost::new(65_536, 2, 1),
        PinCost::new(65_536, 3, 1),
        PinCost::new(131_072, 2, 1),
        PinCost::new(131_072, 3, 1),
        PinCost::new(196_608, 2, 1),
        PinCost::new(262_144, 2, 1),
    ];
    // A verify is memory-bound: a neighbour compiling on the same cores can double the
    // figures, so run this on a quiet machine and read the load average printed with it.
    println!("argon2id verify of a 6-digit PIN, median of {rounds} rounds");
    for cost in candidates {
        let hash = PinHash::with_cost("482913", cost).expect("hash");
        let mut times_ms: Vec<f64> = (0..rounds)
            .map(|_| {
                let started = Instant::now();
                assert!(hash.verify("482913"), "the right PIN must verify");
                started.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        times_ms.sort_by(f64::total_cmp);
        let median_ms = times_ms[times_ms.len() / 2];
        let marker = if cost == PinCost::PRODUCTION {
            "  <- production"
        } else {
            ""
        };
        println!(
            "m={:>7} KiB t={} p={}: {median_ms:>7.1} ms per verify{marker}",
            cost.memory_kib, cost.iterations, cost.parallelism
        );
    }
}
