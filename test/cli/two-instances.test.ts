/**
 * Two real `taskmgr serve` processes on one Postgres database, as behind a round-robin load
 * balancer: a client's requests go to either, and the pair must answer as one server would. The
 * in-process suites (test/jobs/multi-instance.test.ts, test/auth/refresh.test.ts,
 * test/sync/concurrent-fuzz.test.ts) share a database between two apps of one process; this one
 * adds what only processes have: simultaneous first starts, and one instance stopped by SIGTERM
 * under load while its clients retry on the other; and it walks the README's promise ("sessions,
 * logouts, revocations and deactivations, lockouts, cursors, conflicts and locks hold across them")
 * end to end through the real processes, a CLI command among them.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { createTestDatabase, PG_AVAILABLE } from "../support/db";
import { removeTempDirs, serve, taskmgr, tempDir, type Served } from "./support";

setDefaultTimeout(60_000);
afterAll(removeTempDirs);

interface Answer {
  status: number;
  body: any;
  headers: Headers;
}

async function call(base: string, method: string, path: string, opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(base + path, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
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
  let dbUrl = "";

  beforeAll(async () => {
    const { url, drop: dropDb } = await createTestDatabase("postgres", { migrate: false });
    drop = dropDb;
    dbUrl = url;
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

  const device = async (base: string, token: string, name: string) => (await call(base, "POST", "/api/devices", { token, body: { name } })).body.id as string;

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

  test("a deactivation by the CLI, a lockout spread over both, a conflict and If-Match versions hold on each", async () => {
    const cwd = tempDir("taskmgr-two-cli-");
    const cli = (args: string[]) => taskmgr([...args, "--db", dbUrl], { cwd, env: { TASKMGR_SECRET: secret, LOG_DIR: join(cwd, "logs") } });
    const slug = JSON.parse((await cli(["orgs", "list", "--json"])).stdout)[0].slug as string;
    const member = async () => {
      const user = { email: `m-${crypto.randomUUID().slice(0, 8)}@example.com`, password: "a long enough password 42" };
      expect((await cli(["users", "create", "--org", slug, "--email", user.email, "--password", user.password])).code).toBe(0);
      return user;
    };
    const loginAs = async (base: string, user: { email: string; password: string }) => (await call(base, "POST", "/api/auth/login", { body: user })).body as { access: string; refresh: string };

    const leaving = await member();
    const [onA, onB] = [await loginAs(a.url, leaving), await loginAs(b.url, leaving)];
    expect((await cli(["users", "deactivate", leaving.email])).code).toBe(0);
    for (const s of [a, b]) {
      expect((await call(s.url, "GET", "/api/users/me", { token: onA.access })).status).toBe(401);
      expect((await call(s.url, "GET", "/api/users/me", { token: onB.access })).status).toBe(401);
      expect((await call(s.url, "POST", "/api/auth/login", { body: leaving })).status).toBe(401);
    }
    expect((await call(a.url, "POST", "/api/auth/refresh", { body: { refresh: onB.refresh } })).status).toBe(401);

    // Five failures, alternating, use up the one budget: the right password is then refused on both.
    const guessed = await member();
    const wrong = { email: guessed.email, password: "not the password" };
    for (let i = 0; i < 5; i++) expect((await call([a, b][i % 2]!.url, "POST", "/api/auth/login", { body: wrong })).status).toBe(401);
    for (const s of [a, b]) expect((await call(s.url, "POST", "/api/auth/login", { body: guessed })).status).toBe(429);

    const owner = await login(a.url);
    const [one, two] = [await device(a.url, owner.access, "one"), await device(b.url, owner.access, "two")];
    const id = crypto.randomUUID();
    const push = (base: string, device: string, change: object) =>
      call(base, "POST", "/api/sync/push", { token: owner.access, body: { device_id: device, changes: [{ change_id: crypto.randomUUID(), entity: "task", entity_id: id, ...change }] } });
    expect((await push(a.url, one, { op: "create", data: { title: "base title" }, vector_clock: { [one]: 1 } })).body.results[0].status).toBe("applied");
    expect((await push(b.url, two, { op: "update", base_version: 1, data: { title: "from two" }, vector_clock: { [one]: 1, [two]: 1 } })).body.results[0].status).toBe("applied");
    const conflict = (await push(a.url, one, { op: "update", base_version: 1, data: { title: "from one" }, vector_clock: { [one]: 2 } })).body.results[0];
    expect(conflict.status).toBe("conflict");
    const resolve = (base: string) => call(base, "POST", `/api/sync/conflicts/${conflict.conflict_id}/resolve`, { token: owner.access, body: { resolution: "local" } });
    expect((await resolve(b.url)).status).toBe(200);
    expect((await resolve(a.url)).status).toBe(409);

    const current = await call(b.url, "GET", `/api/tasks/${id}`, { token: owner.access });
    const etag = current.headers.get("etag")!;
    const edits = await Promise.all([a, b].map((s) => call(s.url, "PATCH", `/api/tasks/${id}`, { token: owner.access, headers: { "if-match": etag }, body: { title: "edited" } })));
    expect(edits.map((r) => r.status).sort()).toEqual([200, 412]);
    const stale = await call(a.url, "PATCH", `/api/tasks/${id}`, { token: owner.access, body: { title: "late", version: current.body.version } });
    expect(stale.status).toBe(409);
    expect(stale.body.error.details.current.version).toBe(current.body.version + 1);
  });

  test("a reader pulling from each in turn, while both take pushes, misses nothing", async () => {
    const owner = await login(a.url);
    const writers = [await device(a.url, owner.access, "w1"), await device(b.url, owner.access, "w2")];
    const reader = await device(b.url, owner.access, "reader");
    let cursor = (await call(a.url, "GET", `/api/sync/pull?device_id=${reader}`, { token: owner.access })).body.cursor as string;
    const received = new Set<string>();
    let pulls = 0;
    const pullPage = async () => {
      const page = await call([a, b][pulls++ % 2]!.url, "GET", `/api/sync/pull?device_id=${reader}&cursor=${encodeURIComponent(cursor)}&limit=7`, { token: owner.access });
      expect(page.status).toBe(200);
      for (const c of page.body.changes) received.add(c.entity_id);
      cursor = page.body.cursor;
      return page.body.has_more as boolean;
    };
    const acknowledged = new Set<string>();
    let pushing = true;
    const pushes = Promise.all(
      writers.map(async (writer, w) => {
        for (let round = 0; round < 15; round++) {
          const answer = await call([a, b][(round + w) % 2]!.url, "POST", "/api/sync/push", { token: owner.access, body: creates(writer, 5) });
          expect(answer.status).toBe(200);
          for (const r of answer.body.results) acknowledged.add(r.entity_id);
        }
      }),
    ).finally(() => (pushing = false));
    while (pushing) await pullPage();
    await pushes;
    while (await pullPage());
    expect(acknowledged.size).toBe(150);
    expect([...acknowledged].filter((id) => !received.has(id))).toEqual([]);
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
