-- Aisle device store, schema 10: finding a cancelled pick list's picks and put-backs.
--
-- When the ERP cancels a pick list (its master record's status becomes `cancelled`), what
-- was picked for it must go back on a shelf: the put-back work is derived from the list's
-- `picked` and `put_back` events (aisle_core::stock::put_back). These two partial indexes
-- find them by pick list without reading the rest of the log; they hold only those kinds.
CREATE INDEX events_picked_by_list
    ON events (json_extract(payload, '$.body.pick_line.pick_list'))
    WHERE kind = 'picked';
CREATE INDEX events_put_back_by_list
    ON events (json_extract(payload, '$.body.pick_list'))
    WHERE kind = 'put_back';
