-- 0005_task_tags_by_tag.sql for SQLite: the same table stored WITHOUT ROWID (the key is the whole
-- row, so the table is that one B-tree).
CREATE TABLE task_tags_by_tag (
  org_id TEXT NOT NULL,
  tag TEXT NOT NULL,
  created_at TEXT NOT NULL,
  task_id TEXT NOT NULL,
  CONSTRAINT task_tags_org_tag_created_task PRIMARY KEY (org_id, tag, created_at, task_id)
) WITHOUT ROWID;
INSERT INTO task_tags_by_tag (org_id, tag, created_at, task_id)
  SELECT tt.org_id, tt.tag, t.created_at, tt.task_id FROM task_tags tt JOIN tasks t ON t.id = tt.task_id;
DROP TABLE task_tags;
ALTER TABLE task_tags_by_tag RENAME TO task_tags;
