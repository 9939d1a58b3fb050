-- Aisle tenant database on PostgreSQL: a marker that says whether the stock keys and key
-- states are still exactly as one server's last push left them.
--
-- A server keeps, between a tenant's pushes, the key ids and key states its last push read
-- and wrote (crates/aisle-server/src/pg/storage/key_cache.rs), so that the next push need not
-- read them again. That copy is only right while nothing else has written these two tables.
-- Every statement that writes them, whoever runs it (another server instance, a rules
-- replay, a restore, an operator by hand), clears `token` through the triggers below; a
-- push sets a new random token as its last write, after its own writes to them, and keeps it
-- with its copy. The next push reads the token under the push lock and uses its copy only
-- if the token is still its own. Every writer of these tables holds the push lock, so none
-- writes between a push's reads and its commit.
CREATE TABLE projection_marker (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    token uuid
);
INSERT INTO projection_marker (id, token) VALUES (1, NULL);

CREATE FUNCTION projection_written() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE projection_marker SET token = NULL WHERE token IS NOT NULL;
    RETURN NULL;
END;
$$;
CREATE TRIGGER stock_keys_written
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON stock_keys
    FOR EACH STATEMENT EXECUTE FUNCTION projection_written();
CREATE TRIGGER key_states_written
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON key_states
    FOR EACH STATEMENT EXECUTE FUNCTION projection_written();
