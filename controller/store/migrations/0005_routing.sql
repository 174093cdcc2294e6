-- Where inbound calls go. The dialplan names a target in the Stasis arguments.
CREATE TABLE routing_targets (
    id                TEXT PRIMARY KEY,            -- e.g. "sales", or a DID
    name              TEXT NOT NULL DEFAULT '',
    members           TEXT NOT NULL DEFAULT '[]',  -- JSON array of operator ids
    strategy          TEXT NOT NULL DEFAULT 'ring_all', -- ring_all | longest_idle | round_robin
    ring_timeout_s    INTEGER NOT NULL DEFAULT 30,
    member_timeout_s  INTEGER NOT NULL DEFAULT 15, -- per operator, for longest_idle / round_robin
    on_no_answer      TEXT NOT NULL DEFAULT 'continue', -- continue (dialplan) | hangup
    continue_context  TEXT NOT NULL DEFAULT '',
    continue_exten    TEXT NOT NULL DEFAULT '',
    continue_priority INTEGER NOT NULL DEFAULT 1,
    hangup_cause      TEXT NOT NULL DEFAULT 'normal',
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);

-- Calls nobody answered, to be called back.
CREATE TABLE callback_tasks (
    id            TEXT PRIMARY KEY,
    number        TEXT NOT NULL,
    name          TEXT NOT NULL DEFAULT '',
    target_id     TEXT NOT NULL DEFAULT '',
    call_id       TEXT NOT NULL DEFAULT '',
    reason        TEXT NOT NULL,                   -- nobody_available | timeout | caller_hung_up | rejected
    created_at    INTEGER NOT NULL,
    closed_at     INTEGER,
    closed_by     TEXT NOT NULL DEFAULT '',        -- operator id, or "auto"
    closed_reason TEXT NOT NULL DEFAULT '',        -- called_back | closed
    closed_call   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX callback_tasks_open ON callback_tasks(target_id, created_at) WHERE closed_at IS NULL;
CREATE INDEX callback_tasks_number ON callback_tasks(number) WHERE closed_at IS NULL;

ALTER TABLE calls ADD COLUMN target_id TEXT NOT NULL DEFAULT '';
ALTER TABLE calls ADD COLUMN caller_name TEXT NOT NULL DEFAULT '';
ALTER TABLE calls ADD COLUMN missed_reason TEXT NOT NULL DEFAULT '';
