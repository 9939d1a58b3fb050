-- Aisle server registry on PostgreSQL, schema 6: desktop releases and each tenant's update
-- policy, as the SQLite registry's schema 8 (migrations/cloud/registry/0008_releases.sql).
-- Here the artifact is in the database, in 1 MiB chunks (`release_chunks`), so every server
-- instance serves it and a download streams it chunk by chunk.

CREATE TABLE IF NOT EXISTS releases (
    target     text NOT NULL,
    version    text NOT NULL,
    channel    text NOT NULL,
    file_name  text NOT NULL,
    size       bigint NOT NULL CHECK (size > 0),
    sha256     text NOT NULL,
    signature  text NOT NULL,
    notes      text NOT NULL DEFAULT '',
    created_ms bigint NOT NULL,
    PRIMARY KEY (target, version)
);

CREATE TABLE IF NOT EXISTS release_chunks (
    target  text NOT NULL,
    version text NOT NULL,
    n       integer NOT NULL CHECK (n >= 0),
    bytes   bytea NOT NULL,
    PRIMARY KEY (target, version, n),
    FOREIGN KEY (target, version) REFERENCES releases (target, version) ON DELETE CASCADE
);

CREATE TABLE IF NOT EXISTS tenant_updates (
    tenant      uuid PRIMARY KEY REFERENCES tenants (id),
    channel     text NOT NULL DEFAULT 'stable',
    pin         text,
    rollout_pct integer NOT NULL DEFAULT 100 CHECK (rollout_pct BETWEEN 0 AND 100),
    updated_ms  bigint NOT NULL
);
