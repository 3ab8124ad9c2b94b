import { beforeAll, describe, expect, test } from "bun:test";
import { createTestApp, type TestApp } from "../support/app";
import { forEachDialect } from "../support/db";
import { PAGE_BYTES } from "../../src/records/feed-json";
import { Device, taskData, twoDevices } from "./helpers";

forEachDialect("sync pull", ({ db }) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(db());
  });

  const ids = (changes: { entity_id: string }[]) => changes.map((c) => c.entity_id).sort();

  describe("snapshot (no cursor)", () => {
    test("every live record of the organization, own writes included, tombstones and other organizations left out", async () => {
      const { a, b } = await twoDevices(t);
      const p = a.create("project", { name: "P" });
      const t1 = a.create("task", taskData({ project_id: p.entity_id }));
      const t2 = a.create("task", taskData());
      const gone = a.create("task", taskData());
      await a.push(p, t1, t2, gone);
      const cm = b.create("comment", { task_id: t1.entity_id, body: "hi" });
      await b.push1(cm);
      await a.push1(a.delete("task", gone.entity_id));
      const elsewhere = Device.of(t, await t.createUser());
      expect((await elsewhere.push1(elsewhere.create("project", { name: "elsewhere" }))).status).toBe("applied");

      const r = await a.pullRaw(null);
      expect(r.status).toBe(200);
      expect(r.body.has_more).toBe(false);
      expect(typeof r.body.cursor).toBe("string");
      expect(ids(r.body.changes)).toEqual([p.entity_id, t1.entity_id, t2.entity_id, cm.entity_id].sort());
      expect(r.body.changes.every((c) => c.op === "upsert")).toBe(true);
      const task = r.body.changes.find((c) => c.entity_id === t1.entity_id)!;
      expect(task).toMatchObject({ entity: "task", version: 1, vector_clock: t1.vector_clock, record: { id: t1.entity_id, title: "A task" } });
    });

    test("an empty organization: no changes, a cursor, no more", async () => {
      const d = Device.of(t, await t.createUser());
      const r = await d.pullRaw(null);
      expect(r.body).toMatchObject({ changes: [], has_more: false });
      const again = await d.pullRaw(r.body.cursor);
      expect(again.body.changes).toEqual([]);
    });

    test("paged: every record exactly once across pages, has_more until the end", async () => {
      const d = Device.of(t, await t.createUser());
      const made = Array.from({ length: 7 }, (_, i) => d.create("project", { name: `P${i}` }));
      await d.push(...made);
      const reader = await Device.another(t, d.user);
      const pages: number[] = [];
      const seen: string[] = [];
      for (;;) {
        const r = await reader.pullRaw(reader.cursor, 3);
        expect(r.status).toBe(200);
        expect(r.body.changes.length).toBeLessThanOrEqual(3);
        pages.push(r.body.changes.length);
        seen.push(...r.body.changes.map((c) => c.entity_id));
        reader.cursor = r.body.cursor;
        if (!r.body.has_more) break;
      }
      expect(pages).toEqual([3, 3, 1]);
      expect(seen.sort()).toEqual(made.map((c) => c.entity_id).sort());
    });

    test("a record deleted while the snapshot is paged still reaches the reader, as a delete", async () => {
      const { a, b } = await twoDevices(t);
      const made = Array.from({ length: 4 }, (_, i) => a.create("project", { name: `P${i}` }));
      await a.push(...made);
      const first = await b.pullRaw(null, 2);
      expect(first.body.has_more).toBe(true);
      const delivered = first.body.changes[0].entity_id;
      await a.push1(a.delete("project", delivered));
      b.cursor = first.body.cursor;
      const rest = await b.pullAll(2);
      const del = rest.filter((c) => c.op === "delete");
      expect(del.map((c) => c.entity_id)).toEqual([delivered]);
      expect(typeof del[0].record.deleted_at).toBe("string");
      const upserts = [...first.body.changes, ...rest].filter((c) => c.op === "upsert").map((c) => c.entity_id);
      expect(new Set(upserts)).toEqual(new Set(made.map((c) => c.entity_id)));
    });
    test("writes made while the snapshot is paged come once, after it, in their latest state; the reader's own applied writes not at all", async () => {
      const { a, b } = await twoDevices(t);
      const made = Array.from({ length: 4 }, (_, i) => a.create("project", { name: `P${i}` }));
      await a.push(...made);
      const first = await b.pullRaw(null, 1);
      expect(first.body.has_more).toBe(true);
      const sent = new Set(first.body.changes.map((c) => c.entity_id));
      // Meanwhile: another device creates one and edits one not delivered yet; the reader pushes one of its own.
      const later = a.create("project", { name: "later" });
      await a.push1(later);
      const edited = made.find((c) => !sent.has(c.entity_id))!;
      await a.push1(a.update("project", edited.entity_id, { name: "edited" }));
      const mine = b.create("project", { name: "mine" });
      await b.push1(mine);
      b.cursor = first.body.cursor;
      const all = [...first.body.changes, ...(await b.pullAll(100))];
      const ids = all.map((c) => c.entity_id);
      expect(ids.filter((id) => id === later.entity_id)).toHaveLength(1);
      expect(all.filter((c) => c.entity_id === edited.entity_id).map((c) => [c.version, c.record.name])).toEqual([[2, "edited"]]);
      expect(ids).not.toContain(mine.entity_id);
      expect(new Set(ids)).toEqual(new Set([...made, later].map((c) => c.entity_id)));
      expect(ids).toHaveLength(5);
    });

    // Found by client QA: the reader's edit moved the record past the snapshot's start, and the pages
    // after it left out the reader's own writes, so a record live at the start was in no page at all.
    test("the reader's own edit of a record not delivered yet still comes (a snapshot is complete); its own creates do not", async () => {
      const { a, b } = await twoDevices(t);
      const made = Array.from({ length: 4 }, (_, i) => a.create("project", { name: `P${i}` }));
      const results = await a.push(...made);
      const first = await b.pullRaw(null, 1);
      expect(first.body.has_more).toBe(true);
      const sent = new Set(first.body.changes.map((c) => c.entity_id));
      const edited = made.find((c) => !sent.has(c.entity_id))!;
      b.learn(edited.entity_id, results[made.indexOf(edited)]!.record);
      expect((await b.push1(b.update("project", edited.entity_id, { name: "edited by the reader" }))).status).toBe("applied");
      const mine = b.create("project", { name: "mine" });
      await b.push1(mine);
      b.cursor = first.body.cursor;
      const all = [...first.body.changes, ...(await b.pullAll(1))];
      expect(all.filter((c) => c.entity_id === edited.entity_id).map((c) => [c.version, c.record.name])).toEqual([[2, "edited by the reader"]]);
      expect(new Set(all.map((c) => c.entity_id))).toEqual(new Set(made.map((c) => c.entity_id)));
      expect(all.map((c) => c.entity_id)).not.toContain(mine.entity_id);
      // Caught up: the cursor is an incremental one again, which leaves the reader's own edits out.
      expect((await b.push1(b.update("project", edited.entity_id, { name: "again" }))).status).toBe("applied");
      expect(await b.pullAll()).toEqual([]);
    });

    test("the reader's own edit written during the snapshot still comes when the catch-up takes several pages", async () => {
      const { a, b } = await twoDevices(t);
      const made = Array.from({ length: 3 }, (_, i) => a.create("project", { name: `P${i}` }));
      const results = await a.push(...made);
      const first = await b.pullRaw(null, 1);
      const sent = new Set(first.body.changes.map((c) => c.entity_id));
      const edited = made.find((c) => !sent.has(c.entity_id))!;
      // Another device's write first: the catch-up's first page holds it, the reader's edit comes on the next.
      const other = a.create("project", { name: "other" });
      await a.push1(other);
      b.learn(edited.entity_id, results[made.indexOf(edited)]!.record);
      expect((await b.push1(b.update("project", edited.entity_id, { name: "edited by the reader" }))).status).toBe("applied");
      b.cursor = first.body.cursor;
      const all = [...first.body.changes, ...(await b.pullAll(1))];
      expect(all.filter((c) => c.entity_id === edited.entity_id).map((c) => [c.version, c.record.name])).toEqual([[2, "edited by the reader"]]);
      expect(new Set(all.map((c) => c.entity_id))).toEqual(new Set([...made, other].map((c) => c.entity_id)));
    });
  });

  describe("incremental (with a cursor)", () => {
    test("what others wrote since, once, in its latest state; own applied writes left out", async () => {
      const { a, b } = await twoDevices(t);
      await b.pullAll();
      const x = a.create("task", taskData({ title: "x" }));
      await a.push1(x);
      await a.push1(a.update("task", x.entity_id, { title: "x2" }));
      await a.push1(a.update("task", x.entity_id, { title: "x3" }));
      const mine = b.create("task", taskData({ title: "mine" }));
      await b.push1(mine);

      const got = await b.pullAll();
      expect(got.map((c) => [c.entity_id, c.version, c.record.title])).toEqual([[x.entity_id, 3, "x3"]]);
      expect(await b.pullAll()).toEqual([]);
      // a sees b's task, not its own
      const gotA = await a.pullAll();
      expect(gotA.map((c) => c.entity_id)).toContain(mine.entity_id);
    });

    test("a push does not move the cursor: the device still gets what others wrote meanwhile", async () => {
      const { a, b } = await twoDevices(t);
      await a.pullAll();
      const theirs = b.create("project", { name: "theirs" });
      await b.push1(theirs);
      await a.push1(a.create("project", { name: "mine" }));
      expect((await a.pullAll()).map((c) => c.entity_id)).toEqual([theirs.entity_id]);
    });

    test("a merged result comes back to the device that pushed it (it is not exactly its own state)", async () => {
      const { a, b } = await twoDevices(t);
      const x = a.create("task", taskData());
      b.learn(x.entity_id, (await a.push1(x)).record);
      await b.pullAll();
      await a.push1(a.update("task", x.entity_id, { priority: "high" }));
      const r = await b.push1(b.update("task", x.entity_id, { status: "done" }));
      expect(r.status).toBe("merged");
      const got = await b.pullAll();
      expect(got.map((c) => [c.entity_id, c.version])).toEqual([[x.entity_id, 3]]);
    });

    test("an applied write whose data the server normalized comes back to its device in the stored form; one stored as sent does not", async () => {
      const { a } = await twoDevices(t);
      await a.pullAll();
      const asSent = a.create("task", taskData({ title: "as sent", due_date: "2026-03-01T08:00:00.000Z", tags: ["x"] }));
      const dated = a.create("task", taskData({ title: "dated", due_date: "2026-03-01T10:00:00+02:00" }));
      const tagged = a.create("task", taskData({ title: "tagged", tags: ["x", "x"] }));
      const results = await a.push(asSent, dated, tagged);
      expect(results.map((r) => r.status)).toEqual(["applied", "applied", "applied"]);
      const got = await a.pullAll();
      expect(got.map((c) => [c.entity_id, c.version, c.record.due_date, c.record.tags]).sort()).toEqual(
        [
          [dated.entity_id, 1, "2026-03-01T08:00:00.000Z", []],
          [tagged.entity_id, 1, null, ["x"]],
        ].sort(),
      );
      // A later update that sends only values already in stored form is left out again.
      await a.push1(a.update("task", dated.entity_id, { title: "dated 2" }));
      expect(await a.pullAll()).toEqual([]);
    });

    test("deletes come as op delete with the tombstone", async () => {
      const { a, b } = await twoDevices(t);
      const x = a.create("task", taskData());
      await a.push1(x);
      await b.pullAll();
      await a.push1(a.delete("task", x.entity_id));
      const got = await b.pullAll();
      expect(got).toHaveLength(1);
      expect(got[0]).toMatchObject({ entity: "task", entity_id: x.entity_id, op: "delete", version: 2 });
      expect(typeof got[0].record.deleted_at).toBe("string");
    });

    test("REST writes reach pulls like any other", async () => {
      const { a, ua } = await twoDevices(t);
      await a.pullAll();
      const created = await t.request("POST", "/api/tasks", { token: ua.token, body: { title: "via REST" } });
      expect(created.status).toBe(201);
      expect((await a.pullAll()).map((c) => c.entity_id)).toEqual([created.body.id]);
    });

    test("paged with own writes filtered: the device's own writes do not count against the limit, nothing is skipped", async () => {
      const { a, b } = await twoDevices(t);
      await a.pullAll();
      await a.push(...Array.from({ length: 5 }, (_, i) => a.create("project", { name: `own ${i}` })));
      const theirs = [b.create("project", { name: "theirs 1" }), b.create("project", { name: "theirs 2" })];
      await b.push(...theirs);
      // Found by client QA: 600 own creates pulled at limit=10 took 60 empty pages before the others' changes.
      const first = await a.pullRaw(a.cursor, 1);
      expect(first.body.changes.map((c) => c.entity_id)).toEqual([theirs[0]!.entity_id]);
      expect(first.body.has_more).toBe(true);
      a.cursor = first.body.cursor;
      expect((await a.pullAll(1)).map((c) => c.entity_id)).toEqual([theirs[1]!.entity_id]);
    });
  });

  test("pages of large records stop at the byte budget (has_more) and the next pages carry the rest, in a snapshot and incrementally", async () => {
    const { a, b } = await twoDevices(t);
    const start = (await b.pullRaw(null)).body.cursor; // an empty organization: the cursor before everything
    const big = (i: number) => taskData({ title: `big ${i}`, description: `${i} `.padEnd(100_000, "x") });
    const tasks = Array.from({ length: 100 }, (_, i) => a.create("task", big(i)));
    for (let i = 0; i < tasks.length; i += 25) await a.push(...tasks.slice(i, i + 25)); // 2.5 MB a push
    for (const cursor of [null, start]) {
      const pages: number[][] = []; // each page's change sizes in bytes
      const seen: string[] = [];
      let [at, more] = [cursor, true];
      while (more) {
        const r = await b.pullRaw(at, 5000);
        expect(r.status).toBe(200);
        pages.push(r.body.changes.map((c) => Buffer.byteLength(JSON.stringify(c))));
        seen.push(...r.body.changes.map((c) => c.entity_id));
        [at, more] = [r.body.cursor, r.body.has_more];
      }
      // A page ends with the change that reaches the budget (8 MiB: about 83 of these), then the rest.
      const sum = (sizes: number[]) => sizes.reduce((x, y) => x + y, 0);
      expect(pages.length).toBe(2);
      expect(sum(pages[0]!.slice(0, -1))).toBeLessThan(PAGE_BYTES);
      expect(sum(pages[0]!)).toBeGreaterThanOrEqual(PAGE_BYTES);
      expect(pages.flat()).toHaveLength(100);
      expect(seen.sort()).toEqual(tasks.map((c) => c.entity_id).sort());
    }
  });

  describe("errors", () => {
    test("a malformed cursor or another organization's cursor: 400 invalid_cursor", async () => {
      const d = Device.of(t, await t.createUser());
      await d.push1(d.create("project", { name: "P" }));
      const stranger = Device.of(t, await t.createUser());
      await stranger.push1(stranger.create("project", { name: "S" }));
      const theirCursor = (await stranger.pullRaw(null)).body.cursor;
      for (const cursor of ["garbage", "c1.!!", theirCursor, "c1." + Buffer.from(`${d.user.org.id}:-1`).toString("base64url")]) {
        const r = await d.pullRaw(cursor);
        expect(r.status).toBe(400);
        expect((r.body as any).error.code).toBe("invalid_cursor");
      }
    });

    test("a cursor ahead of the feed (the database restored from an older backup): 410 reset_required, and a snapshot works", async () => {
      const d = Device.of(t, await t.createUser());
      await d.push1(d.create("project", { name: "P" }));
      const ahead = "c1." + Buffer.from(`${d.user.org.id}:999999`).toString("base64url");
      const r = await d.pullRaw(ahead);
      expect([r.status, (r.body as any).error.code]).toEqual([410, "reset_required"]);
      expect((await d.pullRaw(null)).status).toBe(200);
    });

    test("the README's restore step (positions moved a billion on, all purged below) makes every earlier cursor answer 410, also one ahead of the restored feed; a new snapshot then pulls on", async () => {
      const d = Device.of(t, await t.createUser());
      await d.push1(d.create("project", { name: "P" }));
      const before = (await d.pullRaw(null)).body.cursor;
      // A cursor handed out after the backup was taken: ahead of the restored feed, which then catches up with it.
      const { seq } = (await db().get<{ seq: number }>("SELECT seq FROM org_feed_state WHERE org_id = ?", [d.user.org.id]))!;
      const ahead = "c1." + Buffer.from(`${d.user.org.id}:${Number(seq) + 50}`).toString("base64url");
      await db().run("UPDATE org_feed_state SET seq = seq + 1000000000, purged_through = seq + 1000000000 WHERE org_id = ?", [d.user.org.id]);
      expect((await d.pullRaw(before)).status).toBe(410);
      expect((await d.pullRaw(ahead)).status).toBe(410);
      const fresh = await d.pullRaw(null);
      expect(fresh.status).toBe(200);
      const other = await Device.another(t, d.user);
      await other.push1(other.create("project", { name: "after the restore" }));
      const next = await d.pullRaw(fresh.body.cursor);
      expect(next.status).toBe(200);
      expect(next.body.changes.map((c: any) => c.record.name)).toEqual(["after the restore"]);
    });

    test("a cursor older than the purge horizon: 410 reset_required; a snapshot works again", async () => {
      const d = Device.of(t, await t.createUser());
      await d.push1(d.create("project", { name: "P" }));
      const old = (await d.pullRaw(null)).body.cursor;
      await d.push1(d.create("project", { name: "Q" }));
      const fresh = (await d.pullRaw(null)).body.cursor;
      const seq = (await t.deps.db.get<{ seq: number }>("SELECT seq FROM org_feed_state WHERE org_id = ?", [d.user.org.id]))!.seq;
      await t.deps.db.run("UPDATE org_feed_state SET purged_through = ? WHERE org_id = ?", [Number(seq), d.user.org.id]);
      const r = await d.pullRaw(old);
      expect(r.status).toBe(410);
      expect((r.body as any).error.code).toBe("reset_required");
      expect((await d.pullRaw(fresh)).status).toBe(200);
      expect((await d.pullRaw(null)).status).toBe(200);
    });

    test("limit outside 1..5000 or not a number: 422 naming limit; 5000 is fine", async () => {
      const d = Device.of(t, await t.createUser());
      for (const limit of ["0", "5001", "abc", "1.5", "-2", "1e2", "0x10", ""]) {
        const r = await t.request("GET", `/api/sync/pull?device_id=${d.id}&limit=${limit}`, { token: d.user.token });
        expect(r.status).toBe(422);
        expect(r.body.error.code).toBe("validation_failed");
        expect(Object.keys(r.body.error.details.fields)).toContain("limit");
      }
      expect((await d.pullRaw(null, 5000)).status).toBe(200);
    });

    test("a revoked or foreign device: 403; no device_id: 422", async () => {
      const u = await t.createUser();
      const spare = await Device.another(t, u);
      await t.services.devices.revokeAnyOrg(spare.id);
      const other = await t.createUser({ org: u.org.slug });
      for (const id of [spare.id, other.deviceId!]) {
        const r = await t.request("GET", `/api/sync/pull?device_id=${id}`, { token: spare.user.token });
        expect(r.status).toBe(403);
      }
      expect((await t.request("GET", "/api/sync/pull", { token: u.token })).status).toBe(422);
    });
  });
});
