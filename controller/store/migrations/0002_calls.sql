-- One row per call, written as the call progresses.
CREATE TABLE calls (
    id              TEXT PRIMARY KEY,
    direction       TEXT NOT NULL,              -- outbound | inbound
    operator_id     TEXT NOT NULL DEFAULT '',
    session_id      TEXT NOT NULL DEFAULT '',
    number          TEXT NOT NULL,              -- the far party's number
    crm_ref         TEXT NOT NULL DEFAULT '',
    state           TEXT NOT NULL,              -- last state: dialing, ringing, early_media, answered, ended
    cause           TEXT NOT NULL DEFAULT '',   -- set when ended
    hangup_by       TEXT NOT NULL DEFAULT '',   -- operator | remote | system
    codec           TEXT NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,           -- unix milliseconds
    ringing_at      INTEGER,
    answered_at     INTEGER,
    ended_at        INTEGER,
    far_channel_id  TEXT NOT NULL DEFAULT '',
    media_channel_id TEXT NOT NULL DEFAULT '',
    bridge_id       TEXT NOT NULL DEFAULT '',
    media_stats     TEXT NOT NULL DEFAULT '{}'  -- JSON: packets, bytes, loss, jitter per direction
);
CREATE INDEX calls_operator_created ON calls(operator_id, created_at);
CREATE INDEX calls_created ON calls(created_at);
CREATE INDEX calls_open ON calls(ended_at) WHERE ended_at IS NULL;
