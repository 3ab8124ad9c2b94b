-- Scheduled jobs (src/jobs) and sync metrics snapshots (src/metrics).

-- One row per job run. A scheduled run is claimed by inserting its (job, scheduled_for) row
-- before it starts: the UNIQUE constraint lets exactly one instance win each tick.
-- Manual runs (`taskmgr jobs run`) have scheduled_for NULL, which never collides.
CREATE TABLE job_runs (
  id TEXT PRIMARY KEY,
  job TEXT NOT NULL,
  scheduled_for TEXT,
  kind TEXT NOT NULL CHECK (kind IN ('schedule', 'manual')),
  instance TEXT NOT NULL,
  started_at TEXT NOT NULL,
  finished_at TEXT,
  duration_ms DOUBLE PRECISION,
  ok INTEGER,
  result TEXT,
  error TEXT,
  UNIQUE (job, scheduled_for)
);
CREATE INDEX job_runs_job_started ON job_runs (job, started_at);

-- Hourly per-organization sync metrics (the `sync-metrics` job). Rates are NULL when undefined
-- (no syncs, no pushed changes); active_devices_per_user is a JSON array.
CREATE TABLE sync_metrics_snapshots (
  id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL REFERENCES organizations(id),
  window_start TEXT NOT NULL,
  window_end TEXT NOT NULL,
  sync_count INTEGER NOT NULL,
  error_count INTEGER NOT NULL,
  change_count INTEGER NOT NULL,
  conflict_count INTEGER NOT NULL,
  sync_success_rate DOUBLE PRECISION,
  conflict_rate DOUBLE PRECISION,
  average_sync_duration_ms DOUBLE PRECISION,
  active_devices INTEGER NOT NULL,
  active_devices_per_user TEXT NOT NULL,
  created_at TEXT NOT NULL,
  UNIQUE (org_id, window_end)
);

-- Tombstone purge: find expired tombstones without scanning live rows.
CREATE INDEX projects_tombstones ON projects (deleted_at) WHERE deleted_at IS NOT NULL;
CREATE INDEX tasks_tombstones ON tasks (deleted_at) WHERE deleted_at IS NOT NULL;
CREATE INDEX comments_tombstones ON comments (deleted_at) WHERE deleted_at IS NOT NULL;
CREATE INDEX conflicts_entity ON conflicts (entity_id);

-- Metrics: last sync per device, and per-device activity in a window.
CREATE INDEX sync_log_device_time ON sync_log (device_id, created_at);
