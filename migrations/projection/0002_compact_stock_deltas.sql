-- The stock projection, schema 2: stock deltas keyed compactly. Applied as device store step 4
-- and tenant database step 3 (each store's migrate.rs places it).
-- Every movement's delta per key, so a count that arrives late can re-add what followed it,
-- now keyed by (key, hlc, the event's seq in this database's log) instead of
-- (key, hlc, device, event id). A row shrinks from about 60 bytes to about 20, so the
-- table, which takes one random insert per movement, dirties a third of the pages per
-- commit. The event order (hlc, device, id) is still exact: rows with the same hlc are
-- told apart through their event's row in `events`. `key_id` is a stock_keys.key_id, but
-- without a foreign key: SqlLedger creates the key before its first delta, and the
-- parent-key probe on every insert was a quarter of the insert's cost.
ALTER TABLE stock_deltas RENAME TO stock_deltas_by_event_id;
CREATE TABLE stock_deltas (
    key_id    INTEGER NOT NULL,
    hlc       INTEGER NOT NULL,
    event_seq INTEGER NOT NULL,  -- events.seq of the movement
    delta     INTEGER NOT NULL,
    PRIMARY KEY (key_id, hlc, event_seq)
) STRICT, WITHOUT ROWID;
INSERT INTO stock_deltas (key_id, hlc, event_seq, delta)
    SELECT d.key_id, d.hlc, e.seq, d.delta
    FROM stock_deltas_by_event_id d JOIN events e ON e.id = d.event_id;
DROP TABLE stock_deltas_by_event_id;
