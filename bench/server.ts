/**
 * The server under test as a child process: spawn (`serve --port 0`), wait for its URL and
 * `/api/health`, read its RSS from /proc, stop it. Also runs one-shot CLI commands
 * (creating the organization and the user) and provisions fresh databases.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import postgres from "postgres";

export const ROOT = resolve(import.meta.dir, "..");
export const BUN = join(ROOT, "node_modules/.bin/bun");
export const BINARY = join(ROOT, "dist/taskmgr");

const URL_RE = /http:\/\/127\.0\.0\.1:(\d+)/;

/** Environment shared by every child: a fixed secret (no file written), logs in the scratch folder, long tokens. */
export function childEnv(scratch: string, logLevel: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  delete env.DATABASE_URL;
  return {
    ...env,
    TASKMGR_SECRET: "bench-secret-" + crypto.randomUUID(),
    TASKMGR_DATA_DIR: scratch,
    LOG_DIR: join(scratch, "logs"),
    LOG_LEVEL: logLevel,
    ACCESS_TOKEN_TTL_SECONDS: "86400",
  };
}

/** A running server child. */
export class ServerProcess {
  private lines: string[] = [];
  private exited: number | null = null;

  private constructor(
    private readonly proc: Bun.Subprocess<"ignore", "pipe", "pipe">,
    readonly url: string,
    /** Milliseconds from spawn to the first 200 of `/api/health`. */
    readonly startMs: number,
    lines: string[],
  ) {
    this.lines = lines;
  }

  get pid(): number {
    return this.proc.pid;
  }

