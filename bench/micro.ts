/**
 * In-process micro-benchmark of the sync engine (no HTTP, no second process): calls
 * `services.sync.push` / `pull` directly on a fresh database, to separate storage and engine cost
 * from the HTTP layer and the client that `bench/run.ts` measures. Not part of `npm test`.
 *
 *   bun bench/micro.ts [sqlite|postgres] [--tasks N] [--batch N] [--devices N]
 *
 * Phases: N task creates in batches, every task edited once, a full pull (limit 1000), 20 rounds
 * of (100 edits, incremental pull), and `--devices` devices × 5 rounds × (push 20: 4 creates and
 * 16 edits of their own tasks; pull everything new) at once. Prints wall-clock rates and this
 * process's CPU time per operation (steadier than wall time on a shared machine).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadConfig } from "../src/config";
import { migrate } from "../src/db/migrate";
import { openDatabase } from "../src/db/open";
import { silentLogger } from "../src/log/logger";
import { createServices } from "../src/services";
import { systemClock } from "../src/time";
import { newProject, newTask, Rng, taskEdit } from "./data";
import { scratchDb } from "./scratch-db";

const { values, positionals } = parseArgs({
  args: process.argv.slice(2),
  options: { phases: { type: "string" }, tasks: { type: "string" }, batch: { type: "string" }, devices: { type: "string" }, "pg-url": { type: "string" } },
  allowPositionals: true,
});
const kind = (positionals[0] ?? "sqlite") as "sqlite" | "postgres";
const N = Number(values.tasks ?? 4000);
const B = Number(values.batch ?? 500);
const DEVICES = Number(values.devices ?? 20);
/** `--phases push,update` stops after the listed phases (for profiling one of them). */
const PHASES = new Set((values.phases ?? "push,update,pull,incremental,concurrent").split(","));
const pgAdmin = values["pg-url"] ?? process.env.BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

const scratch = await scratchDb(kind, "micro", pgAdmin);
const { url, dir } = scratch;

const db = openDatabase(url);
await migrate(db);
const config = loadConfig({ db: url }, { TASKMGR_SECRET: "micro-".padEnd(40, "x"), TASKMGR_DATA_DIR: dir, LOG_DIR: join(dir, "logs") });
const s = createServices({ db, config, clock: systemClock, log: silentLogger, argon2: { memoryCost: 1024, timeCost: 1 } });
const org = await s.orgs.create("Micro", "micro");
const user = await s.users.create({ orgId: org.id, email: "micro@example.test", name: "Micro", role: "admin", password: "micro-password-123" });
const caller = { userId: user.id, orgId: org.id, role: user.role };
const device = async (name: string) => (await s.devices.create(caller, { name })).id;
const rng = new Rng(1);
type Clock = Record<string, number>;
const known = new Map<string, { version: number; clock: Clock }>();
const tick = (dev: string, clock: Clock = {}) => ({ ...clock, [dev]: (clock[dev] ?? 0) + 1 });

/**
 * Bytes this process has written with write calls so far (`wchar` of /proc/self/io: the WAL frames
 * and the checkpoints' copies on SQLite — steadier than time); null where there is no /proc.
 */
function bytesWritten(): number | null {
  try {
    const wchar = /^wchar: (\d+)$/m.exec(readFileSync("/proc/self/io", "utf8"))?.[1];
    return wchar === undefined ? null : Number(wchar);
  } catch {
    return null;
  }
}

/** Runs `fn`, prints the rate of `count` operations and the CPU time per operation. */
async function measure<T>(label: string, count: number, fn: () => Promise<T>): Promise<T> {
  const cpu0 = process.cpuUsage();
  const written0 = bytesWritten();
  const t0 = performance.now();
  const r = await fn();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const written = kind === "sqlite" && written0 !== null ? `  written ${(((bytesWritten() ?? 0) - written0) / count / 1024).toFixed(1).padStart(5)} KB/op` : "";
  console.log(`${kind.padEnd(8)} ${label.padEnd(40)} ${String(Math.round((count / ms) * 1000)).padStart(7)}/s  cpu ${((cpu.user + cpu.system) / count).toFixed(1).padStart(6)} µs/op${written}`);
  return r;
}

