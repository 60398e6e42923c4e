-- The admin console: signed-in sessions (only a hash of the session id is kept, so a copy of the database
-- signs nobody in), and the console password an instance admin may issue per program (hashed, like API
-- keys). Timestamps are milliseconds since the Unix epoch (UTC).

CREATE TABLE console_sessions (
    id_hash      TEXT PRIMARY KEY,
    program_id   TEXT NOT NULL REFERENCES programs(id),
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX console_sessions_by_expiry ON console_sessions (expires_at);
CREATE INDEX console_sessions_by_program ON console_sessions (program_id);

CREATE TABLE console_passwords (
    program_id    TEXT PRIMARY KEY REFERENCES programs(id),
    password_hash TEXT NOT NULL UNIQUE,
    created_at    BIGINT NOT NULL
);
