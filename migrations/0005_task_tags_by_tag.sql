-- task_tags keyed the way it is read (`?tag=`: organization, tag, then the tasks) and nothing else:
-- one B-tree instead of a table, a (task_id, tag) key and a second (org_id, tag, task_id) index,
-- and no foreign key (it cost Postgres a trigger per row). Task ids are client-chosen, often random
-- UUIDs: keyed by them, the tags of a batch of creates landed all over the index and each COMMIT
-- rewrote most of its pages. Within a tag the key starts with the task's created_at (set by the
-- server, never changed), so the tags of new tasks append. The write core keeps the rows in step
-- with tasks.tags: it deletes a task's stored tags by key (it knows the tags and created_at), and
-- the tombstone purge deletes a purged task's tags.
-- SQLite stores the same table WITHOUT ROWID (0005_task_tags_by_tag.sqlite.sql).
CREATE TABLE task_tags_by_tag (
  org_id TEXT NOT NULL,
  tag TEXT NOT NULL,
  created_at TEXT NOT NULL,
  task_id TEXT NOT NULL,
  CONSTRAINT task_tags_org_tag_created_task PRIMARY KEY (org_id, tag, created_at, task_id)
);
INSERT INTO task_tags_by_tag (org_id, tag, created_at, task_id)
  SELECT tt.org_id, tt.tag, t.created_at, tt.task_id FROM task_tags tt JOIN tasks t ON t.id = tt.task_id;
DROP TABLE task_tags;
ALTER TABLE task_tags_by_tag RENAME TO task_tags;
