-- Aisle device store, schema 7: local events that a manager recorded again.
-- The server refuses an event stamped far ahead of its clock (`clock_ahead`). The event stays
-- in the log (the floor did it, and the audit trail shows it), but a manager records it again
-- now, as a new event that names it (`Event::replaces`). From then on the original is out of
-- the projection (a rebuild skips it), out of the quarantine list, and never sent again.
CREATE TABLE replaced_events (
    event_id    BLOB PRIMARY KEY REFERENCES events (id),
    replacement BLOB NOT NULL REFERENCES events (id)
) STRICT;
