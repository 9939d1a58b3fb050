-- Aisle device store, schema 9: wrong-PIN lockouts, per badge, on this device.
--
-- A badge's wrong PINs in a row are counted here, in the store, so closing the app does not
-- reset them. At 5 the badge is locked until `locked_until_ms` (the PC's clock); each lock
-- of the same badge lasts twice the one before, from 30 s up to an hour, and a right PIN
-- clears the row. No PIN is stored, only the count of wrong ones.
CREATE TABLE badge_lockouts (
    badge           TEXT PRIMARY KEY CHECK (badge <> ''),
    failures        INTEGER NOT NULL DEFAULT 0 CHECK (failures >= 0),
    locks           INTEGER NOT NULL DEFAULT 0 CHECK (locks >= 0),
    locked_until_ms INTEGER NOT NULL DEFAULT 0 CHECK (locked_until_ms >= 0)
) STRICT;
