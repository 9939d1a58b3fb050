-- Aisle server, one tenant's database, schema 1.
-- One file per tenant under the data directory. Ids are 16-byte UUID blobs; an hlc is the
-- packed integer from aisle_core::Hlc::to_packed, so the event order (hlc, device, event id)
-- is plain column order.
--
-- The stock projection is not here: it is migrations/projection/0001_init.sql, the same
-- file the device store applies, which the server applies right after this file, in the
-- same step (aisle-server's migrate.rs).

-- The tenant's append-only event log. `seq` is the server's per-tenant arrival order, which
-- devices pull by; it only grows. `payload` is the event's canonical JSON.
CREATE TABLE events (
    seq         INTEGER PRIMARY KEY,
    id          BLOB NOT NULL UNIQUE,
    warehouse   BLOB NOT NULL,
    device      BLOB NOT NULL,
    hlc         INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    received_ms INTEGER NOT NULL,
    payload     TEXT NOT NULL
) STRICT;
CREATE INDEX events_by_warehouse ON events (warehouse, seq);
CREATE INDEX events_order ON events (hlc, device, id);
CREATE TRIGGER events_are_append_only_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_are_append_only_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
