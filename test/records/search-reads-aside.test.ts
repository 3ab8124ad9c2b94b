import { beforeAll, expect, test } from "bun:test";
import { createTestApp, type TestApp, type TestUser } from "../support/app";
import { forEachDialect } from "../support/db";

/**
 * A list is a read outside any transaction: it answers from the last committed state while a write
 * transaction is open, and never waits for it (on SQLite such reads go to the read connection,
 * not through the writer's mutex). A search's statement starts with its CTE (`WITH m AS
 * MATERIALIZED`), which SQLite's routing did not take for a read: every search waited behind every
 * write, and held the writer (every push, every REST write) for as long as it scanned.
 */
forEachDialect("lists while a write transaction is open", ({ db }) => {
  let t: TestApp;
  let u: TestUser;
  beforeAll(async () => {
    t = await createTestApp(db());
    u = await t.createUser();
    expect((await t.request("POST", "/api/tasks", { token: u.token, body: { title: "Find me" } })).status).toBe(201);
  });

  /** Whether `path` answered while a write transaction was still open (it is let go after 10 s at the latest, so that a read waiting for it fails rather than hangs). */
  async function answersDuringWrite(path: string): Promise<{ during: boolean; count: number }> {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let open = false;
    const write = db().transaction(async (tx) => {
      open = true;
      await tx.get("SELECT 1 AS one");
      await held;
    });
    while (!open) await new Promise((r) => setTimeout(r, 1));
    const safety = setTimeout(release, 10_000);
    let released = false;
    void held.then(() => (released = true));
    const r = await t.request("GET", path, { token: u.token });
    const during = !released;
    clearTimeout(safety);
    release();
    await write;
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return { during, count: r.body.count };
  }

  test("an unfiltered list answers during a write (the control)", async () => {
    expect(await answersDuringWrite("/api/tasks")).toEqual({ during: true, count: 1 });
  });

  test("a search answers during a write", async () => {
    expect(await answersDuringWrite("/api/tasks?search=find")).toEqual({ during: true, count: 1 });
  });
});
