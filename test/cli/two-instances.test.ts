/**
 * Two real `taskmgr serve` processes on one Postgres database, as behind a round-robin load
 * balancer: a client's requests go to either, and the pair must answer as one server would. The
 * in-process suites (test/jobs/multi-instance.test.ts, test/auth/refresh.test.ts,
 * test/sync/concurrent-fuzz.test.ts) share a database between two apps of one process; this one
 * adds what only processes have: simultaneous first starts, and one instance stopped by SIGTERM
 * under load while its clients retry on the other.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { createTestDatabase, PG_AVAILABLE } from "../support/db";
import { removeTempDirs, serve, tempDir, type Served } from "./support";

setDefaultTimeout(60_000);
afterAll(removeTempDirs);

interface Answer {
  status: number;
  body: any;
}

async function call(base: string, method: string, path: string, opts: { token?: string; body?: unknown } = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(base + path, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** A push of `n` new tasks by `device`, each change's clock its first counter. */
const creates = (device: string, n: number) => ({
  device_id: device,
  changes: Array.from({ length: n }, () => ({
    change_id: crypto.randomUUID(),
    entity: "task",
    entity_id: crypto.randomUUID(),
    op: "create",
    data: { title: "pushed" },
    vector_clock: { [device]: 1 },
  })),
});

