-- Aisle server on PostgreSQL, one tenant's database, schema 2: master data.
-- Today's final master-data schema of the SQLite tenant database (migrations/cloud/tenant/
-- 0002_master_data.sql and 0007_user_warehouses_pin_policy.sql, which say why each table is
-- as it is) in PostgreSQL's dialect: ids and warehouses are `uuid`, flags `BOOLEAN`,
-- versions and quantities `BIGINT`. One name differs: `user` is a reserved word here, so
-- user_warehouses' user column is `user_id`. Texts that pages and reports are ordered by
-- (sku, barcode, location code) compare byte by byte (COLLATE "C"), as SQLite's do, so both
-- backends give rows in the same order whatever the cluster's locale.
--
-- Every upsert of a row takes the next value of the tenant's master version and stamps the
-- row with it, so `version` is unique across all four aggregates and only grows; a device
-- asks for the rows with a version above the last one it saw. Writers take the tenant's
-- push lock before they bump the version (crate::pg::master), so versions commit in order
-- and a device never skips one that commits late.

CREATE TABLE master_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL CHECK (version >= 0)
);
INSERT INTO master_version (id, version) VALUES (1, 0);

CREATE TABLE items (
    id          uuid PRIMARY KEY,
    sku         TEXT COLLATE "C" NOT NULL UNIQUE CHECK (sku <> ''),
    name        TEXT NOT NULL,
    base_unit   TEXT NOT NULL DEFAULT 'each' CHECK (base_unit <> ''),
    lot_tracked BOOLEAN NOT NULL DEFAULT false,
    version     BIGINT NOT NULL UNIQUE
);

-- A barcode names one item of the tenant and how many base units one scan of it is.
CREATE TABLE item_barcodes (
    barcode  TEXT COLLATE "C" PRIMARY KEY CHECK (barcode <> ''),
    item     uuid NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    pack_qty BIGINT NOT NULL DEFAULT 1 CHECK (pack_qty > 0)
);
CREATE INDEX item_barcodes_by_item ON item_barcodes (item);

CREATE TABLE locations (
    id         uuid PRIMARY KEY,
    warehouse  uuid NOT NULL,
    code       TEXT COLLATE "C" NOT NULL CHECK (code <> ''),
    name       TEXT NOT NULL DEFAULT '',
    walk_order BIGINT NOT NULL DEFAULT 0,
    version    BIGINT NOT NULL UNIQUE,
    UNIQUE (warehouse, code)
);
CREATE INDEX locations_by_version ON locations (warehouse, version);

-- A PIN is never stored: only its argon2id hash as a PHC string.
CREATE TABLE users (
    id       uuid PRIMARY KEY,
    badge    TEXT NOT NULL UNIQUE CHECK (badge <> ''),
    name     TEXT NOT NULL,
    role     TEXT NOT NULL CHECK (role IN ('picker', 'manager', 'admin')),
    pin_hash TEXT NOT NULL CHECK (pin_hash LIKE '$argon2id$%'),
    active   BOOLEAN NOT NULL DEFAULT true,
    version  BIGINT NOT NULL UNIQUE
);

-- The warehouses each user works in; a device gets only its own warehouse's users. Taking
-- a user out of a warehouse keeps the row with `member = false`, so that warehouse's devices
-- pull the user once more, as inactive.
CREATE TABLE user_warehouses (
    user_id   uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    warehouse uuid NOT NULL,
    member    BOOLEAN NOT NULL DEFAULT true,
    PRIMARY KEY (warehouse, user_id)
);
CREATE INDEX user_warehouses_by_user ON user_warehouses (user_id);

CREATE TABLE pick_lists (
    id        uuid PRIMARY KEY,
    warehouse uuid NOT NULL,
    reference TEXT NOT NULL CHECK (reference <> ''),
    status    TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done', 'cancelled')),
    version   BIGINT NOT NULL UNIQUE,
    UNIQUE (warehouse, reference)
);
CREATE INDEX pick_lists_by_version ON pick_lists (warehouse, version);

-- A pick list's lines are replaced as a whole when the list is upserted.
CREATE TABLE pick_lines (
    pick_list uuid NOT NULL REFERENCES pick_lists (id) ON DELETE CASCADE,
    line      BIGINT NOT NULL CHECK (line > 0),
    item      uuid NOT NULL REFERENCES items (id),
    location  uuid NOT NULL REFERENCES locations (id),
    lot       TEXT,
    qty       BIGINT NOT NULL CHECK (qty > 0),
    PRIMARY KEY (pick_list, line)
);

-- The fewest digits a plain PIN may have, per role (`aisle-server tenant set-pin-policy`).
CREATE TABLE pin_policy (
    id                 INTEGER PRIMARY KEY CHECK (id = 1),
    picker_min_digits  INTEGER NOT NULL CHECK (picker_min_digits BETWEEN 4 AND 12),
    manager_min_digits INTEGER NOT NULL CHECK (manager_min_digits BETWEEN 4 AND 12)
);
INSERT INTO pin_policy (id, picker_min_digits, manager_min_digits) VALUES (1, 4, 6);
