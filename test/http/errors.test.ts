/** The one error mapping (src/http/errors.ts): failures the server causes are 500, never blamed on the request. */
import { describe, expect, test } from "bun:test";
import { Elysia, t } from "elysia";
import { isDatabaseBusy, isStorageFull, isTransactionConflict } from "../../src/db/errors";
import { errorHandler } from "../../src/http/errors";
import { createLogger } from "../../src/log/logger";
import { createTestDatabase, PG_AVAILABLE } from "../support/db";

test("an answer that does not fit its own schema is a 500 (logged), not a 422 naming the response", async () => {
  const lines: string[] = [];
  const log = createLogger({ level: "error", console: (line) => lines.push(line) });
  const app = new Elysia().use(errorHandler(log)).get("/api/thing", () => ({ n: "not a number" }) as unknown as { n: number }, { response: { 200: t.Object({ n: t.Number() }) } });
  const res = await app.handle(new Request("http://localhost/api/thing"));
  expect(res.status).toBe(500);
  expect(await res.json()).toEqual({ error: { code: "internal", message: "internal server error", details: {} } });
  expect(lines.some((l) => JSON.parse(l).event === "request_failed")).toBe(true);
  await log.close();
});

test("the request log names the member an admin-only route refused (403), as it names every authenticated caller", async () => {
  const { createTestApp } = await import("../support/app");
  const { createTestDatabase } = await import("../support/db");
  const { db, drop } = await createTestDatabase("sqlite");
  const lines: string[] = [];
  const log = createLogger({ level: "info", console: (line) => lines.push(line) });
  try {
    const t = await createTestApp(db, { log });
    const member = await t.createUser();
    expect((await t.request("GET", "/api/metrics", { token: member.token })).status).toBe(403);
    await Bun.sleep(20); // the request line is written after the answer
    const logged = lines.map((l) => JSON.parse(l)).find((e) => e.event === "request" && e.path === "/api/metrics");
    expect(logged).toMatchObject({ status: 403, user_id: member.user.id, org_id: member.org.id });
  } finally {
    await log.close();
    await drop();
  }
});

describe.skipIf(!PG_AVAILABLE)("postgres: a transaction the database rolls back", () => {
  test("a deadlock (40P01) that escapes is 503 unavailable with the contract's body, logged as database_conflict, not 500", async () => {
    const { db, drop } = await createTestDatabase("postgres", { migrate: false });
    const lines: string[] = [];
    const log = createLogger({ level: "error", console: (line) => lines.push(line) });
    try {
      await db.exec("CREATE TABLE pair (id INTEGER PRIMARY KEY, n INTEGER NOT NULL); INSERT INTO pair VALUES (1, 0), (2, 0)");
      // Two transactions update the two rows in opposite orders, each its second row only once the
      // other holds its first: Postgres rolls one of them back.
      const deadlock = async () => {
        const held = [Promise.withResolvers<void>(), Promise.withResolvers<void>()];
        const lockBoth = (first: number, second: number, mine: PromiseWithResolvers<void>, theirs: PromiseWithResolvers<void>) =>
          db.transaction(async (tx) => {
            await tx.run("UPDATE pair SET n = n + 1 WHERE id = ?", [first]);
            mine.resolve();
            await theirs.promise;
            await tx.run("UPDATE pair SET n = n + 1 WHERE id = ?", [second]);
          });
        const outcomes = await Promise.allSettled([lockBoth(1, 2, held[0]!, held[1]!), lockBoth(2, 1, held[1]!, held[0]!)]);
        const failed = outcomes.find((o) => o.status === "rejected") as PromiseRejectedResult | undefined;
        if (failed) throw failed.reason;
        return "no deadlock";
      };
      const app = new Elysia().use(errorHandler(log)).post("/api/thing", deadlock);
      const res = await app.handle(new Request("http://localhost/api/thing", { method: "POST" }));
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ error: { code: "unavailable", message: expect.stringContaining("try again"), details: {} } });
      expect(lines.map((l) => JSON.parse(l).event)).toEqual(["database_conflict"]);
      expect(lines[0]).not.toContain("stack");
    } finally {
      await log.close();
      await drop();
    }
  });
});

test("isTransactionConflict: a deadlock or a serialization failure, nothing else", () => {
  const errors = [{ code: "40P01" }, { code: "40001" }, { code: "23505" }, { code: "SQLITE_BUSY" }, null, new Error("x")];
  expect(errors.map(isTransactionConflict)).toEqual([true, true, false, false, false, false]);
});

