-- Aisle server registry on PostgreSQL, schema 4: webhook delivery state and log, as the
-- SQLite registry's schema 6 (migrations/cloud/registry/0006_webhook_deliveries.sql).

ALTER TABLE webhook_endpoints ADD COLUMN IF NOT EXISTS delivered_position bigint NOT NULL DEFAULT 0;
ALTER TABLE webhook_endpoints ADD COLUMN IF NOT EXISTS attempt bigint NOT NULL DEFAULT 0;
ALTER TABLE webhook_endpoints ADD COLUMN IF NOT EXISTS next_attempt_ms bigint NOT NULL DEFAULT 0;

CREATE TABLE IF NOT EXISTS webhook_deliveries (
    endpoint   uuid NOT NULL REFERENCES webhook_endpoints (id),
    position   bigint NOT NULL,
    message_id uuid NOT NULL,
    attempt    bigint NOT NULL,
    at_ms      bigint NOT NULL,
    outcome    text NOT NULL CHECK (outcome IN ('delivered', 'retry', 'dead', 'disabled')),
    status     bigint,
    error      text,
    PRIMARY KEY (endpoint, position, attempt)
);
CREATE INDEX IF NOT EXISTS webhook_deliveries_by_time ON webhook_deliveries (endpoint, at_ms);
