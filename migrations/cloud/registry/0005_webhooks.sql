-- Aisle server registry, schema 5: ERP webhook endpoints (docs/protocol.md, "ERP
-- integration"). An endpoint belongs to one tenant, like an API key. `event_types` is
-- space-separated; empty means every type. The signing secret is kept (it signs every
-- delivery); during a rotation the previous one signs too until `previous_until_ms`.
-- A disabled endpoint keeps its place in the feed and its reason (a 410 from the receiver,
-- or the operator).

CREATE TABLE webhook_endpoints (
    id                BLOB PRIMARY KEY CHECK (length(id) = 16),
    tenant            BLOB NOT NULL REFERENCES tenants (id),
    url               TEXT NOT NULL CHECK (url <> ''),
    event_types       TEXT NOT NULL DEFAULT '',
    secret            TEXT NOT NULL CHECK (secret LIKE 'whsec_%'),
    previous_secret   TEXT,
    previous_until_ms INTEGER,
    enabled           INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    disabled_reason   TEXT,
    created_ms        INTEGER NOT NULL,
    updated_ms        INTEGER NOT NULL
) STRICT;
CREATE INDEX webhook_endpoints_by_tenant ON webhook_endpoints (tenant, created_ms);
