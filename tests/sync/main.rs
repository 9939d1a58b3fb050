//! End-to-end sync: real `aisle-server` on port 0, real SQLite device files, the real OS
//! keyring (Secret Service under `dbus-run-session` in CI), and `aisle-sync`'s engine.

mod cancel;
mod checksum_repair;
mod connection;
mod enrollment;
mod faults;
mod live;
mod lost_ack;
mod mixed_versions;
mod offline;
mod randomized;
mod receipts;
mod resolutions;
mod support;
