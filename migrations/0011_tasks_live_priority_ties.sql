-- Tasks of one priority are listed by creation time, then id (they were by id): with the server's
-- `created_at` before the id in `tasks_live_priority`, a push's new tasks append at the end of their
-- priority instead of landing at random ids all over the index, so a 500-create COMMIT rewrites
-- about 36 of its pages instead of about 211 at 10,000 tasks (537 -> 27 at 50,000; 8-12% of the
-- COMMIT's pages; docs/performance.md, "Compact keys on SQLite").
DROP INDEX tasks_live_priority;
CREATE INDEX tasks_live_priority ON tasks (org_id, priority_rank, created_at, id) WHERE deleted_at IS NULL;
