-- Aisle server registry, schema 7: each webhook endpoint is leased to one delivery worker at
-- a time (docs/protocol.md, "ERP integration"), so that several server instances sharing a
-- registry can all run the worker without sending an endpoint's messages twice or out of
-- order. `lease_holder` names the worker's process; the lease runs until `lease_until_ms`,
-- renewed at each of the holder's ticks while the endpoint is due.

ALTER TABLE webhook_endpoints ADD COLUMN lease_holder TEXT;
ALTER TABLE webhook_endpoints ADD COLUMN lease_until_ms INTEGER NOT NULL DEFAULT 0;
