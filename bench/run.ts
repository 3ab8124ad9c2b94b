/**
 * taskmgr benchmark (issue #7): `npm run bench -- [flags]`. Not part of `npm test`.
 *
 * For each database (SQLite file in WAL mode, a fresh Postgres database) it starts the real
 * server as a child process (`bun --no-env-file cli/main.ts serve --port 0`), creates an organization and
 * an admin through the CLI, logs in and runs the phases, verifying every answer:
 *   push → update → full pull → incremental pull → concurrent devices (→ two instances on
 *   Postgres) → scale (direct seeding, snapshot RSS, incremental pull at scale),
 * plus the storage baseline (bun:sqlite, same rows) and the compiled binary's start.
 * Prints a table with the targets and appends JSON lines to bench/results/<timestamp>.jsonl.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Api, CheckError, Device, setTimeBudget } from "./client";
import { newDevice, type Options, type RunContext } from "./context";
import { Rng } from "./data";
import { runBaseline } from "./baseline";
import { binaryPhase } from "./phases/binary";
import { concurrentPhase } from "./phases/concurrent";
import { fullPullPhase, incrementalPhase } from "./phases/pull";
import { pushPhase, updatePhase } from "./phases/push";
import { scalePhases } from "./phases/scale";
import { JsonLines, medianRows, table, type PhaseKey, type PhaseResult } from "./report";
import { analyzePostgres, autovacuumOn, BINARY, BUN, childEnv, freshPostgres, freshSqlite, postgresReachable, ROOT, runCli, ServerProcess, type BenchDatabase } from "./server";

const HELP = `taskmgr benchmark — npm run bench -- [flags]

  --db sqlite|postgres|both   databases to run on (default both; Postgres is skipped if unreachable)
  --quick                     small sizes, under 2 minutes: --tasks 2000 --scale 20000 --inc-rounds 20 --device-rounds 5
  --tasks N                   task creates pushed over HTTP, then each edited once (default 10000)
  --batch N                   changes per push (default 500)
  --scale N                   tasks in the organization for the scale phase, seeded directly (default 1000000)
  --rounds N                  whole runs; prints each run and the median (default 1)
  --inc-rounds N              incremental pull rounds per size (default 50)
  --inc-size N                changes per incremental pull (default 100)
  --devices N --device-rounds N --device-changes N   concurrent phase (default 20 × 10 × 20)
  --pull-limit N              limit of every pull request (default 1000)
  --pull-devices N            new devices that each pull the full snapshot in phase 3; the phase reports
                              their median, the first one's figure (a server that never served a pull
                              yet: cold code and caches) in its notes (default 3)
  --pg-url URL                Postgres admin URL (default $BENCH_PG_URL or postgres://postgres@127.0.0.1:5432/postgres)
  --log-level L               server LOG_LEVEL (default info)
  --two-instances, --no-two-instances   the concurrent phase again on two server instances sharing the
                              Postgres database (default: on, off with --quick)
  --no-binary                 skip the compiled binary start
  --binary-path PATH          the compiled binary (default dist/taskmgr, from npm run build)
  --ids v4|v7                 how the bench's clients choose ids: v4 random (default; most platforms'
                              UUID APIs), v7 time-ordered (RFC 9562; the baseline and seeding follow)
  --phase-timeout S           time budget of each phase in seconds; a slower server fails the phase (default 900)
  --out DIR                   results folder (default bench/results)`;

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      db: { type: "string" }, quick: { type: "boolean" }, tasks: { type: "string" }, batch: { type: "string" },
      scale: { type: "string" }, rounds: { type: "string" }, "inc-rounds": { type: "string" }, "inc-size": { type: "string" },
      devices: { type: "string" }, "device-rounds": { type: "string" }, "device-changes": { type: "string" },
      "pull-limit": { type: "string" }, "pull-devices": { type: "string" }, "pg-url": { type: "string" }, "log-level": { type: "string" },
      "two-instances": { type: "boolean" }, "no-two-instances": { type: "boolean" }, "no-binary": { type: "boolean" }, "binary-path": { type: "string" }, out: { type: "string" }, "phase-timeout": { type: "string" }, ids: { type: "string" }, help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    console.log(HELP);
    process.exit(0);
  }
  const quick = values.quick ?? false;
  const int = (name: keyof typeof values, full: number, fast = full): number => {
    const raw = values[name];
    if (raw === undefined) return quick ? fast : full;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, not "${raw}"`);
    return n;
  };
  const db = values.db ?? "both";
  if (db !== "sqlite" && db !== "postgres" && db !== "both") throw new Error(`--db must be sqlite, postgres or both, not "${db}"`);
  const opts: Options = {
    db, quick,
    tasks: int("tasks", 10_000, 2_000),
    batch: int("batch", 500),
    scale: int("scale", 1_000_000, 20_000),
    rounds: int("rounds", 1),
    incRounds: int("inc-rounds", 50, 20),
    incSize: int("inc-size", 100),
    devices: int("devices", 20),
    deviceRounds: int("device-rounds", 10, 5),
    deviceChanges: int("device-changes", 20),
    pullLimit: int("pull-limit", 1000),
    pullDevices: int("pull-devices", 3),
    pgUrl: values["pg-url"] ?? process.env.BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres",
    logLevel: values["log-level"] ?? "info",
    twoInstances: values["no-two-instances"] ? false : (values["two-instances"] ?? !quick),
    binary: !values["no-binary"],
    binaryPath: values["binary-path"] ?? BINARY,
    outDir: values.out ?? join(ROOT, "bench/results"),
    phaseTimeout: int("phase-timeout", 900),
    ids: (values.ids ?? "v4") as Options["ids"],
  };
  if (opts.ids !== "v4" && opts.ids !== "v7") throw new Error(`--ids must be v4 or v7, not "${opts.ids}"`);
  if (opts.batch > 1000) throw new Error("--batch is at most 1000 (the contract's limit per push)");
  if (opts.incSize > opts.tasks) throw new Error("--inc-size must not exceed --tasks");
  return opts;
}

/** `BENCH_BUN_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof"` profiles the server under test. */
const BUN_FLAGS = (process.env.BENCH_BUN_FLAGS ?? "").split(" ").filter(Boolean);
const serveCmd = (url: string) => [BUN, "--no-env-file", ...BUN_FLAGS, "cli/main.ts", "serve", "--port", "0", "--db", url];

