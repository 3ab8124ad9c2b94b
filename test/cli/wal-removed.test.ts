/**
 * "An acknowledged change survives a crash of the server process" (api-contract.md, Push) when an
 * operator removes the SQLite `-wal` under a running `taskmgr serve` (cleaning up "stray" files):
 * the server must not acknowledge a push that lives only in the removed file, which the next start
 * no longer reads. It answers 503 instead, having copied what the removed file holds into the
 * database file; after a crash and a restart every acknowledged write (the device, the first push)
 * is there and the refused push is applied by its retry.
 */
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { removeTempDirs, serve, tempDir, type Served } from "./support";

setDefaultTimeout(60_000);
afterAll(removeTempDirs);

type Json = Record<string, any>;

// Inline checkpoints (no worker copying the -wal into the file a moment after each commit): what
// was acknowledged before the removal is then in the removed -wal only, until the server copies it.
test.each([
  ["as deployed", {}],
  ["with checkpoints inline", { TASKMGR_SQLITE_INLINE_CHECKPOINT: "1" }],
])("the -wal removed under the server (%s): a push answers 503, and after a crash every acknowledged write is there", async (_, extra) => {
  const cwd = tempDir();
  const path = join(cwd, "data", "wal.db");
  const env = { LOG_DIR: join(cwd, "logs"), TASKMGR_SECRET: "wal-removed-test-secret-0123456789abcdef", LOG_LEVEL: "warn", ...extra };
  const start = () => serve(["--port", "0", "--db", `sqlite:${path}`], { cwd, env });
  let s: Served = await start();
  try {
    const [, email, password] = /admin (\S+) with password: (\S+)/.exec(s.stdout())!;
    const call = async (method: string, route: string, body?: unknown, token?: string): Promise<{ status: number; body: Json }> => {
      const r = await fetch(`${s.url}${route}`, {
        method,
        headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: r.status, body: (await r.json()) as Json };
    };
    const token = (await call("POST", "/api/auth/login", { email, password })).body.access as string;
    const device = (await call("POST", "/api/devices", { name: "phone" }, token)).body.id as string;
    const push = (n: number) => ({
      device_id: device,
      changes: [{ change_id: crypto.randomUUID(), entity: "task", entity_id: crypto.randomUUID(), op: "create", data: { title: `task ${n}` }, vector_clock: { [device]: n } }],
    });
    const first = push(1);
    expect((await call("POST", "/api/sync/push", first, token)).status).toBe(200);

    rmSync(`${path}-wal`);
    const second = push(2);
    const refused = await call("POST", "/api/sync/push", second, token);
    expect([refused.status, refused.body.error?.code]).toEqual([503, "unavailable"]);

    expect(await s.stop("SIGKILL")).not.toBe(0);
    s = await start();
    const retried = await call("POST", "/api/sync/push", second, token);
    expect(retried.status).toBe(200);
    expect(retried.body.results[0].status).toBe("applied");
    const snapshot = await call("GET", `/api/sync/pull?device_id=${device}`, undefined, token);
    expect((snapshot.body.changes as Json[]).map((c) => c.record.title).sort()).toEqual(["task 1", "task 2"]);
    expect(await s.stop("SIGTERM")).toBe(0);
  } finally {
    if (s.proc.exitCode === null) await s.stop("SIGKILL");
  }
});
