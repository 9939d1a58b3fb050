-- Aisle server on PostgreSQL, one tenant's database, schema 1: the event log and the stamp.
-- Today's final schema of the SQLite tenant database without its master data (that is
-- 0002_master_data.sql) and without the stock projection (aisle-projection's
-- migrations/projection/pg/, which the tenant list applies right after this file), in
-- PostgreSQL's dialect: ids and warehouses are `uuid` (compared byte by byte, as SQLite
-- compares its 16-byte blobs), an hlc is the `BIGINT` from aisle_core::Hlc::to_packed, so the
-- event order (hlc, device, event id) is plain column order.

-- The tenant's append-only event log. `seq` is the server's per-tenant arrival order, which
-- devices pull by; it only grows. A push takes the tenant's push lock
-- (pg_advisory_xact_lock, crate::pg::PUSH_LOCK) first and numbers its events from
-- MAX(seq) + 1, so seqs are dense and commit in order: a device that pulled up to seq N has
-- seen every event numbered N or less, whatever the number of concurrent writers.
-- `payload` is the event's canonical JSON as TEXT (never JSONB: its exact bytes are what
-- devices checksum).
CREATE TABLE events (
    seq         BIGINT PRIMARY KEY CHECK (seq > 0),
    id          uuid NOT NULL UNIQUE,
    warehouse   uuid NOT NULL,
    device      uuid NOT NULL,
    hlc         BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    received_ms BIGINT NOT NULL,
    payload     TEXT NOT NULL
);
CREATE INDEX events_by_warehouse ON events (warehouse, seq);
CREATE INDEX events_order ON events (hlc, device, id);

-- Append-only: no row of the log is ever changed or removed, by any statement.
CREATE FUNCTION events_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only' USING ERRCODE = 'restrict_violation';
END;
$$;
CREATE TRIGGER events_are_append_only_update BEFORE UPDATE ON events
    FOR EACH ROW EXECUTE FUNCTION events_are_append_only();
CREATE TRIGGER events_are_append_only_delete BEFORE DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_are_append_only();
CREATE TRIGGER events_are_append_only_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_are_append_only();

-- The database names its tenant (name 'tenant'), written when the server first opens it:
-- a database restored or copied under another tenant's placement is refused rather than
-- served to the wrong tenant (as the SQLite tenant file's tenant_meta).
CREATE TABLE tenant_meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
