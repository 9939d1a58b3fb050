-- Aisle tenant database, schema 10: a cancelled pick list's put-backs, found by list.
--
-- When the ERP cancels a pick list, what was picked for it goes back on a shelf as
-- `put_back` events, and `pick_list.cancelled` is sent once they cover every line
-- (crate::erp_out::pick_list_cancelled). This partial index holds only those events, by
-- the pick list they name, so the check reads them without the rest of the log.
CREATE INDEX events_put_back_by_list
    ON events (json_extract(payload, '$.body.pick_list'))
    WHERE kind = 'put_back';
