-- Aisle tenant database, schema 9: each short pick of a pick line, as the server records it
-- for the ERP's `pick_list.completed` (docs/protocol.md, "ERP integration"). A line is
-- finished when what was picked and what was reported short reach its quantity; the stock
-- projection counts only the picks, so the shorts are kept here, one row per
-- `short_picked` event, written in the push's transaction. Rows are never updated.

CREATE TABLE pick_line_shorts (
    event_id  BLOB PRIMARY KEY CHECK (length(event_id) = 16),
    pick_list BLOB NOT NULL CHECK (length(pick_list) = 16),
    line      INTEGER NOT NULL,
    qty_short INTEGER NOT NULL,
    reason    TEXT NOT NULL
) STRICT;
CREATE INDEX pick_line_shorts_by_list ON pick_line_shorts (pick_list, line);
