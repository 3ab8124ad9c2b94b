import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
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
    await s.sync.close();
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
