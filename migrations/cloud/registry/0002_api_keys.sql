-- Aisle server registry, schema 2: API keys for ERP integrations.
-- A key belongs to one tenant and carries scopes (space-separated, e.g.
-- 'master:write stock:read'). The key itself (256 random bits) is shown once by the admin
-- CLI; only its SHA-256 is stored. A revoked key stays, so its later use can be told apart
-- from an unknown key and audited.

CREATE TABLE api_keys (
    id         BLOB PRIMARY KEY CHECK (length(id) = 16),
    tenant     BLOB NOT NULL REFERENCES tenants (id),
    name       TEXT NOT NULL,
    key_sha256 BLOB NOT NULL UNIQUE CHECK (length(key_sha256) = 32),
    scopes     TEXT NOT NULL CHECK (scopes <> ''),
    created_ms INTEGER NOT NULL,
    revoked_ms INTEGER
) STRICT;
CREATE INDEX api_keys_by_tenant ON api_keys (tenant, created_ms);
