-- API keys of the REST API (/api/v1). Only the SHA-256 of the key's secret
-- part is stored: the full key is shown once, when it is created.
CREATE TABLE api_keys (
    id             TEXT PRIMARY KEY,      -- public part of crmk_<id>_<secret>
    name           TEXT NOT NULL DEFAULT '',
    secret_sha256  BLOB NOT NULL,
    created_at     INTEGER NOT NULL,      -- unix milliseconds
    last_used_at   INTEGER,
    revoked_at     INTEGER
);
