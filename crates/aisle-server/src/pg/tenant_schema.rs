//! A tenant database's schema on PostgreSQL, migration by migration: the tenant's own files
//! (`migrations/cloud/pg/tenant/`) and the stock projection's (aisle-projection's
//! `migrations/projection/pg/`), each at the number it always has in a tenant database.
//! Migrations are only ever appended; `aisle_pg::migrate` records each database's in
//! `aisle_migrations`.
//!
//! PostgreSQL starts from the SQLite tenant schema's final state (there is no history to
//! replay), so numbers here do not match the SQLite list's.

use aisle_pg::Migration;

/// The tenant database's migrations, in order.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "tenant_events",
        sql: include_str!("../../../../migrations/cloud/pg/tenant/0001_events.sql"),
    },
    // The projection needs the `events` table of migration 1.
    Migration {
        version: 2,
        ..aisle_projection::pg::MIGRATIONS[0]
    },
    Migration {
        version: 3,
        name: "tenant_master_data",
        sql: include_str!("../../../../migrations/cloud/pg/tenant/0002_master_data.sql"),
    },
    Migration {
        version: 4,
        name: "tenant_erp_outbox",
        sql: include_str!("../../../../migrations/cloud/pg/tenant/0003_erp_outbox.sql"),
    },
    Migration {
        version: 5,
        name: "tenant_pick_line_shorts",
        sql: include_str!("../../../../migrations/cloud/pg/tenant/0004_pick_line_shorts.sql"),
    },
    Migration {
        version: 6,
        name: "tenant_erp_outbox_rederived",
        sql: include_str!("../../../../migrations/cloud/pg/tenant/0005_erp_outbox_rederived.sql"),
    },
    Migration {
        version: 7,
        name: "tenant_put_back_by_list",
        sql: include_str!("../../../../migrations/cloud/pg/tenant/0006_put_back.sql"),
    },
    Migration {
        version: 8,
        name: "tenant_expected_receipts",
        sql: include_str!("../../../../migrations/cloud/pg/tenant/0007_expected_receipts.sql"),
    },
    Migration {
        version: 9,
        name: "tenant_lighter_event_indexes",
        sql: include_str!("../../../../migrations/cloud/pg/tenant/0008_lighter_event_indexes.sql"),
    },
    Migration {
        version: 10,
        name: "tenant_projection_marker",
        sql: include_str!("../../../../migrations/cloud/pg/tenant/0009_projection_marker.sql"),
    },
    Migration {
        version: 11,
        ..aisle_projection::pg::MIGRATIONS[1]
    },
];

/// The schema version this build brings a tenant database to.
pub const TENANT_SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_from_one_without_gaps() {
        let versions: Vec<u32> = MIGRATIONS
            .iter()
            .map(|migration| migration.version)
            .collect();
        let expected: Vec<u32> = (1..=MIGRATIONS.len() as u32).collect();
        assert_eq!(versions, expected, "aisle_pg::migrate needs 1, 2, 3, …");
    }
}
