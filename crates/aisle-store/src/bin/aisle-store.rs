//! `aisle-store`: maintenance commands for a device store file.
//!
//! - `aisle-store doctor DB` rebuilds the projection from the event log and reports any
//!   difference from the incremental one (exit code 1 if there was one).
//! - `aisle-store stream DB COUNT` records COUNT synthetic scan events one transaction at a
//!   time into a demo profile, printing `ack N` after each commit. The crash-safety test
//!   kills it with SIGKILL mid-stream; it is also a quick way to fill a store for a demo.
//!
//! The file is encrypted; both commands take its key, 64 hex digits, from the environment
//! variable `AISLE_STORE_KEY` (the desktop keeps it in the OS keyring, entry
//! `<profile>.store-key` of service `aisle`; on Linux `secret-tool lookup service aisle
//! username <profile>.store-key` prints it). It is never taken as an argument, which other
//! users of the PC could read.

use aisle_core::testkit::{key, picked, received, tenant, warehouse, Events};
use aisle_store::{Profile, Store, StoreKey};
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

const USAGE: &str = "usage:
  aisle-store doctor DB            rebuild the projection and compare it with the incremental one
  aisle-store stream DB COUNT      record COUNT demo scan events, printing `ack N` after each commit

The store key (64 hex digits) is read from AISLE_STORE_KEY.

example:
  AISLE_STORE_KEY=$(secret-tool lookup service aisle username <profile>.store-key) \
    aisle-store doctor ~/.local/share/aisle/stores/<tenant>-<warehouse>.sqlite3";

/// The store key from `AISLE_STORE_KEY`.
fn key_from_env() -> Result<StoreKey, String> {
    let text = std::env::var("AISLE_STORE_KEY")
        .map_err(|_| "set AISLE_STORE_KEY to the store's key (64 hex digits)".to_owned())?;
    StoreKey::from_hex(&text).map_err(|error| error.to_string())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["doctor", db] => doctor(Path::new(db)),
        ["stream", db, count] => match count.parse::<u64>() {
            Ok(count) => stream(Path::new(db), count),
            Err(_) => Err(format!("COUNT must be a whole number, got {count:?}")),
        },
        ["--help"] | ["-h"] | ["help"] => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => Err(format!("unknown command\n{USAGE}")),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("aisle-store: {message}");
            ExitCode::from(2)
        }
    }
}

fn doctor(db: &Path) -> Result<ExitCode, String> {
    let mut store =
        Store::open_existing(db, &key_from_env()?).map_err(|error| error.to_string())?;
    let report = store
        .rebuild_projection()
        .map_err(|error| error.to_string())?;
    println!("events in log: {}", report.n_events);
    if report.differences.is_empty() {
        println!("projection: healthy (the rebuild equals the incremental projection)");
        Ok(ExitCode::SUCCESS)
    } else {
        println!(
            "projection: {} difference(s) found and repaired from the log:",
            report.differences.len()
        );
        for difference in &report.differences {
            println!("  {difference}");
        }
        Ok(ExitCode::from(1))
    }
}

fn stream(db: &Path, count: u64) -> Result<ExitCode, String> {
    let profile = Profile {
        tenant: tenant(),
        warehouse: warehouse(),
    };
    let mut store =
        Store::open(db, profile, &key_from_env()?).map_err(|error| error.to_string())?;
    // Continue the hlc after what is already there, so restarts append rather than collide.
    let start = store.event_count().map_err(|error| error.to_string())?;
    let mut events = Events::default();
    let mut stdout = std::io::stdout().lock();
    for n in start..start + count {
        let bin = key((n % 50) as u16 + 1, (n % 7) as u16 + 1, None);
        let body = if n % 3 == 2 {
            picked(&bin, 1)
        } else {
            received(&bin, 2)
        };
        let event = events.make_numbered(1, 1_700_000_000_000 + n, n, body);
        store.record(&event).map_err(|error| error.to_string())?;
        // The ack goes out only after the commit returned: that is the durability promise.
        writeln!(stdout, "ack {n}")
            .and_then(|()| stdout.flush())
            .map_err(|error| error.to_string())?;
    }
    Ok(ExitCode::SUCCESS)
}
