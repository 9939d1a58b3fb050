-- Aisle tenant database, schema 8: the ERP outbox (docs/protocol.md, "ERP integration").
-- Business messages derived from the floor's events, written in the push's own
-- transaction, with the tenant on every row. `position` orders the feed (one writer per
-- file, so rowid order is commit order); `id` is derived from the message's cause, so a
-- message derived twice is kept once. `body` is the message's JSON, as the feed and the
-- webhooks send it. Rows are never updated or deleted.

CREATE TABLE erp_outbox (
    position    INTEGER PRIMARY KEY,
    id          BLOB NOT NULL UNIQUE CHECK (length(id) = 16),
    tenant      BLOB NOT NULL CHECK (length(tenant) = 16),
    warehouse   BLOB NOT NULL CHECK (length(warehouse) = 16),
    type        TEXT NOT NULL,
    version     INTEGER NOT NULL,
    occurred_ms INTEGER NOT NULL,
    cause_seq   INTEGER NOT NULL,
    body        TEXT NOT NULL
) STRICT;
