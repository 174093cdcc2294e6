-- Operators as the CRM knows them. SIP passwords are never stored: the CRM
-- token carries them for the length of a login only.
CREATE TABLE operators (
    id            TEXT PRIMARY KEY,          -- the CRM's operator id
    display_name  TEXT NOT NULL DEFAULT '',
    crm_identity  TEXT NOT NULL DEFAULT '',  -- token prefix/key that vouched for the operator
    sip_identity  TEXT NOT NULL DEFAULT '',  -- sip:login@domain, when the token carries SIP credentials
    extension     TEXT NOT NULL DEFAULT '',  -- local extension, when the token names one
    created_at    INTEGER NOT NULL,          -- unix milliseconds
    last_seen_at  INTEGER NOT NULL
);

-- Every login attempt, accepted or not.
CREATE TABLE login_audit (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    at           INTEGER NOT NULL,           -- unix milliseconds
    operator_id  TEXT NOT NULL DEFAULT '',   -- empty when the token could not be read
    remote_addr  TEXT NOT NULL DEFAULT '',
    user_agent   TEXT NOT NULL DEFAULT '',
    result       TEXT NOT NULL               -- ok, malformed, unknown_key, bad_token, expired, replayed, ...
);
CREATE INDEX login_audit_operator_at ON login_audit(operator_id, at);
CREATE INDEX login_audit_at ON login_audit(at);
