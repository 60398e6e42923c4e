-- Loyalty mechanics: coupons (uploaded pools and issued codes), win-back offers, referral claims,
-- and how much of each lot returns took back (rolling tier windows count earnings net of returns).
-- Timestamps are milliseconds since the Unix epoch (UTC); booleans are 0/1; points are BIGINT.

ALTER TABLE lots ADD COLUMN reversed BIGINT NOT NULL DEFAULT 0;
CREATE INDEX lots_expiring ON lots (program_id, expires_at);

CREATE TABLE coupons (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    program_id  TEXT NOT NULL REFERENCES programs(id),
    reward_id   TEXT,
    -- 'pool' (uploaded), 'generated', 'referral_friend' or 'referral_referrer'
    source      TEXT NOT NULL,
    code        TEXT NOT NULL,
    member_id   TEXT,
    email_key   TEXT,
    claimed_at  BIGINT,
    created_at  BIGINT NOT NULL,
    UNIQUE (program_id, code)
);
CREATE INDEX coupons_unclaimed ON coupons (reward_id, claimed_at, id);

CREATE TABLE winback_offers (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    program_id    TEXT NOT NULL,
    member_id     TEXT NOT NULL REFERENCES members(id),
    -- the last activity the inactivity episode follows: one offer per episode
    episode_start BIGINT NOT NULL,
    bonus_points  BIGINT NOT NULL,
    offered_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    -- 'open', 'taken' or 'lapsed'
    status        TEXT NOT NULL DEFAULT 'open',
    closed_at     BIGINT,
    UNIQUE (member_id, episode_start)
);
CREATE INDEX winback_open ON winback_offers (program_id, status, expires_at);

CREATE TABLE referral_claims (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    program_id         TEXT NOT NULL,
    referrer_member_id TEXT NOT NULL REFERENCES members(id),
    email              TEXT NOT NULL,
    email_key          TEXT NOT NULL,
    name               TEXT,
    eligible           BIGINT NOT NULL,
    reason             TEXT,
    coupon_code        TEXT,
    rewarded_at        BIGINT,
    friend_member_id   TEXT,
    created_at         BIGINT NOT NULL,
    UNIQUE (program_id, referrer_member_id, email_key)
);
CREATE INDEX referral_claims_by_friend ON referral_claims (program_id, email_key, eligible);
