-- Aisle server, one tenant's database, schema 7: the warehouses each user works in, and the
-- tenant's PIN policy.
--
-- A device gets only the users of its own warehouse (a stolen PC gives no one else's PIN
-- hash). A user is in a warehouse while `member` is 1. Taking a user out of a warehouse
-- keeps the row with `member = 0`, and the user's version moves on, so that warehouse's
-- devices pull the user once more, as inactive, instead of keeping them. Users from before
-- this schema have no rows and reach no device until the ERP names their warehouses.
CREATE TABLE user_warehouses (
    user      BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    warehouse BLOB NOT NULL CHECK (length(warehouse) = 16),
    member    INTEGER NOT NULL DEFAULT 1 CHECK (member IN (0, 1)),
    PRIMARY KEY (warehouse, user)
) STRICT;

-- The fewest digits a plain PIN may have, per role, set by `aisle-server tenant
-- set-pin-policy`. Devices get it with master data and refuse a shorter typed PIN of a
-- manager or admin.
CREATE TABLE pin_policy (
    id                 INTEGER PRIMARY KEY CHECK (id = 1),
    picker_min_digits  INTEGER NOT NULL CHECK (picker_min_digits BETWEEN 4 AND 12),
    manager_min_digits INTEGER NOT NULL CHECK (manager_min_digits BETWEEN 4 AND 12)
) STRICT;
INSERT INTO pin_policy (id, picker_min_digits, manager_min_digits) VALUES (1, 4, 6);
