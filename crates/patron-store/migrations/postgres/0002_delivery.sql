-- Delivery machinery: holds that pause a program's channel while it is unusable, the count of attempts
-- whose outcome is unknown (the request may have been applied), and the index that keeps each
-- (list, contact) lane in order.

CREATE TABLE delivery_holds (
    program_id TEXT NOT NULL,
    channel    TEXT NOT NULL,
    reason     TEXT NOT NULL,
    since      BIGINT NOT NULL,
    until      BIGINT NOT NULL,
    PRIMARY KEY (program_id, channel)
);

ALTER TABLE deliveries ADD COLUMN ambiguous BIGINT NOT NULL DEFAULT 0;
CREATE INDEX deliveries_lane ON deliveries (program_id, email, id);
CREATE INDEX deliveries_leased ON deliveries (status, lease_until);
