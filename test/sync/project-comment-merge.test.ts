/**
 * Concurrent edits of projects and comments through the HTTP app, each pair pushed in both orders:
 * the same clock and the same decided fields whichever lands first (contract, "Automatic merge
 * rules"), conflicts where the contract says, never a rejection.
 */
import { expect, test } from "bun:test";
import { createTestApp, type TestApp } from "../support/app";
import { forEachDialect } from "../support/db";
import { Device, type Result } from "./helpers";

type Op = { op: "update"; data: Record<string, unknown> } | { op: "delete" };

forEachDialect("project and comment merges, both orders", ({ db }) => {
  let t: TestApp;
  let a: Device;
  let b: Device;
  let token: string;

  const setup = async () => {
    t = await createTestApp(db());
    const user = await t.createUser();
    a = Device.of(t, user);
    b = await Device.another(t, user, "b");
    token = user.token;
  };

  /** A new record made by `a` and known to `b`; then `first`'s op and `second`'s op pushed in that order. */
  async function pair(entity: "project" | "comment", data: Record<string, unknown>, opA: Op, opB: Op, aFirst: boolean) {
    const c = a.create(entity, data);
    const made = await a.push1(c);
    expect(made.status).toBe("applied");
    b.learn(c.entity_id, made.record);
    const change = (d: Device, o: Op) => (o.op === "delete" ? d.delete(entity, c.entity_id) : d.update(entity, c.entity_id, o.data));
    const ca = change(a, opA);
    const cb = change(b, opB);
    const [r1, r2] = aFirst ? [await a.push1(ca), await b.push1(cb)] : [await b.push1(cb), await a.push1(ca)];
    const conflict = r2.conflict_id ? (await t.request("GET", `/api/sync/conflicts/${r2.conflict_id}`, { token })).body : null;
    return { id: c.entity_id, r1, r2, conflict };
  }

  const decided = (r: Result, skip: string[] = []) => {
    const { updated_at, created_at, deleted_at, id, ...rest } = r.record;
    for (const k of skip) delete rest[k];
    return { ...rest, deleted: deleted_at !== null };
  };

  async function bothOrders(entity: "project" | "comment", data: () => Promise<Record<string, unknown>> | Record<string, unknown>, opA: Op, opB: Op) {
    const x = await pair(entity, await data(), opA, opB, true);
    const y = await pair(entity, await data(), opA, opB, false);
    expect([x.r1.status, y.r1.status]).toEqual(["applied", "applied"]);
    expect(y.r2.status).toBe(x.r2.status);
    expect(y.r2.record.vector_clock).toEqual(x.r2.record.vector_clock);
    const fields = x.conflict?.fields ?? [];
    expect(y.conflict?.fields ?? []).toEqual(fields);
    // Conflict fields hold the first pusher's value (documented); every other field is decided alike.
    expect(decided(y.r2, [...fields, "task_id"])).toEqual(decided(x.r2, [...fields, "task_id"]));
    return { x, y };
  }

  test("project: archived by both, colour by both differently, name edited on different words", async () => {
    await setup();
    const { x, y } = await bothOrders(
      "project",
      () => ({ name: "Home renovation plan", color: "#111111", archived: false }),
      { op: "update", data: { archived: true, color: "#ff0000", name: "Home renovation PLAN" } },
      { op: "update", data: { archived: true, color: null, name: "House renovation plan" } },
    );
    expect(x.r2.status).toBe("conflict");
    expect(x.conflict.fields).toEqual(["color"]);
    expect(x.r2.record).toMatchObject({ archived: true, name: "House renovation PLAN", color: "#ff0000" });
    expect(y.r2.record).toMatchObject({ archived: true, name: "House renovation PLAN", color: null });
    expect(x.conflict).toMatchObject({ local: { color: null }, remote: { color: "#ff0000" }, base: { color: "#111111" } });
  });

  test("project: one side archives, the other renames: merged", async () => {
    await setup();
    const { x } = await bothOrders("project", () => ({ name: "P" }), { op: "update", data: { archived: true } }, { op: "update", data: { name: "Q", description: "d" } });
    expect(x.r2.status).toBe("merged");
    expect(x.r2.record).toMatchObject({ archived: true, name: "Q", description: "d" });
  });

  for (const entity of ["project", "comment"] as const) {
    test(`${entity}: delete vs edit, both orders: stays deleted, a Conflict keeps the edit`, async () => {
      await setup();
      const task = a.create("task", { title: "holder" });
      await a.push1(task);
      const data = entity === "project" ? { name: "to go" } : { task_id: task.entity_id, body: "to go" };
      const edit = entity === "project" ? { name: "edited" } : { body: "edited" };
      const { x, y } = await bothOrders(entity, () => data, { op: "delete" }, { op: "update", data: edit });
      for (const o of [x, y]) {
        expect(o.r2.status).toBe("conflict");
        expect(o.r2.record.deleted_at).not.toBeNull();
        expect(o.conflict.fields).toContain("deleted_at");
      }
      // Delete first, then the edit: the Conflict keeps the edit as local.
      expect(x.conflict.local).toMatchObject({ ...edit, deleted_at: null });
      // Edit first, then the delete: the Conflict's remote is the edited record.
      expect(y.conflict.remote).toMatchObject(edit);
    });
  }

  test("comment edit vs its task deleted concurrently, both orders: no rejection; task first → Conflict keeping the edit", async () => {
    await setup();
    for (const taskFirst of [true, false]) {
      const task = a.create("task", { title: "holder" });
      b.learn(task.entity_id, (await a.push1(task)).record);
      const cm = b.create("comment", { task_id: task.entity_id, body: "one two three" });
      a.learn(cm.entity_id, (await b.push1(cm)).record);
      const del = a.delete("task", task.entity_id);
      const ed = b.update("comment", cm.entity_id, { body: "one 2 three" });
      const rs = taskFirst ? [await a.push1(del), await b.push1(ed)] : [await b.push1(ed), await a.push1(del)];
      for (const r of rs) expect(r.status).not.toBe("rejected");
      if (taskFirst) {
        expect(rs[1].status).toBe("conflict");
        const c = (await t.request("GET", `/api/sync/conflicts/${rs[1].conflict_id}`, { token })).body;
        expect(c.local).toMatchObject({ body: "one 2 three" });
      }
      // Whatever the order, the comment is hidden by REST with its deleted task.
      const list = await t.request("GET", `/api/comments?task_id=${task.entity_id}`, { token });
      expect(list.status).toBe(200);
      expect(list.body.results.map((c: any) => c.id)).not.toContain(cm.entity_id);
    }
  });

  test("reply whose parent comment was deleted concurrently: applied without the parent, conflict on parent_id", async () => {
    await setup();
    const task = a.create("task", { title: "holder" });
    b.learn(task.entity_id, (await a.push1(task)).record);
    const parent = a.create("comment", { task_id: task.entity_id, body: "parent" });
    b.learn(parent.entity_id, (await a.push1(parent)).record);
    expect((await a.push1(a.delete("comment", parent.entity_id))).status).toBe("applied");
    const reply = await b.push1(b.create("comment", { task_id: task.entity_id, parent_id: parent.entity_id, body: "reply" }));
    expect(reply.status).toBe("conflict");
    expect(reply.record).toMatchObject({ parent_id: null, body: "reply", deleted_at: null });
    const c = (await t.request("GET", `/api/sync/conflicts/${reply.conflict_id}`, { token })).body;
    expect(c.fields).toEqual(["parent_id"]);
    expect(c.local).toMatchObject({ parent_id: parent.entity_id });
  });

  test("comment body: concurrent edits of different lines, three devices", async () => {
    await setup();
    const c3 = await Device.another(t, a.user, "c");
    const task = a.create("task", { title: "holder" });
    await a.push1(task);
    const cm = a.create("comment", { task_id: task.entity_id, body: "l1 x\nl2 x\nl3 x" });
    const made = await a.push1(cm);
    b.learn(cm.entity_id, made.record);
    c3.learn(cm.entity_id, made.record);
    const r = [
      await a.push1(a.update("comment", cm.entity_id, { body: "l1 A\nl2 x\nl3 x" })),
      await b.push1(b.update("comment", cm.entity_id, { body: "l1 x\nl2 x\nl3 B" })),
      await c3.push1(c3.update("comment", cm.entity_id, { body: "l1 x\nl2 C\nl3 x" })),
    ];
    expect(r.map((x) => x.status)).toEqual(["applied", "merged", "merged"]);
    expect(r[2].record.body).toBe("l1 A\nl2 C\nl3 B");
  });
});
