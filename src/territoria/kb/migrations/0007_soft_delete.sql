-- Soft deletion of logged actions: a deleted action keeps its row (and its actors) so that it
-- can be restored; lists, reports and the influence graph leave it out.
ALTER TABLE action ADD COLUMN deleted_at TIMESTAMP;
ALTER TABLE action ADD COLUMN deleted_by VARCHAR;   -- who deleted it ('alice', 'cli:root')
