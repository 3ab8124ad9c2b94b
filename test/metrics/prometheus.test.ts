import { expect, test } from "bun:test";
import { HttpMetrics } from "../../src/metrics/http-histogram";
import { family } from "../../src/metrics/prometheus";
import { wantsPrometheus } from "../../src/metrics/routes";
import { rates } from "../../src/metrics/summary";
import { parseWindow } from "../../src/metrics/window";

test("a family has HELP, TYPE and escaped label values; null is NaN", () => {
  expect(family("x_total", "counter", "Things.", [{ labels: { a: 'q"\\\n' }, value: 3 }, { value: null }])).toBe(
    '# HELP x_total Things.\n# TYPE x_total counter\nx_total{a="q\\"\\\\\\n"} 3\nx_total NaN\n',
  );
});

test("the HTTP registry counts requests and fills cumulative latency buckets per route and status", () => {
  const m = new HttpMetrics();
  m.observe("GET", "/api/tasks/:id", 200, 0.003);
  m.observe("GET", "/api/tasks/:id", 200, 0.2);
  m.observe("GET", "/api/tasks/:id", 404, 0.001);
  const text = m.exposition();
  expect(text).toContain('taskmgr_http_requests_total{method="GET",route="/api/tasks/:id",status="200"} 2\n');
  expect(text).toContain('taskmgr_http_requests_total{method="GET",route="/api/tasks/:id",status="404"} 1\n');
  expect(text).toContain('taskmgr_http_request_duration_seconds_bucket{method="GET",route="/api/tasks/:id",status="200",le="0.005"} 1\n');
  expect(text).toContain('taskmgr_http_request_duration_seconds_bucket{method="GET",route="/api/tasks/:id",status="200",le="0.25"} 2\n');
  expect(text).toContain('taskmgr_http_request_duration_seconds_bucket{method="GET",route="/api/tasks/:id",status="200",le="+Inf"} 2\n');
  expect(text).toContain('taskmgr_http_request_duration_seconds_sum{method="GET",route="/api/tasks/:id",status="200"} 0.203\n');
  expect(text).toContain('taskmgr_http_request_duration_seconds_count{method="GET",route="/api/tasks/:id",status="404"} 1\n');
});

test.each([
  ["24h", 24 * 3_600_000],
  ["1h", 3_600_000],
  ["7d", 7 * 86_400_000],
  ["30m", 30 * 60_000],
  [undefined, 24 * 3_600_000],
])("window %p is %p ms", (raw, ms) => {
  expect(parseWindow(raw).ms).toBe(ms);
});

test.each(["", "0h", "24", "h", "1w", "-1h", "1.5h", "367d", "24H", "1h "])("window %p is refused with 422", (raw) => {
  expect(() => parseWindow(raw)).toThrow(expect.objectContaining({ status: 422, code: "validation_failed" }));
});

test.each([
  ["text/plain", true],
  ["application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1", true],
  ["application/json", false],
  ["application/json, text/plain, */*", false],
  [undefined, false],
  ["*/*", false],
  // Found by QA: a text type the client refuses (q=0) was answered.
  ["text/plain;q=0", false],
  ["text/plain;q=0, application/json", false],
  ["application/json;q=0.5, text/plain", true],
  ["application/json, text/plain;q=0.9", false],
  ["TEXT/PLAIN; version=0.0.4", true],
  ["text/plain;q=abc", false],
  // Found by QA: a client that asks for any text got JSON.
  ["text/*", true],
  ["text/*;q=0.8, application/*;q=0.9", false],
  ["application/*, text/*;q=0.5", false],
])("Accept %p wants Prometheus: %p", (accept, expected) => {
  expect(wantsPrometheus(accept)).toBe(expected);
});

test("rates are null when undefined", () => {
  const zero = { syncs: 0, ok: 0, pushes: 0, pulls: 0, changes: 0, applied: 0, merged: 0, conflicts: 0, duplicates: 0, stale: 0, rejected: 0, avgDurationMs: null };
  expect(rates(zero)).toEqual({ sync_success_rate: null, conflict_rate: null, average_sync_duration_ms: null });
  expect(rates({ ...zero, syncs: 4, ok: 3, changes: 8, conflicts: 2, avgDurationMs: 12.5 })).toEqual({
    sync_success_rate: 0.75,
    conflict_rate: 0.25,
    average_sync_duration_ms: 12.5,
  });
});

// Found by reading summary.ts: rates were rounded to 6 decimals, so one failed sync among 3 million
// (a 24h window of a busy server) read as a success rate of exactly 1, and one conflict among 3
// million changes as a conflict rate of 0: an alert on `< 1` or `> 0` never fired.
test("a rate is 0 or 1 only when it is exactly: rounding never hides a failure or a conflict", () => {
  const zero = { syncs: 0, ok: 0, pushes: 0, pulls: 0, changes: 0, applied: 0, merged: 0, conflicts: 0, duplicates: 0, stale: 0, rejected: 0, avgDurationMs: null };
  const r = rates({ ...zero, syncs: 3_000_000, ok: 2_999_999, changes: 3_000_000, conflicts: 1 });
  expect(r.sync_success_rate).toBeLessThan(1);
  expect(r.sync_success_rate).toBeCloseTo(2_999_999 / 3_000_000, 12);
  expect(r.conflict_rate).toBeGreaterThan(0);
  expect(r.conflict_rate).toBeCloseTo(1 / 3_000_000, 12);
  // Exact extremes, and everything in between, as before (6 decimals).
  expect(rates({ ...zero, syncs: 5, ok: 5, changes: 7, conflicts: 0 })).toMatchObject({ sync_success_rate: 1, conflict_rate: 0 });
  expect(rates({ ...zero, syncs: 3, ok: 0, changes: 3, conflicts: 3 })).toMatchObject({ sync_success_rate: 0, conflict_rate: 1 });
  expect(rates({ ...zero, syncs: 3, ok: 2, changes: 3, conflicts: 1 })).toMatchObject({ sync_success_rate: 0.666667, conflict_rate: 0.333333 });
});
