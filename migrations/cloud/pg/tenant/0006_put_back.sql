-- Aisle tenant database on PostgreSQL: a cancelled pick list's put-backs, found by list
-- (the SQLite tenant schema's 0010_put_back.sql). A partial expression index over only the
-- `put_back` events, so `pick_list.cancelled`'s check reads them without the rest of the log.
CREATE INDEX IF NOT EXISTS events_put_back_by_list
    ON events ((payload::jsonb #>> '{body,pick_list}'))
    WHERE kind = 'put_back';
