/**
 * Soak sampler: every INTERVAL s, the server's VmRSS and open fds, the database (SQLite file + WAL,
 * or Postgres database size and connections), the log folder, and p50/p99 of two probe requests.
 * Usage: bun bench/soak/sample.ts (normally run by bench/soak/run.sh) BASE_URL PID SECONDS OUT_DIR DB_URL LOG_DIR [INTERVAL]
 * Appends JSON lines to OUT_DIR/samples.jsonl.
 */
import { appendFileSync, readdirSync, readFileSync, statSync } from "node:fs";
import postgres from "postgres";

const [base, pidArg, secondsArg, outDir, dbUrl, logDir, intervalArg] = process.argv.slice(2);
const pid = Number(pidArg);
const END = Date.now() + Number(secondsArg) * 1000;
const INTERVAL = Number(intervalArg ?? 30) * 1000;
const PROBES = 20;
const sql = dbUrl.startsWith("postgres") ? postgres(dbUrl.replace(/\/[^/]+$/, "/postgres"), { max: 1, onnotice: () => {} }) : null;
const dbName = dbUrl.replace(/^.*\//, "");

const size = (p: string) => { try { return statSync(p).size; } catch { return 0; } };
const pct = (xs: number[], q: number) => { const s = [...xs].sort((a, b) => a - b); return +s[Math.min(s.length - 1, Math.floor(q * s.length))].toFixed(2); };

async function login(): Promise<{ access: string; device: string }> {
  const r = await fetch(base + "/api/auth/login", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email: "probe@org1.test", password: "soak-password-1" }) });
  const { access } = (await r.json()) as any;
  const d = await fetch(base + "/api/devices", { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${access}` }, body: JSON.stringify({ name: "probe", platform: "soak" }) });
  return { access, device: ((await d.json()) as any).id };
}

let auth = await login();
let cursor: string | null = null;
let authAt = Date.now();

async function timed(path: string): Promise<{ ms: number; status: number; body: any }> {
  const t0 = performance.now();
  const r = await fetch(base + path, { headers: { authorization: `Bearer ${auth.access}` } });
  const text = await r.text();
  const ms = performance.now() - t0;
  return { ms, status: r.status, body: r.status === 200 ? JSON.parse(text) : text };
}

async function pullToHead(): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const q = new URLSearchParams({ device_id: auth.device, limit: "1000" });
    if (cursor) q.set("cursor", cursor);
    const r = await timed(`/api/sync/pull?${q}`);
    if (r.status === 410) { cursor = null; continue; }
    if (r.status !== 200) return;
    cursor = r.body.cursor;
    if (!r.body.has_more) return;
  }
}

while (Date.now() < END) {
  const t0 = Date.now();
  if (Date.now() - authAt > 20_000) { auth = await login(); cursor = null; authAt = Date.now(); }
  const s: Record<string, unknown> = { t: new Date().toISOString() };
  try {
    const st = readFileSync(`/proc/${pid}/status`, "utf8");
    s.rss_mb = +(Number(/VmRSS:\s+(\d+)/.exec(st)![1]) / 1024).toFixed(1);
    s.threads = Number(/Threads:\s+(\d+)/.exec(st)![1]);
    s.fds = readdirSync(`/proc/${pid}/fd`).length;
  } catch { s.dead = true; }
  if (sql) {
    const [a] = await sql`SELECT count(*)::int AS n, count(*) FILTER (WHERE state = 'idle in transaction')::int AS iit FROM pg_stat_activity WHERE datname = ${dbName}`;
    const [b] = await sql`SELECT pg_database_size(${dbName})::bigint AS size`;
    const w = await sql`SELECT pg_current_wal_lsn()::text AS lsn`;
    s.pg_conns = a.n; s.pg_idle_in_tx = a.iit; s.db_mb = +(Number(b.size) / 1048576).toFixed(2); s.pg_wal_lsn = w[0].lsn;
  } else {
    const file = dbUrl.replace(/^sqlite:/, "");
    s.db_mb = +(size(file) / 1048576).toFixed(2);
    s.wal_mb = +(size(file + "-wal") / 1048576).toFixed(2);
  }
  const logs = readdirSync(logDir).sort();
  s.log_files = logs.length;
  s.log_mb = +(logs.reduce((n, f) => n + size(`${logDir}/${f}`), 0) / 1048576).toFixed(2);
  s.log_current_kb = Math.round(size(`${logDir}/taskmgr.log`) / 1024);
  // probes: incremental pull from the head, then the first page of tasks
  await pullToHead();
  const pulls: number[] = [];
  const lists: number[] = [];
  const bad: string[] = [];
  for (let i = 0; i < PROBES; i++) {
    const q = new URLSearchParams({ device_id: auth.device, limit: "100", cursor: cursor ?? "" });
    const p = await timed(`/api/sync/pull?${q}`);
    if (p.status === 200) { cursor = p.body.cursor; pulls.push(p.ms); } else { bad.push(`pull ${p.status}`); if (p.status === 410) await pullToHead(); }
    const l = await timed("/api/tasks?page_size=50");
    if (l.status === 200) lists.push(l.ms); else bad.push(`list ${l.status}`);
  }
  if (pulls.length) { s.pull_p50 = pct(pulls, 0.5); s.pull_p99 = pct(pulls, 0.99); }
  if (lists.length) { s.list_p50 = pct(lists, 0.5); s.list_p99 = pct(lists, 0.99); }
  if (bad.length) s.probe_errors = bad;
  const h = await fetch(base + "/api/health").then((r) => r.json()).catch(() => null) as any;
  s.health = h?.status ?? "down";
  s.jobs = h ? Object.fromEntries(Object.entries(h.jobs ?? {}).map(([k, v]: any) => [k, v.ok])) : null;
  appendFileSync(`${outDir}/samples.jsonl`, JSON.stringify(s) + "\n");
  console.log(JSON.stringify(s));
  await Bun.sleep(Math.max(0, INTERVAL - (Date.now() - t0)));
}
await sql?.end();
