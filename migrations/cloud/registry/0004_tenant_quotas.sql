-- Aisle server registry, schema 4: per-tenant quotas, set by the operator with
-- `aisle-server tenant set-quota`. A missing row, or a NULL column, means the server's
-- default (`serve --tenant-push-per-sec`, `--tenant-max-bytes`).
-- push_per_sec: events a tenant may push per second, on average (token bucket).
-- max_bytes: the size of the tenant's database file (with its WAL) past which pushes are
-- refused with 507 tenant_storage_full.

CREATE TABLE tenant_quotas (
    tenant       BLOB PRIMARY KEY REFERENCES tenants (id),
    push_per_sec INTEGER CHECK (push_per_sec IS NULL OR push_per_sec > 0),
    max_bytes    INTEGER CHECK (max_bytes IS NULL OR max_bytes > 0),
    updated_ms   INTEGER NOT NULL
) STRICT;
