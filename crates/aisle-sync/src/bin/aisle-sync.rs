//! `aisle-sync`: a headless device for tests and demos.
//!
//! `aisle-sync stream DB PROFILE COUNT` opens the device store at DB (which must hold a
//! saved device profile, see `aisle_sync::DeviceProfile::save_to`), takes the profile's token
//! from the keyring, then records COUNT receipts one transaction at a time while the sync
//! engine pushes them in the background, printing `ack N` after each commit. It ends once
//! every event is acknowledged by the server. The crash test kills it with SIGKILL in the
//! middle and starts it again: nothing may be lost or doubled.
//!
//! `aisle-sync drain DB PROFILE` only syncs until the outbox is empty.
//!
//! `aisle-sync enroll --server URL --code CODE --profile NAME --db DB [--device-name NAME]
//! [--allow-http]` enrols a device headless, as `aisle enroll` does for the desktop: the
//! token and a new store key go to the keyring, the store at DB is created with the
//! profile saved in it. It exits non-zero with the server's reason on a used, expired or
//! unknown code.
//!
//! The token and the store key are read from the keyring service `aisle`, or
//! `$AISLE_KEYRING_SERVICE`.

use aisle_core::event::{EventBody, EventVersion};
use aisle_core::ids::{EventId, ItemId, LocationId, UserId};
use aisle_core::{Event, Hlc};
use aisle_store::Store;
use aisle_sync::{
    system_now_ms, DeviceClock, DeviceProfile, Engine, KeyringTokenStore, SyncConfig,
};
use anyhow::{bail, Context};
use std::io::Write;
use std::path::Path;
use std::time::Duration;

const USAGE: &str = "usage:
  aisle-sync enroll --server URL --code CODE --profile NAME --db DB [--device-name NAME] [--allow-http]
  aisle-sync stream DB PROFILE COUNT   record COUNT receipts while syncing; `ack N` after each commit
  aisle-sync drain DB PROFILE          sync until the outbox is empty";

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["stream", db, profile, count] => {
            let count: u64 = count.parse().context("COUNT must be a whole number")?;
            run(Path::new(db), profile, count).await
        }
        ["drain", db, profile] => run(Path::new(db), profile, 0).await,
        ["enroll", flags @ ..] => enroll(flags).await,
        _ => bail!("unknown command\n{USAGE}"),
    }
}

fn secrets() -> KeyringTokenStore {
    KeyringTokenStore::new(
        std::env::var("AISLE_KEYRING_SERVICE")
            .unwrap_or_else(|_| KeyringTokenStore::SERVICE.to_owned()),
    )
}

/// `enroll FLAGS`: see the module doc.
async fn enroll(flags: &[&str]) -> anyhow::Result<()> {
    let mut values = std::collections::HashMap::new();
    let mut allow_http = false;
    let mut flags = flags.iter();
    while let Some(flag) = flags.next() {
        match *flag {
            "--allow-http" => allow_http = true,
            "--server" | "--code" | "--profile" | "--db" | "--device-name" => {
                let value = flags
                    .next()
                    .with_context(|| format!("{flag} needs a value\n{USAGE}"))?;
                values.insert(*flag, *value);
            }
            other => bail!("unknown flag {other:?}\n{USAGE}"),
        }
    }
    let needed = |flag: &str| {
        values
            .get(flag)
            .copied()
            .with_context(|| format!("enroll needs {flag}\n{USAGE}"))
    };
    let (server, code, profile_name, db) = (
        needed("--server")?,
        needed("--code")?,
        needed("--profile")?,
        Path::new(needed("--db")?),
    );
    let device_name = values.get("--device-name").copied().unwrap_or(profile_name);
    anyhow::ensure!(
        !db.exists(),
        "{} exists already; enrolling creates a new store",
        db.display()
    );
    let secrets = secrets();
    let profile = aisle_sync::enroll(
        &aisle_sync::enroll::EnrollForm {
            server_url: server,
            code,
            device_name,
            profile_name,
            allow_insecure_http: allow_http,
        },
        &secrets,
        &SyncConfig::default(),
    )
    .await
    .context("enrollment failed")?;
    let key = aisle_sync::store_key::load_or_create(&secrets, &profile.name, db)?;
    let store =
        Store::open(db, profile.store_profile(), &key).context("create the device store")?;
    profile.save_to(&store)?;
    println!(
        "enrolled {} as device {} of tenant {} warehouse {}; store {}",
        profile.name,
        profile.device,
        profile.tenant,
        profile.warehouse,
        db.display()
    );
    Ok(())
}