describe.skipIf(!PG_AVAILABLE)("two serve processes on one Postgres database", () => {
  const secret = "two-instances-test-secret-0123456789abcdef";
  let drop: () => Promise<void> = async () => {};
  let a: Served;
  let b: Served;
  let admin: { email: string; password: string };

  beforeAll(async () => {
    const { url, drop: dropDb } = await createTestDatabase("postgres", { migrate: false });
    drop = dropDb;
    const start = (name: string) => {
      const dir = tempDir(`taskmgr-two-${name}-`);
      const env = { TASKMGR_SECRET: secret, TASKMGR_DATA_DIR: join(dir, "data"), LOG_DIR: join(dir, "logs") };
      return serve(["--port", "0", "--db", url], { cwd: dir, env });
    };
    // Both start at once on the empty database: both migrate, one creates the first admin.
    [a, b] = await Promise.all([start("a"), start("b")]);
    const printed = [a, b].map((s) => /admin (\S+) with password: (\S+)/.exec(s.stdout())).filter((m) => m !== null);
    expect(printed).toHaveLength(1);
    admin = { email: printed[0]![1]!, password: printed[0]![2]! };
  });
  afterAll(async () => {
    await Promise.all([a, b].filter(Boolean).map((s) => (s.proc.exitCode === null ? s.stop("SIGKILL") : 0)));
    await drop();
  });

  const login = async (base: string, deviceId?: string) => {
    const res = await call(base, "POST", "/api/auth/login", { body: { ...admin, ...(deviceId ? { device_id: deviceId } : {}) } });
    expect(res.status).toBe(200);
    return res.body as { access: string; refresh: string };
  };

  test("a session opened on one is refreshed, reused and ended on the other; of concurrent refreshes on both exactly one wins", async () => {
    const first = await login(a.url);
    const refreshed = await call(b.url, "POST", "/api/auth/refresh", { body: { refresh: first.refresh } });
    expect(refreshed.status).toBe(200);
    expect((await call(a.url, "GET", "/api/users/me", { token: refreshed.body.access })).status).toBe(200);
    // The rotated-out token presented again on A: reuse, so the pair B handed out stops working on B too.
    expect((await call(a.url, "POST", "/api/auth/refresh", { body: { refresh: first.refresh } })).status).toBe(401);
    expect((await call(b.url, "GET", "/api/users/me", { token: refreshed.body.access })).status).toBe(401);

    for (let round = 0; round < 5; round++) {
      const session = await login(round % 2 ? a.url : b.url);
      const answers = await Promise.all([a, b, a, b].map((s) => call(s.url, "POST", "/api/auth/refresh", { body: { refresh: session.refresh } })));
      expect(answers.map((r) => r.status).sort()).toEqual([200, 401, 401, 401]);
      const winner = answers.find((r) => r.status === 200)!;
      expect((await call(a.url, "GET", "/api/users/me", { token: winner.body.access })).status).toBe(401);
      expect((await call(b.url, "GET", "/api/users/me", { token: winner.body.access })).status).toBe(401);
    }
  });

  test("a logout and a device revocation on one are refused at once on the other", async () => {
    const session = await login(a.url);
    expect((await call(a.url, "POST", "/api/auth/logout", { token: session.access, body: { refresh: session.refresh } })).status).toBe(204);
    expect((await call(b.url, "GET", "/api/users/me", { token: session.access })).status).toBe(401);
    expect((await call(b.url, "POST", "/api/auth/refresh", { body: { refresh: session.refresh } })).status).toBe(401);

    const owner = await login(b.url);
    const device = (await call(b.url, "POST", "/api/devices", { token: owner.access, body: { name: "phone" } })).body.id as string;
    const bound = await login(b.url, device);
    expect((await call(a.url, "DELETE", `/api/devices/${device}`, { token: owner.access })).status).toBe(204);
    expect((await call(b.url, "GET", "/api/users/me", { token: bound.access })).status).toBe(401);
    expect((await call(b.url, "GET", `/api/sync/pull?device_id=${device}`, { token: owner.access })).status).toBe(403);
  });

  test("SIGTERM to one under load: pushes it leaves unanswered, retried on the other, answer applied or duplicate, and nothing acknowledged is lost", async () => {
    const owner = await login(b.url);
    const devices = await Promise.all(
      Array.from({ length: 4 }, async (_, i) => {
        const id = (await call(b.url, "POST", "/api/devices", { token: owner.access, body: { name: `pusher ${i}` } })).body.id as string;
        return { id, token: (await login(b.url, id)).access };
      }),
    );
    const reader = devices[0]!;
    const start = await call(a.url, "GET", `/api/sync/pull?device_id=${reader.id}`, { token: reader.token });
    expect(start.status).toBe(200);

    const acknowledged = new Set<string>();
    const retried: string[] = [];
    let stopped = false;
    const pushing = devices.map(async (device) => {
      // Each device pushes to A until A is gone, then once more to B.
      for (let sent = 0; !stopped || sent === 0; sent++) {
        const body = creates(device.id, 20);
        let answer: Answer;
        try {
          answer = await call(a.url, "POST", "/api/sync/push", { token: device.token, body });
        } catch {
          stopped = true;
          answer = await call(b.url, "POST", "/api/sync/push", { token: device.token, body });
          retried.push(...answer.body.results.map((r: { status: string }) => r.status));
        }
        expect(answer.status).toBe(200);
        for (const r of answer.body.results) {
          expect(["applied", "duplicate"]).toContain(r.status);
          acknowledged.add(r.entity_id);
        }
      }
    });
    await Bun.sleep(300);
    expect(await a.stop("SIGTERM")).toBe(0);
    stopped = true;
    await Promise.all(pushing);
    expect(acknowledged.size).toBeGreaterThan(0);
    for (const status of retried) expect(["applied", "duplicate"]).toContain(status);

    // Pulled on B from the cursor A handed out, by another device: every acknowledged task, once.
    const other = await login(b.url);
    const puller = (await call(b.url, "POST", "/api/devices", { token: other.access, body: { name: "puller" } })).body.id as string;
    const pulled: string[] = [];
    let cursor: string = start.body.cursor;
    for (;;) {
      const page = await call(b.url, "GET", `/api/sync/pull?device_id=${puller}&cursor=${encodeURIComponent(cursor)}&limit=500`, { token: other.access });
      expect(page.status).toBe(200);
      pulled.push(...page.body.changes.map((c: { entity_id: string }) => c.entity_id));
      cursor = page.body.cursor;
      if (!page.body.has_more) break;
    }
    expect(new Set(pulled).size).toBe(pulled.length);
    const received = new Set(pulled);
    expect([...acknowledged].filter((id) => !received.has(id))).toEqual([]);
  });
});
