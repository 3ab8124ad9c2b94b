/** The scheduled jobs of a `taskmgr serve` that is stopping (cli/serve.ts, src/jobs/schedule.ts). */
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createTestDatabase, DIALECTS } from "../support/db";
import { removeTempDirs, serve, tempDir } from "./support";

setDefaultTimeout(60_000);
afterAll(removeTempDirs);

const FIXTURE = join(import.meta.dir, "fixtures", "serve-every-second-job.ts");

/** The start times of the job's runs so far. */
const runs = (file: string): number[] => (existsSync(file) ? readFileSync(file, "utf8").trim().split("\n").filter(Boolean).map(Number) : []);

// A tick that fired while requests in flight were finished started a run on a server about to exit:
// it claimed the tick (no other instance runs it) and was then stopped after its first batch.
for (const dialect of DIALECTS) {
  test(`once SIGTERM came, no scheduled run starts while the requests in flight are finished [${dialect}]`, async () => {
    const cwd = tempDir();
    const marks = join(cwd, "marks");
    const { url, drop } = await createTestDatabase(dialect, { migrate: false });
    const s = await serve(["--port", "0", "--db", url], {
      cwd,
      cli: [process.execPath, "--no-env-file", FIXTURE],
      env: { LOG_DIR: join(cwd, "logs"), JOB_MARKS: marks },
    });
    try {
      while (runs(marks).length === 0) await Bun.sleep(50); // the schedule runs
      // A request in flight, its body not all sent, keeps the server draining after the signal.
      let send!: ReadableStreamDefaultController<Uint8Array>;
      const body = new ReadableStream<Uint8Array>({ start: (c) => void (send = c) });
      const inFlight = fetch(`${s.url}/api/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body });
      send.enqueue(new TextEncoder().encode('{"email": "nobody@example.com",'));
      await Bun.sleep(300);

      s.proc.kill("SIGTERM");
      await Bun.sleep(2_500); // two ticks or more
      expect(s.proc.exitCode).toBeNull();
      send.enqueue(new TextEncoder().encode(' "password": "not-the-password"}'));
      send.close();
      expect((await inFlight).status).toBe(401);
      expect(await s.proc.exited).toBe(0); // the drain over, it exits by itself
      // None started once the server heard the signal (its `server_stopping` line).
      const stopping = s.stdout().split("\n").find((l) => l.includes('"event":"server_stopping"'));
      const heard = Date.parse((JSON.parse(stopping!) as { time: string }).time);
      expect(runs(marks).filter((t) => t > heard)).toEqual([]);
    } finally {
      if (s.proc.exitCode === null) await s.stop("SIGKILL");
      await drop();
    }
  });
}