test("isDatabaseBusy: SQLite's busy codes, Postgres' lock timeout (55P03) and cancelled statement (57014), nothing else", () => {
  const errors = [{ code: "SQLITE_BUSY" }, { code: "SQLITE_BUSY_SNAPSHOT" }, { code: "55P03" }, { code: "57014" }, { code: "SQLITE_LOCKED" }, { code: "40P01" }, null, new Error("x")];
  expect(errors.map(isDatabaseBusy)).toEqual([true, true, true, true, false, false, false, false]);
});

test("isStorageFull: SQLite's SQLITE_FULL and SQLITE_IOERR_SHMSIZE, Postgres' disk_full (53100), nothing else", () => {
  const errors = [{ code: "SQLITE_FULL" }, { code: "SQLITE_IOERR_SHMSIZE" }, { code: "53100" }, { code: "SQLITE_IOERR" }, { code: "SQLITE_IOERR_WRITE" }, { code: "53200" }, { code: "SQLITE_BUSY" }, null, new Error("x")];
  expect(errors.map(isStorageFull)).toEqual([true, true, true, false, false, false, false, false, false]);
});

// Found by QA on a full tmpfs: a write transaction whose WAL frames still fit on the disk but whose
// `-shm` must grow (every ~4,000 frames, 16 MB of WAL: reached while a full disk keeps checkpoints
// from emptying the WAL) fails with SQLITE_IOERR_SHMSIZE ("disk I/O error"), which was a 500 logged
// with its stack, as if the server had a bug.
test("a full disk met while the WAL's index grows (SQLITE_IOERR_SHMSIZE) is 503 unavailable, logged as database_full, not 500", async () => {
  const lines: string[] = [];
  const log = createLogger({ level: "error", console: (line) => lines.push(line) });
  const shmFull = () => {
    throw Object.assign(new Error("disk I/O error"), { code: "SQLITE_IOERR_SHMSIZE", errno: 4874 });
  };
  const app = new Elysia().use(errorHandler(log)).post("/api/thing", shmFull);
  const res = await app.handle(new Request("http://localhost/api/thing", { method: "POST" }));
  expect(res.status).toBe(503);
  expect(await res.json()).toEqual({ error: { code: "unavailable", message: expect.stringContaining("full"), details: {} } });
  expect(lines.map((l) => JSON.parse(l).event)).toEqual(["database_full"]);
  await log.close();
});

test("sqlite: a push that meets a full database is 503 unavailable, logged as database_full, stores nothing, and succeeds whole once there is room", async () => {
  const { createTestApp } = await import("../support/app");
  const { db, drop } = await createTestDatabase("sqlite");
  const lines: string[] = [];
  const log = createLogger({ level: "error", console: (line) => lines.push(line) });
  try {
    const t = await createTestApp(db, { log });
    const u = await t.createUser();
    const changes = Array.from({ length: 200 }, (_, i) => ({
      change_id: crypto.randomUUID(), entity: "task", entity_id: crypto.randomUUID(), op: "create",
      data: { title: `task ${i}`, description: "d".repeat(4000) }, vector_clock: { [u.deviceId!]: i + 1 },
    }));
    const push = () => t.request("POST", "/api/sync/push", { token: u.token, body: { device_id: u.deviceId, changes } });
    // The writer may grow the file by a few pages only: as a full disk would, SQLite answers SQLITE_FULL.
    const pages = (await db.get<{ page_count: number }>("PRAGMA page_count"))!.page_count;
    await db.exec(`PRAGMA max_page_count = ${pages + 8}`);
    const full = await push();
    expect(full.status).toBe(503);
    expect(full.body).toEqual({ error: { code: "unavailable", message: expect.stringContaining("full"), details: {} } });
    expect(lines.map((l) => JSON.parse(l).event)).toEqual(["database_full"]);
    expect((await t.request("GET", "/api/tasks", { token: u.token })).body.count).toBe(0);

    await db.exec("PRAGMA max_page_count = 1073741823");
    const again = await push();
    expect(again.status).toBe(200);
    expect(again.body.results.map((r: { status: string }) => r.status)).toEqual(changes.map(() => "applied"));
    expect((await t.request("GET", "/api/tasks", { token: u.token })).body.count).toBe(200);
  } finally {
    await log.close();
    await drop();
  }
});
