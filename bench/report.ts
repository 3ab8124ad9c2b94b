/**
 * Results: one row per phase and run, the targets of issue #7 next to the figures
 * (PASS/MISS), a table on stdout and JSON lines in bench/results/<timestamp>.jsonl.
 */
import { appendFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";

export type PhaseKey =
  | "baseline" | "push" | "update" | "pull_full" | "pull_inc" | "concurrent" | "concurrent_2x"
  | "seed" | "snapshot_scale" | "pull_inc_scale" | "binary";

export interface PhaseResult {
  run: number;
  db: "sqlite" | "postgres" | "-";
  phase: PhaseKey;
  /** Human label, e.g. "push 10,000 creates ×500". */
  label: string;
  /** Operations counted (changes, records…) and their rate. */
  count?: number;
  opsPerSec?: number;
  /** Latency of one request/round in ms. */
  p50?: number;
  p99?: number;
  /** Everything else: rss_*_mb, pct_of_baseline, ratio_*, start_ms… */
  metrics: Record<string, number>;
  error?: string;
  skipped?: string;
  /** Wall time of the phase, setup included. */
  elapsed_s?: number;
}

export interface Target {
  text: string;
  pass: boolean;
}

// ---- statistics --------------------------------------------------------------------------

/** Nearest-rank percentile (p in 0..100) of `xs`; NaN for none. */
export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

export const median = (xs: number[]): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/**
 * The median row of each (db, phase) over the runs where it succeeded: medians of every figure and
 * metric, and `metrics.runs` how many runs that is (fewer than `--rounds` when one failed).
 */
export function medianRows(rows: PhaseResult[]): PhaseResult[] {
  const groups = new Map<string, PhaseResult[]>();
  for (const r of rows) {
    if (r.error || r.skipped) continue;
    const k = `${r.db}|${r.phase}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  const out: PhaseResult[] = [];
  for (const g of groups.values()) {
    const nums = (f: (r: PhaseResult) => number | undefined) => g.map(f).filter((x): x is number => x !== undefined);
    const opt = (xs: number[]) => (xs.length ? median(xs) : undefined);
    const metrics: Record<string, number> = {};
    for (const key of new Set(g.flatMap((r) => Object.keys(r.metrics)))) metrics[key] = median(nums((r) => r.metrics[key]));
    metrics.runs = g.length;
    out.push({
      run: 0,
      db: g[0].db,
      phase: g[0].phase,
      label: g[0].label,
      count: opt(nums((r) => r.count)),
      opsPerSec: opt(nums((r) => r.opsPerSec)),
      p50: opt(nums((r) => r.p50)),
      p99: opt(nums((r) => r.p99)),
      metrics,
    });
  }
  return out;
}

// ---- targets (issue #7) -------------------------------------------------------------------

const fmtInt = (n: number): string => Math.round(n).toLocaleString("en-US");

/** The targets that apply to a row, evaluated on its figures. */
export function targets(r: PhaseResult): Target[] {
  if (r.error || r.skipped) return [];
  const t: Target[] = [];
  const atLeast = (value: number | undefined, min: number, text: string) => value !== undefined && t.push({ text, pass: value >= min });
  const atMost = (value: number | undefined, max: number, text: string) => value !== undefined && t.push({ text, pass: value <= max });
  switch (r.phase) {
    case "push":
    case "update":
      if (r.db === "sqlite") {
        atLeast(r.opsPerSec, 14_000, "≥14,000/s");
        const pct = r.metrics.pct_of_baseline;
        atLeast(pct, 50, `≥50% of baseline (${pct === undefined ? "?" : pct.toFixed(0)}%)`);
      } else {
        atLeast(r.opsPerSec, 5_000, "≥5,000/s (Postgres)");
      }
      break;
    case "pull_full":
    case "snapshot_scale":
      atLeast(r.opsPerSec, 80_000, "≥80,000 rec/s");
      if (r.phase === "snapshot_scale") atMost(r.metrics.rss_growth_mb, 100, "RSS growth ≤100 MB");
      break;
    case "pull_inc":
      atMost(r.p50, 5, "p50 ≤5 ms");
      break;
    case "pull_inc_scale": {
      const ratio = r.metrics.ratio_to_small;
      atMost(ratio, 2, `p50 ≤2× small (${ratio === undefined || Number.isNaN(ratio) ? "?" : ratio.toFixed(2)}×)`);
      break;
    }
    case "concurrent":
      atLeast(r.opsPerSec, 3_500, "≥3,500 ch/s");
      atMost(r.p99, 200, "p99 round ≤200 ms");
      break;
    case "binary":
      atMost(r.metrics.start_ms, 300, "start ≤300 ms");
      atMost(r.metrics.idle_rss_mb, 80, "idle RSS ≤80 MB");
      break;
  }
  return t;
}

// ---- output ---------------------------------------------------------------------------------

function notes(r: PhaseResult): string {
  const m = r.metrics;
  const parts: string[] = [];
  if (m.runs !== undefined) parts.push(`median of ${fmtInt(m.runs)} run${m.runs === 1 ? "" : "s"}`);
  if (m.per_batch_per_sec !== undefined) parts.push(`one COMMIT per ${fmtInt(m.batch)}: ${fmtInt(m.per_batch_per_sec)}/s`);
  if (m.pct_of_baseline !== undefined) parts.push(`${m.pct_of_baseline.toFixed(0)}% of baseline`);
  if (m.pct_of_batch_baseline !== undefined) parts.push(`${m.pct_of_batch_baseline.toFixed(0)}% of per-batch baseline`);
  if (m.rss_before_mb !== undefined) parts.push(`RSS ${m.rss_before_mb.toFixed(0)}→${m.rss_peak_mb.toFixed(0)} MB (+${m.rss_growth_mb.toFixed(0)})`);
  if (m.ratio_to_small !== undefined) parts.push(`${m.ratio_to_small.toFixed(2)}× the p50 at ${fmtInt(m.small_tasks)}`);
  if (m.first_rec_per_s !== undefined) parts.push(`median of ${fmtInt(m.devices)} new devices; the first (the server's first pull) ${fmtInt(m.first_rec_per_s)}/s`);
  if (m.server_cpu_ms !== undefined) {
    const db = m.db_cpu_ms === undefined ? "" : `, Postgres ${(m.db_cpu_ms / 1000).toFixed(1)}`;
    parts.push(`CPU s: server ${(m.server_cpu_ms / 1000).toFixed(1)}, bench client ${(m.client_cpu_ms / 1000).toFixed(1)}${db} in ${(m.wall_ms / 1000).toFixed(1)} s`);
  }
  if (m.ratio_to_one !== undefined) parts.push(`${m.ratio_to_one.toFixed(2)}× one instance`);
  if (m.start_ms !== undefined) {
    parts.push(`restart ${m.start_ms.toFixed(0)} ms (first start on a fresh db ${m.first_start_ms.toFixed(0)} ms), idle RSS ${m.idle_rss_mb.toFixed(0)} MB`);
  }
  if (m.pages !== undefined) parts.push(`${fmtInt(m.pages)} pages`);
  if (m.push_p50 !== undefined) parts.push(`push of ${fmtInt(m.push_size)} p50 ${m.push_p50.toFixed(1)} ms`);
  return parts.join("; ");
}

const num = (x: number | undefined, digits = 1): string => (x === undefined || Number.isNaN(x) ? "" : digits === 0 ? fmtInt(x) : x.toFixed(digits));

/** A fixed-width table of rows, with their targets. */
export function table(rows: PhaseResult[], title: string): string {
  const head = ["db", "phase", "ops/s", "p50 ms", "p99 ms", "notes", "targets"];
  const body = rows.map((r) => {
    if (r.error) return [r.db, r.label, "", "", "", `ERROR: ${r.error.split("\n")[0].slice(0, 160)}`, "FAIL"];
    if (r.skipped) return [r.db, r.label, "", "", "", `skipped: ${r.skipped}`, ""];
    const t = targets(r).map((x) => `${x.text} ${x.pass ? "PASS" : "MISS"}`).join("; ");
    return [r.db, r.label, num(r.opsPerSec, 0), num(r.p50, 2), num(r.p99, 2), notes(r), t];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const right = new Set([2, 3, 4]);
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : right.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join("  ").trimEnd();
  return [`\n${title}`, line(head), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n");
}

/** Appends JSON lines to bench/results/<timestamp>.jsonl. */
export class JsonLines {
  readonly path: string;
  constructor(dir: string, startedAt: Date) {
    mkdirSync(dir, { recursive: true });
    this.path = join(dir, `${startedAt.toISOString().replace(/[:.]/g, "-")}.jsonl`);
  }
  write(obj: Record<string, unknown>): void {
    appendFileSync(this.path, JSON.stringify(obj) + "\n");
  }
  result(kind: "run" | "median", r: PhaseResult): void {
    this.write({ type: kind, ...r, targets: targets(r) });
  }
}
