-- Aisle server registry on PostgreSQL, schema 1: today's final SQLite registry schema
-- (migrations/cloud/registry/0001..0004) in PostgreSQL's dialect, plus the clusters tenant
-- databases live on and each tenant's placement. There is no history to replay: a
-- PostgreSQL registry starts here. See crates/aisle-server/src/pg/registry.rs.
-- Ids are `uuid`; secrets (device tokens, enrollment codes, API keys) are stored only as
-- their SHA-256 digests; millisecond times are BIGINT.

CREATE TABLE tenants (
    id               uuid PRIMARY KEY,
    name             TEXT NOT NULL UNIQUE,
    created_ms       BIGINT NOT NULL,
    -- The schema version of the tenant's database, as of its last successful migration.
    schema_version   BIGINT NOT NULL DEFAULT 0,
    -- Set when the tenant's migration failed: the tenant is refused until an operator clears it.
    failed_migration TEXT
);

CREATE TABLE warehouses (
    id         uuid PRIMARY KEY,
    tenant     uuid NOT NULL REFERENCES tenants (id),
    name       TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    UNIQUE (tenant, name),
    UNIQUE (tenant, id)
);

-- A device belongs to exactly one warehouse of one tenant; the composite key makes a device
-- of a warehouse in another tenant unrepresentable.
CREATE TABLE devices (
    id           uuid PRIMARY KEY,
    tenant       uuid NOT NULL,
    warehouse    uuid NOT NULL,
    name         TEXT NOT NULL,
    token_sha256 BYTEA NOT NULL UNIQUE CHECK (length(token_sha256) = 32),
    enrolled_ms  BIGINT NOT NULL,
    revoked_ms   BIGINT,
    FOREIGN KEY (tenant, warehouse) REFERENCES warehouses (tenant, id)
);
CREATE INDEX devices_by_tenant ON devices (tenant, warehouse);

-- One-time enrollment codes made by the admin CLI. Spending one locks its row
-- (SELECT … FOR UPDATE), so two server instances given one code enrol one device.
CREATE TABLE enrollment_codes (
    code_sha256 BYTEA PRIMARY KEY CHECK (length(code_sha256) = 32),
    tenant      uuid NOT NULL,
    warehouse   uuid NOT NULL,
    created_ms  BIGINT NOT NULL,
    expires_ms  BIGINT NOT NULL,
    used_ms     BIGINT,
    used_by     uuid REFERENCES devices (id),
    FOREIGN KEY (tenant, warehouse) REFERENCES warehouses (tenant, id)
);

-- API keys for ERP integrations: one tenant each, scopes space-separated
-- ('master:write stock:read'); only the key's SHA-256 is stored.
CREATE TABLE api_keys (
    id         uuid PRIMARY KEY,
    tenant     uuid NOT NULL REFERENCES tenants (id),
    name       TEXT NOT NULL,
    key_sha256 BYTEA NOT NULL UNIQUE CHECK (length(key_sha256) = 32),
    scopes     TEXT NOT NULL CHECK (scopes <> ''),
    created_ms BIGINT NOT NULL,
    revoked_ms BIGINT
);
CREATE INDEX api_keys_by_tenant ON api_keys (tenant, created_ms);

-- The security audit log: bounded, coalesced per (source, reason, minute), capped and
-- hash-chained, exactly as the SQLite registry's (migrations/cloud/registry/0003). Writers
-- serialise on a transaction-level advisory lock, so instances sharing the registry extend
-- one chain.
CREATE TABLE security_audit (
    id            BIGINT PRIMARY KEY,
    source        TEXT NOT NULL CHECK (char_length(source) <= 64),
    reason        TEXT NOT NULL CHECK (char_length(reason) <= 64),
    minute        BIGINT NOT NULL,
    first_seen_ms BIGINT NOT NULL,
    last_seen_ms  BIGINT NOT NULL,
    count         BIGINT NOT NULL CHECK (count >= 1),
    tenant        uuid,
    warehouse     uuid,
    device        uuid,
    detail        TEXT NOT NULL CHECK (char_length(detail) <= 256),
    detail_sha256 BYTEA NOT NULL CHECK (length(detail_sha256) = 32),
    prev_hash     BYTEA NOT NULL CHECK (length(prev_hash) = 32),
    row_hash      BYTEA NOT NULL CHECK (length(row_hash) = 32),
    UNIQUE (source, reason, minute)
);
CREATE INDEX security_audit_by_device ON security_audit (device, first_seen_ms);
CREATE INDEX security_audit_by_last_seen ON security_audit (last_seen_ms);

CREATE TABLE security_audit_chain (
    only_row    INTEGER PRIMARY KEY CHECK (only_row = 1),
    anchor_id   BIGINT NOT NULL,
    anchor_hash BYTEA NOT NULL CHECK (length(anchor_hash) = 32),
    head_id     BIGINT NOT NULL,
    head_hash   BYTEA NOT NULL CHECK (length(head_hash) = 32),
    CHECK (head_id >= anchor_id)
);
INSERT INTO security_audit_chain (only_row, anchor_id, anchor_hash, head_id, head_hash)
VALUES (1, 0, decode(repeat('00', 32), 'hex'), 0, decode(repeat('00', 32), 'hex'));

-- Per-tenant quotas; a missing row or a NULL column is the server's default.
CREATE TABLE tenant_quotas (
    tenant       uuid PRIMARY KEY REFERENCES tenants (id),
    push_per_sec BIGINT CHECK (push_per_sec IS NULL OR push_per_sec > 0),
    max_bytes    BIGINT CHECK (max_bytes IS NULL OR max_bytes > 0),
    updated_ms   BIGINT NOT NULL
);

-- The PostgreSQL clusters tenant databases are placed on. `url` (and `replica_url`) name the
-- cluster without a database and may carry a password: the server never logs them, and
-- `cluster list` masks the password.
CREATE TABLE clusters (
    name        TEXT PRIMARY KEY CHECK (name <> ''),
    url         TEXT NOT NULL,
    replica_url TEXT,
    created_ms  BIGINT NOT NULL
);

-- Where each tenant's database lives: one row per tenant, written only after its database
-- was created. `state` is 'active' (a tenant move adds its own states).
CREATE TABLE placements (
    tenant   uuid PRIMARY KEY REFERENCES tenants (id),
    cluster  TEXT NOT NULL REFERENCES clusters (name),
    database TEXT NOT NULL,
    state    TEXT NOT NULL DEFAULT 'active',
    UNIQUE (cluster, database)
);
CREATE INDEX placements_by_cluster ON placements (cluster);