async fn run(db: &Path, profile_name: &str, count: u64) -> anyhow::Result<()> {
    let secrets = secrets();
    let key = aisle_sync::store_key::load(&secrets, profile_name)?
        .with_context(|| format!("the keyring holds no store key for {profile_name:?}"))?;
    let store = Store::open_existing(db, &key).context("open the device store")?;
    let profile = DeviceProfile::load_from(&store)?
        .with_context(|| format!("{} holds no device profile", db.display()))?;
    anyhow::ensure!(
        profile.name == profile_name,
        "the store's profile is {:?}",
        profile.name
    );
    // The saved clock, or the log's latest hlc if later: the engine saves the clock once
    // per pull, so a kill mid-pull can leave applied events newer than the saved value.
    let saved_hlc = store
        .meta(DeviceClock::META_LAST_HLC)?
        .and_then(|packed| packed.parse().ok())
        .map_or(Hlc::default(), Hlc::from_packed);
    let last_hlc = saved_hlc.max(store.latest_hlc()?.unwrap_or_default());
    let config = SyncConfig {
        debounce: Duration::from_millis(20),
        interval: Duration::from_millis(500),
        backoff_base: Duration::from_millis(50),
        backoff_cap: Duration::from_millis(500),
        request_timeout: Duration::from_secs(5),
        pull_master: false,
        ..SyncConfig::default()
    };
    let clock = DeviceClock::new(last_hlc, config.clock_warn_threshold_ms).shared();
    // The recorder's own connection; the engine opens another.
    let mut recorder = Store::open(db, profile.store_profile(), &key)?;
    let engine = Engine::with_token_store(
        Store::open(db, profile.store_profile(), &key)?,
        &profile,
        &secrets,
        config,
        clock.clone(),
    )?;
    drop(store);
    let handle = engine.spawn();
    // Serials continue after what is recorded, so a restart appends rather than collides.
    let start = recorder.event_count()?;
    let mut stdout = std::io::stdout().lock();
    for serial in start..start + count {
        let stamp = clock.lock().expect("clock lock").stamp(system_now_ms());
        let event = receipt(&profile, serial, stamp.hlc, stamp.clock_correction_ms);
        recorder.record(&event)?;
        recorder.set_meta(
            DeviceClock::META_LAST_HLC,
            &stamp.hlc.to_packed().to_string(),
        )?;
        writeln!(stdout, "ack {serial}")?;
        stdout.flush()?;
        handle.local_event();
        // A scan every few milliseconds, so a kill lands in the middle of a sync.
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let mut status = handle.status();
    handle.sync_now();
    status
        .wait_for(|status| status.pending == 0 && recorder.pending_outbox_count().unwrap_or(1) == 0)
        .await
        .context("the engine stopped")?;
    writeln!(stdout, "done")?;
    handle.stop().await?;
    Ok(())
}

/// A receipt of one unit whose id is a function of the device and the serial alone.
fn receipt(profile: &DeviceProfile, serial: u64, hlc: Hlc, clock_correction_ms: i64) -> Event {
    let mut random = [0u8; 10];
    random[..8].copy_from_slice(&serial.to_be_bytes());
    random[8..].copy_from_slice(&profile.device.as_bytes()[14..]);
    let fixed = |n: u8| [n; 10];
    Event {
        v: EventVersion::CURRENT,
        id: EventId::new_v7(hlc.wall_ms, random),
        tenant: profile.tenant,
        warehouse: profile.warehouse,
        device: profile.device,
        user: UserId::new_v7(1, fixed(1)),
        hlc,
        clock_correction_ms,
        replaces: None,
        body: EventBody::Received {
            location: LocationId::new_v7(1, fixed(2)),
            item: ItemId::new_v7(1, fixed(3)),
            lot: None,
            expiry: None,
            qty: 1,
            receipt: None,
        },
    }
}
