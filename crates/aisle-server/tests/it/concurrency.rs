//! The failure in the seed stories: many tenants and devices pushing and pulling at once
//! while a low pool cap keeps evicting and reopening tenant databases. Afterwards every
//! tenant's database holds exactly its own events, no more and no fewer.

use crate::support::{receipts, result_statuses, stored_events, Device, World};
use std::collections::BTreeSet;

const N_TENANTS: u64 = 20;
const N_DEVICES: u64 = 5;
const N_ROUNDS: u64 = 3;
const BATCH: u64 = 10;

/// Serials that no other tenant or device uses, so a leaked event is recognisable.
fn first_serial(tenant_idx: u64, device_idx: u64, round: u64) -> u64 {
    ((tenant_idx * 100 + device_idx) * 100 + round) * 1_000
}

async fn drive(world: &World, tenant_idx: u64, device_idx: u64, device: Device) {
    for round in 0..N_ROUNDS {
        let batch = receipts(&device, first_serial(tenant_idx, device_idx, round), BATCH);
        let (status, body) = world.push(&device, &batch).await;
        assert_eq!(
            status, 200,
            "tenant {tenant_idx} device {device_idx}: {body}"
        );
        assert_eq!(result_statuses(&body), vec!["applied"; BATCH as usize]);
        for (_, event) in world.pull_all(&device).await {
            assert_eq!(
                event.tenant, device.tenant,
                "a pull of tenant {tenant_idx} returned another tenant's event"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_tenants_times_five_devices_with_a_pool_cap_of_four() {
    let world = World::start(4).await;
    let mut devices = Vec::new();
    for tenant_idx in 0..N_TENANTS {
        let (tenant, warehouse) = world.tenant(&format!("tenant-{tenant_idx}"));
        for device_idx in 0..N_DEVICES {
            let device = world
                .enroll(tenant, warehouse, &format!("pc-{device_idx}"))
                .await;
            devices.push((tenant_idx, device_idx, device));
        }
    }
    let drivers = devices.iter().map(|(tenant_idx, device_idx, device)| {
        drive(&world, *tenant_idx, *device_idx, device.clone())
    });
    futures_join_all(drivers).await;

    for tenant_idx in 0..N_TENANTS {
        let tenant_devices: Vec<&(u64, u64, Device)> = devices
            .iter()
            .filter(|(idx, _, _)| *idx == tenant_idx)
            .collect();
        let tenant = tenant_devices[0].2.tenant;
        let expected: BTreeSet<String> = tenant_devices
            .iter()
            .flat_map(|(_, device_idx, device)| {
                (0..N_ROUNDS).flat_map(move |round| {
                    receipts(device, first_serial(tenant_idx, *device_idx, round), BATCH)
                })
            })
            .map(|event| serde_json::to_string(&event).expect("json"))
            .collect();
        let stored = stored_events(world.dir.path(), tenant);
        let found: BTreeSet<String> = stored
            .iter()
            .map(|event| serde_json::to_string(event).expect("json"))
            .collect();
        assert_eq!(
            stored.len(),
            found.len(),
            "tenant {tenant_idx} has no duplicate rows"
        );
        assert_eq!(
            found,
            expected,
            "tenant {tenant_idx} holds exactly its own {} events",
            expected.len()
        );
    }
}

/// Runs futures concurrently on this task (no extra dependency for `join_all`).
async fn futures_join_all<F: std::future::Future<Output = ()>>(futures: impl Iterator<Item = F>) {
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = futures.map(Box::pin).collect();
    std::future::poll_fn(|cx| {
        pinned.retain_mut(|future| future.as_mut().poll(cx).is_pending());
        if pinned.is_empty() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
}
