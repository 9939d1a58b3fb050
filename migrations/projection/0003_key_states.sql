-- The stock projection, schema 3: each stock key's state in a compact table of its own.
-- Applied as device store step 5 and tenant database step 4.
-- A key's on-hand and count baseline change with every movement, so their rows are
-- rewritten by nearly every commit. In `stock_keys` they shared a row of ~110 bytes with
-- the key's identity (three 16-byte ids and the lot) and the baseline's device and event
-- id, so a commit touching a few hundred keys dirtied nearly every page of the table. Here
-- a row is ~25 bytes: the baseline count is named by its row in `events` (`seq`), whose
-- device and id break hlc ties as before. `stock_keys` keeps the identity, which is
-- written once per key. `key_id` is a stock_keys.key_id, without a foreign key (SqlLedger
-- creates the key first); a key with no row here has nothing on hand and no baseline.
CREATE TABLE key_states (
    key_id       INTEGER PRIMARY KEY,
    on_hand      INTEGER NOT NULL,
    baseline_hlc INTEGER,
    baseline_seq INTEGER,  -- events.seq of the baseline count
    baseline_qty INTEGER,
    CHECK ((baseline_hlc IS NULL) = (baseline_seq IS NULL) AND (baseline_hlc IS NULL) = (baseline_qty IS NULL))
) STRICT;
INSERT INTO key_states (key_id, on_hand, baseline_hlc, baseline_seq, baseline_qty)
    SELECT k.key_id, k.on_hand, e.hlc, e.seq, CASE WHEN e.seq IS NULL THEN NULL ELSE k.baseline_qty END
    FROM stock_keys k LEFT JOIN events e ON e.id = k.baseline_event
    WHERE k.on_hand <> 0 OR k.baseline_event IS NOT NULL;
ALTER TABLE stock_keys DROP COLUMN on_hand;
ALTER TABLE stock_keys DROP COLUMN baseline_hlc;
ALTER TABLE stock_keys DROP COLUMN baseline_device;
ALTER TABLE stock_keys DROP COLUMN baseline_event;
ALTER TABLE stock_keys DROP COLUMN baseline_qty;
