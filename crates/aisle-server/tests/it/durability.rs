//! The real `aisle-server serve` process is killed with SIGKILL in the middle of ingest and
//! restarted: no batch is half there, and no acknowledged event is lost.

use crate::support::{post_json, pull_all_from, push_to, receipts, result_seqs, Device};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

const BATCH: u64 = 200;

fn admin(data_dir: &Path, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_aisle-server"))
        .arg("--data")
        .arg(data_dir)
        .args(args)
        .output()
        .expect("run aisle-server");
    assert!(
        output.status.success(),
        "aisle-server {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}

/// Starts `serve` on port 0 and returns the child and the base URL it printed.
fn serve(data_dir: &Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_aisle-server"))
        .arg("serve")
        .arg("--data")
        .arg(data_dir)
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn aisle-server serve");
    let addr = crate::support::listening_addr(&mut child);
    (child, format!("http://{addr}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_ingest_loses_no_acknowledged_event_and_leaves_no_partial_batch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data_dir = dir.path();
    admin(data_dir, &["tenant", "add", "acme"]);
    admin(data_dir, &["warehouse", "add", "acme", "main"]);
    let code = admin(data_dir, &["enroll-code", "acme", "main"]);

    let (child, base) = serve(data_dir);
    let http = reqwest::Client::new();
    let (status, body) = post_json(
        &http,
        &format!("{base}/v1/enroll"),
        None,
        &serde_json::json!({ "code": code, "device_name": "pc" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let id = |field: &str| body[field].as_str().expect(field).parse().expect(field);
    let device = Device {
        tenant: aisle_core::ids::TenantId::from_uuid(id("tenant")),
        warehouse: aisle_core::ids::WarehouseId::from_uuid(id("warehouse")),
        device: aisle_core::ids::DeviceId::from_uuid(id("device")),
        token: body["token"].as_str().expect("token").to_owned(),
    };

    let mut server = Some(ServerGuard(child));
    let mut base = base;
    let mut n_sent = 0u64;
    let mut acked: BTreeMap<u64, Vec<Option<u64>>> = BTreeMap::new();
    for round in 0..N_KILLS {
        let mut guard = server.take().expect("a server runs");
        n_sent = ingest_until_killed(&base, &device, n_sent, &mut acked, &mut guard.0).await;
        drop(guard);
        let (child, restarted_base) = serve(data_dir);
        server = Some(ServerGuard(child));
        base = restarted_base;
        let stored: BTreeMap<String, u64> = pull_all_from(&http, &base, &device)
            .await
            .into_iter()
            .map(|(seq, event)| (event.id.to_string(), seq))
            .collect();
        for batch_idx in 0..n_sent {
            let batch = receipts(&device, batch_idx * BATCH, BATCH);
            let present = batch
                .iter()
                .filter(|event| stored.contains_key(&event.id.to_string()))
                .count() as u64;
            assert!(
                present == 0 || present == BATCH,
                "round {round}: batch {batch_idx} is all there or not at all, found {present} of {BATCH}"
            );
            if let Some(seqs) = acked.get(&batch_idx) {
                assert_eq!(
                    present, BATCH,
                    "round {round}: acknowledged batch {batch_idx} survived"
                );
                let stored_seqs: Vec<Option<u64>> = batch
                    .iter()
                    .map(|event| stored.get(&event.id.to_string()).copied())
                    .collect();
                assert_eq!(
                    &stored_seqs, seqs,
                    "round {round}: batch {batch_idx} kept its seqs"
                );
            }
        }
    }
    // The restarted server still ingests.
    let (status, body) = push_to(
        &http,
        &base,
        &device,
        device.tenant,
        &receipts(&device, 1 << 40, 1),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

/// How many times the server is killed and restarted.
const N_KILLS: u64 = 3;

/// Connections pushing at once, so a kill lands while some batch is being ingested.
const N_PUSHERS: usize = 4;

/// Kills the server when dropped, so a failing assertion leaves no process behind.
struct ServerGuard(Child);

impl Drop for ServerGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Pushes batches from [`N_PUSHERS`] connections at once, numbering them from
/// `first_batch_idx`, SIGKILLs the server once five more have been acknowledged (so other
/// batches are in the middle of ingest), and returns how many batches have been sent in
/// all. Every acknowledged batch's seqs are added to `acked`.
async fn ingest_until_killed(
    base: &str,
    device: &Device,
    first_batch_idx: u64,
    acked: &mut BTreeMap<u64, Vec<Option<u64>>>,
    server: &mut Child,
) -> u64 {
    let (acked_sender, mut acked_receiver) = tokio::sync::mpsc::unbounded_channel();
    let next_batch_idx = Arc::new(AtomicU64::new(first_batch_idx));
    let pushers: Vec<_> = (0..N_PUSHERS)
        .map(|_| {
            // A client each, so each pusher has its own connection.
            let http = reqwest::Client::new();
            let (base, device) = (base.to_owned(), device.clone());
            let (acked_sender, next_batch_idx) =
                (acked_sender.clone(), Arc::clone(&next_batch_idx));
            tokio::spawn(async move {
                loop {
                    let batch_idx = next_batch_idx.fetch_add(1, Ordering::SeqCst);
                    let batch = receipts(&device, batch_idx * BATCH, BATCH);
                    let response = http
                        .post(format!("{base}/v1/t/{}/events", device.tenant))
                        .bearer_auth(&device.token)
                        .json(&serde_json::json!({ "events": batch }))
                        .send()
                        .await;
                    let Ok(response) = response else { return };
                    let Ok(body) = response.json::<serde_json::Value>().await else {
                        return;
                    };
                    if acked_sender.send((batch_idx, result_seqs(&body))).is_err() {
                        return;
                    }
                }
            })
        })
        .collect();
    drop(acked_sender);
    let mut n_acked_now = 0;
    while n_acked_now < 5 {
        let (batch_idx, seqs) = acked_receiver
            .recv()
            .await
            .expect("the pushers ack batches");
        acked.insert(batch_idx, seqs);
        n_acked_now += 1;
    }
    server.kill().expect("SIGKILL");
    server.wait().expect("reaped");
    for pusher in pushers {
        pusher.await.expect("a pusher ends when the server is gone");
    }
    while let Ok((batch_idx, seqs)) = acked_receiver.try_recv() {
        acked.insert(batch_idx, seqs);
    }
    next_batch_idx.load(Ordering::SeqCst)
}
