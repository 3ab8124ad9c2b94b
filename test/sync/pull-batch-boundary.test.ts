/**
 * Incremental pulls whose page boundaries fall inside one push batch (one transaction, several
 * records, creates referencing each other, an update and a delete): at every page size each record
 * comes once, in the order a single page gives, parents before their children; a batch committed
 * between two pages adds only what it changed, in its latest state.
 */
import { beforeAll, expect, test } from "bun:test";
import { createTestApp, type TestApp } from "../support/app";
import { forEachDialect } from "../support/db";
import { Device, type Pulled, taskData, twoDevices } from "./helpers";

forEachDialect("pull pages inside one push batch", ({ db }) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(db());
  });

  async function setup() {
    const { a, b } = await twoDevices(t);
    const x = a.create("task", taskData({ title: "X" }));
    const y = a.create("task", taskData({ title: "Y" }));
    await a.push(x, y);
    await b.pullAll();
    const p = a.create("project", { name: "P" });
    const task = a.create("task", taskData({ title: "T", project_id: p.entity_id }));
    const comment = a.create("comment", { task_id: task.entity_id, body: "C" });
    // The comment and the task sent before what they reference: decided after it (push/order.ts).
    const batch = [comment, task, a.update("task", x.entity_id, { title: "X2" }), a.delete("task", y.entity_id), p];
    expect((await a.push(...batch)).map((r) => r.status)).toEqual(["applied", "applied", "applied", "applied", "applied"]);
    return { a, b, start: b.cursor, ids: { p: p.entity_id, task: task.entity_id, comment: comment.entity_id, x: x.entity_id, y: y.entity_id } };
  }

  const key = (c: Pulled) => `${c.entity}:${c.entity_id}:${c.op}:${c.version}`;

  async function pullPages(d: Device, from: string | null, limit: number, between?: () => Promise<void>): Promise<Pulled[][]> {
    const pages: Pulled[][] = [];
    d.cursor = from;
    for (;;) {
      const r = await d.pullRaw(d.cursor, limit);
      expect(r.status).toBe(200);
      expect(r.body.changes.length).toBeLessThanOrEqual(limit);
      pages.push(r.body.changes);
      d.cursor = r.body.cursor;
      if (pages.length === 1 && between) await between();
      if (!r.body.has_more) return pages;
    }
  }

  test("every page size: each record once, in one order, parents first", async () => {
    const { b, start, ids } = await setup();
    const whole = (await pullPages(b, start, 500)).flat();
    expect(whole.map((c) => c.entity_id).sort()).toEqual(Object.values(ids).sort());
    const order = whole.map(key);
    expect(order.indexOf(`project:${ids.p}:upsert:1`)).toBeLessThan(order.indexOf(`task:${ids.task}:upsert:1`));
    expect(order.indexOf(`task:${ids.task}:upsert:1`)).toBeLessThan(order.indexOf(`comment:${ids.comment}:upsert:1`));
    expect(whole.find((c) => c.entity_id === ids.y)?.op).toBe("delete");
    for (const limit of [1, 2, 3, 4]) expect((await pullPages(b, start, limit)).flat().map(key)).toEqual(order);
  });

  test("a batch committed between two pages: what it changed comes after, once, in its latest state", async () => {
    const { a, b, start, ids } = await setup();
    const pages = await pullPages(b, start, 2, async () => {
      await a.push(a.update("task", ids.task, { title: "T2" }), a.update("comment", ids.comment, { body: "C2" }));
    });
    const all = pages.flat();
    const latest = new Map<string, Pulled>();
    for (const c of all) latest.set(`${c.entity}:${c.entity_id}`, c);
    expect(latest.get(`task:${ids.task}`)?.record.title).toBe("T2");
    expect(latest.get(`comment:${ids.comment}`)?.record.body).toBe("C2");
    expect(new Set(all.map((c) => c.entity_id))).toEqual(new Set(Object.values(ids)));
    // Each version at most once, and nothing older after something newer of the same record.
    expect(new Set(all.map(key)).size).toBe(all.length);
    const seen = new Map<string, number>();
    for (const c of all) {
      const k = `${c.entity}:${c.entity_id}`;
      expect(c.version).toBeGreaterThan(seen.get(k) ?? 0);
      seen.set(k, c.version);
    }
  });
});
