-- Aisle device store, schema 2.
-- The sync engine asks after every push when the next pending event is due
-- (MIN(next_attempt_ms) over pending rows). Without an index that scanned every pending row,
-- so draining a long queue cost time in the square of its length. With this index it is one
-- seek.
CREATE INDEX outbox_due ON outbox (state, next_attempt_ms);