let phaseTimeout = 900;

/** What to undo if the bench is interrupted (Ctrl-C): stop servers, drop databases. */
const cleanups = new Set<() => Promise<void>>();
let interrupted = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, async () => {
    interrupted = true;
    console.error(`\n${signal}: stopping servers and dropping the bench databases…`);
    for (const fn of cleanups) await fn().catch(() => {});
    process.exit(130);
  });
}

/** Runs one phase within its time budget; a failure becomes an error row (and later phases still run). */
async function phase(rows: PhaseResult[], emit: (r: PhaseResult) => void, ctxInfo: { run: number; db: PhaseResult["db"] }, key: PhaseKey, label: string,
  fn: () => Promise<PhaseResult | PhaseResult[]>, partial: PhaseResult[] = []): Promise<boolean> {
  const t0 = performance.now();
  setTimeBudget(phaseTimeout);
  try {
    const out = await fn();
    for (const r of Array.isArray(out) ? out : [out]) {
      r.elapsed_s ??= (performance.now() - t0) / 1000;
      rows.push(r);
      emit(r);
    }
    return true;
  } catch (err) {
    if (interrupted) return false;
    const msg = err instanceof CheckError ? `check failed: ${err.message}` : err instanceof Error ? err.stack ?? err.message : String(err);
    const r: PhaseResult = { ...ctxInfo, phase: key, label, metrics: {}, error: msg, elapsed_s: (performance.now() - t0) / 1000 };
    for (const done of [...partial, r]) {
      rows.push(done);
      emit(done);
    }
    console.error(`\n[${ctxInfo.db} run ${ctxInfo.run}] ${label} failed:\n${msg}`);
    return false;
  } finally {
    setTimeBudget(null);
  }
}

/** The storage baseline's rates: every row in one transaction (issue #7's), and one COMMIT per push batch. */
interface Baseline {
  perSec: number;
  perBatchPerSec: number;
}

