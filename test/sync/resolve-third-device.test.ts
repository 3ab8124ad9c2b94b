/**
 * A conflict resolved while a third device pushes its own concurrent edit of the same field, in
 * either order and at once (on Postgres two transactions that really overlap), and the pusher's
 * retry of the push whose answer it lost: nobody's value is lost unseen — the resolution's value is
 * the record's, or the third edit is, or a Conflict keeps it — and the retry changes nothing.
 */
import { beforeAll, expect, test } from "bun:test";
import { createTestApp, type TestApp } from "../support/app";
import { forEachDialect } from "../support/db";
import { Device, taskData, type Change, type Result } from "./helpers";

forEachDialect("a resolution racing a third device's edit of the same field", ({ db }) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(db());
  });

  /** `a` renamed the task, `b`'s rename is a conflict; `c` knows the first version only. */
  async function setup() {
    const ua = await t.createUser();
    const ub = await t.createUser({ org: ua.org.slug });
    const a = Device.of(t, ua);
    const b = Device.of(t, ub);
    const c = await Device.another(t, ub, "c");
    const made = a.create("task", taskData({ title: "Buy milk" }));
    const first = (await a.push1(made)).record;
    b.learn(made.entity_id, first);
    c.learn(made.entity_id, first);
    await a.push1(a.update("task", made.entity_id, { title: "Buy oat milk" }));
    const bChange = b.update("task", made.entity_id, { title: "Buy soy milk" });
    const bAnswer = await b.push1(bChange);
    expect(bAnswer.status).toBe("conflict");
    return { a, b, c, id: made.entity_id, bChange, bAnswer };
  }

  const resolve = (token: string, id: string, resolution: string) => t.request("POST", `/api/sync/conflicts/${id}/resolve`, { token, body: { resolution } });
  const title = async (token: string, id: string) => (await t.request("GET", `/api/tasks/${id}`, { token })).body.title as string;
  const openConflicts = async (token: string, id: string) =>
    ((await t.request("GET", "/api/sync/conflicts?page_size=500", { token })).body.results as { entity_id: string; local: { title?: string } }[]).filter((x) => x.entity_id === id);

  /** The pusher re-sends the push whose answer it lost: the original answer, nothing written. */
  async function retryChangesNothing(b: Device, id: string, bChange: Change, bAnswer: Result) {
    const before = (await t.request("GET", `/api/tasks/${id}`, { token: b.user.token })).body;
    const again = await b.push1(bChange);
    expect([again.status, again.conflict_id, again.version, again.record.title]).toEqual(["duplicate", bAnswer.conflict_id, bAnswer.version, "Buy oat milk"]);
    const after = (await t.request("GET", `/api/tasks/${id}`, { token: b.user.token })).body;
    expect(after).toEqual(before);
  }

  test("resolved local first, then the third device's edit: a new Conflict keeps it; the record keeps the resolution", async () => {
    const { b, c, id, bChange, bAnswer } = await setup();
    expect((await resolve(b.user.token, bAnswer.conflict_id!, "local")).status).toBe(200);
    const r = await c.push1(c.update("task", id, { title: "Buy rice milk" }));
    expect([r.status, r.record.title]).toEqual(["conflict", "Buy soy milk"]);
    expect((await openConflicts(b.user.token, id)).map((x) => x.local.title)).toEqual(["Buy rice milk"]);
    await retryChangesNothing(b, id, bChange, bAnswer);
  });

  test("the third device's edit first, then the resolution: local still applies (the field held remote's value), the third edit waits in its Conflict", async () => {
    const { b, c, id, bChange, bAnswer } = await setup();
    const r = await c.push1(c.update("task", id, { title: "Buy rice milk" }));
    expect([r.status, r.record.title]).toEqual(["conflict", "Buy oat milk"]);
    expect((await resolve(b.user.token, bAnswer.conflict_id!, "local")).body.title).toBe("Buy soy milk");
    const third = await resolve(c.user.token, r.conflict_id!, "local");
    expect([third.status, third.body.error.code, third.body.error.details.fields]).toEqual([409, "version_conflict", ["title"]]);
    expect((await openConflicts(b.user.token, id)).map((x) => x.local.title)).toEqual(["Buy rice milk"]);
    await retryChangesNothing(b, id, bChange, bAnswer);
  });

  test("a third edit merged into the field since the conflict: local is 409, remote keeps the merged title", async () => {
    const { b, c, id, bAnswer } = await setup();
    const r = await c.push1(c.update("task", id, { title: "Buy milk today" }));
    expect([r.status, r.record.title]).toEqual(["merged", "Buy oat milk today"]);
    const local = await resolve(b.user.token, bAnswer.conflict_id!, "local");
    expect([local.status, local.body.error.details.current.title]).toEqual([409, "Buy oat milk today"]);
    const remote = await resolve(b.user.token, bAnswer.conflict_id!, "remote");
    expect([remote.status, remote.body.title]).toEqual([200, "Buy oat milk today"]);
  });

  test("at once: no 5xx; the record holds the resolution's title or the third device's is kept in an open Conflict; every device converges", async () => {
    for (let round = 0; round < 6; round++) {
      const { a, b, c, id, bAnswer } = await setup();
      const [res, push] = await Promise.all([resolve(b.user.token, bAnswer.conflict_id!, "local"), c.pushRaw([c.update("task", id, { title: "Buy rice milk" })])]);
      expect(res.status).toBe(200);
      expect(push.status).toBe(200);
      const r = push.body.results[0];
      expect(r.status).toBe("conflict");
      expect(await title(b.user.token, id)).toBe("Buy soy milk");
      expect((await openConflicts(b.user.token, id)).map((x) => x.local.title)).toEqual(["Buy rice milk"]);
      const server = (await t.request("GET", `/api/tasks/${id}`, { token: b.user.token })).body;
      for (const d of [a, b, c]) {
        await d.pullAll();
        expect(d.known.get(id)!.record).toEqual(server);
      }
    }
  });
});
