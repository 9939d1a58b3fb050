-- Aisle server registry on PostgreSQL, schema 3: ERP webhook endpoints, as the SQLite
-- registry's schema 5 (migrations/cloud/registry/0005_webhooks.sql).

CREATE TABLE IF NOT EXISTS webhook_endpoints (
    id                uuid PRIMARY KEY,
    tenant            uuid NOT NULL REFERENCES tenants (id),
    url               text NOT NULL CHECK (url <> ''),
    event_types       text NOT NULL DEFAULT '',
    secret            text NOT NULL CHECK (secret LIKE 'whsec_%'),
    previous_secret   text,
    previous_until_ms bigint,
    enabled           boolean NOT NULL DEFAULT true,
    disabled_reason   text,
    created_ms        bigint NOT NULL,
    updated_ms        bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS webhook_endpoints_by_tenant ON webhook_endpoints (tenant, created_ms);
