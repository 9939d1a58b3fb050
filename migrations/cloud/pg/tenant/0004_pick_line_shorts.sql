-- Aisle tenant database on PostgreSQL: each short pick of a pick line, as the SQLite tenant
-- schema 9 (migrations/cloud/tenant/0009_pick_line_shorts.sql).

CREATE TABLE IF NOT EXISTS pick_line_shorts (
    event_id  uuid PRIMARY KEY,
    pick_list uuid NOT NULL,
    line      bigint NOT NULL,
    qty_short bigint NOT NULL,
    reason    text NOT NULL
);
CREATE INDEX IF NOT EXISTS pick_line_shorts_by_list ON pick_line_shorts (pick_list, line);
