-- Whether a lane has an older open row looks only at open rows: a contact's delivered history,
-- however long, is never walked again.
CREATE INDEX deliveries_open_lane ON deliveries (program_id, email, id) WHERE status IN ('pending', 'in_flight');