function relateToBaseline(r: PhaseResult, b: Baseline): void {
  r.metrics.pct_of_baseline = (r.opsPerSec! / b.perSec) * 100;
  r.metrics.pct_of_batch_baseline = (r.opsPerSec! / b.perBatchPerSec) * 100;
}

/** All phases on one database kind. */
async function runOnDatabase(opts: Options, run: number, kind: "sqlite" | "postgres", rows: PhaseResult[], emit: (r: PhaseResult) => void, baseline?: Baseline) {
  const info = { run, db: kind };
  let db: BenchDatabase | null = null;
  let ctx: RunContext | null = null;
  const extra: ServerProcess[] = [];
  const cleanup = async () => {
    for (const s of extra) await s.stop();
    await ctx?.server.stop();
    await db?.drop();
  };
  cleanups.add(cleanup);
  try {
    db = kind === "sqlite" ? freshSqlite() : await freshPostgres(opts.pgUrl);
    const env = childEnv(db.scratch, opts.logLevel);
    const server = await ServerProcess.start(serveCmd(db.url), env);
    const slug = `bench-${run}`;
    const email = `bench-${run}@example.com`;
    const password = "bench-password-123";
    await runCli(["orgs", "create", "Bench Org", "--slug", slug, "--db", db.url], env);
    await runCli(["users", "create", "--org", slug, "--email", email, "--role", "admin", "--password", password, "--db", db.url], env);
    const api = new Api(server.url);
    await api.login(email, password);
    ctx = {
      opts, run, kind, db, env, server, api, email, password, orgSlug: slug, rng: new Rng(run * 7919),
      writer: new Device("", ""), projectId: "", known: new Map(), taskIds: [], seeded: 0, seededKnown: 0,
    };
    ctx.writer = await newDevice(api, "bench-writer");
    const c = ctx;
    // This machine's Postgres may run without autovacuum: then gather the statistics it would have.
    const noAutovacuum = kind === "postgres" && !(await autovacuumOn(db.url));
    if (noAutovacuum) console.log("  postgres: autovacuum is off here, so the bench runs VACUUM (ANALYZE) (untimed) after the push and update phases");
    const analyze = noAutovacuum ? () => analyzePostgres(db!.url) : async () => {};

    const pushed = await phase(rows, emit, info, "push", "push", async () => {
      const r = await pushPhase(c);
      if (baseline && kind === "sqlite") relateToBaseline(r, baseline);
      return r;
    });
    if (!pushed) return;
    await analyze();
    await phase(rows, emit, info, "update", "update", async () => {
      const r = await updatePhase(c);
      if (baseline && kind === "sqlite") relateToBaseline(r, baseline);
      return r;
    });
    await analyze();
    const pulled = await phase(rows, emit, info, "pull_full", "full pull", () => fullPullPhase(c));
    if (pulled) await phase(rows, emit, info, "pull_inc", "incremental pull", () => incrementalPhase(c));
    const one = rows.length;
    const ok = await phase(rows, emit, info, "concurrent", "concurrent", () => concurrentPhase(c));
    if (kind === "postgres" && opts.twoInstances) {
      await phase(rows, emit, info, "concurrent_2x", "concurrent on 2 instances", async () => {
        const second = await ServerProcess.start(serveCmd(db!.url), env);
        extra.push(second);
        const api2 = new Api(second.url);
        api2.token = c.api.token;
        const r = await concurrentPhase(c, [{ api: c.api, pid: c.server.pid }, { api: api2, pid: second.pid }], "concurrent 2 inst.");
        const single = ok ? rows[one] : undefined;
        if (single?.opsPerSec) r.metrics.ratio_to_one = r.opsPerSec! / single.opsPerSec;
        await second.stop();
        return r;
      });
    }
    const scaleRows: PhaseResult[] = [];
    if (pulled) await phase(rows, emit, info, "snapshot_scale", "scale", () => scalePhases(c, serveCmd(db!.url), scaleRows), scaleRows);
  } catch (err) {
    const r: PhaseResult = { ...info, phase: "push", label: "setup", metrics: {}, error: err instanceof Error ? err.message : String(err) };
    rows.push(r);
    emit(r);
    console.error(`\n[${kind} run ${run}] setup failed:\n${r.error}`);
  } finally {
    cleanups.delete(cleanup);
    await cleanup();
  }
}

