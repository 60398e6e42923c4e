-- Whether a lane has an older open row looks only at open rows: a contact's delivered history,
-- however long, is never walked again.
CREATE INDEX deliveries_open_lane ON deliveries (program_id, email, id) WHERE status IN ('pending', 'in_flight');

-- Jobs and the backfill page through a program's members in id order: a range scan that stops at
-- the page size, instead of reading every member of the program and sorting them for each page.
CREATE INDEX members_by_program ON members (program_id, id);

-- Superseded: claims walk (status, id) and look for older open rows through deliveries_open_lane.
-- Fewer indexes to keep up on every recorded, claimed and finished delivery.
DROP INDEX deliveries_due;
DROP INDEX deliveries_lane;
