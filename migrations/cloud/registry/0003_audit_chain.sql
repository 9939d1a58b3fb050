-- Aisle server registry, schema 3: a bounded, coalesced, hash-chained security audit log.
--
-- Schema 1 kept one row per refused request, with the request's path in full, and refused
-- every DELETE: a client looping on a refused request grew the registry without bound.
-- From here (see crates/aisle-server/src/registry/audit.rs):
--   * text is bounded: `detail` is at most 256 characters (longer ones are cut and end in
--     an ellipsis), `detail_sha256` is the SHA-256 of the full text as it was reported;
--   * repeats coalesce: one row per (source, reason, minute), whose `count` and
--     `last_seen_ms` grow;
--   * the log is capped and prunable: only a prefix (the oldest rows) is ever removed, and
--     `security_audit_chain` keeps the hash of the last removed row as the chain's anchor;
--   * it is tamper-evident instead of append-only: each row stores the previous row's hash
--     and its own hash over its fields except `count` and `last_seen_ms` (the two that
--     coalescing updates), so `aisle-server audit verify` finds a changed, removed or
--     inserted row.
--
-- The schema-1 rows are carried over by the migration's Rust hook (SQLite has no SHA-256):
-- it reads them from `security_audit_schema1` in id order, writes each through the same
-- path as a new refusal (bounded, hashed, coalesced, chained) and drops the old table.

DROP TRIGGER security_audit_is_append_only_update;
DROP TRIGGER security_audit_is_append_only_delete;
DROP INDEX security_audit_by_device;
ALTER TABLE security_audit RENAME TO security_audit_schema1;

CREATE TABLE security_audit (
    -- Assigned by the writer as the chain's head id + 1, so the rows present are exactly
    -- the ids after the anchor up to the head.
    id            INTEGER PRIMARY KEY,
    -- Whose requests these are: 'device:<uuid>', 'api_key:<uuid>', 'tenant:<uuid>',
    -- 'server', or 'prune:<id>' for the record of a prune.
    source        TEXT NOT NULL CHECK (length(source) <= 64),
    reason        TEXT NOT NULL CHECK (length(reason) <= 64),
    -- first_seen_ms / 60000: repeats of (source, reason) within it coalesce into this row.
    minute        INTEGER NOT NULL,
    first_seen_ms INTEGER NOT NULL,
    last_seen_ms  INTEGER NOT NULL,
    count         INTEGER NOT NULL CHECK (count >= 1),
    tenant        BLOB CHECK (tenant IS NULL OR length(tenant) = 16),
    warehouse     BLOB CHECK (warehouse IS NULL OR length(warehouse) = 16),
    device        BLOB CHECK (device IS NULL OR length(device) = 16),
    -- The first occurrence's detail, bounded; never a token or a key.
    detail        TEXT NOT NULL CHECK (length(detail) <= 256),
    detail_sha256 BLOB NOT NULL CHECK (length(detail_sha256) = 32),
    prev_hash     BLOB NOT NULL CHECK (length(prev_hash) = 32),
    row_hash      BLOB NOT NULL CHECK (length(row_hash) = 32),
    UNIQUE (source, reason, minute)
) STRICT;
CREATE INDEX security_audit_by_device ON security_audit (device, first_seen_ms);

-- One row: where the chain starts (the last pruned row, or id 0 and 32 zero bytes) and
-- where it ends (the newest row), so a removed first or last row is found too.
CREATE TABLE security_audit_chain (
    only_row    INTEGER PRIMARY KEY CHECK (only_row = 1),
    anchor_id   INTEGER NOT NULL,
    anchor_hash BLOB NOT NULL CHECK (length(anchor_hash) = 32),
    head_id     INTEGER NOT NULL,
    head_hash   BLOB NOT NULL CHECK (length(head_hash) = 32),
    CHECK (head_id >= anchor_id)
) STRICT;
INSERT INTO security_audit_chain (only_row, anchor_id, anchor_hash, head_id, head_hash)
VALUES (1, 0, zeroblob(32), 0, zeroblob(32));
