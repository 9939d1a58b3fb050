-- Aisle server, one tenant's database, schema 2: master data.
-- The server owns master data; each device keeps a copy of its tenant's items and users and
-- of its warehouse's locations and pick lists (migrations/device/0001_init.sql has the same
-- columns) and pulls only what changed since it last asked.
--
-- Every upsert of a row takes the next value of the tenant's master version and stamps the
-- row with it, so `version` is unique across all four aggregates and only grows; a device
-- asks for the rows with a version above the last one it saw. ERPs and CSV files name rows
-- by their natural keys (sku, warehouse + code, badge, warehouse + reference); the server
-- gives a row its UUID the first time it sees the key and keeps it from then on.
-- Ids and warehouses are 16-byte UUID blobs (warehouses are the registry's).

CREATE TABLE master_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL CHECK (version >= 0)
) STRICT;
INSERT INTO master_version (id, version) VALUES (1, 0);

CREATE TABLE items (
    id          BLOB PRIMARY KEY CHECK (length(id) = 16),
    sku         TEXT NOT NULL UNIQUE CHECK (sku <> ''),
    name        TEXT NOT NULL,
    base_unit   TEXT NOT NULL DEFAULT 'each' CHECK (base_unit <> ''),
    lot_tracked INTEGER NOT NULL DEFAULT 0 CHECK (lot_tracked IN (0, 1)),
    version     INTEGER NOT NULL UNIQUE
) STRICT;

-- A barcode (GTIN or other) names one item of the tenant and how many base units one scan
-- of it is (1 for a single, 12 for a case of 12). Unique per tenant, as on the device.
CREATE TABLE item_barcodes (
    barcode  TEXT PRIMARY KEY CHECK (barcode <> ''),
    item     BLOB NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    pack_qty INTEGER NOT NULL DEFAULT 1 CHECK (pack_qty > 0)
) STRICT;
CREATE INDEX item_barcodes_by_item ON item_barcodes (item);

CREATE TABLE locations (
    id         BLOB PRIMARY KEY CHECK (length(id) = 16),
    warehouse  BLOB NOT NULL CHECK (length(warehouse) = 16),
    code       TEXT NOT NULL CHECK (code <> ''),
    name       TEXT NOT NULL DEFAULT '',
    walk_order INTEGER NOT NULL DEFAULT 0,
    version    INTEGER NOT NULL UNIQUE,
    UNIQUE (warehouse, code)
) STRICT;
CREATE INDEX locations_by_version ON locations (warehouse, version);

-- A PIN is never stored: only its argon2id hash as a PHC string.
CREATE TABLE users (
    id       BLOB PRIMARY KEY CHECK (length(id) = 16),
    badge    TEXT NOT NULL UNIQUE CHECK (badge <> ''),
    name     TEXT NOT NULL,
    role     TEXT NOT NULL CHECK (role IN ('picker', 'manager', 'admin')),
    pin_hash TEXT NOT NULL CHECK (pin_hash LIKE '$argon2id$%'),
    active   INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    version  INTEGER NOT NULL UNIQUE
) STRICT;

CREATE TABLE pick_lists (
    id        BLOB PRIMARY KEY CHECK (length(id) = 16),
    warehouse BLOB NOT NULL CHECK (length(warehouse) = 16),
    reference TEXT NOT NULL CHECK (reference <> ''),
    status    TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done', 'cancelled')),
    version   INTEGER NOT NULL UNIQUE,
    UNIQUE (warehouse, reference)
) STRICT;
CREATE INDEX pick_lists_by_version ON pick_lists (warehouse, version);

-- A pick list's lines are replaced as a whole when the list is upserted.
CREATE TABLE pick_lines (
    pick_list BLOB NOT NULL REFERENCES pick_lists (id) ON DELETE CASCADE,
    line      INTEGER NOT NULL CHECK (line > 0),
    item      BLOB NOT NULL REFERENCES items (id),
    location  BLOB NOT NULL REFERENCES locations (id),
    lot       TEXT,
    qty       INTEGER NOT NULL CHECK (qty > 0),
    PRIMARY KEY (pick_list, line)
) STRICT;
