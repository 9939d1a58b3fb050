-- Aisle server registry, schema 8: desktop releases the server offers its PCs, and each
-- tenant's update policy (docs/protocol.md, "Updates").
--
-- A release is added by the operator (`aisle-server release add`): its artifact is a file in
-- the data directory (releases/<target>/<version>/<file_name>, written before this row), and
-- `signature` is the Tauri updater's signature of it (the updater keys' own, never here).
CREATE TABLE releases (
    target     TEXT NOT NULL,            -- linux-x86_64, windows-x86_64, darwin-aarch64, …
    version    TEXT NOT NULL,            -- semver: 0.3.0, 0.4.0-beta.1
    channel    TEXT NOT NULL,            -- stable, beta, …
    file_name  TEXT NOT NULL,
    size       INTEGER NOT NULL CHECK (size > 0),
    sha256     TEXT NOT NULL,
    signature  TEXT NOT NULL,
    notes      TEXT NOT NULL DEFAULT '',
    created_ms INTEGER NOT NULL,
    PRIMARY KEY (target, version)
) STRICT;

-- A tenant without a row takes the stable channel, no pin, everyone at once.
CREATE TABLE tenant_updates (
    tenant      BLOB PRIMARY KEY REFERENCES tenants (id),
    channel     TEXT NOT NULL DEFAULT 'stable',
    pin         TEXT,                    -- a version: offer it and nothing newer
    rollout_pct INTEGER NOT NULL DEFAULT 100 CHECK (rollout_pct BETWEEN 0 AND 100),
    updated_ms  INTEGER NOT NULL
) STRICT;
