-- A page of tasks with `include_deleted=true` in the default order (`-updated_at`, then id) read
-- `tasks_org_updated (org_id, updated_at)` and sorted every task of equal `updated_at` by id, or,
-- as SQLite planned it, sorted the whole organization for each page (722 ms for a deep page of
-- 200,000 tasks): with the id in the index the index is the page's order. Same number of indexes,
-- one 36 bytes wider: no write cost measured.
CREATE INDEX tasks_org_updated_id ON tasks (org_id, updated_at, id);
DROP INDEX tasks_org_updated;
