-- Aisle server, one tenant's database, schema 6: the file names its tenant.
-- A tenant's file is found by its path (tenants/<id>.sqlite3), which says nothing once the
-- file is copied: a backup restored into another tenant would have served the first
-- tenant's items and PIN hashes to the second. So, as a device store keeps `tenant` in its
-- `meta`, the server writes the tenant id here when it opens the file (name 'tenant'), and
-- refuses a file stamped for another tenant there and in `aisle-server restore`.
CREATE TABLE tenant_meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
