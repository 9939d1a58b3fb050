-- The stock projection, schema 4, applied as device store step 6 and tenant database step 5.
-- Which version of the stock rules (aisle_core::stock::RULES_VERSION) wrote this projection.
-- Version 2 changed which review decides a count (the latest in event order, not the
-- earliest), so a projection written before must be rebuilt from the log; whoever opens the
-- database does that when the version here is older than its own, then records its own.
-- No row means version 1. aisle_projection::sqlite::rules reads and writes it for both stores.
CREATE TABLE projection_rules (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
) STRICT;
