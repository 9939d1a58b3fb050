-- Aisle tenant database on PostgreSQL: two of the event log's indexes made cheaper for every
-- push, since each row a push appends is inserted into every index of `events` (index
-- insertion was a third of PostgreSQL's time in a one-device push; docs/BENCHMARKS.md).
--
-- 1. `events_order` (hlc, device, id) served only the stock rules' replay (a rebuild of the
--    projection after a rules upgrade or a repair): aisle_projection::pg::rules::replay now
--    sorts the log once through a cursor instead, and no push pays for the index.
DROP INDEX IF EXISTS events_order;

-- 2. `events_received_by_receipt` indexed every `received` event, parsing its payload as
--    jsonb on insert, though most are received against no expected receipt. It now holds
--    only those whose payload names one: the canonical JSON of a `received` event has a
--    "receipt": key exactly when it names a receipt (aisle_core's `receipt` is skipped when
--    absent), so the text test below keeps every row the lookup can find, and the lookup
--    (`received_against` in crates/aisle-server/src/pg/storage.rs) states the same
--    predicate so the planner can use the index.
DROP INDEX IF EXISTS events_received_by_receipt;
CREATE INDEX events_received_by_receipt
    ON events (warehouse, (payload::jsonb #>> '{body,receipt}'))
    WHERE kind = 'received' AND strpos(payload, '"receipt":') > 0;
