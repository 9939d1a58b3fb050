-- Aisle tenant database on PostgreSQL: two of the event log's indexes made cheaper for every
-- push, since each row a push appends is inserted into every index of `events` whose
-- predicate it meets (index insertion was a third of PostgreSQL's time in a one-device push;
-- docs/BENCHMARKS.md, "Lighter event indexes").
--
-- 1. `events_received_by_receipt` indexed every `received` event, parsing its payload as
--    jsonb on insert, though most are received against no expected receipt. Its successor
--    holds only those whose payload names one: the canonical JSON of a `received` event has
--    a "receipt" key exactly when it names a receipt (aisle_core skips `receipt` when it is
--    absent), so this text test keeps every row the lookup can find (a false positive, such
--    as a lot spelled "receipt", only adds a row whose jsonb value is compared as before).
--    The lookup (`RECEIVED_AGAINST_SQL` in crates/aisle-server/src/pg/storage.rs) states
--    the same predicate, so the planner can use the index.
-- 2. `events_order` (hlc, device, id) served only the stock rules' replay (a rebuild of the
--    projection after a rules upgrade or a repair): aisle_projection::pg::rules::replay
--    sorts the log once through a cursor instead, and no push pays for the index.
--
-- The new index is built first and the two old ones dropped last: building takes a lock
-- that lets the log be read meanwhile, a drop one that does not, held to the commit.
CREATE INDEX events_received_against_receipt
    ON events (warehouse, (payload::jsonb #>> '{body,receipt}'))
    WHERE kind = 'received' AND strpos(payload, '"receipt"') > 0;
DROP INDEX IF EXISTS events_received_by_receipt;
DROP INDEX IF EXISTS events_order;
