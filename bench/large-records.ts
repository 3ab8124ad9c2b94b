/**
 * Small edits of large records, in-process (docs/performance.md, "Large records"): seeds `--tasks`
 * tasks whose descriptions are `--chars` characters long (`--text cjk`: CJK ideographs, 3 bytes of
 * UTF-8 each; `escape`: quotes, backslashes, line breaks and control characters, which JSON writes as
 * 2 to 6 characters; `ascii`: words), pushed `--seed-batch` at a time as a client bound by the 5 MB
 * request body would, then pushes ONE batch of a priority change to each of them, `--rounds` times,
 * calling `services.sync.push` directly (no HTTP). Not part of `npm test`.
 *
 *   bun bench/large-records.ts [sqlite|postgres] [--tasks N] [--chars N] [--text cjk|escape|ascii] [--rounds N]
 *
 * For each edit push: wall time, this process's CPU time, the longest the event loop went without
 * a turn meanwhile (a 5 ms timer's largest gap: what every other request of the process waited), its peak RSS over the push (VmHWM of
 * /proc/self/status, reset before it through /proc/self/clear_refs) above the RSS before it, and
 * the JavaScript heap after it (Bun's `heapStats`); Postgres also the CPU time of the database's backends
 * serving this database (from /proc: steadier than wall time on a shared machine); SQLite the bytes written (`wchar`: WAL frames
 * and checkpoints). `--json` prints one JSON line per push instead. `--http` sends the edit pushes
 * through the app's route instead (`app.handle`, still in-process): request parsing, the response
 * model's check and the answer's serialization included. `--statements` prints the time spent in each
 * kind of statement of the edit pushes (its first words), slowest first.
 */
import { heapStats } from "bun:jsc";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadConfig } from "../src/config";
import { migrate } from "../src/db/migrate";
import { openDatabase } from "../src/db/open";
import { silentLogger } from "../src/log/logger";
import { createApp } from "../src/app";
import { createServices } from "../src/services";
import { systemClock } from "../src/time";
import { PRIORITIES, Rng } from "./data";
import { scratchDb } from "./scratch-db";

const { values, positionals } = parseArgs({
  args: process.argv.slice(2),
  options: {
    tasks: { type: "string" }, chars: { type: "string" }, text: { type: "string" }, rounds: { type: "string" },
    "seed-batch": { type: "string" }, "pg-url": { type: "string" }, json: { type: "boolean" }, http: { type: "boolean" }, statements: { type: "boolean" },
  },
  allowPositionals: true,
});
const kind = (positionals[0] ?? "sqlite") as "sqlite" | "postgres";
const N = Number(values.tasks ?? 1000);
const CHARS = Number(values.chars ?? 100_000);
const TEXT = (values.text ?? "cjk") as "cjk" | "escape" | "ascii";
const ROUNDS = Number(values.rounds ?? 2);
const SEED_BATCH = Number(values["seed-batch"] ?? 10);
const pgAdmin = values["pg-url"] ?? process.env.BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

/** A text of `n` characters of the chosen kind, different for each `seed`. */
function bigText(seed: number, n: number): string {
  const rng = new Rng(seed);
  const out: string[] = [];
  const escapes = ['"', "\\", "\n", "\t", "\u0001", "\u001f", "/", "\r\n"];
  for (let i = 0; i < n; i++) {
    if (TEXT === "cjk") out.push(i % 80 === 79 ? "\n" : String.fromCharCode(0x4e00 + rng.int(0x5000)));
    else if (TEXT === "escape") out.push(i % 2 === 0 ? rng.pick(escapes).slice(0, n - i) : String.fromCharCode(97 + rng.int(26)));
    else out.push(i % 7 === 6 ? " " : String.fromCharCode(97 + rng.int(26)));
  }
  return out.join("").slice(0, n);
}

const scratch = await scratchDb(kind, "large", pgAdmin);
const { url, dir } = scratch;

