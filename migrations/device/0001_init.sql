-- Aisle device store, schema 1.
-- One database per (tenant, warehouse) profile. Ids are 16-byte UUID blobs, which sort like
-- the ids themselves; an hlc is the packed integer from aisle_core::Hlc::to_packed. The event
-- order (hlc, device, event id) is therefore plain column order everywhere below.
--
-- The stock projection (stock keys, deltas, counts, reviews, pick progress, claims, tasks,
-- discrepancies) is not here: it is migrations/projection/0001_init.sql, which the store
-- applies right after this file, in the same step (aisle_store's migrate.rs).

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
