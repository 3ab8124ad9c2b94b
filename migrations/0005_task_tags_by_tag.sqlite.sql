-- 0005_task_tags_by_tag.sql for SQLite: the same table stored WITHOUT ROWID (the key is the whole
-- row, so the table is that one B-tree).
CREATE TABLE task_tags_by_tag (
  org_id TEXT NOT NULL,
  tag TEXT NOT NULL,
  task_id TEXT NOT NULL,
  CONSTRAINT task_tags_org_tag_task PRIMARY KEY (org_id, tag, task_id)
) WITHOUT ROWID;
INSERT INTO task_tags_by_tag (org_id, tag, task_id) SELECT org_id, tag, task_id FROM task_tags;
DROP TABLE task_tags;
ALTER TABLE task_tags_by_tag RENAME TO task_tags;
