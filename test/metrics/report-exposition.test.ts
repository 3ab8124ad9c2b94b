import { expect, test } from "bun:test";
import type { MetricsReport } from "../../src/metrics/model";
import { reportExposition } from "../../src/metrics/report-exposition";

const report = (averageMs: number | null): MetricsReport => ({
  window: "1h",
  from: "2026-12-06T05:00:00.000Z",
  to: "2026-12-06T06:00:00.000Z",
  syncs: 3,
  pushes: 2,
  pulls: 1,
  failed_syncs: 0,
  changes_pushed: 4,
  sync_success_rate: 1,
  conflict_rate: 0,
  average_sync_duration_ms: averageMs,
  push_results: { applied: 4, merged: 0, conflict: 0, duplicate: 0, stale: 0, rejected: 0 },
  open_conflicts: 0,
  active_devices_per_user: [],
  devices: [],
  generated_at: "2026-12-06T06:00:00.000Z",
});

test.each([
  [6.257, "0.006257"], // 6.257 / 1000 is 0.0062569999999999995 in binary floating point
  [30, "0.03"],
  [0.0004, "0"], // below a microsecond
  [1234.5678, "1.234568"],
])("an average of %p ms is written in seconds to the microsecond: %s", (ms, text) => {
  expect(reportExposition(report(ms))).toContain(`taskmgr_sync_duration_average_seconds{window="1h"} ${text}\n`);
});
