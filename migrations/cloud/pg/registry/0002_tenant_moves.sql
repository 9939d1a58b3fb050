-- Aisle server registry on PostgreSQL, schema 2: tenant moves (`aisle-server tenant move`).
-- A row exists from the moment a move is recorded until the old database is dropped; its
-- `phase` is what the move's planner (crate::pg::moving::plan) resumes from after a kill:
--   copying  - the target database is being created and filled while the tenant works;
--   paused   - the tenant's writes are paused (its source database carries the write fence)
--              for the final catch-up and the verification;
--   switched - the placement names the target; the source database is dropped once
--              `drop_after_ms` has passed (`tenant move --finish`, or the next move command).
-- While a move is copying or paused the tenant's placement has state 'moving'.
CREATE TABLE tenant_moves (
    tenant        uuid PRIMARY KEY REFERENCES tenants (id),
    from_cluster  TEXT NOT NULL REFERENCES clusters (name),
    from_database TEXT NOT NULL,
    to_cluster    TEXT NOT NULL REFERENCES clusters (name),
    to_database   TEXT NOT NULL,
    phase         TEXT NOT NULL CHECK (phase IN ('copying', 'paused', 'switched')),
    grace_ms      BIGINT NOT NULL CHECK (grace_ms >= 0),
    started_ms    BIGINT NOT NULL,
    switched_ms   BIGINT,
    drop_after_ms BIGINT,
    CHECK (from_cluster <> to_cluster),
    CHECK ((phase = 'switched') = (drop_after_ms IS NOT NULL))
);
