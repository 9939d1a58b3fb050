-- Aisle server registry on PostgreSQL, schema 5: webhook endpoint leases, as the SQLite
-- registry's schema 7 (migrations/cloud/registry/0007_webhook_leases.sql).

ALTER TABLE webhook_endpoints ADD COLUMN IF NOT EXISTS lease_holder text;
ALTER TABLE webhook_endpoints ADD COLUMN IF NOT EXISTS lease_until_ms bigint NOT NULL DEFAULT 0;
