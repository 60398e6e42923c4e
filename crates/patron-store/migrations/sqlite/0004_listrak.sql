-- The Listrak integration of a program: credentials (the secret sealed), status, the provisioned lists with
-- their event and field ids and unsubscribe watermark, the values last sent per (list, member) for profile
-- sync, and backfill progress. Timestamps are milliseconds since the Unix epoch (UTC); booleans are 0/1.

CREATE TABLE listrak_integrations (
    program_id          TEXT PRIMARY KEY REFERENCES programs(id),
    client_id           TEXT NOT NULL,
    client_secret       TEXT NOT NULL,
    status              TEXT NOT NULL,
    last_error          TEXT,
    requests_per_second BIGINT,
    provisioned_at      BIGINT,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);

CREATE TABLE listrak_lists (
    program_id            TEXT NOT NULL,
    name                  TEXT NOT NULL,
    route                 TEXT NOT NULL,
    position              BIGINT NOT NULL,
    list_id               TEXT,
    event_group_id        BIGINT,
    field_group_id        BIGINT,
    event_ids             TEXT NOT NULL DEFAULT '{}',
    field_ids             TEXT NOT NULL DEFAULT '{}',
    unsubscribe_watermark BIGINT,
    PRIMARY KEY (program_id, name)
);

CREATE TABLE listrak_contacts (
    program_id   TEXT NOT NULL,
    list_id      TEXT NOT NULL,
    member_id    TEXT NOT NULL,
    email        TEXT NOT NULL,
    sent_fields  TEXT NOT NULL DEFAULT '{}',
    unsubscribed BIGINT NOT NULL DEFAULT 0,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (program_id, list_id, member_id)
);

CREATE TABLE listrak_backfills (
    program_id     TEXT NOT NULL,
    list_id        TEXT NOT NULL,
    status         TEXT NOT NULL,
    last_member_id TEXT,
    done           BIGINT NOT NULL DEFAULT 0,
    total          BIGINT NOT NULL DEFAULT 0,
    imports        BIGINT NOT NULL DEFAULT 0,
    last_error     TEXT,
    started_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    PRIMARY KEY (program_id, list_id)
);

ALTER TABLE members ADD COLUMN opt_out_source TEXT;
CREATE INDEX deliveries_pending_profile ON deliveries (program_id, member_id, list_id, status);
