-- The organization's comment list (`GET /api/comments` without `task_id`) counts the live comments
-- whose task is live: with the live comments indexed by task, the count reads this index and looks
-- up each task once instead of reading every comment row (658 -> 213 ms on SQLite, 97 -> 72 ms on
-- Postgres, 100,000 comments). Only comment writes maintain it.
CREATE INDEX comments_live_task ON comments (org_id, task_id) WHERE deleted_at IS NULL;
