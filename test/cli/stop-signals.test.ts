/** SIGINT/SIGTERM/SIGHUP during `serve` (cli/stop-signals.ts), signals emitted in this process, the clock set by hand; and one server spawned for real. */
import { afterAll, afterEach, expect, setSystemTime, test } from "bun:test";
import { join } from "node:path";
import { FORCE_AFTER_MS, StopSignals } from "../../cli/stop-signals";
import { removeTempDirs, serve, tempDir } from "./support";

afterAll(removeTempDirs);

let stop: StopSignals | null = null;
afterEach(() => {
  stop?.dispose();
  stop = null;
  setSystemTime();
});

const at = (ms: number) => setSystemTime(new Date(Date.UTC(2030, 0, 1) + ms));

test("the first signal asks for a stop; the same again within a second forces nothing; later, it forces", async () => {
  const forced: string[] = [];
  stop = new StopSignals((s) => forced.push(`starting ${s}`));
  at(0);
  process.emit("SIGTERM", "SIGTERM");
  expect(await stop.first).toBe("SIGTERM");
  at(FORCE_AFTER_MS - 1);
  process.emit("SIGINT", "SIGINT");
  expect(forced).toEqual([]);
  at(FORCE_AFTER_MS);
  process.emit("SIGINT", "SIGINT");
  expect(forced).toEqual(["starting SIGINT"]);
  stop.onForce((s) => forced.push(`draining ${s}`));
  process.emit("SIGTERM", "SIGTERM");
  expect(forced).toEqual(["starting SIGINT", "draining SIGTERM"]);
});

test("a forcing signal while a step holds it back takes effect when the step is done, after what the step did", async () => {
  const events: string[] = [];
  stop = new StopSignals((s) => events.push(`forced ${s}`));
  at(0);
  process.emit("SIGTERM", "SIGTERM");
  const result = await stop.holdingForce(async () => {
    at(5 * FORCE_AFTER_MS);
    process.emit("SIGTERM", "SIGTERM");
    await Bun.sleep(1);
    events.push("password shown");
    return 42;
  });
  expect(result).toBe(42);
  expect(events).toEqual(["password shown", "forced SIGTERM"]);
  // Held back no longer: the next one forces at once.
  process.emit("SIGINT", "SIGINT");
  expect(events).toEqual(["password shown", "forced SIGTERM", "forced SIGINT"]);
});

test("SIGHUP (a closed terminal) asks for a stop as SIGINT and SIGTERM do", async () => {
  stop = new StopSignals(() => {});
  process.emit("SIGHUP", "SIGHUP");
  expect(await stop.first).toBe("SIGHUP");
});

test("spawned: SIGHUP stops the server gracefully and it exits 0", async () => {
  const cwd = tempDir();
  const s = await serve(["--port", "0", "--db", `sqlite:${join(cwd, "hup.db")}`], { cwd, env: { LOG_DIR: join(cwd, "logs") } });
  try {
    expect((await fetch(`${s.url}/api/health`)).status).toBe(200);
  } finally {
    expect(await s.stop("SIGHUP")).toBe(0);
  }
  expect(s.stdout()).toContain('"event":"server_stopped","signal":"SIGHUP"');
  expect(s.stderr()).toBe("");
});
