-- An organization's comments by their last edit (`GET /api/comments?ordering=-updated_at` without
-- `task_id`): no index gave that order, so each page sorted every comment of the organization (at
-- 400,000 comments: SQLite 2.2 s, holding every request meanwhile; Postgres 0.43 s). Not partial, as
-- `tasks_org_updated_id` (0009): it serves lists with deleted comments too. A task's own comments
-- are still found by `comments_org_task` and sorted (src/comments/repo.ts).
CREATE INDEX comments_org_updated ON comments (org_id, updated_at, id);