async function main(): Promise<number> {
  const opts = parseOptions(process.argv.slice(2));
  phaseTimeout = opts.phaseTimeout;
  const startedAt = new Date();
  const out = new JsonLines(opts.outDir, startedAt);
  const kinds: ("sqlite" | "postgres")[] = opts.db === "both" ? ["sqlite", "postgres"] : [opts.db];
  if (kinds.includes("postgres") && !(await postgresReachable(opts.pgUrl))) {
    console.log(`Postgres not reachable at ${opts.pgUrl}: Postgres skipped`);
    kinds.splice(kinds.indexOf("postgres"), 1);
    if (kinds.length === 0) return 1;
  }
  const commit = Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"], { cwd: ROOT }).stdout.toString().trim();
  const load = loadAverage();
  out.write({ type: "meta", started_at: startedAt.toISOString(), commit, bun: Bun.version, cpus: navigator.hardwareConcurrency, load, options: { ...opts, pgUrl: undefined } });
  console.log(`taskmgr bench — ${kinds.join(" + ")}, ${opts.tasks} tasks ×${opts.batch}, scale ${opts.scale}, ${opts.rounds} run(s); results → ${out.path}`);
  console.log(`machine: ${navigator.hardwareConcurrency} CPUs, load average ${load.join(" ")} (the bench, the server and the database share them)`);

  const all: PhaseResult[] = [];
  for (let run = 1; run <= opts.rounds; run++) {
    const rows: PhaseResult[] = [];
    const emit = (r: PhaseResult) => {
      out.result("run", r);
      const what = r.error ? "ERROR" : r.skipped ? "skipped" : r.opsPerSec !== undefined ? `${Math.round(r.opsPerSec).toLocaleString("en-US")}/s` : "";
      console.log(`  [run ${run}] ${r.db.padEnd(8)} ${r.label} ${what} (${(r.elapsed_s ?? 0).toFixed(1)} s)`);
    };
    let baseline: Baseline | undefined;
    await phase(rows, emit, { run, db: "sqlite" }, "baseline", "baseline", async () => {
      const b = runBaseline(opts.tasks, run, opts.batch, opts.ids);
      baseline = { perSec: b.tasksPerSec, perBatchPerSec: b.perBatch.tasksPerSec };
      return {
        run, db: "sqlite", phase: "baseline", label: `baseline bun:sqlite ${opts.tasks.toLocaleString("en-US")} tasks, 1 tx`,
        count: b.tasks, opsPerSec: b.tasksPerSec, metrics: { ms: b.ms, per_batch_per_sec: b.perBatch.tasksPerSec, batch: b.perBatch.batch },
      };
    });
    for (const kind of kinds) await runOnDatabase(opts, run, kind, rows, emit, baseline);
    if (opts.binary) await phase(rows, emit, { run, db: "-" }, "binary", "binary start", () => binaryPhase(run, opts.binaryPath, opts.logLevel));
    console.log(table(rows, `Run ${run} of ${opts.rounds}`));
    all.push(...rows);
  }
  if (opts.rounds > 1) {
    const med = medianRows(all);
    for (const r of med) out.result("median", r);
    console.log(table(med, `Median of ${opts.rounds} runs`));
  }
  const endLoad = loadAverage();
  out.write({ type: "end", finished_at: new Date().toISOString(), load: endLoad });
  if (endLoad[0] > navigator.hardwareConcurrency) console.log(`\nwarning: load average ${endLoad[0]} exceeds the ${navigator.hardwareConcurrency} CPUs: figures are pessimistic`);
  const failed = all.filter((r) => r.error).length;
  console.log(`\n${failed ? `${failed} phase(s) FAILED verification or setup` : "all answers verified"}; JSON lines: ${out.path}`);
  return failed ? 1 : 0;
}

/** 1, 5 and 15 minute load averages (Linux). */
function loadAverage(): number[] {
  try {
    return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).map(Number);
  } catch {
    return [];
  }
}

process.exit(await main());
