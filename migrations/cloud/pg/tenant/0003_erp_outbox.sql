-- Aisle tenant database on PostgreSQL: the ERP outbox, as the SQLite tenant schema 8
-- (migrations/cloud/tenant/0008_erp_outbox.sql). `position` is numbered by the push from
-- MAX(position) + 1 under the push lock, as `events.seq` is, so positions commit in order
-- on any number of server instances, and a restored or moved copy keeps numbering after
-- its own rows.

CREATE TABLE IF NOT EXISTS erp_outbox (
    position    bigint PRIMARY KEY,
    id          uuid NOT NULL UNIQUE,
    tenant      uuid NOT NULL,
    warehouse   uuid NOT NULL,
    type        text NOT NULL,
    version     bigint NOT NULL,
    occurred_ms bigint NOT NULL,
    cause_seq   bigint NOT NULL,
    body        text NOT NULL
);
