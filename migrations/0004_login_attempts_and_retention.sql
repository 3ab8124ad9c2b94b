-- Login rate limit shared by every instance (src/auth/rate-limit.ts), and indexes for the
-- retention of job runs and metrics snapshots (the `cleanup-sync-logs` job).

-- Login attempts per (normalized email, client address) in a fixed window that starts at the
-- pair's first attempt. A successful login deletes its row; expired rows are ignored and deleted
-- when new windows start.
CREATE TABLE login_attempts (
  email TEXT NOT NULL,
  address TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  window_ends_at TEXT NOT NULL,
  PRIMARY KEY (email, address)
);
CREATE INDEX login_attempts_window_ends ON login_attempts (window_ends_at);

-- Retention deletes the oldest snapshots first, across organizations.
CREATE INDEX sync_metrics_snapshots_window_end ON sync_metrics_snapshots (window_end);
