/**
 * Acceptance: the Sync section of the API contract (../shared/api-contract.md) read literally, sentence
 * by sentence, against the REAL program — `taskmgr serve` as a child process on a fresh database of each
 * dialect (SQLite file, and Postgres when reachable), spoken to over HTTP only. contract.test.ts walks
 * the whole contract once; this file checks the sync sentences it leaves out: the four clock outcomes,
 * the result clock of a merge, every merge rule and its order independence, forged and invalid clocks,
 * update/delete in either order, the pull's default limit, order and snapshot, cursors across a
 * restart, and a resolution's clock.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { removeTempDirs, serve, tempDir, type Served } from "../cli/support";
import { createTestDatabase, DIALECTS } from "../support/db";

setDefaultTimeout(60_000);

type Clock = Record<string, number>;

interface Change {
  change_id: string;
  entity: "task" | "comment" | "project";
  entity_id: string;
  op: "create" | "update" | "delete";
  data?: Record<string, unknown>;
  base_version?: number;
  vector_clock: Clock;
}

// Every toMatchObject below is given a copy: Bun's replaces the properties of the received object that
// an asymmetric matcher (`expect.any(String)`) matched with the matcher itself.

/** The fields of a task a client edits, compared between replicas. */
const TASK_FIELDS = ["title", "description", "status", "priority", "due_date", "tags", "deleted_at"] as const;

/** The contract's comparison of clock `a` to `b` (missing entries count as 0). */
function compare(a: Clock, b: Clock): "EQUAL" | "BEFORE" | "AFTER" | "CONCURRENT" {
  let less = false;
  let more = false;
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const x = a[key] ?? 0;
    const y = b[key] ?? 0;
    if (x < y) less = true;
    if (x > y) more = true;
  }
  return less && more ? "CONCURRENT" : less ? "BEFORE" : more ? "AFTER" : "EQUAL";
}

/** The entry-wise max of the clocks, with `server` incremented: the clock the contract gives a server write. */
function serverWrite(...clocks: Clock[]): Clock {
  const out: Clock = {};
  for (const c of clocks) for (const [k, v] of Object.entries(c)) out[k] = Math.max(out[k] ?? 0, v);
  out.server = (out.server ?? 0) + 1;
  return out;
}

