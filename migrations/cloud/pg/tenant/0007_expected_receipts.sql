-- Aisle tenant database on PostgreSQL: expected receipts (the ERP's inbound ASNs), as the
-- SQLite tenant schema's 0011_expected_receipts.sql has them.
CREATE TABLE expected_receipts (
    id        uuid PRIMARY KEY,
    warehouse uuid NOT NULL,
    reference TEXT NOT NULL CHECK (reference <> ''),
    supplier  TEXT NOT NULL DEFAULT '',
    status    TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    version   BIGINT NOT NULL UNIQUE,
    UNIQUE (warehouse, reference)
);
CREATE INDEX expected_receipts_by_version ON expected_receipts (warehouse, version);

CREATE TABLE expected_lines (
    receipt uuid NOT NULL REFERENCES expected_receipts (id) ON DELETE CASCADE,
    line    BIGINT NOT NULL CHECK (line > 0),
    item    uuid NOT NULL REFERENCES items (id),
    lot     TEXT,
    qty     BIGINT NOT NULL CHECK (qty > 0),
    PRIMARY KEY (receipt, line)
);

CREATE INDEX events_received_by_receipt
    ON events (warehouse, (payload::jsonb #>> '{body,receipt}'))
    WHERE kind = 'received';
