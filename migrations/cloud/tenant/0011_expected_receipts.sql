-- Aisle tenant database, schema 11: expected receipts (the ERP's inbound ASNs).
--
-- `PUT /v1/t/{tenant}/erp/expected_receipts` upserts them by warehouse and reference, each
-- taking the next master version like every master record, so devices pull them with the
-- rest of master data; a receipt's lines are replaced as a whole. A `received` event that
-- names a receipt (`body.receipt`, the reference) is found through the partial index below,
-- so `goods.received` can say expected against received per line without reading the log.
CREATE TABLE expected_receipts (
    id        BLOB PRIMARY KEY CHECK (length(id) = 16),
    warehouse BLOB NOT NULL CHECK (length(warehouse) = 16),
    reference TEXT NOT NULL CHECK (reference <> ''),
    supplier  TEXT NOT NULL DEFAULT '',
    status    TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    version   INTEGER NOT NULL UNIQUE,
    UNIQUE (warehouse, reference)
) STRICT;
CREATE INDEX expected_receipts_by_version ON expected_receipts (warehouse, version);

CREATE TABLE expected_lines (
    receipt BLOB NOT NULL REFERENCES expected_receipts (id) ON DELETE CASCADE,
    line    INTEGER NOT NULL CHECK (line > 0),
    item    BLOB NOT NULL REFERENCES items (id),
    lot     TEXT,
    qty     INTEGER NOT NULL CHECK (qty > 0),
    PRIMARY KEY (receipt, line)
) STRICT;

CREATE INDEX events_received_by_receipt
    ON events (warehouse, json_extract(payload, '$.body.receipt'))
    WHERE kind = 'received';
