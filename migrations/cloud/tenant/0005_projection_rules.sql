-- Which version of the stock rules (aisle_core::stock::RULES_VERSION) wrote this projection.
-- Version 2 changed which review decides a count (the latest in event order, not the
-- earliest), so a projection written before must be rebuilt from the log; whoever opens the
-- database does that when the version here is older than its own, then records its own.
-- No row means version 1. The table is the same in the device store and a tenant database.
CREATE TABLE projection_rules (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
) STRICT;
