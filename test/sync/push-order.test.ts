/**
 * The order a push decides its changes in (src/sync/push/order.ts): the order sent, but a record's
 * create before the changes that reference it. Pure table first, then through HTTP on both dialects.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { parseChange } from "../../src/sync/change";
import { decisionOrder } from "../../src/sync/push/order";
import { createTestApp, type TestApp } from "../support/app";
import { forEachDialect } from "../support/db";
import { Device, taskData, twoDevices } from "./helpers";

const P = "00000000-0000-4000-8000-00000000000a";
const T = "00000000-0000-4000-8000-00000000000b";
const C1 = "00000000-0000-4000-8000-00000000000c";
const C2 = "00000000-0000-4000-8000-00000000000d";

let n = 0;
const change = (entity: string, id: string, op: string, data?: Record<string, unknown>, changeId?: string) => ({
  change_id: changeId ?? `10000000-0000-4000-8000-${String(++n).padStart(12, "0")}`,
  entity,
  entity_id: id,
  op,
  ...(data && { data }),
  ...(op !== "create" && { base_version: 1 }),
  vector_clock: { "20000000-0000-4000-8000-000000000001": n },
});
const project = (id = P) => change("project", id, "create", { name: "P" });
const task = (id = T, projectId: string | null = P) => change("task", id, "create", { title: "T", project_id: projectId });
const comment = (id: string, parent: string | null = null, taskId = T) => change("comment", id, "create", { task_id: taskId, body: "c", parent_id: parent });
const REUSED = "30000000-0000-4000-8000-000000000001";

describe("decisionOrder", () => {
  test.each([
    ["nothing referenced later: the order sent", () => [project(), task(), comment(C1)], [0, 1, 2]],
    ["a comment before its task, the task before its project", () => [comment(C1), task(), project()], [2, 1, 0]],
    ["a reply before its parent comment, both before their task", () => [comment(C2, C1), comment(C1), task(T, null)], [2, 1, 0]],
    ["an unrelated change in between keeps its place", () => [comment(C1), project("00000000-0000-4000-8000-0000000000ff"), task(T, null)], [2, 0, 1]],
    ["the task comes forward once, for its first referencing change", () => [comment(C1), comment(C2), task(T, null)], [2, 0, 1]],
    ["a create after another change of its record stays put", () => [comment(C1), change("task", T, "update", { title: "x" }), task(T, null)], [0, 1, 2]],
    ["a create whose change_id was used before it stays put", () => [change("project", "00000000-0000-4000-8000-0000000000ee", "create", { name: "Q" }, REUSED), comment(C1), change("task", T, "create", { title: "T" }, REUSED)], [0, 1, 2]],
    ["a second create of a record is not the one that moves", () => [task(T, null), comment(C1), task(T, null)], [0, 1, 2]],
    ["a cycle of replies (no order satisfies it) ends", () => [comment(C1, C2), comment(C2, C1)], [1, 0]],
    ["a malformed change keeps its place", () => [comment(C1), { entity: "task" }, task(T, null)], [2, 0, 1]],
    ["a task moved into a project created later (an update)", () => [change("task", T, "update", { project_id: P }), project()], [1, 0]],
  ])("%s", (_name, changes, order) => {
    expect(decisionOrder(changes().map(parseChange))).toEqual(order);
  });
});

forEachDialect("a push decides a referenced record's create first", ({ db }) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(db());
  });

  test("a comment and its reply before their task, the task before its project: all applied, answered in the order sent, pulled parents first", async () => {
    const { a, b } = await twoDevices(t);
    await b.pullAll();
    const [p, tk, c1] = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
    const reply = a.create("comment", { task_id: tk, body: "a reply", parent_id: c1 });
    const first = a.create("comment", { task_id: tk, body: "the first" }, c1);
    const taskCreate = a.create("task", taskData({ project_id: p }), tk);
    const projectCreate = a.create("project", { name: "Later" }, p);
    const results = await a.push(reply, first, taskCreate, projectCreate);
    expect(results.map((r) => [r.change_id, r.status, r.version])).toEqual([
      [reply.change_id, "applied", 1],
      [first.change_id, "applied", 1],
      [taskCreate.change_id, "applied", 1],
      [projectCreate.change_id, "applied", 1],
    ]);
    expect(results[0]!.record).toMatchObject({ task_id: tk, parent_id: c1 });
    expect(results[2]!.record).toMatchObject({ project_id: p });
    // Another device gets them in the order they were decided: each record after the ones it references.
    expect((await b.pullAll()).map((c) => c.entity_id)).toEqual([p, tk, c1, reply.entity_id]);
  });

  test("a retry of the same push answers every change duplicate, in the order sent", async () => {
    const d = Device.of(t, await t.createUser());
    const tk = crypto.randomUUID();
    const changes = [d.create("comment", { task_id: tk, body: "early" }), d.create("task", taskData(), tk)];
    expect((await d.push(...changes)).map((r) => r.status)).toEqual(["applied", "applied"]);
    expect((await d.push(...changes)).map((r) => [r.change_id, r.status])).toEqual(changes.map((c) => [c.change_id, "duplicate"]));
  });

  test("a reference to a record the batch does not create is still refused", async () => {
    const d = Device.of(t, await t.createUser());
    const [r] = await d.push(d.create("comment", { task_id: crypto.randomUUID(), body: "orphan" }));
    expect(r).toMatchObject({ status: "rejected", error: { code: "validation_failed" } });
  });
});