async function push(dev: string, changes: Record<string, unknown>[]) {
  const r = await s.sync.push(caller, { device_id: dev, changes });
  JSON.stringify(r); // what the route sends
  for (const x of r.results) {
    if (x.status !== "applied") throw new Error(`${x.status} ${JSON.stringify(x.error)}`);
    known.set(x.entity_id!, { version: x.version!, clock: x.vector_clock as Clock });
  }
}

async function pullAll(dev: string, cursor?: string): Promise<{ cursor: string; n: number }> {
  let n = 0;
  for (;;) {
    const text = new TextDecoder().decode(Buffer.concat(await s.sync.pullBody(caller, { device_id: dev, cursor, limit: 1000 }))); // what the route sends
    const p = JSON.parse(text) as { changes: unknown[]; cursor: string; has_more: boolean };
    n += p.changes.length;
    cursor = p.cursor;
    if (!p.has_more) return { cursor, n };
  }
}

const edit = (dev: string, id: string) => {
  const k = known.get(id)!;
  return { change_id: crypto.randomUUID(), entity: "task", entity_id: id, op: "update", data: taskEdit(rng), base_version: k.version, vector_clock: tick(dev, k.clock) };
};
const create = (dev: string, projectId: string) => ({
  change_id: crypto.randomUUID(), entity: "task", entity_id: crypto.randomUUID(), op: "create", data: newTask(rng, projectId), vector_clock: tick(dev),
});

try {
  phases: {
  const writer = await device("writer");
  const projectId = crypto.randomUUID();
  await push(writer, [{ change_id: crypto.randomUUID(), entity: "project", entity_id: projectId, op: "create", data: newProject(rng), vector_clock: tick(writer) }]);
  const creates = Array.from({ length: N }, () => create(writer, projectId));
  const ids = creates.map((c) => c.entity_id);
  await measure(`push ${N} creates ×${B}`, N, async () => {
    for (let i = 0; i < N; i += B) await push(writer, creates.slice(i, i + B));
  });
  if (!PHASES.has("update")) break phases;
  const edits = ids.map((id) => edit(writer, id));
  await measure(`push ${N} edits ×${B}`, N, async () => {
    for (let i = 0; i < N; i += B) await push(writer, edits.slice(i, i + B));
  });

  if (!PHASES.has("pull")) break phases;
  // As the bench does where autovacuum is off: the statistics Postgres would otherwise gather by itself.
  if (kind === "postgres" && (await db.get<{ autovacuum: string }>("SHOW autovacuum"))?.autovacuum === "off") await db.exec("ANALYZE");
  const reader = await device("reader");
  const snap = await measure(`full pull ${N + 1} records ×1000`, N + 1, () => pullAll(reader));
  const editor = await device("editor");
  let cursor = snap.cursor;
  const lat: number[] = [];
  for (let round = 0; round < 20; round++) {
    await push(editor, ids.slice(round * 100, round * 100 + 100).map((id) => edit(editor, id)));
    const t0 = performance.now();
    const r = await pullAll(reader, cursor);
    lat.push(performance.now() - t0);
    cursor = r.cursor;
  }
  lat.sort((a, b) => a - b);
  console.log(`${kind.padEnd(8)} ${"incremental pull of 100".padEnd(40)} p50 ${lat[10].toFixed(2)} ms`);

  const devs: { id: string; cursor: string; own: string[]; next: number }[] = [];
  for (let i = 0; i < DEVICES; i++) {
    const id = await device(`d${i}`);
    devs.push({ id, cursor: (await pullAll(id)).cursor, own: ids.filter((_, j) => j % DEVICES === i), next: 0 });
  }
  await measure(`concurrent ${DEVICES} dev × 5 × 20`, DEVICES * 100, () =>
    Promise.all(
      devs.map(async (d) => {
        for (let round = 0; round < 5; round++) {
          const changes = [...Array.from({ length: 4 }, () => create(d.id, projectId)), ...Array.from({ length: 16 }, () => edit(d.id, d.own[d.next++ % d.own.length]))];
          await push(d.id, changes);
          d.cursor = (await pullAll(d.id, d.cursor)).cursor;
        }
      }),
    ),
  );
  }
} finally {
  await s.sync.flushLog();
  await db.close();
  await scratch.dispose();
}
