//! aisle-server's integration tests: the real server on 127.0.0.1 port 0, over real SQLite
//! files in temporary directories, driven with reqwest. One module per concern.

mod audit;
mod backup;
mod bad_input;
#[cfg(feature = "postgres")]
mod cli_backends;
mod cli_import;
mod concurrency;
mod durability;
mod edges;
mod erp;
mod erp_feed;
mod floor_truth;
mod idempotency;
#[cfg(feature = "postgres")]
mod instances;
mod isolation;
mod limits;
mod live;
#[cfg(feature = "postgres")]
mod live_instances;
mod master;
#[cfg(feature = "postgres")]
mod master_backends;
mod mixed_versions;
mod observability;
mod old_tenants;
#[cfg(feature = "postgres")]
mod pg_cli;
#[cfg(feature = "postgres")]
mod pg_registry;
mod pins;
#[cfg(feature = "postgres")]
mod primary_down;
mod randomized;
#[cfg(feature = "postgres")]
mod registry_backends;
#[cfg(feature = "postgres")]
mod replica_reads;
mod resolutions;
mod service;
mod stock;
mod support;
#[cfg(feature = "postgres")]
mod tenant_move;
mod tenants;
mod touching;
mod updater_keys;
mod updates;
mod webhook_crash;
mod webhook_delivery;
mod webhooks_api;
mod webhooks_cli;
