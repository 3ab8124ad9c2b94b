-- Conflict lists (`GET /api/sync/conflicts`, oldest first: ORDER BY created_at, id) read their page
-- in index order. `conflicts_org_open (org_id, resolved_at, created_at)` had no id, so every page of
-- the open conflicts sorted each run of equal created_at, and a page with `include_resolved=true`
-- (no condition on resolved_at) sorted every conflict of the organization, whole rows with their
-- three record copies: 573 ms for a deep page and 141 ms for the first of 25,000 conflicts on
-- SQLite; 10 and under 1 ms with these indexes.
CREATE INDEX conflicts_org_open_created ON conflicts (org_id, resolved_at, created_at, id);
DROP INDEX conflicts_org_open;
CREATE INDEX conflicts_org_created ON conflicts (org_id, created_at, id);
