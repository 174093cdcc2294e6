-- Durable outbox of webhook events for the CRM. An event is written here
-- before anything else happens with it, so a restart never loses it; the
-- deliverer sends the oldest undelivered event of each ordering key (the call
-- id) and keeps later events of the same key back until it is delivered.
CREATE TABLE webhook_outbox (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT, -- enqueue order
    delivery_id     TEXT NOT NULL UNIQUE,              -- sent as X-Crmphone-Delivery, stable across retries
    event_type      TEXT NOT NULL,                     -- call.offered, call.ended, ...
    ordering_key    TEXT NOT NULL,                     -- the call id (or task:<id>)
    body            TEXT NOT NULL,                     -- the exact JSON body POSTed, fixed at enqueue time
    created_at      INTEGER NOT NULL,                  -- unix milliseconds
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,                  -- unix milliseconds
    last_error      TEXT NOT NULL DEFAULT '',          -- never holds the secret or the URL
    delivered_at    INTEGER                            -- NULL while pending
);
CREATE INDEX webhook_outbox_pending ON webhook_outbox(ordering_key, seq) WHERE delivered_at IS NULL;
CREATE INDEX webhook_outbox_delivered ON webhook_outbox(delivered_at) WHERE delivered_at IS NOT NULL;
