-- task_tags keyed the way it is read (`?tag=`: organization, tag, then the tasks) and nothing else:
-- one B-tree instead of a table, a (task_id, tag) key and a second (org_id, tag, task_id) index,
-- and no foreign key. Task ids are random UUIDs, so every key of a batch lands on its own page and
-- each extra index meant rewriting most of its pages at every COMMIT of a push; the foreign key
-- cost Postgres a trigger per row. The write core keeps the rows in step with tasks.tags: it deletes
-- a task's stored tags by (org_id, tag, task_id), and the tombstone purge deletes a purged task's tags.
-- SQLite stores the same table WITHOUT ROWID (0005_task_tags_by_tag.sqlite.sql).
CREATE TABLE task_tags_by_tag (
  org_id TEXT NOT NULL,
  tag TEXT NOT NULL,
  task_id TEXT NOT NULL,
  CONSTRAINT task_tags_org_tag_task PRIMARY KEY (org_id, tag, task_id)
);
INSERT INTO task_tags_by_tag (org_id, tag, task_id) SELECT org_id, tag, task_id FROM task_tags;
DROP TABLE task_tags;
ALTER TABLE task_tags_by_tag RENAME TO task_tags;
