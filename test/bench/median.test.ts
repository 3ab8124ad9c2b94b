/**
 * The median table of `--rounds N` (bench/report.ts): each figure the median over the runs whose
 * phase succeeded, and the table says over how many when one failed.
 */
import { expect, test } from "bun:test";
import { medianRows, type PhaseResult, table } from "../../bench/report";

const row = (run: number, opsPerSec: number, p99: number, error?: string): PhaseResult => ({
  run, db: "sqlite", phase: "push", label: "push 10,000 creates ×500", count: 10_000, opsPerSec, p50: 1, p99, metrics: {}, ...(error ? { error } : {}),
});

test("the median of three runs is the middle one of each figure", () => {
  const [m] = medianRows([row(1, 300, 9), row(2, 100, 7), row(3, 200, 8)]);
  expect(m.opsPerSec).toBe(200);
  expect(m.p99).toBe(8);
  expect(m.metrics.runs).toBe(3);
});

test("a run whose phase failed is left out, and the median row says over how many runs it is", () => {
  const [m] = medianRows([row(1, 300, 9), row(2, 0, 0, "check failed: …"), row(3, 200, 8)]);
  expect(m.opsPerSec).toBe(250);
  expect(m.metrics.runs).toBe(2);
  expect(table([m], "Median of 3 runs")).toContain("median of 2 runs");
});
