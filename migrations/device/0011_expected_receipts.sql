-- Aisle device store, schema 11: expected receipts (the ERP's inbound ASNs), pulled with
-- master data, and the receipts received against them.
--
-- The Receive screen offers the warehouse's open expected receipts (scan the delivery
-- note's reference, or choose one) and shows expected against received per line; what was
-- received against a reference is found through the partial index below
-- (aisle_core::receipt::progress sets it against the lines).
CREATE TABLE expected_receipts (
    id        BLOB PRIMARY KEY,
    warehouse BLOB NOT NULL,
    reference TEXT NOT NULL,
    supplier  TEXT NOT NULL DEFAULT '',
    status    TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed'))
) STRICT;
CREATE INDEX expected_receipts_by_reference ON expected_receipts (warehouse, reference);

CREATE TABLE expected_lines (
    receipt BLOB NOT NULL REFERENCES expected_receipts (id) ON DELETE CASCADE,
    line    INTEGER NOT NULL,
    item    BLOB NOT NULL,
    lot     TEXT,
    qty     INTEGER NOT NULL CHECK (qty > 0),
    PRIMARY KEY (receipt, line)
) STRICT;

CREATE INDEX events_received_by_receipt
    ON events (json_extract(payload, '$.body.receipt'))
    WHERE kind = 'received';
