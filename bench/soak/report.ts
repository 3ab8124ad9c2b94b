/**
 * Summarizes a soak run: bun bench/soak/report.ts OUT_DIR
 * The samples (first/last and every 5th), log events by level, 5xx answers, job runs, log files.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";

const dir = process.argv[2];
const samples = readFileSync(`${dir}/samples.jsonl`, "utf8").trim().split("\n").map((l) => JSON.parse(l));
const cols = ["t", "rss_mb", "fds", "threads", "db_mb", "wal_mb", "pg_conns", "pg_idle_in_tx", "log_files", "log_mb", "pull_p50", "pull_p99", "list_p50", "list_p99"]
  .filter((c) => samples.some((s) => s[c] !== undefined));
console.log(cols.join("\t"));
samples.forEach((s, i) => {
  if (i % 5 === 0 || i === samples.length - 1) console.log(cols.map((c) => (c === "t" ? s.t.slice(11, 19) : s[c] ?? "")).join("\t"));
});
const odd = samples.filter((s) => s.probe_errors || s.health !== "ok" || Object.values(s.jobs ?? {}).some((v) => v === false));
for (const s of odd) console.log("sample issue", s.t, JSON.stringify({ probe_errors: s.probe_errors, health: s.health, jobs: s.jobs }));

const events: Record<string, number> = {};
const statuses: Record<string, number> = {};
const jobs: Record<string, { ok: number; failed: number; maxMs: number }> = {};
const notable: string[] = [];
let nonJson = 0;
for (const line of readFileSync(`${dir}/stdout.log`, "utf8").split("\n")) {
  if (!line) continue;
  let e: any;
  try { e = JSON.parse(line); } catch { nonJson++; if (nonJson < 10 && !line.startsWith("taskmgr listening")) notable.push("non-JSON: " + line.slice(0, 300)); continue; }
  events[`${e.level} ${e.event}`] = (events[`${e.level} ${e.event}`] ?? 0) + 1;
  if (e.event === "request") statuses[e.status] = (statuses[e.status] ?? 0) + 1;
  if (e.event === "job_finished" || e.event === "job_failed") {
    const j = (jobs[e.job] ??= { ok: 0, failed: 0, maxMs: 0 });
    if (e.event === "job_finished") j.ok++; else j.failed++;
    j.maxMs = Math.max(j.maxMs, e.duration_ms ?? 0);
  }
  if (e.event !== "login_failed" && (e.level === "error" || e.level === "warn" || (e.event === "request" && e.status >= 500) || e.event === "job_failed") && notable.length < 40) notable.push(line.slice(0, 500));
}
console.log("events", JSON.stringify(events));
console.log("request statuses", JSON.stringify(statuses));
console.log("jobs", JSON.stringify(jobs));
for (const n of notable) console.log("notable", n);
const err = readFileSync(`${dir}/stderr.log`, "utf8");
console.log("stderr bytes", err.length, err.slice(0, 1000));
const logs = readdirSync(`${dir}/logs`).sort().map((f) => `${f}:${Math.round(statSync(`${dir}/logs/${f}`).size / 1024)}K`);
console.log("log files", logs.length, logs.join(" "));
const unexpected = existsSync(`${dir}/load-unexpected.log`) ? readFileSync(`${dir}/load-unexpected.log`, "utf8").trim().split("\n") : [];
console.log("answers the load did not expect", unexpected.length);
for (const u of unexpected.slice(0, 10)) console.log("  ", u.slice(0, 300));
