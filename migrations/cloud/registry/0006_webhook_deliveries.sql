-- Aisle server registry, schema 6: where each webhook endpoint stands in its tenant's ERP
-- feed, and its delivery log. `delivered_position` is the feed position of the last message
-- the endpoint has taken (or that was dead-lettered or skipped for its types); `attempt`
-- counts the failed attempts at the next one, due at `next_attempt_ms`. One log row per
-- attempt: what `webhook deliveries` lists and `webhook replay` starts again from.

ALTER TABLE webhook_endpoints ADD COLUMN delivered_position INTEGER NOT NULL DEFAULT 0;
ALTER TABLE webhook_endpoints ADD COLUMN attempt INTEGER NOT NULL DEFAULT 0;
ALTER TABLE webhook_endpoints ADD COLUMN next_attempt_ms INTEGER NOT NULL DEFAULT 0;

CREATE TABLE webhook_deliveries (
    endpoint   BLOB NOT NULL REFERENCES webhook_endpoints (id),
    position   INTEGER NOT NULL,
    message_id BLOB NOT NULL CHECK (length(message_id) = 16),
    attempt    INTEGER NOT NULL,
    at_ms      INTEGER NOT NULL,
    outcome    TEXT NOT NULL CHECK (outcome IN ('delivered', 'retry', 'dead', 'disabled')),
    status     INTEGER,
    error      TEXT,
    PRIMARY KEY (endpoint, position, attempt)
) STRICT;
CREATE INDEX webhook_deliveries_by_time ON webhook_deliveries (endpoint, at_ms);
