import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../../src/config";
import { migrate } from "../../src/db/migrate";
import { openDatabase } from "../../src/db/open";
import { silentLogger } from "../../src/log/logger";
import { createServices } from "../../src/services";
import { systemClock } from "../../src/time";
import { childEnv, removeTempDirs, SOURCE_CLI, tempDir } from "./support";

setDefaultTimeout(30_000);
afterAll(removeTempDirs);

/** Runs `taskmgr ARGS | READER` in bash; answers the command's exit status, what the reader printed, and the command's stderr. */
async function piped(args: string[], reader: string, cwd: string): Promise<{ code: number; read: string; stderr: string }> {
  const command = [...SOURCE_CLI, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
  const proc = Bun.spawn(["bash", "-c", `${command} | ${reader}; echo "exit \${PIPESTATUS[0]}" >&2`], { cwd, env: childEnv(), stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [read, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  const status = /exit (\d+)\n$/.exec(stderr);
  return { code: Number(status?.[1] ?? -1), read, stderr: stderr.slice(0, status?.index ?? stderr.length) };
}

describe("the command line's output through a pipe", () => {
  const cwd = tempDir();
  const url = `sqlite:${join(cwd, "out.db")}`;
  const ORGS = 600; // their JSON is about 90 KB: more than a pipe holds (64 KB)

  beforeAll(async () => {
    const db = openDatabase(url);
    await migrate(db);
    const config = loadConfig({ db: url }, { TASKMGR_SECRET: "output-test-".padEnd(40, "x"), TASKMGR_DATA_DIR: cwd, LOG_DIR: join(cwd, "logs") });
    const s = createServices({ db, config, clock: systemClock, log: silentLogger });
    for (let i = 0; i < ORGS; i++) await s.orgs.create(`Organization number ${i}`, `org-${i}`);
    await s.sync.flushLog();
    await db.close();
  });

  test("a listing longer than the pipe holds reaches a reader that starts late, whole, and the status is 0", async () => {
    const r = await piped(["orgs", "list", "--json", "--db", url], "(sleep 1; cat)", cwd);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.read.length).toBeGreaterThan(64 * 1024);
    expect(JSON.parse(r.read)).toHaveLength(ORGS);
  });

  test("output closed before it was all written: one line on stderr, status 1", async () => {
    const r = await piped(["orgs", "list", "--json", "--db", url], "true", cwd);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("error: the output was closed before it was all written (broken pipe)\n");
  });
});

describe("serve with its output piped to a reader that goes away", () => {
  const cwd = tempDir();
  const url = `sqlite:${join(cwd, "serve.db")}`;

  beforeAll(async () => {
    const db = openDatabase(url);
    await migrate(db);
    const config = loadConfig({ db: url }, { TASKMGR_SECRET: "output-test-".padEnd(40, "x"), TASKMGR_DATA_DIR: cwd, LOG_DIR: join(cwd, "logs") });
    const s = createServices({ db, config, clock: systemClock, log: silentLogger });
    await s.orgs.create("Piped", "piped"); // not an empty database: serve creates no admin, its first line is the URL
    await s.sync.flushLog();
    await db.close();
  });

  // Found by QA: `taskmgr serve | head -1` stopped the server (status 1) at its next log line.
  test("keeps serving once its reader has exited, and a stop still exits 0", async () => {
    const command = [...SOURCE_CLI, "serve", "--port", "0", "--db", url].map((a) => `'${a}'`).join(" ");
    const env = childEnv({ TASKMGR_SECRET: "output-test-".padEnd(40, "x"), LOG_DIR: join(cwd, "logs") });
    const firstLine = join(cwd, "first-line");
    // fd 3: the server's pid and exit status, beside the pipe into head.
    const script = `exec 3>&1; ( ${command} 2>/dev/null & echo "pid $!" >&3; wait $!; echo "exit $?" >&3 ) | head -1 > '${firstLine}'`;
    const proc = Bun.spawn(["bash", "-c", script], { cwd, env, stdin: "ignore", stdout: "pipe", stderr: "ignore" });
    const reader = proc.stdout.getReader();
    let control = "";
    const until = async (re: RegExp) => {
      for (let m = re.exec(control); ; m = re.exec(control)) {
        if (m) return m;
        const { value, done } = await reader.read();
        if (done) throw new Error(`no ${re} in ${control}`);
        control += new TextDecoder().decode(value);
      }
    };
    const pid = Number((await until(/pid (\d+)/))[1]);
    try {
      let first = "";
      while (!first.endsWith("\n")) {
        await Bun.sleep(20);
        first = existsSync(firstLine) ? readFileSync(firstLine, "utf8") : ""; // head's one line: then head exits
      }
      const base = /http:\/\/127\.0\.0\.1:\d+/.exec(first)![0];
      for (let i = 0; i < 20; i++) expect((await fetch(`${base}/api/health`)).status).toBe(200); // log lines into the closed pipe
      await Bun.sleep(200);
      expect((await fetch(`${base}/api/health`)).status).toBe(200);
      process.kill(pid, "SIGTERM");
      expect(Number((await until(/exit (\d+)/))[1])).toBe(0);
    } finally {
      try {
        process.kill(pid, "SIGKILL"); // only when a check failed: it has exited otherwise
      } catch {}
      proc.kill();
    }
  });
  // Found by QA: with its output on a full disk, serve logged server_stopped and then spun until a second signal.
  test("exits 0 on SIGTERM when its output cannot be written (a full disk)", async () => {
    const logs = join(cwd, "logs-full");
    const command = [...SOURCE_CLI, "serve", "--port", "0", "--db", url].map((a) => `'${a}'`).join(" ");
    const env = childEnv({ TASKMGR_SECRET: "output-test-".padEnd(40, "x"), LOG_DIR: logs });
    const proc = Bun.spawn(["bash", "-c", `exec ${command} > /dev/full 2>/dev/null`], { cwd, env, stdin: "ignore", stdout: "ignore", stderr: "ignore" });
    try {
      let started: RegExpExecArray | null = null;
      while (started === null) {
        await Bun.sleep(20);
        const log = existsSync(join(logs, "taskmgr.log")) ? readFileSync(join(logs, "taskmgr.log"), "utf8") : "";
        started = /"server_started".*?"url":"(http:\/\/[^"]+)"/.exec(log);
      }
      expect((await fetch(`${started[1]}/api/health`)).status).toBe(200);
      proc.kill("SIGTERM");
      const code = await Promise.race([proc.exited, Bun.sleep(5_000).then(() => "still running")]);
      expect(code).toBe(0);
    } finally {
      proc.kill("SIGKILL");
    }
  });
});
