-- taskmgr initial schema. Portable SQL: runs unchanged on SQLite and Postgres.
-- Timestamps are ISO-8601 UTC text, JSON is text, booleans are 0/1 integers.

CREATE TABLE organizations (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  slug TEXT NOT NULL UNIQUE,
  created_at TEXT NOT NULL
);

-- Per-organization change-feed counter: its row lock orders feed positions by commit.
CREATE TABLE org_feed_state (
  org_id TEXT PRIMARY KEY REFERENCES organizations(id),
  seq BIGINT NOT NULL DEFAULT 0,
  purged_through BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE users (
  id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL REFERENCES organizations(id),
  email TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL DEFAULT '',
  role TEXT NOT NULL CHECK (role IN ('admin', 'member')),
  password_hash TEXT NOT NULL,
  active INTEGER NOT NULL DEFAULT 1,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX users_org ON users (org_id, created_at);

CREATE TABLE devices (
  id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL REFERENCES organizations(id),
  user_id TEXT NOT NULL REFERENCES users(id),
  name TEXT NOT NULL,
  platform TEXT,
  created_at TEXT NOT NULL,
  last_seen_at TEXT,
  revoked_at TEXT
);
CREATE INDEX devices_user ON devices (user_id, created_at);
CREATE INDEX devices_org ON devices (org_id);

CREATE TABLE refresh_tokens (
  id TEXT PRIMARY KEY,
  family_id TEXT NOT NULL,
  user_id TEXT NOT NULL REFERENCES users(id),
  device_id TEXT,
  token_hash TEXT NOT NULL,
  created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  used_at TEXT,
  revoked_at TEXT
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);

CREATE TABLE projects (
  id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL REFERENCES organizations(id),
  name TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  color TEXT,
  archived INTEGER NOT NULL DEFAULT 0,
  created_by TEXT,
  version INTEGER NOT NULL,
  vector_clock TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  deleted_at TEXT,
  deleted_by TEXT
);
CREATE INDEX projects_org ON projects (org_id, created_at);

CREATE TABLE tasks (
  id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL REFERENCES organizations(id),
  project_id TEXT,
  title TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL,
  priority TEXT NOT NULL,
  priority_rank INTEGER NOT NULL,
  due_date TEXT,
  tags TEXT NOT NULL DEFAULT '[]',
  assignee_id TEXT,
  created_by TEXT NOT NULL,
  version INTEGER NOT NULL,
  vector_clock TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  deleted_at TEXT,
  deleted_by TEXT
);
-- Lists with include_deleted=true.
CREATE INDEX tasks_org_updated ON tasks (org_id, updated_at);
-- Live lists (their queries always say `deleted_at IS NULL`, so these partial indexes apply and
-- counts are index-only): one per `ordering` field, and one per equality filter followed by the
-- default ordering (-updated_at). `id` ends each as the pages' tie-break.
CREATE INDEX tasks_live_updated ON tasks (org_id, updated_at, id) WHERE deleted_at IS NULL;
CREATE INDEX tasks_live_created ON tasks (org_id, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX tasks_live_due ON tasks (org_id, due_date, id) WHERE deleted_at IS NULL;
CREATE INDEX tasks_live_priority ON tasks (org_id, priority_rank, id) WHERE deleted_at IS NULL;
CREATE INDEX tasks_live_title ON tasks (org_id, title, id) WHERE deleted_at IS NULL;
CREATE INDEX tasks_live_status ON tasks (org_id, status, updated_at, id) WHERE deleted_at IS NULL;
CREATE INDEX tasks_live_project ON tasks (org_id, project_id, updated_at, id) WHERE deleted_at IS NULL;
CREATE INDEX tasks_live_assignee ON tasks (org_id, assignee_id, updated_at, id) WHERE deleted_at IS NULL;

CREATE TABLE comments (
  id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL REFERENCES organizations(id),
  task_id TEXT NOT NULL,
  parent_id TEXT,
  body TEXT NOT NULL,
  author_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  vector_clock TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  deleted_at TEXT,
  deleted_by TEXT
);
CREATE INDEX comments_org_task ON comments (org_id, task_id, created_at);
CREATE INDEX comments_org_created ON comments (org_id, created_at);

-- One row per tag of a task (kept in step with tasks.tags by the write core): `?tag=` is an index lookup.
CREATE TABLE task_tags (
  task_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
  org_id TEXT NOT NULL,
  tag TEXT NOT NULL,
  PRIMARY KEY (task_id, tag)
);
CREATE INDEX task_tags_org_tag ON task_tags (org_id, tag, task_id);

-- Every write of every synced record: the changed fields (the task history API) and the
-- full snapshot after the write (the base of later three-way merges).
CREATE TABLE history (
  entity_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  id TEXT NOT NULL,
  org_id TEXT NOT NULL,
  entity TEXT NOT NULL,
  action TEXT NOT NULL,
  changes TEXT NOT NULL,
  snapshot TEXT NOT NULL,
  user_id TEXT,
  device_id TEXT,
  vector_clock TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (entity_id, entity, version)
);

-- One row per synced record, moved to a new position on every write (the pull feed).
CREATE TABLE feed (
  entity TEXT NOT NULL,
  entity_id TEXT NOT NULL,
  org_id TEXT NOT NULL,
  pos BIGINT NOT NULL,
  op TEXT NOT NULL,
  version INTEGER NOT NULL,
  origin_device TEXT,
  PRIMARY KEY (entity_id, entity)
);
CREATE INDEX feed_org_pos ON feed (org_id, pos);

-- Exactly-once push: written in the same transaction as the change's effects.
CREATE TABLE sync_changes (
  device_id TEXT NOT NULL,
  change_id TEXT NOT NULL,
  org_id TEXT NOT NULL,
  payload_hash TEXT NOT NULL,
  result TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (device_id, change_id)
);

CREATE TABLE conflicts (
  id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL REFERENCES organizations(id),
  entity TEXT NOT NULL,
  entity_id TEXT NOT NULL,
  fields TEXT NOT NULL,
  local TEXT NOT NULL,
  remote TEXT NOT NULL,
  base TEXT,
  device_id TEXT,
  user_id TEXT,
  created_at TEXT NOT NULL,
  resolved_at TEXT,
  resolution TEXT,
  resolved_by TEXT
);
CREATE INDEX conflicts_org_open ON conflicts (org_id, resolved_at, created_at);

CREATE TABLE sync_log (
  id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL,
  device_id TEXT,
  user_id TEXT,
  kind TEXT NOT NULL,
  change_count INTEGER NOT NULL DEFAULT 0,
  applied INTEGER NOT NULL DEFAULT 0,
  merged INTEGER NOT NULL DEFAULT 0,
  conflicts INTEGER NOT NULL DEFAULT 0,
  duplicates INTEGER NOT NULL DEFAULT 0,
  stale INTEGER NOT NULL DEFAULT 0,
  rejected INTEGER NOT NULL DEFAULT 0,
  record_count INTEGER NOT NULL DEFAULT 0,
  duration_ms DOUBLE PRECISION NOT NULL,
  outcome TEXT NOT NULL,
  error TEXT,
  created_at TEXT NOT NULL
);
CREATE INDEX sync_log_org_time ON sync_log (org_id, created_at);
CREATE INDEX sync_log_time ON sync_log (created_at);
