-- Aisle device store, schema 12: events this build cannot read yet (docs/protocol.md,
-- "Mixed-version fleets").
--
-- The server sends an event of a kind the PC said it does not read as an envelope: its kind,
-- the first Aisle version that reads it, the stock keys it touches (computed by the server)
-- and its JSON. The PC keeps syncing: it stores the envelope here, and its look-up and
-- count screens mark those keys ("stock here needs Aisle 0.2.0 to show exactly"). After an
-- update that reads the kind, the stored events are applied and their rows and marks go.
CREATE TABLE unread_events (
    seq   INTEGER PRIMARY KEY,          -- the server's seq in the warehouse's log
    kind  TEXT NOT NULL,
    needs TEXT NOT NULL,
    event TEXT NOT NULL                 -- the event's JSON, as the server sent it
) STRICT;

CREATE TABLE unread_keys (
    seq      INTEGER NOT NULL REFERENCES unread_events (seq) ON DELETE CASCADE,
    location BLOB NOT NULL,
    item     BLOB NOT NULL,
    lot      TEXT NOT NULL DEFAULT '',   -- '' when the stock has no lot
    PRIMARY KEY (location, item, lot, seq)
) STRICT;
CREATE INDEX unread_keys_by_seq ON unread_keys (seq);
