/**
 * Properties of sync through the HTTP endpoints (shared/sync-notes.md, "Testing the way the
 * anchors do"), on both dialects, with generated edits (fast-check, bounded runs):
 *
 * (a) order independence: two devices' concurrent edits of one base task, pushed in either order,
 *     end with the same record and the same clock (T1 gets A then B, T2 gets B then A);
 * (b) idempotence: re-pushing an acknowledged batch answers `duplicate` with the original results
 *     and changes nothing (records, versions, conflicts, feed positions).
 */
import { beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import type { Database } from "../../src/db/types";
import type { VectorClock } from "../../src/records/clock";
import { createTestApp, type TestApp, type TestUser } from "../support/app";
import { forEachDialect } from "../support/db";
import { fieldsWithRule } from "../../src/sync/merge";
import type { ChangeResult } from "../../src/sync/model";
import { type Json, type PushChange, WRITABLE, pickFields } from "../support/device";

const RUNS = 25;
/** Per-test limit for the generated runs (each run is a handful of HTTP requests; Postgres is the slow side). */
const PROPERTY_TIMEOUT_MS = 60_000;

// ---- generated tasks and edits ------------------------------------------------

const word = fc.constantFrom("plan", "the", "review", "draft", "ship", "fix", "a", "notes");
const titleArb = fc.array(word, { minLength: 2, maxLength: 5 }).map((ws) => ws.join(" "));
const lineArb = fc.array(word, { minLength: 1, maxLength: 3 }).map((ws) => ws.join(" "));
const descriptionArb = fc.array(lineArb, { minLength: 1, maxLength: 5 }).map((ls) => ls.join("\n"));
const statusArb = fc.constantFrom("todo", "in_progress", "blocked", "done", "cancelled");
const priorityArb = fc.constantFrom("low", "medium", "high", "urgent");
const dueArb = fc.constantFrom(null, "2026-11-20", "2026-12-01", "2027-01-15", "2026-12-01T09:30:00.000Z");
const tagsArb = fc.uniqueArray(fc.constantFrom("home", "work", "urgent", "later"), { maxLength: 4 });

const baseTaskArb = fc.record({ title: titleArb, description: descriptionArb, status: statusArb, priority: priorityArb, due_date: dueArb, tags: tagsArb });
type BaseTask = { title: string; description: string; status: string; priority: string; due_date: string | null; tags: string[] };

/** Replaces word `i` of a title (word count kept: a title never becomes empty). */
const titleEdit = fc.tuple(fc.nat(), word).map(([i, w]) => (title: string) => {
  const ws = title.split(" ");
  ws[i % ws.length] = w;
  return ws.join(" ");
});
/** Rewrites, inserts or deletes a line of a description. */
const descriptionEdit = fc.tuple(fc.constantFrom("rewrite", "insert", "delete"), fc.nat(), lineArb).map(([kind, i, line]) => (text: string) => {
  const lines = text.split("\n");
  const at = i % lines.length;
  if (kind === "rewrite") lines[at] = line;
  else if (kind === "insert") lines.splice(at, 0, line);
  else if (lines.length > 1) lines.splice(at, 1);
  return lines.join("\n");
});

/**
 * What a device's edit may set, field by field: every field with a merge rule (a test below checks
 * it against `fieldsWithRule`, so a new rule is exercised here too), text fields edited from the base.
 */
const editFieldArbs = (base: BaseTask) => ({
  title: fc.array(titleEdit, { minLength: 1, maxLength: 2 }).map((es) => es.reduce((t, e) => e(t), base.title)),
  description: fc.array(descriptionEdit, { minLength: 1, maxLength: 2 }).map((es) => es.reduce((t, e) => e(t), base.description)),
  status: statusArb,
  priority: priorityArb,
  due_date: dueArb,
  tags: tagsArb,
});

/** One device's edit of a base task: a non-empty set of fields. */
const editArb = (base: BaseTask) =>
  fc.record(editFieldArbs(base), { requiredKeys: [] }).filter((e) => Object.keys(e).length > 0) as fc.Arbitrary<Json>;

test("the generated edits cover every task field with a merge rule", () => {
  const base: BaseTask = { title: "a b", description: "x", status: "todo", priority: "low", due_date: null, tags: [] };
  expect(Object.keys(editFieldArbs(base)).sort()).toEqual(fieldsWithRule("task").sort());
});

const scenarioArb = baseTaskArb.chain((base) => fc.tuple(fc.constant(base), editArb(base), editArb(base)));

// ---- the organization and its devices --------------------------------------------

interface Device {
  user: TestUser;
  id: string;
  counter: number;
}

interface World {
  t: TestApp;
  creator: Device;
  a: Device;
  b: Device;
  observer: Device;
  /** Where the observer's pulls got to: it catches up before each re-push and must then see nothing new. */
  observerCursor: string | null;
}

function world(db: () => Database): World {
  const w = {} as World;
  beforeAll(async () => {
    w.t = await createTestApp(db());
    const device = (user: TestUser): Device => ({ user, id: user.deviceId!, counter: 0 });
    w.creator = device(await w.t.createUser({ device: "creator" }));
    const org = w.creator.user.org.slug;
    w.a = device(await w.t.createUser({ org, device: "device A" }));
    w.b = device(await w.t.createUser({ org, device: "device B" }));
    w.observer = device(await w.t.createUser({ org, device: "observer" }));
    w.observerCursor = null;
  });
  return w;
}

async function push(w: World, d: Device, changes: PushChange[]): Promise<ChangeResult[]> {
  const res = await w.t.request("POST", "/api/sync/push", { token: d.user.token, body: { device_id: d.id, changes } });
  expect({ status: res.status, body: res.status === 200 ? "…" : res.body }).toEqual({ status: 200, body: "…" });
  expect(res.body.results).toHaveLength(changes.length);
  return res.body.results;
}

/** Pulls from `cursor` to the end; returns what came and the new cursor. */
async function pullAll(w: World, d: Device, cursor: string | null): Promise<{ changes: Json[]; cursor: string }> {
  const changes: Json[] = [];
  for (;;) {
    const q = new URLSearchParams({ device_id: d.id });
    if (cursor !== null) q.set("cursor", cursor);
    const res = await w.t.request("GET", `/api/sync/pull?${q}`, { token: d.user.token });
    expect(res.status).toBe(200);
    changes.push(...res.body.changes);
    cursor = res.body.cursor as string;
    if (!res.body.has_more) return { changes, cursor };
  }
}

const update = (d: Device, id: string, data: Json, baseVersion: number, clock: VectorClock): PushChange => ({
  change_id: crypto.randomUUID(),
  entity: "task",
  entity_id: id,
  op: "update",
  data,
  base_version: baseVersion,
  vector_clock: { ...clock, [d.id]: ++d.counter },
});

/** `count` identical tasks created by the creator device with the same clock: the common base of concurrent edits. */
async function createBases(w: World, base: Json, count: number): Promise<{ ids: string[]; clock: VectorClock }> {
  const clock = { [w.creator.id]: ++w.creator.counter };
  const ids = Array.from({ length: count }, () => crypto.randomUUID());
  const results = await push(
    w,
    w.creator,
    ids.map((id) => ({ change_id: crypto.randomUUID(), entity: "task", entity_id: id, op: "create", data: base, vector_clock: clock })),
  );
  for (const r of results) expect(r.status).toBe("applied");
  return { ids, clock };
}

async function getTask(w: World, id: string): Promise<Json> {
  const res = await w.t.request("GET", `/api/tasks/${id}`, { token: w.creator.user.token });
  expect(res.status).toBe(200);
  return res.body;
}

forEachDialect("sync properties", ({ db }) => {
  const w = world(db);

  test("(a) concurrent edits pushed in either order end with the same record and clock", async () => {
    let merged = 0;
    let conflicts = 0;
    await fc.assert(
      fc.asyncProperty(scenarioArb, async ([base, editA, editB]) => {
        const { ids, clock } = await createBases(w, base, 2);
        const [t1, t2] = ids;
        const a1 = update(w.a, t1, editA, 1, clock);
        const b1 = update(w.b, t1, editB, 1, clock);
        const b2 = { ...b1, change_id: crypto.randomUUID(), entity_id: t2 }; // the same edits, with the same clocks, on T2
        const a2 = { ...a1, change_id: crypto.randomUUID(), entity_id: t2 };
        const [ra1] = await push(w, w.a, [a1]); // T1: A first
        const [rb1, rb2] = await push(w, w.b, [b1, b2]); // then B on T1; T2: B first
        const [ra2] = await push(w, w.a, [a2]); // then A on T2
        expect([ra1.status, rb2.status]).toEqual(["applied", "applied"]);
        const second = { onT1: rb1.status, onT2: ra2.status };
        expect(["merged", "conflict"]).toContain(second.onT1);
        expect(second.onT2).toBe(second.onT1); // a conflict is found the same way from both sides

        const [r1, r2] = [await getTask(w, t1), await getTask(w, t2)];
        const f1 = pickFields("task", r1);
        const f2 = pickFields("task", r2);
        if (second.onT1 === "merged") {
          merged++;
          expect({ fields: f2, clock: r2.vector_clock }).toEqual({ fields: f1, clock: r1.vector_clock });
        } else {
          conflicts++;
          const c1 = (await w.t.request("GET", `/api/sync/conflicts/${rb1.conflict_id}`, { token: w.creator.user.token })).body;
          const c2 = (await w.t.request("GET", `/api/sync/conflicts/${ra2.conflict_id}`, { token: w.creator.user.token })).body;
          expect([...c2.fields].sort()).toEqual([...c1.fields].sort());
          // The server keeps its own value for the conflicting fields (A's on T1, B's on T2); the rest merges alike.
          for (const field of WRITABLE.task) {
            if (c1.fields.includes(field)) {
              expect([field, f1[field], f2[field]]).toEqual([field, editA[field], editB[field]]);
            } else {
              expect([field, f2[field]]).toEqual([field, f1[field]]);
            }
          }
          expect(r2.vector_clock).toEqual(r1.vector_clock);
        }
      }),
      { numRuns: RUNS },
    );
    expect(merged).toBeGreaterThan(0);
    expect(conflicts).toBeGreaterThan(0);
  }, PROPERTY_TIMEOUT_MS);

  describe("(b) re-pushing an acknowledged batch", () => {
    /** A batch of A's: updates that apply, merge or conflict (B edited some bases first), stale ones, deletes and creates. */
    const batchArb = fc.record({
      base: baseTaskArb,
      editsB: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
      seeds: fc.array(fc.tuple(baseTaskArb, fc.constantFrom("update", "overlap", "delete", "stale") as fc.Arbitrary<"update" | "overlap" | "delete" | "stale">), {
        minLength: 4,
        maxLength: 4,
      }),
      creates: fc.array(baseTaskArb, { maxLength: 2 }),
    });

    test("answers duplicate with the original result for each change and changes nothing", async () => {
      const seen = new Set<string>();
      await fc.assert(
        fc.asyncProperty(batchArb, async ({ base, editsB, seeds, creates }) => {
          const { ids, clock } = await createBases(w, base, 4);
          const bChanges = ids.flatMap((id, i) => (editsB[i] ? [update(w.b, id, { priority: "urgent", title: `${base.title} by B` }, 1, clock)] : []));
          if (bChanges.length) await push(w, w.b, bChanges);

          const batch: PushChange[] = ids.map((id, i) => {
            const [fresh, kind] = seeds[i];
            if (kind === "delete") return { change_id: crypto.randomUUID(), entity: "task", entity_id: id, op: "delete", base_version: 1, vector_clock: { ...clock, [w.a.id]: ++w.a.counter } };
            if (kind === "stale") return { change_id: crypto.randomUUID(), entity: "task", entity_id: id, op: "update", data: { status: fresh.status }, base_version: 1, vector_clock: clock };
            if (kind === "overlap") return update(w.a, id, { title: fresh.title, priority: fresh.priority }, 1, clock); // B's fields too
            return update(w.a, id, { status: fresh.status, tags: fresh.tags }, 1, clock); // fields B leaves alone: applied or merged
          });
          for (const data of creates) {
            batch.push({ change_id: crypto.randomUUID(), entity: "task", entity_id: crypto.randomUUID(), op: "create", data, vector_clock: { [w.a.id]: ++w.a.counter } });
          }

          const first = await push(w, w.a, batch);
          for (const r of first) {
            expect(["applied", "merged", "conflict", "stale"]).toContain(r.status);
            seen.add(r.status);
          }
          const before = { records: await Promise.all(batch.map((c) => stateOf(w, c.entity_id))), conflicts: await conflictCount(w) };
          const { cursor } = await pullAll(w, w.observer, w.observerCursor);
          w.observerCursor = cursor;

          const again = await push(w, w.a, batch);
          expect(again.map((r) => r.status)).toEqual(batch.map(() => "duplicate"));
          expect(again.map((r) => ({ ...r, status: "duplicate" }))).toEqual(first.map((r) => ({ ...r, status: "duplicate" })));

          const after = { records: await Promise.all(batch.map((c) => stateOf(w, c.entity_id))), conflicts: await conflictCount(w) };
          expect(after).toEqual(before);
          expect((await pullAll(w, w.observer, cursor)).changes).toEqual([]); // no feed position moved
        }),
        { numRuns: RUNS },
      );
      expect([...seen].sort()).toEqual(["applied", "conflict", "merged", "stale"]);
    }, PROPERTY_TIMEOUT_MS);

    test("after others wrote meanwhile, a re-push still answers the original result and undoes nothing", async () => {
      const { ids, clock } = await createBases(w, { title: "shared task", description: "one\ntwo", priority: "low" }, 1);
      const [id] = ids;
      const change = update(w.a, id, { description: "one!\ntwo" }, 1, clock);
      const [original] = await push(w, w.a, [change]);
      expect(original.status).toBe("applied");
      const [byB] = await push(w, w.b, [update(w.b, id, { priority: "high" }, original.version!, original.vector_clock!)]);
      expect(byB.status).toBe("applied");
      const current = await getTask(w, id);
      const { cursor } = await pullAll(w, w.observer, w.observerCursor);
      w.observerCursor = cursor;

      const [again] = await push(w, w.a, [change]);
      expect(again).toMatchObject({ status: "duplicate", change_id: change.change_id, version: original.version, vector_clock: original.vector_clock });
      expect(await getTask(w, id)).toEqual(current);
      expect((await pullAll(w, w.observer, cursor)).changes).toEqual([]);
    });

    test("the same change_id with another payload is rejected (change_id_reused) and changes nothing", async () => {
      const { ids, clock } = await createBases(w, { title: "reuse" }, 1);
      const change = update(w.a, ids[0], { title: "reuse A" }, 1, clock);
      expect((await push(w, w.a, [change]))[0].status).toBe("applied");
      const current = await getTask(w, ids[0]);
      const [reused] = await push(w, w.a, [{ ...change, data: { title: "something else" }, vector_clock: { ...change.vector_clock, [w.a.id]: ++w.a.counter } }]);
      expect(reused).toMatchObject({ status: "rejected", error: { code: "change_id_reused" } });
      expect(await getTask(w, ids[0])).toEqual(current);
    });
  });
});

/** A task as REST shows it (404 once deleted) and its history (readable after deletion too). */
async function stateOf(w: World, id: string): Promise<Json> {
  const token = w.creator.user.token;
  const task = await w.t.request("GET", `/api/tasks/${id}`, { token });
  const history = await w.t.request("GET", `/api/tasks/${id}/history?page_size=500`, { token });
  expect(history.status).toBe(200);
  return { task: task.status === 200 ? task.body : task.status, history: history.body };
}

/** Conflicts of the organization, resolved or not. */
async function conflictCount(w: World): Promise<number> {
  const res = await w.t.request("GET", "/api/sync/conflicts?include_resolved=true", { token: w.creator.user.token });
  expect(res.status).toBe(200);
  return res.body.count;
}