  /**
   * Spawns `cmd` (which must print a line containing `http://127.0.0.1:PORT`) and waits
   * until `/api/health` answers 200.
   */
  static async start(cmd: string[], env: Record<string, string>, timeoutMs = 30_000): Promise<ServerProcess> {
    const t0 = performance.now();
    const proc = Bun.spawn(cmd, { cwd: ROOT, env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    const lines: string[] = [];
    let found: string | null = null;
    const onLine = (line: string) => {
      lines.push(line);
      if (lines.length > 200) lines.shift();
      const m = found === null ? URL_RE.exec(line) : null;
      if (m) found = `http://127.0.0.1:${m[1]}`;
    };
    drain(proc.stdout, onLine);
    drain(proc.stderr, onLine);
    let exitCode: number | null = null;
    proc.exited.then((c) => (exitCode = c));

    const deadline = t0 + timeoutMs;
    let url: string | null = null;
    while (performance.now() < deadline) {
      if (exitCode !== null) break;
      if (found !== null) {
        url = found;
        try {
          const res = await fetch(url + "/api/health");
          await res.arrayBuffer();
          if (res.status === 200) break;
        } catch {
          /* not listening yet */
        }
        url = null;
      }
      await Bun.sleep(2);
    }
    const startMs = performance.now() - t0;
    if (url === null) {
      proc.kill("SIGKILL");
      await proc.exited;
      const why = exitCode !== null ? `exited with ${exitCode}` : `not healthy after ${timeoutMs} ms`;
      throw new Error(`server ${cmd.slice(1).join(" ")} ${why}:\n${lines.slice(-20).join("\n")}`);
    }
    const server = new ServerProcess(proc, url, startMs, lines);
    proc.exited.then((c) => (server.exited = c));
    return server;
  }

  /** Resident set size in MB (VmRSS of /proc/<pid>/status). */
  rssMb(): number {
    return readRssMb(this.pid);
  }

  /** Samples RSS every `everyMs` until the returned function is called; it returns the peak in MB. */
  sampleRss(everyMs = 50): () => { peakMb: number; samples: number } {
    let peak = this.rssMb();
    let samples = 1;
    const timer = setInterval(() => {
      try {
        peak = Math.max(peak, this.rssMb());
        samples++;
      } catch {
        /* exited */
      }
    }, everyMs);
    return () => {
      clearInterval(timer);
      try {
        peak = Math.max(peak, this.rssMb());
      } catch {
        /* exited */
      }
      return { peakMb: peak, samples };
    };
  }

  /** The last lines the server printed (for error messages). */
  tail(n = 20): string {
    return this.lines.slice(-n).join("\n");
  }

  get alive(): boolean {
    return this.exited === null;
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 5_000): Promise<void> {
    if (this.exited !== null) return;
    this.proc.kill("SIGTERM");
    const done = await Promise.race([this.proc.exited.then(() => true), Bun.sleep(graceMs).then(() => false)]);
    if (!done) {
      this.proc.kill("SIGKILL");
      await this.proc.exited;
    }
  }
}

/** CPU time (user + system) the process has used so far, in milliseconds (Linux: /proc/PID/stat; clock ticks of 10 ms). */
export function readCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // after "pid (comm) "
  return (Number(fields[11]) + Number(fields[12])) * 10; // utime, stime (fields 14 and 15 of stat)
}

/**
 * CPU time used so far by the Postgres processes that serve `database`, in milliseconds: its
 * backends and the server's shared ones (postmaster, WAL writer, checkpointer…), but not the
 * backends of other databases on the same server (other people's tests), which a backend's process
 * title names (`postgres: 15/main: USER DATABASE HOST(PORT) STATE`). 0 when none is visible.
 */
export function postgresCpuMs(database: string): number {
  let total = 0;
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/comm`, "utf8").trim() !== "postgres") continue;
      const other = backendDatabase(readFileSync(`/proc/${pid}/cmdline`, "utf8"));
      if (other === null || other === database) total += readCpuMs(Number(pid));
    } catch {
      /* exited meanwhile */
    }
  }
  return total;
}

/** The database a Postgres backend's process title names, or null for the server's own processes. */
export function backendDatabase(cmdline: string): string | null {
  const title = cmdline.replace(/\0/g, " ").trim();
  const m = /^postgres: (?:[^:]*: )?\S+ (\S+) (?:\[local\]|\S+\(\d+\))/.exec(title);
  return m ? m[1] : null;
}

export function readRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(status);
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) / 1024;
}

async function drain(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void): Promise<void> {
  const decoder = new TextDecoder();
  let buf = "";
  try {
    for await (const chunk of stream) {
      buf += decoder.decode(chunk, { stream: true });
      let i: number;
      while ((i = buf.indexOf("\n")) >= 0) {
        onLine(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    }
  } catch {
    /* child gone */
  }
  if (buf) onLine(buf);
}

/** Runs `bun --no-env-file cli/main.ts …args`; throws with its output unless it exits 0. */
export async function runCli(args: string[], env: Record<string, string>): Promise<string> {
  const proc = Bun.spawn([BUN, "--no-env-file", "cli/main.ts", ...args], { cwd: ROOT, env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`taskmgr ${args.join(" ")} exited ${code}:\n${out}${err}`.trim());
  return out;
}

/** A fresh database for one run, and how to throw it away. */
export interface BenchDatabase {
  kind: "sqlite" | "postgres";
  url: string;
  /** The scratch folder (logs, the SQLite file). */
  scratch: string;
  drop(): Promise<void>;
}

/** SQLite: a file in a new temporary folder (the server opens it in WAL mode). */
export function freshSqlite(): BenchDatabase {
  const scratch = mkdtempSync(join(tmpdir(), "taskmgr-bench-"));
  return {
    kind: "sqlite",
    url: `sqlite:${join(scratch, "taskmgr.db")}`,
    scratch,
    drop: async () => rmSync(scratch, { recursive: true, force: true }),
  };
}

/** Postgres: `CREATE DATABASE taskmgr_bench_<random>` on the server of `adminUrl`; dropped WITH (FORCE). */
export async function freshPostgres(adminUrl: string): Promise<BenchDatabase> {
  const scratch = mkdtempSync(join(tmpdir(), "taskmgr-bench-"));
  const name = `taskmgr_bench_${crypto.randomUUID().replace(/-/g, "").slice(0, 12)}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  try {
    await admin.unsafe(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end({ timeout: 1 });
  }
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return {
    kind: "postgres",
    url: u.toString(),
    scratch,
    drop: async () => {
      const a = postgres(adminUrl, { max: 1, onnotice: () => {} });
      try {
        await a.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await a.end({ timeout: 1 });
        rmSync(scratch, { recursive: true, force: true });
      }
    },
  };
}

/** Whether Postgres answers at `adminUrl`. */
export async function postgresReachable(adminUrl: string): Promise<boolean> {
  const sql = postgres(adminUrl, { max: 1, connect_timeout: 3, onnotice: () => {} });
  try {
    await sql`SELECT 1`;
    return true;
  } catch {
    return false;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/**
 * Whether Postgres vacuums and gathers planner statistics by itself (`autovacuum`). When it does
 * not, the bench runs `VACUUM (ANALYZE)` after its bulk writes (untimed), as autovacuum would have
 * done by then (statistics for the planner, the visibility map for index-only scans of the feed).
 */
export async function autovacuumOn(url: string): Promise<boolean> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql<{ autovacuum: string }[]>`SHOW autovacuum`;
    return row.autovacuum === "on";
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/** `VACUUM (ANALYZE)` of the whole database (Postgres). */
export async function analyzePostgres(url: string): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await sql`VACUUM (ANALYZE)`;
  } finally {
    await sql.end({ timeout: 5 });
  }
}
