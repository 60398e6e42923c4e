-- Programs (tenants), members, the points ledger and its lots, idempotency keys, orders,
-- rewards, the notification outbox with its attempts, and job runs.
-- Timestamps are milliseconds since the Unix epoch (UTC); booleans are 0/1; points are BIGINT.

CREATE TABLE programs (
    id                  TEXT PRIMARY KEY,
    name                TEXT NOT NULL,
    api_key_hash        TEXT NOT NULL UNIQUE,
    member_token_secret TEXT NOT NULL,
    settings            TEXT NOT NULL,
    channel             TEXT NOT NULL DEFAULT 'native',
    expiry_enabled_at   BIGINT,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);

CREATE TABLE members (
    id                 TEXT PRIMARY KEY,
    program_id         TEXT NOT NULL REFERENCES programs(id),
    external_id        TEXT NOT NULL,
    email              TEXT NOT NULL,
    email_key          TEXT NOT NULL,
    name               TEXT,
    birth_date         TEXT,
    phone              TEXT,
    preferred_language TEXT,
    opted_out          BIGINT NOT NULL DEFAULT 0,
    status             TEXT NOT NULL DEFAULT 'Active',
    referral_code      TEXT NOT NULL,
    tier               TEXT,
    available          BIGINT NOT NULL DEFAULT 0,
    pending            BIGINT NOT NULL DEFAULT 0,
    earned             BIGINT NOT NULL DEFAULT 0,
    redeemed           BIGINT NOT NULL DEFAULT 0,
    expired            BIGINT NOT NULL DEFAULT 0,
    debt               BIGINT NOT NULL DEFAULT 0,
    qualifying         BIGINT NOT NULL DEFAULT 0,
    last_active_at     BIGINT,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    UNIQUE (program_id, external_id),
    UNIQUE (program_id, referral_code)
);
CREATE UNIQUE INDEX members_live_email ON members (program_id, email_key) WHERE status <> 'Deleted';
CREATE INDEX members_email ON members (program_id, email_key);

CREATE TABLE ledger_entries (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    program_id    TEXT NOT NULL,
    member_id     TEXT NOT NULL REFERENCES members(id),
    kind          TEXT NOT NULL,
    points        BIGINT NOT NULL,
    pending       BIGINT NOT NULL DEFAULT 0,
    activity_type TEXT,
    description   TEXT NOT NULL,
    order_id      TEXT,
    draws         TEXT,
    shortfall     BIGINT NOT NULL DEFAULT 0,
    occurred_at   BIGINT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX ledger_by_member ON ledger_entries (member_id, id);

CREATE TABLE lots (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    program_id    TEXT NOT NULL,
    member_id     TEXT NOT NULL REFERENCES members(id),
    entry_id      BIGINT NOT NULL,
    activity_type TEXT,
    description   TEXT NOT NULL,
    amount        BIGINT NOT NULL,
    remaining     BIGINT NOT NULL,
    qualifying    BIGINT NOT NULL DEFAULT 0,
    earned_at     BIGINT NOT NULL,
    available_at  BIGINT NOT NULL,
    approved      BIGINT NOT NULL,
    expires_at    BIGINT
);
CREATE INDEX lots_by_member ON lots (member_id, remaining);
CREATE INDEX lots_awaiting_approval ON lots (approved, available_at);

CREATE TABLE idempotency_keys (
    program_id   TEXT NOT NULL,
    key          TEXT NOT NULL,
    member_id    TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    response     TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (program_id, key)
);

CREATE TABLE orders (
    program_id      TEXT NOT NULL,
    order_id        TEXT NOT NULL,
    member_id       TEXT NOT NULL,
    amount          REAL NOT NULL,
    points          BIGINT NOT NULL,
    lot_id          BIGINT,
    returned_amount REAL NOT NULL DEFAULT 0,
    returned_points BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (program_id, order_id)
);

CREATE TABLE rewards (
    id            TEXT PRIMARY KEY,
    program_id    TEXT NOT NULL REFERENCES programs(id),
    name          TEXT NOT NULL,
    points_cost   BIGINT NOT NULL,
    active        BIGINT NOT NULL DEFAULT 1,
    min_tier      TEXT,
    coupon_prefix TEXT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX rewards_by_program ON rewards (program_id, active);

CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    program_id      TEXT NOT NULL,
    member_id       TEXT,
    event           TEXT,
    email           TEXT NOT NULL,
    channel         TEXT NOT NULL,
    list_id         TEXT,
    fields          TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending',
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_owner     TEXT,
    lease_until     BIGINT,
    last_error      TEXT,
    dedupe_key      TEXT,
    created_at      BIGINT NOT NULL,
    finished_at     BIGINT
);
CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);
CREATE INDEX deliveries_by_program ON deliveries (program_id, id);
CREATE INDEX deliveries_by_member ON deliveries (program_id, member_id, id);
CREATE UNIQUE INDEX deliveries_dedupe ON deliveries (program_id, dedupe_key);

CREATE TABLE delivery_attempts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id BIGINT NOT NULL REFERENCES deliveries(id),
    started_at  BIGINT NOT NULL,
    finished_at BIGINT NOT NULL,
    outcome     TEXT NOT NULL,
    detail      TEXT
);
CREATE INDEX attempts_by_delivery ON delivery_attempts (delivery_id);

CREATE TABLE job_runs (
    program_id  TEXT NOT NULL,
    job         TEXT NOT NULL,
    period      TEXT NOT NULL,
    owner       TEXT NOT NULL,
    started_at  BIGINT NOT NULL,
    finished_at BIGINT,
    result      TEXT,
    PRIMARY KEY (program_id, job, period)
);