for (const dialect of DIALECTS) {
  describe(`the contract's sync sentences, read literally [${dialect}]`, () => {
    let dir = "";
    let url = "";
    let drop: () => Promise<void> = async () => {};
    let env: Record<string, string> = {};
    let server: Served;
    let base = "";
    let token = "";
    let dA = "";
    let dB = "";
    let dC = "";

    async function api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
      const headers: Record<string, string> = { authorization: `Bearer ${token}` };
      if (body !== undefined) headers["content-type"] = "application/json";
      const res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    }

    /** Pushes the changes from `device`; the results, in order. */
    async function push(device: string, changes: Change[]): Promise<any[]> {
      const r = await api("POST", "/api/sync/push", { device_id: device, changes });
      expect(r.status).toBe(200);
      return r.body.results;
    }

    const change = (c: Omit<Change, "change_id">): Change => ({ change_id: crypto.randomUUID(), ...c });
    const task = async (id: string) => (await api("GET", `/api/tasks/${id}`)).body;

    /** A task created by device C (clock {C: 1}) with `data`: the common base of concurrent edits. */
    async function baseTask(data: Record<string, unknown>): Promise<string> {
      const id = crypto.randomUUID();
      const [r] = await push(dC, [change({ entity: "task", entity_id: id, op: "create", data, vector_clock: { [dC]: 1 } })]);
      expect(r.status).toBe("applied");
      return id;
    }

    async function start(): Promise<void> {
      server = await serve(["--port", "0", "--db", url], { cwd: dir, env });
      base = server.url;
    }

    beforeAll(async () => {
      dir = tempDir("taskmgr-acceptance-sync-");
      env = { TASKMGR_DATA_DIR: join(dir, "data"), LOG_DIR: join(dir, "logs"), NODE_ENV: "" };
      if (dialect === "sqlite") url = `sqlite:${join(dir, "t.db")}`;
      else ({ url, drop } = await createTestDatabase("postgres", { migrate: false }));
      await start();
      const created = /admin (\S+) with password: (\S+)/.exec(server.stdout());
      if (!created) throw new Error(`serve did not print the first admin:\n${server.stdout()}`);
      const login = await fetch(`${base}/api/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: created[1], password: created[2] }),
      });
      token = ((await login.json()) as { access: string }).access;
      const device = async (name: string) => (await api("POST", "/api/devices", { name })).body.id as string;
      dA = await device("A");
      dB = await device("B");
      dC = await device("C");
    });

    afterAll(async () => {
      if (server) expect(await server.stop("SIGTERM")).toBe(0);
      await drop();
      removeTempDirs();
    });

    test("applied (new record or AFTER), stale (EQUAL or BEFORE: nothing changes, the newer server state answered)", async () => {
      const id = crypto.randomUUID();
      const [created] = await push(dA, [change({ entity: "task", entity_id: id, op: "create", data: { title: "one" }, vector_clock: { [dA]: 1 } })]);
      expect(structuredClone(created)).toMatchObject({ status: "applied", entity: "task", entity_id: id, version: 1, vector_clock: { [dA]: 1 } });
      const [after] = await push(dA, [change({ entity: "task", entity_id: id, op: "update", data: { title: "two" }, base_version: 1, vector_clock: { [dA]: 2 } })]);
      expect(structuredClone(after)).toMatchObject({ status: "applied", version: 2, vector_clock: { [dA]: 2 }, record: { title: "two" } });
      const equal = await push(dB, [change({ entity: "task", entity_id: id, op: "update", data: { title: "equal" }, base_version: 2, vector_clock: { [dA]: 2 } })]);
      const before = await push(dB, [change({ entity: "task", entity_id: id, op: "update", data: { title: "before" }, base_version: 1, vector_clock: { [dA]: 1 } })]);
      for (const [r] of [equal, before]) expect(structuredClone(r)).toMatchObject({ status: "stale", version: 2, vector_clock: { [dA]: 2 }, record: { title: "two", version: 2 } });
      expect(structuredClone(await task(id))).toMatchObject({ title: "two", version: 2, vector_clock: { [dA]: 2 } });
    });

    test("merged: the fields only one side changed come from that side; the clock is the entry-wise max with `server` incremented", async () => {
      const id = await baseTask({ title: "plan", description: "d", priority: "low" });
      const a = { [dC]: 1, [dA]: 1 };
      const b = { [dC]: 1, [dB]: 1 };
      expect((await push(dA, [change({ entity: "task", entity_id: id, op: "update", data: { description: "from A" }, base_version: 1, vector_clock: a })]))[0].status).toBe("applied");
      const [m] = await push(dB, [change({ entity: "task", entity_id: id, op: "update", data: { priority: "high" }, base_version: 1, vector_clock: b })]);
      expect(compare(b, a)).toBe("CONCURRENT");
      expect(structuredClone(m)).toMatchObject({ status: "merged", version: 3, vector_clock: serverWrite(a, b), record: { description: "from A", priority: "high", title: "plan" } });
      // Both sides now see it as newer.
      expect(compare(a, m.vector_clock)).toBe("BEFORE");
      expect(compare(b, m.vector_clock)).toBe("BEFORE");
      // A second concurrent write on top of a server counter: max of both, server + 1 again.
      const c = { [dC]: 1, [dA]: 2 };
      const [m2] = await push(dA, [change({ entity: "task", entity_id: id, op: "update", data: { title: "plan 2" }, base_version: 2, vector_clock: c })]);
      expect(structuredClone(m2)).toMatchObject({ status: "merged", version: 4, vector_clock: serverWrite(m.vector_clock, c) });
    });

    test("every merge rule, and the same record and clock whichever order the concurrent changes arrive in", async () => {
      const base = {
        title: "Buy milk and bread",
        description: "line one\nline two\nline three",
        status: "todo",
        priority: "medium",
        due_date: "2026-12-20",
        tags: ["home", "shop", "weekly"],
      };
      const fromA = {
        title: "Buy oat milk and bread",
        description: "line ONE\nline two\nline three",
        status: "in_progress",
        priority: "low",
        due_date: "2026-12-10",
        tags: ["home", "shop", "urgent"],
      };
      const fromB = {
        title: "Buy milk and rye bread",
        description: "line one\nline two\nline THREE",
        status: "done",
        priority: "high",
        due_date: "2026-12-15",
        tags: ["shop", "weekly", "friday"],
      };
      const expected = {
        title: "Buy oat milk and rye bread", // edits to different parts of a text both survive
        description: "line ONE\nline two\nline THREE",
        status: "done", // done > … > in_progress
        priority: "high", // the higher wins
        due_date: "2026-12-10", // the earlier wins
        tags: ["shop", "urgent", "friday"], // base + added by either − removed by either
      };
      const one = await baseTask(base);
      const two = await baseTask(base);
      const a = { [dC]: 1, [dA]: 1 };
      const b = { [dC]: 1, [dB]: 1 };
      const edit = (id: string, data: Record<string, unknown>, clock: Clock) => change({ entity: "task", entity_id: id, op: "update", data, base_version: 1, vector_clock: clock });
      expect((await push(dA, [edit(one, fromA, a)]))[0].status).toBe("applied");
      expect((await push(dB, [edit(one, fromB, b)]))[0].status).toBe("merged");
      expect((await push(dB, [edit(two, fromB, b)]))[0].status).toBe("applied");
      expect((await push(dA, [edit(two, fromA, a)]))[0].status).toBe("merged");
      const [r1, r2] = [await task(one), await task(two)];
      const pick = (r: Record<string, unknown>) => Object.fromEntries(TASK_FIELDS.map((f) => [f, f === "tags" ? [...(r[f] as string[])].sort() : r[f]]));
      expect(pick(r1)).toEqual(pick({ ...expected, deleted_at: null }));
      expect(pick(r2)).toEqual(pick(r1));
      expect(r1.vector_clock).toEqual(serverWrite(a, b));
      expect(r2.vector_clock).toEqual(r1.vector_clock);
    });

    test("conflict: overlapping text edits, or a due date cleared on one side and set on the other; the server keeps its value, merges the rest", async () => {
      const id = await baseTask({ title: "hello world", priority: "low", due_date: "2026-12-20" });
      const a = { [dC]: 1, [dA]: 1 };
      const b = { [dC]: 1, [dB]: 1 };
      expect((await push(dA, [change({ entity: "task", entity_id: id, op: "update", data: { title: "hello there", due_date: null }, base_version: 1, vector_clock: a })]))[0].status).toBe(
        "applied",
      );
      const [r] = await push(dB, [
        change({ entity: "task", entity_id: id, op: "update", data: { title: "hello moon", due_date: "2026-12-01", priority: "urgent" }, base_version: 1, vector_clock: b }),
      ]);
      expect(structuredClone(r)).toMatchObject({ status: "conflict", conflict_id: expect.any(String), record: { title: "hello there", due_date: null, priority: "urgent" } });
      const c = (await api("GET", `/api/sync/conflicts/${r.conflict_id}`)).body;
      expect(structuredClone(c)).toMatchObject({ entity: "task", entity_id: id, device_id: dB, local: { title: "hello moon", due_date: "2026-12-01" }, remote: { title: "hello there", due_date: null } });
      expect([...c.fields].sort()).toEqual(["due_date", "title"]);
      expect(structuredClone(c.base)).toMatchObject({ title: "hello world", due_date: "2026-12-20", priority: "low" });
      // Resolved: a new version whose clock is newer than both sides, and a history entry.
      const resolved = await api("POST", `/api/sync/conflicts/${r.conflict_id}/resolve`, { resolution: "custom", data: { title: "hello both" } });
      expect(resolved.status).toBe(200);
      expect(structuredClone(resolved.body)).toMatchObject({ id, title: "hello both", version: r.version + 1 });
      expect(compare(b, resolved.body.vector_clock)).toBe("BEFORE");
      expect(compare(r.vector_clock, resolved.body.vector_clock)).toBe("BEFORE");
      const history = (await api("GET", `/api/tasks/${id}/history`)).body.results;
      expect(structuredClone(history.at(-1))).toMatchObject({ action: "conflict_resolved", version: resolved.body.version, vector_clock: resolved.body.vector_clock, device_id: null });
      expect(history.at(-1).changes).toEqual({ title: { old: "hello there", new: "hello both" } });
      expect((await api("POST", `/api/sync/conflicts/${r.conflict_id}/resolve`, { resolution: "remote" })).status).toBe(409);
    });

    test("an update and a delete that are concurrent, in either order: the record stays deleted, the pusher gets conflict, a Conflict keeps the update", async () => {
      const a = { [dC]: 1, [dA]: 1 };
      const b = { [dC]: 1, [dB]: 1 };
      const update = (id: string) => change({ entity: "task", entity_id: id, op: "update", data: { title: "kept" }, base_version: 1, vector_clock: a });
      const remove = (id: string) => change({ entity: "task", entity_id: id, op: "delete", base_version: 1, vector_clock: b });
      const updateFirst = await baseTask({ title: "x" });
      expect((await push(dA, [update(updateFirst)]))[0].status).toBe("applied");
      const [d] = await push(dB, [remove(updateFirst)]);
      const deleteFirst = await baseTask({ title: "x" });
      expect((await push(dB, [remove(deleteFirst)]))[0].status).toBe("applied");
      const [u] = await push(dA, [update(deleteFirst)]);
      for (const [r, id] of [
        [d, updateFirst],
        [u, deleteFirst],
      ] as const) {
        expect(structuredClone(r)).toMatchObject({ status: "conflict", conflict_id: expect.any(String) });
        expect(r.record.deleted_at).toEqual(expect.any(String));
        expect((await api("GET", `/api/tasks/${id}`)).status).toBe(404);
        const c = (await api("GET", `/api/sync/conflicts/${r.conflict_id}`)).body;
        expect(c.fields).toContain("deleted_at");
        expect([c.local.title, c.remote.title]).toContain("kept");
      }
      // An update whose clock is AFTER the tombstone's (the deleting device edits its copy afterwards):
      // no push revives a record, so this too is a conflict and the record stays deleted (README).
      const own = await baseTask({ title: "mine" });
      expect((await push(dA, [change({ entity: "task", entity_id: own, op: "delete", base_version: 1, vector_clock: { [dC]: 1, [dA]: 5 } })]))[0].status).toBe("applied");
      const [late] = await push(dA, [change({ entity: "task", entity_id: own, op: "update", data: { title: "mine again" }, base_version: 2, vector_clock: { [dC]: 1, [dA]: 6 } })]);
      expect(structuredClone(late)).toMatchObject({ status: "conflict", conflict_id: expect.any(String) });
      expect(late.record.deleted_at).toEqual(expect.any(String));
      expect((await api("GET", `/api/tasks/${own}`)).status).toBe(404);
      // A change to a comment whose task was deleted concurrently: the same.
      const parent = await baseTask({ title: "parent" });
      const comment = crypto.randomUUID();
      expect((await push(dA, [change({ entity: "comment", entity_id: comment, op: "create", data: { task_id: parent, body: "hi" }, vector_clock: { [dA]: 3 } })]))[0].status).toBe("applied");
      expect((await push(dB, [change({ entity: "task", entity_id: parent, op: "delete", base_version: 1, vector_clock: { [dC]: 1, [dB]: 2 } })]))[0].status).toBe("applied");
      const [cu] = await push(dA, [change({ entity: "comment", entity_id: comment, op: "update", data: { body: "hi there" }, base_version: 1, vector_clock: { [dA]: 4 } })]);
      expect(structuredClone(cu)).toMatchObject({ status: "conflict", conflict_id: expect.any(String) });
    });

    test("forged clocks and invalid counters are rejected with a reason, the other changes of the batch processed, nothing changed", async () => {
      const id = await baseTask({ title: "guarded" });
      const before = await task(id);
      const upd = (clock: Clock) => change({ entity: "task", entity_id: id, op: "update", data: { title: "forged" }, base_version: 1, vector_clock: clock });
      const wide: Clock = { [dA]: 2 };
      for (let i = 0; i < 1000; i++) wide[`k${i}`] = 1;
      const good = crypto.randomUUID();
      const results = await push(dA, [
        upd({ [dC]: 1, [dA]: 2, server: 5 }), // another key (server) higher than ever stored
        upd({ [dC]: 2, [dA]: 2 }), // another device's counter higher than ever stored
        upd({ [dC]: 1, [dA]: 2, "not-a-device": 1 }), // a key that is no device of the organization
        change({ entity: "task", entity_id: good, op: "create", data: { title: "fine" }, vector_clock: { [dA]: 1 } }),
        upd(wide), // more than 1,000 entries
        upd({ [dC]: 1, [dA]: 0 }),
        upd({ [dC]: 1, [dA]: -1 }),
        upd({ [dC]: 1, [dA]: 1.5 }),
        upd({ [dC]: 1, [dA]: "2" as unknown as number }),
      ]);
      expect(results.map((r) => r.status)).toEqual(["rejected", "rejected", "rejected", "applied", "rejected", "rejected", "rejected", "rejected", "rejected"]);
      for (const r of results.filter((x) => x.status === "rejected")) expect(structuredClone(r.error)).toMatchObject({ code: expect.any(String), message: expect.any(String), details: expect.any(Object) });
      expect(results.slice(0, 3).map((r) => r.error.code)).toEqual(["forged_clock", "forged_clock", "forged_clock"]);
      expect(await task(id)).toEqual(before);
      expect((await task(good)).title).toBe("fine");
    });

    test("a due_date date-time without a zone is refused: 422 naming it over REST, `rejected` in a push (README)", async () => {
      const rest = await api("POST", "/api/tasks", { title: "zoneless", due_date: "2026-12-01T10:00:00" });
      expect(rest.status).toBe(422);
      expect(Object.keys(rest.body.error.details.fields)).toEqual(["due_date"]);
      const id = crypto.randomUUID();
      const [r] = await push(dA, [change({ entity: "task", entity_id: id, op: "create", data: { title: "zoneless", due_date: "2026-12-01T10:00:00" }, vector_clock: { [dA]: 1 } })]);
      expect(r.status).toBe("rejected");
      expect(r.error.code).toBe("validation_failed");
      expect(Object.keys(r.error.details.fields)).toEqual(["due_date"]);
      expect((await api("GET", `/api/tasks/${id}`)).status).toBe(404);
    });

    test("pull: limit 500 by default (at most 5,000), each record once in its latest state in commit order, snapshots complete; cursors survive a restart", async () => {
      let page = (await api("GET", `/api/sync/pull?device_id=${dB}&limit=5000`)).body;
      while (page.has_more) page = (await api("GET", `/api/sync/pull?device_id=${dB}&cursor=${encodeURIComponent(page.cursor)}&limit=5000`)).body;
      const cursor: string = page.cursor;
      const ids = Array.from({ length: 520 }, () => crypto.randomUUID());
      const created = await push(
        dA,
        ids.map((id, i) => change({ entity: "task", entity_id: id, op: "create", data: { title: `bulk ${i}` }, vector_clock: { [dA]: 1 } })),
      );
      expect(created.every((r) => r.status === "applied")).toBe(true);
      // The first one edited after the others: it comes once, last, in its latest state.
      expect((await push(dA, [change({ entity: "task", entity_id: ids[0]!, op: "update", data: { title: "bulk 0 edited" }, base_version: 1, vector_clock: { [dA]: 2 } })]))[0].status).toBe(
        "applied",
      );
      const first = await api("GET", `/api/sync/pull?device_id=${dB}&cursor=${encodeURIComponent(cursor)}`);
      expect(first.status).toBe(200);
      expect(first.body.changes).toHaveLength(500);
      expect(first.body.has_more).toBe(true);
      // The next page from a restarted server: the cursor stays valid.
      await server.stop("SIGTERM");
      await start();
      const second = await api("GET", `/api/sync/pull?device_id=${dB}&cursor=${encodeURIComponent(first.body.cursor)}&limit=5000`);
      expect(second.status).toBe(200);
      expect(second.body.has_more).toBe(false);
      const pulled = [...first.body.changes, ...second.body.changes];
      expect(pulled.map((c: { entity_id: string }) => c.entity_id)).toEqual([...ids.slice(1), ids[0]]);
      expect(structuredClone(pulled.at(-1))).toMatchObject({ entity: "task", op: "upsert", version: 2, record: { title: "bulk 0 edited" } });
      // The pusher's own incremental pull leaves them out; its snapshot holds them, deleted records not.
      expect((await api("GET", `/api/sync/pull?device_id=${dA}&cursor=${encodeURIComponent(cursor)}&limit=5000`)).body.changes).toEqual([]);
      expect((await push(dA, [change({ entity: "task", entity_id: ids[1]!, op: "delete", base_version: 1, vector_clock: { [dA]: 2 } })]))[0].status).toBe("applied");
      const snapshot = (await api("GET", `/api/sync/pull?device_id=${dA}&limit=5000`)).body;
      expect(snapshot.has_more).toBe(false);
      const inSnapshot = new Set(snapshot.changes.map((c: { entity_id: string }) => c.entity_id));
      expect(ids.filter((id) => !inSnapshot.has(id))).toEqual([ids[1]]);
      expect(snapshot.changes.every((c: { op: string }) => c.op === "upsert")).toBe(true);
    });

    test("history: a sync write names the pushing device, a merge is `merged` with only the fields that changed", async () => {
      const id = await baseTask({ title: "tracked", priority: "low" });
      expect((await push(dA, [change({ entity: "task", entity_id: id, op: "update", data: { title: "tracked!" }, base_version: 1, vector_clock: { [dC]: 1, [dA]: 1 } })]))[0].status).toBe(
        "applied",
      );
      const [m] = await push(dB, [change({ entity: "task", entity_id: id, op: "update", data: { priority: "high" }, base_version: 1, vector_clock: { [dC]: 1, [dB]: 1 } })]);
      expect(m.status).toBe("merged");
      const history = (await api("GET", `/api/tasks/${id}/history`)).body.results;
      expect(history.map((e: { action: string; version: number; device_id: string }) => [e.action, e.version, e.device_id])).toEqual([
        ["created", 1, dC],
        ["updated", 2, dA],
        ["merged", 3, dB],
      ]);
      expect(history[2].changes).toEqual({ priority: { old: "low", new: "high" } });
      expect(history[2].vector_clock).toEqual(m.vector_clock);
    });
  });
}
