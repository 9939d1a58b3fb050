-- Aisle server registry, schema 1.
-- One registry per server: who the tenants are, their warehouses and devices, enrollment
-- codes, each tenant database's schema state, and the security audit log. No tenant's
-- stock or events live here; those are in the tenant's own database file.
-- Ids are 16-byte UUID blobs. Secrets (device tokens, enrollment codes) are stored only as
-- their SHA-256 digests.

CREATE TABLE tenants (
    id               BLOB PRIMARY KEY CHECK (length(id) = 16),
    name             TEXT NOT NULL UNIQUE,
    created_ms       INTEGER NOT NULL,
    -- The schema version of the tenant's database, as of its last successful migration.
    schema_version   INTEGER NOT NULL DEFAULT 0,
    -- Set when the tenant's migration failed: the tenant is refused until an operator clears it.
    failed_migration TEXT
) STRICT;

CREATE TABLE warehouses (
    id         BLOB PRIMARY KEY CHECK (length(id) = 16),
    tenant     BLOB NOT NULL REFERENCES tenants (id),
    name       TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    UNIQUE (tenant, name),
    UNIQUE (tenant, id)
) STRICT;

-- A device belongs to exactly one warehouse of one tenant; the composite key makes a device
-- of a warehouse in another tenant unrepresentable.
CREATE TABLE devices (
    id           BLOB PRIMARY KEY CHECK (length(id) = 16),
    tenant       BLOB NOT NULL,
    warehouse    BLOB NOT NULL,
    name         TEXT NOT NULL,
    token_sha256 BLOB NOT NULL UNIQUE CHECK (length(token_sha256) = 32),
    enrolled_ms  INTEGER NOT NULL,
    revoked_ms   INTEGER,
    FOREIGN KEY (tenant, warehouse) REFERENCES warehouses (tenant, id)
) STRICT;
CREATE INDEX devices_by_tenant ON devices (tenant, warehouse);

-- One-time enrollment codes made by the admin CLI.
CREATE TABLE enrollment_codes (
    code_sha256 BLOB PRIMARY KEY CHECK (length(code_sha256) = 32),
    tenant      BLOB NOT NULL,
    warehouse   BLOB NOT NULL,
    created_ms  INTEGER NOT NULL,
    expires_ms  INTEGER NOT NULL,
    used_ms     INTEGER,
    used_by     BLOB REFERENCES devices (id),
    FOREIGN KEY (tenant, warehouse) REFERENCES warehouses (tenant, id)
) STRICT;

-- Requests refused for crossing a tenant, warehouse or device boundary, and replays of
-- revoked tokens. Never holds a token.
CREATE TABLE security_audit (
    id        INTEGER PRIMARY KEY,
    at_ms     INTEGER NOT NULL,
    tenant    BLOB,
    warehouse BLOB,
    device    BLOB,
    reason    TEXT NOT NULL,
    detail    TEXT NOT NULL
) STRICT;
CREATE INDEX security_audit_by_device ON security_audit (device, at_ms);
CREATE TRIGGER security_audit_is_append_only_update BEFORE UPDATE ON security_audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER security_audit_is_append_only_delete BEFORE DELETE ON security_audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
