-- Aisle device store, schema 8: the names of the warehouse's PCs, from the server's master
-- data, so the audit trail says "Dock PC 1" rather than a device id. Sent whole with every
-- master-data page (a warehouse has tens of PCs, not thousands); a name is replaced when it
-- changes and kept when a PC is revoked, since its events stay in the trail.
CREATE TABLE device_names (
    id   BLOB PRIMARY KEY,
    name TEXT NOT NULL
) STRICT;
