-- The stock projection, schema 1: what aisle_projection::sqlite::SqlLedger maintains through
-- aisle_core::stock::apply, in the device store and in every tenant database alike. This is
-- the projection's one copy: each database's migration list applies it as part of its own
-- first step (device store step 1, after migrations/device/0001_init.sql; tenant database
-- step 1, after migrations/cloud/tenant/0001_init.sql).
--
-- It needs from the database's own schema an append-only `events` table with `seq` (the
-- row's arrival order), `id`, `hlc` and `device`, as both stores have. Ids are 16-byte UUID
-- blobs; an hlc is the packed integer from aisle_core::Hlc::to_packed, so the event order
-- (hlc, device, event id) is plain column order.

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
