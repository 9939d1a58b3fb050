-- The stock projection on PostgreSQL, schema 2: fewer index entries for a push to write.
-- A push writes a `stock_keys` row for each key it meets for the first time (four in ten of
-- the events in the ingest benchmark's closed loop, whose tenants start empty) and rewrites
-- a `key_states` row for each key it moves; every index on those tables is written with them
-- (docs/BENCHMARKS.md, "Fewer index entries for a new key").
--
-- 1. `stock_keys_by_location (warehouse, location)` repeated the first two columns of the
--    unique index (warehouse, location, item, lot), which serves the same lookups (the stock
--    of one location) as its prefix. It is dropped; `stock_keys_by_item` is not a prefix of
--    anything and stays.
-- 2. `key_states` is rewritten in place by nearly every push. An update that finds room on
--    its row's page is a heap-only tuple (no new entry in `key_states_pkey`); at the default
--    fillfactor (100) new rows fill the pages and a third of the updates found no room.
--    Pages now keep 30% free. It applies to pages written from now on (a VACUUM FULL or a
--    restore rewrites the old ones); nothing else changes.
DROP INDEX IF EXISTS stock_keys_by_location;
ALTER TABLE key_states SET (fillfactor = 70);
