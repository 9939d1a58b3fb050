-- Aisle device store, schema 1.
-- One database per (tenant, warehouse) profile. Ids are 16-byte UUID blobs, which sort like
-- the ids themselves; an hlc is the packed integer from aisle_core::Hlc::to_packed. The event
-- order (hlc, device, event id) is therefore plain column order everywhere below.

-- Which tenant and warehouse this file belongs to, the persisted clock, and other settings.
CREATE TABLE meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

-- The append-only event log: the source of truth. `seq` is local arrival order.
CREATE TABLE events (
    seq       INTEGER PRIMARY KEY,
    id        BLOB NOT NULL UNIQUE,
    hlc       INTEGER NOT NULL,
    device    BLOB NOT NULL,
    kind      TEXT NOT NULL,
    origin    TEXT NOT NULL CHECK (origin IN ('local', 'remote')),
    payload   TEXT NOT NULL
) STRICT;
CREATE INDEX events_order ON events (hlc, device, id);
CREATE TRIGGER events_are_append_only_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_are_append_only_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;

-- Local events waiting for, or done with, the push to the server.
CREATE TABLE outbox (
    event_id        BLOB PRIMARY KEY REFERENCES events (id),
    hlc             INTEGER NOT NULL,
    device          BLOB NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'quarantined')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT
) STRICT;
CREATE INDEX outbox_drain ON outbox (state, hlc, device, event_id);

-- The stock projection: one row per stock key, with its count baseline.
CREATE TABLE stock_keys (
    key_id          INTEGER PRIMARY KEY,
    warehouse       BLOB NOT NULL,
    location        BLOB NOT NULL,
    item            BLOB NOT NULL,
    lot             TEXT NOT NULL DEFAULT '',  -- '' means no lot
    on_hand         INTEGER NOT NULL DEFAULT 0,
    baseline_hlc    INTEGER,
    baseline_device BLOB,
    baseline_event  BLOB,
    baseline_qty    INTEGER,
    UNIQUE (warehouse, location, item, lot)
) STRICT;
CREATE INDEX stock_keys_by_item ON stock_keys (warehouse, item);
CREATE INDEX stock_keys_by_location ON stock_keys (warehouse, location);

-- Every movement's delta per key, so a count that arrives late can re-add what followed it.
CREATE TABLE stock_deltas (
    key_id   INTEGER NOT NULL REFERENCES stock_keys (key_id),
    hlc      INTEGER NOT NULL,
    device   BLOB NOT NULL,
    event_id BLOB NOT NULL,
    delta    INTEGER NOT NULL,
    PRIMARY KEY (key_id, hlc, device, event_id)
) STRICT, WITHOUT ROWID;

-- Counts (the baselines) and the managers' reviews of them.
CREATE TABLE counts (
    event_id    BLOB PRIMARY KEY,
    key_id      INTEGER NOT NULL REFERENCES stock_keys (key_id),
    hlc         INTEGER NOT NULL,
    device      BLOB NOT NULL,
    user_id     BLOB NOT NULL,
    counted_qty INTEGER NOT NULL,
    system_qty  INTEGER NOT NULL,
    decision    TEXT NOT NULL CHECK (decision IN ('self_approved', 'needs_review')),
    status      TEXT NOT NULL CHECK (status IN ('approved', 'pending_review', 'rejected'))
) STRICT;
CREATE INDEX counts_by_key ON counts (key_id, status, hlc, device, event_id);

CREATE TABLE count_reviews (
    event_id BLOB PRIMARY KEY,
    counted  BLOB NOT NULL,
    hlc      INTEGER NOT NULL,
    device   BLOB NOT NULL,
    user_id  BLOB NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('approved', 'rejected'))
) STRICT;
CREATE INDEX count_reviews_by_count ON count_reviews (counted);

-- Picking progress per pick line, and pick-list claims.
CREATE TABLE pick_line_progress (
    pick_list      BLOB NOT NULL,
    line           INTEGER NOT NULL,
    picked_total   INTEGER NOT NULL,
    line_qty       INTEGER NOT NULL,
    line_qty_hlc   INTEGER NOT NULL,
    line_qty_device BLOB NOT NULL,
    line_qty_event BLOB NOT NULL,
    PRIMARY KEY (pick_list, line)
) STRICT;