const procStatus = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB$`, "m").exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? 0) * 1024;
const written = (): number => Number(/^wchar: (\d+)$/m.exec(readFileSync("/proc/self/io", "utf8"))?.[1] ?? 0);
const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);
/** CPU milliseconds the Postgres backends connected to this bench's database have used (utime + stime of /proc/PID/stat). */
async function backendCpuMs(): Promise<number> {
  const rows = await db.all<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE datname = current_database()");
  let ticks = 0;
  for (const { pid } of rows) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /, "").split(" ");
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // gone meanwhile
    }
  }
  return ticks * 10; // USER_HZ = 100
}

const db = openDatabase(url);
/** Wall time per statement kind (`--statements`): every executor method of `db` and its transactions wrapped. */
const statementTimes = new Map<string, { n: number; ms: number; max: number }>();
let timing = false;
if (values.statements) {
  const seen = new Set<object>();
  const wrap = (proto: Record<string, unknown>) => {
    if (seen.has(proto)) return;
    seen.add(proto);
    for (const name of ["run", "all", "get", "runFinal", "rawRows", "commit"]) {
      const own = Object.getOwnPropertyDescriptor(proto, name)?.value as ((...a: unknown[]) => Promise<unknown>) | undefined;
      if (typeof own !== "function") continue;
      proto[name] = async function (this: unknown, sql: string, ...rest: unknown[]) {
        const t = performance.now();
        try {
          return await own.call(this, sql, ...rest);
        } finally {
          if (timing) {
            const key = `${name} ${String(sql ?? "").replace(/\s+/g, " ").slice(0, 70)}`;
            const e = statementTimes.get(key) ?? { n: 0, ms: 0, max: 0 };
            const took = performance.now() - t;
            e.n++;
            e.ms += took;
            e.max = Math.max(e.max, took);
            statementTimes.set(key, e);
          }
        }
      };
    }
  };
  // The database's classes and those of its transactions (found on the first one).
  for (let p = Object.getPrototypeOf(db); p && p !== Object.prototype; p = Object.getPrototypeOf(p)) wrap(p);
  await db.transaction(async (tx) => {
    for (let p = Object.getPrototypeOf(tx); p && p !== Object.prototype; p = Object.getPrototypeOf(p)) wrap(p);
  });
}
try {
  await migrate(db);
  const config = loadConfig({ db: url }, { TASKMGR_SECRET: "large-".padEnd(40, "x"), TASKMGR_DATA_DIR: dir, LOG_DIR: join(dir, "logs") });
  const s = createServices({ db, config, clock: systemClock, log: silentLogger, argon2: { memoryCost: 1024, timeCost: 1 } });
  const org = await s.orgs.create("Large", "large");
  const user = await s.users.create({ orgId: org.id, email: "large@example.test", name: "Large", role: "admin", password: "large-password-123" });
  const caller = { userId: user.id, orgId: org.id, role: user.role };
  const dev = (await s.devices.create(caller, { name: "writer" })).id;
  const app = createApp(s, { config, log: silentLogger });
  const token = (await s.auth.login({ email: "large@example.test", password: "large-password-123", device_id: dev }, "127.0.0.1")).access;
  const pushOverHttp = async (changes: Record<string, unknown>[]) => {
    const res = await app.handle(new Request("http://localhost/api/sync/push", {
      method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify({ device_id: dev, changes }),
    }));
    const text = await res.text();
    if (res.status !== 200) throw new Error(`${res.status} ${text.slice(0, 500)}`);
    return JSON.parse(text) as { results: { status: string; entity_id: string; version: number; vector_clock: Record<string, number>; error: unknown }[] };
  };
  const known = new Map<string, { version: number; clock: Record<string, number> }>();
  const push = async (changes: Record<string, unknown>[], http = false) => {
    const r = http ? await pushOverHttp(changes) : await s.sync.push(caller, { device_id: dev, changes });
    const answer = http ? "" : JSON.stringify(r); // what the route sends
    for (const x of r.results) {
      if (x.status !== "applied") throw new Error(`${x.status} ${JSON.stringify(x.error)}`);
      known.set(x.entity_id!, { version: x.version!, clock: x.vector_clock as Record<string, number> });
    }
    return answer.length;
  };

  const t0 = performance.now();
  const ids: string[] = [];
  for (let i = 0; i < N; i += SEED_BATCH) {
    const changes = Array.from({ length: Math.min(SEED_BATCH, N - i) }, (_, j) => {
      const id = Bun.randomUUIDv7();
      ids.push(id);
      return { change_id: Bun.randomUUIDv7(), entity: "task", entity_id: id, op: "create", data: { title: `task ${i + j}`, description: bigText(i + j, CHARS), priority: "low" }, vector_clock: { [dev]: 1 } };
    });
    await push(changes);
  }
  if (!values.json) console.log(`${kind}: seeded ${N} tasks of ${CHARS} ${TEXT} characters in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  for (let round = 1; round <= ROUNDS; round++) {
    const priority = PRIORITIES[round % PRIORITIES.length];
    const changes = ids.map((id) => {
      const k = known.get(id)!;
      return { change_id: Bun.randomUUIDv7(), entity: "task", entity_id: id, op: "update", data: { priority }, base_version: k.version, vector_clock: { ...k.clock, [dev]: (k.clock[dev] ?? 0) + 1 } };
    });
    Bun.gc(true);
    const rssBefore = procStatus("VmRSS");
    writeFileSync("/proc/self/clear_refs", "5"); // resets VmHWM to the current RSS
    const w0 = written();
    const pg0 = kind === "postgres" ? await backendCpuMs() : 0;
    const cpu0 = process.cpuUsage();
    const start = performance.now();
    const uptime0 = process.uptime();
    timing = true;
    let lastTick = performance.now();
    let longestStall = 0;
    const ticker = setInterval(() => {
      const now = performance.now();
      longestStall = Math.max(longestStall, now - lastTick);
      lastTick = now;
    }, 5);
    const answerChars = await push(changes, values.http === true);
    clearInterval(ticker);
    longestStall = Math.max(longestStall, performance.now() - lastTick);
    timing = false;
    const ms = performance.now() - start;
    if (process.env.LARGE_TIMES) console.error(`push ${round} from ${uptime0.toFixed(2)} s to ${process.uptime().toFixed(2)} s of the process's life`);
    const cpu = process.cpuUsage(cpu0);
    const peak = procStatus("VmHWM");
    const heap = heapStats();
    const pgCpuMs = kind === "postgres" ? (await backendCpuMs()) - pg0 : null;
    const row = {
      kind, text: TEXT, tasks: N, chars: CHARS, round, ms: Math.round(ms), cpuMs: Math.round((cpu.user + cpu.system) / 1000), stallMs: Math.round(longestStall),
      rssBeforeMb: mb(rssBefore), peakMb: mb(peak), peakAboveMb: mb(peak - rssBefore), heapMb: mb(heap.heapSize), answerMb: +(answerChars / 1e6).toFixed(1),
      writtenMb: kind === "sqlite" ? mb(written() - w0) : null, pgCpuMs,
    };
    if (values.json) console.log(JSON.stringify(row));
    else console.log(`${kind} edit push ${round}: ${row.ms} ms, cpu ${row.cpuMs} ms, longest stall ${row.stallMs} ms, RSS ${row.rssBeforeMb} → peak ${row.peakMb} MB (+${row.peakAboveMb}), heap after ${row.heapMb} MB, answer ${row.answerMb} M chars${row.writtenMb === null ? "" : `, written ${row.writtenMb} MB`}${pgCpuMs === null ? "" : `, Postgres CPU ${pgCpuMs} ms`}`);
  }
  if (values.statements) {
    for (const [k, v] of [...statementTimes].sort((a, b) => b[1].ms - a[1].ms).slice(0, 15)) console.log(`${v.ms.toFixed(0).padStart(7)} ms ${String(v.n).padStart(5)}× (longest ${v.max.toFixed(0).padStart(5)} ms)  ${k}`);
  }
} finally {
  await db.close();
  await scratch.dispose();
}
