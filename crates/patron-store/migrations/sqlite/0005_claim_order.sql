-- Claiming walks open deliveries in recorded order and stops at its limit.
CREATE INDEX deliveries_open_in_order ON deliveries (status, id);