CREATE TABLE pick_claims (
    event_id  BLOB PRIMARY KEY,
    pick_list BLOB NOT NULL,
    hlc       INTEGER NOT NULL,
    device    BLOB NOT NULL,
    user_id   BLOB NOT NULL
) STRICT;
CREATE INDEX pick_claims_by_list ON pick_claims (pick_list);

-- What needs a person: derived by the stock rules, open while their condition holds.
CREATE TABLE tasks (
    id        BLOB PRIMARY KEY,
    warehouse BLOB NOT NULL,
    location  BLOB NOT NULL,
    item      BLOB NOT NULL,
    lot       TEXT NOT NULL DEFAULT '',
    kind      TEXT NOT NULL,
    is_open   INTEGER NOT NULL CHECK (is_open IN (0, 1)),
    detail    TEXT NOT NULL
) STRICT;
CREATE INDEX tasks_by_key ON tasks (warehouse, location, item, lot);
CREATE INDEX tasks_open ON tasks (is_open, kind);

CREATE TABLE discrepancies (
    id        TEXT PRIMARY KEY,
    warehouse BLOB NOT NULL,
    kind      TEXT NOT NULL,
    is_open   INTEGER NOT NULL CHECK (is_open IN (0, 1)),
    detail    TEXT NOT NULL
) STRICT;
CREATE INDEX discrepancies_open ON discrepancies (is_open, kind);

-- Master data, pulled from the server.
CREATE TABLE warehouses (
    id              BLOB PRIMARY KEY,
    name            TEXT NOT NULL,
    tolerance_abs   INTEGER NOT NULL DEFAULT 0 CHECK (tolerance_abs >= 0),
    tolerance_bp    INTEGER NOT NULL DEFAULT 0 CHECK (tolerance_bp >= 0)
) STRICT;

CREATE TABLE items (
    id        BLOB PRIMARY KEY,
    sku       TEXT NOT NULL UNIQUE,
    name      TEXT NOT NULL,
    base_unit TEXT NOT NULL DEFAULT 'each',
    lot_tracked INTEGER NOT NULL DEFAULT 0 CHECK (lot_tracked IN (0, 1))
) STRICT;

-- A barcode (GTIN or other) names an item and how many base units one scan of it is.
CREATE TABLE item_barcodes (
    barcode  TEXT PRIMARY KEY,
    item     BLOB NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    pack_qty INTEGER NOT NULL DEFAULT 1 CHECK (pack_qty > 0)
) STRICT;
CREATE INDEX item_barcodes_by_item ON item_barcodes (item);

CREATE TABLE locations (
    id         BLOB PRIMARY KEY,
    warehouse  BLOB NOT NULL,
    code       TEXT NOT NULL,
    name       TEXT NOT NULL DEFAULT '',
    walk_order INTEGER NOT NULL DEFAULT 0,
    UNIQUE (warehouse, code)
) STRICT;
CREATE INDEX locations_walk ON locations (warehouse, walk_order);

CREATE TABLE users (
    id       BLOB PRIMARY KEY,
    name     TEXT NOT NULL,
    badge    TEXT NOT NULL UNIQUE,
    role     TEXT NOT NULL CHECK (role IN ('picker', 'manager', 'admin')),
    pin_hash TEXT NOT NULL CHECK (pin_hash LIKE '$argon2id$%'),
    active   INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1))
) STRICT;

CREATE TABLE pick_lists (
    id        BLOB PRIMARY KEY,
    warehouse BLOB NOT NULL,
    reference TEXT NOT NULL,
    status    TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done', 'cancelled'))
) STRICT;

CREATE TABLE pick_lines (
    pick_list BLOB NOT NULL REFERENCES pick_lists (id) ON DELETE CASCADE,
    line      INTEGER NOT NULL,
    item      BLOB NOT NULL REFERENCES items (id),
    location  BLOB NOT NULL REFERENCES locations (id),
    lot       TEXT,
    qty       INTEGER NOT NULL CHECK (qty > 0),
    PRIMARY KEY (pick_list, line)
) STRICT;

-- Where each sync stream left off (e.g. the last pulled server seq).
CREATE TABLE sync_cursors (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
