-- Aisle device store, schema 3.
-- Every time a pulled page's stock checksum differed from the server's, the sync engine
-- re-fetches the events touching the page's stock keys, applies those it lacked, compares
-- again, and only then falls back to rebuilding the projection from the log. Each such
-- episode is one row here, so a manager's Sync screen can show when it happened, which keys
-- it was about, how many events were missing and whether the device then agreed.
CREATE TABLE checksum_repairs (
    id           INTEGER PRIMARY KEY,
    at_ms        INTEGER NOT NULL,
    -- The pulled page whose checksum differed: the events after `after_seq` up to
    -- `checksum_seq`, the server's last seq when it took the checksum.
    after_seq    INTEGER NOT NULL CHECK (after_seq >= 0),
    checksum_seq INTEGER NOT NULL CHECK (checksum_seq >= 0),
    -- How many stock keys the page touched, and the first of them as a JSON array of
    -- aisle_core::stock::StockKey (at most aisle_store::repairs::MAX_KEYS_KEPT).
    n_keys       INTEGER NOT NULL CHECK (n_keys >= 0),
    keys         TEXT NOT NULL,
    -- Events the server returned for those keys, and how many of them were new here.
    n_fetched    INTEGER NOT NULL CHECK (n_fetched >= 0),
    n_missing    INTEGER NOT NULL CHECK (n_missing >= 0),
    outcome      TEXT NOT NULL CHECK (outcome IN ('refetched', 'rebuilt', 'unresolved', 'undecided')),
    -- What a rebuild of the projection changed, when one ran: a JSON array of strings.
    differences  TEXT NOT NULL DEFAULT '[]'
) STRICT;
