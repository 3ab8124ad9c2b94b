import { beforeAll, describe, expect, test } from "bun:test";
import { createTestApp, type TestApp } from "../support/app";
import { MAX_FIELD_ERRORS } from "../../src/records/validate";
import { compareClocks } from "../../src/records/clock";
import { earlierPayloadHash } from "../../src/sync/change";
import { count, forEachDialect } from "../support/db";
import { Device, taskData, twoDevices } from "./helpers";

forEachDialect("sync push", ({ db }) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(db());
  });

  describe("applied and stale", () => {
    test("a create is applied at version 1 with the pushed clock; an update AFTER it is applied at version 2", async () => {
      const u = await t.createUser();
      const d = Device.of(t, u);
      const create = d.create("task", taskData({ title: "Write tests", tags: ["b", "a", "b"], due_date: "2026-03-01T10:00:00+02:00" }));
      const r1 = await d.push1(create);
      expect(r1).toMatchObject({ change_id: create.change_id, status: "applied", entity: "task", entity_id: create.entity_id, version: 1 });
      expect(r1.vector_clock).toEqual(create.vector_clock);
      expect(r1.record).toMatchObject({ id: create.entity_id, title: "Write tests", tags: ["b", "a"], due_date: "2026-03-01T08:00:00.000Z", created_by: u.user.id });
      expect(r1.conflict_id).toBeUndefined();
      expect(r1.error).toBeUndefined();

      const update = d.update("task", create.entity_id, { status: "done" });
      const r2 = await d.push1(update);
      expect(r2).toMatchObject({ status: "applied", version: 2, record: { status: "done", title: "Write tests" } });
      expect(r2.vector_clock).toEqual({ [d.id]: 2 });

      const got = await t.request("GET", `/api/tasks/${create.entity_id}`, { token: u.token });
      expect(got.body).toMatchObject({ status: "done", version: 2, vector_clock: { [d.id]: 2 } });
      const history = await t.request("GET", `/api/tasks/${create.entity_id}/history`, { token: u.token });
      expect(history.body.results.map((h: any) => [h.action, h.version, h.device_id])).toEqual([
        ["created", 1, d.id],
        ["updated", 2, d.id],
      ]);
    });

    test("two changes of one record in one batch see each other", async () => {
      const d = Device.of(t, await t.createUser());
      const c = d.create("project", { name: "P" });
      d.known.set(c.entity_id, { version: 1, clock: c.vector_clock, record: null });
      const u = d.update("project", c.entity_id, { color: "red" });
      const [r1, r2] = await d.push(c, u);
      expect([r1.status, r2.status]).toEqual(["applied", "applied"]);
      expect(r2.record).toMatchObject({ name: "P", color: "red", version: 2 });
    });

    test("a clock BEFORE or EQUAL to the server's is stale: nothing written, the server record answered", async () => {
      const { a, b } = await twoDevices(t);
      const c = a.create("task", taskData());
      await a.push1(c);
      b.learn(c.entity_id, (await a.push1(a.update("task", c.entity_id, { priority: "high" }))).record);
      const newer = await b.push1(b.update("task", c.entity_id, { priority: "low" }));
      expect(newer.status).toBe("applied");

      // a pushes a change whose clock the server already dominates
      const equal = { ...a.update("task", c.entity_id, { title: "old news" }), vector_clock: { [a.id]: 2 } };
      const r = await a.push1(equal);
      expect(r.status).toBe("stale");
      expect(r.record).toMatchObject({ priority: "low", title: "A task", version: 3 });
      expect(r.version).toBe(3);
      expect(await count(t.deps.db, "SELECT COUNT(*) AS n FROM history WHERE entity_id = ?", [c.entity_id])).toBe(3);

      // b pushes a change whose clock is exactly the server's (EQUAL): stale as well, nothing written.
      // (The change above is BEFORE: {a: 2} against {a: 2, b: 1}. Found by mutation testing: a push
      // that took EQUAL for CONCURRENT, merging and writing version 4, passed every test.)
      expect(compareClocks(newer.vector_clock!, r.vector_clock!)).toBe("EQUAL");
      const same = { ...b.update("task", c.entity_id, { title: "same clock" }), vector_clock: newer.vector_clock };
      const s = await b.push1(same);
      expect(s.status).toBe("stale");
      expect(s.record).toMatchObject({ priority: "low", title: "A task", version: 3 });
      expect(s.vector_clock).toEqual(newer.vector_clock);
      expect(await count(t.deps.db, "SELECT COUNT(*) AS n FROM history WHERE entity_id = ?", [c.entity_id])).toBe(3);
    });

    test("a create the server already holds with the same clock (EQUAL) is stale, not already_exists", async () => {
      const d = Device.of(t, await t.createUser());
      const c = d.create("task", taskData());
      await d.push1(c);
      const r = await d.push1({ ...c, change_id: crypto.randomUUID() });
      expect(r.status).toBe("stale");
      expect(r.record).toMatchObject({ id: c.entity_id, title: "A task", version: 1 });
      expect(await count(t.deps.db, "SELECT COUNT(*) AS n FROM history WHERE entity_id = ?", [c.entity_id])).toBe(1);
    });

    test("a create of an id the server already holds with a newer clock is stale", async () => {
      const d = Device.of(t, await t.createUser());
      const c = d.create("task", taskData());
      await d.push1(c);
      await d.push1(d.update("task", c.entity_id, { title: "newer" }));
      const again = { ...c, change_id: crypto.randomUUID() };
      const r = await d.push1(again);
      expect(r.status).toBe("stale");
      expect(r.record.title).toBe("newer");
    });
  });

  describe("exactly once", () => {
    test("pushing the same change again is a duplicate with the original answer, applied once", async () => {
      const d = Device.of(t, await t.createUser());
      const c = d.create("task", taskData());
      const u = { ...d.update("task", c.entity_id, {}), base_version: 1, vector_clock: { [d.id]: 2 }, data: { title: "once" } };
      const first = await d.push(c, u);
      const again = await d.push(c, u);
      expect(again.map((r) => r.status)).toEqual(["duplicate", "duplicate"]);
      for (let i = 0; i < 2; i++) {
        const { status, ...rest } = again[i];
        const { status: _s, ...orig } = first[i];
        expect(rest).toEqual(orig);
      }
      expect(again[0].record.title).toBe("A task"); // the answer of then, not the record of now
      expect(await count(t.deps.db, "SELECT COUNT(*) AS n FROM history WHERE entity_id = ?", [c.entity_id])).toBe(2);
    });

    test("a retry of a change whose answer was lost (same batch twice, new changes appended) applies only the new ones", async () => {
      const d = Device.of(t, await t.createUser());
      const c1 = d.create("project", { name: "one" });
      const c2 = d.create("project", { name: "two" });
      await d.push(c1);
      const r = await d.push(c1, c2);
      expect(r.map((x) => x.status)).toEqual(["duplicate", "applied"]);
    });

    test("a duplicate within one batch answers the first one's result", async () => {
      const d = Device.of(t, await t.createUser());
      const c = d.create("project", { name: "twice" });
      const [r1, r2] = await d.push(c, c);
      expect(r1.status).toBe("applied");
      expect(r2).toEqual({ ...r1, status: "duplicate" });
    });

    test("the same change_id with another payload is rejected change_id_reused and changes nothing", async () => {
      const d = Device.of(t, await t.createUser());
      const c = d.create("task", taskData({ title: "original" }));
      await d.push1(c);
      const reused = { ...c, data: taskData({ title: "something else" }) };
      const r = await d.push1(reused);
      expect(r.status).toBe("rejected");
      expect(r.error).toEqual({
        code: "change_id_reused",
        message: "this change_id was already used by this device for another change",
        details: { fields: { change_id: "already used by this device for another change" } },
      });
      expect((await t.deps.db.get<{ title: string }>("SELECT title FROM tasks WHERE id = ?", [c.entity_id]))?.title).toBe("original");
      // and the original is still answered as a duplicate
      expect((await d.push1(c)).status).toBe("duplicate");
    });

    test("a malformed change that reuses a change_id is rejected change_id_reused with its entity and entity_id echoed, as a well-formed one is", async () => {
      const d = Device.of(t, await t.createUser());
      const c = d.create("task", taskData({ title: "original" }));
      await d.push1(c);
      const malformed = await d.push1({ ...c, data: taskData({ priority: "bogus" }) });
      const wellFormed = await d.push1({ ...c, data: taskData({ title: "something else" }) });
      for (const r of [malformed, wellFormed]) {
        expect(r).toMatchObject({ change_id: c.change_id, status: "rejected", entity: "task", entity_id: c.entity_id, error: { code: "change_id_reused" } });
      }
    });

    test("what says nothing is no other payload: a delete's data ({}, null, absent) and a null base_version; an answer remembered with the earlier hash still matches", async () => {
      const d = Device.of(t, await t.createUser());
      const task = d.create("task", taskData());
      await d.push1(task);
      const del = { ...d.delete("task", task.entity_id), data: {} };
      expect((await d.push1(del)).status).toBe("applied");
      const { data: _omitted, ...withoutData } = del;
      for (const retry of [withoutData, { ...del, data: null }, { ...del, data: { title: "ignored by a delete" } }]) {
        expect((await d.push1(retry)).status).toBe("duplicate");
      }
      const create = { ...d.create("project", { name: "P" }), base_version: null };
      expect((await d.push1(create)).status).toBe("applied");
      const { base_version: _absent, ...withoutBase } = create;
      expect((await d.push1(withoutBase)).status).toBe("duplicate");
      // A change answered before the hash left these out (its row holds the hash of every key as sent).
      const old = { ...d.create("project", { name: "Q" }), base_version: null };
      expect((await d.push1(old)).status).toBe("applied");
      await t.deps.db.run("UPDATE sync_changes SET payload_hash = ? WHERE device_id = ? AND change_id = ?", [earlierPayloadHash(old), d.id, old.change_id]);
      expect((await d.push1(old)).status).toBe("duplicate");
      expect((await d.push1({ ...old, data: { name: "R" } })).error?.code).toBe("change_id_reused");
    });

    test("change ids are per device: another device may use the same change_id", async () => {
      const u = await t.createUser();
      const d1 = Device.of(t, u);
      const d2 = await Device.another(t, u);
      const c = d1.create("project", { name: "P1" });
      await d1.push1(c);
      const other = { ...d2.create("project", { name: "P2" }), change_id: c.change_id };
      expect((await d2.push1(other)).status).toBe("applied");
    });

    test("a rejection is remembered: the retry is a duplicate of the rejection", async () => {
      const d = Device.of(t, await t.createUser());
      const bad = d.create("task", taskData({ status: "finished" }));
      const r1 = await d.push1(bad);
      expect(r1.status).toBe("rejected");
      const r2 = await d.push1(bad);
      expect(r2.status).toBe("duplicate");
      expect(r2.error).toEqual(r1.error);
    });
  });

  test("a change with thousands of unknown keys is answered (and remembered) with a bounded error: the first fields named, the rest counted", async () => {
    const d = Device.of(t, await t.createUser());
    const data = { title: "x", ...Object.fromEntries(Array.from({ length: 5_000 }, (_, i) => [`key_${i}`, 1])) };
    const change = { change_id: crypto.randomUUID(), entity: "task", entity_id: crypto.randomUUID(), op: "create", data, vector_clock: { [d.id]: 1 } };
    const [r] = await d.push(change);
    expect(r.status).toBe("rejected");
    expect(r.error?.code).toBe("validation_failed");
    expect(Object.keys(r.error?.details?.fields ?? {})).toHaveLength(MAX_FIELD_ERRORS);
    expect(r.error?.message).toEndWith(` and ${5_000 - MAX_FIELD_ERRORS} more fields`);
    expect(r.error?.details?.more_fields).toBe(5_000 - MAX_FIELD_ERRORS);
    expect(JSON.stringify(r).length).toBeLessThan(5_000);
    const [again] = await d.push(change);
    expect(again.status).toBe("duplicate");
    expect(again.error).toEqual(r.error);
  });

  test("a data key named __proto__ or constructor is rejected and named like any other unknown key", async () => {
    const d = Device.of(t, await t.createUser());
    for (const key of ["__proto__", "constructor"]) {
      const body = `{"device_id":"${d.id}","changes":[{"change_id":"${crypto.randomUUID()}","entity":"task","entity_id":"${crypto.randomUUID()}","op":"create","vector_clock":{"${d.id}":1},"data":{"title":"x","${key}":{"admin":true}}}]}`;
      const r = await t.app.handle(new Request("http://localhost/api/sync/push", { method: "POST", headers: { authorization: `Bearer ${d.user.token}`, "content-type": "application/json" }, body }));
      const [result] = ((await r.json()) as { results: { status: string; error?: { details?: { fields?: unknown } } }[] }).results;
      expect([result.status, result.error?.details?.fields], key).toEqual(["rejected", { [key]: "unknown or read-only field" }]);
    }
  });

  test("an unknown key of 200,000 characters is named by its first 64 only", async () => {
    const d = Device.of(t, await t.createUser());
    const key = "k".repeat(200_000);
    const [r] = await d.push({ change_id: crypto.randomUUID(), entity: "task", entity_id: crypto.randomUUID(), op: "create", data: { title: "x", [key]: 1 }, vector_clock: { [d.id]: 1 } });
    expect(r.status).toBe("rejected");
    expect(r.error?.details?.fields).toEqual({ [`${"k".repeat(64)}…`]: "unknown or read-only field" });
    expect(r.error?.message).toBe(`invalid ${"k".repeat(64)}…`);
  });

  describe("malformed changes are rejected, the others applied", () => {
    const uuid = () => crypto.randomUUID();
    const cases: [string, (dev: string) => unknown, string][] = [
      ["not an object", () => "change", "invalid_change"],
      ["an array", () => [1, 2], "invalid_change"],
      ["no change_id", (dev) => ({ entity: "project", entity_id: uuid(), op: "create", data: { name: "x" }, vector_clock: { [dev]: 1 } }), "invalid_change"],
      ["change_id not a UUID", (dev) => ({ change_id: "c-1", entity: "project", entity_id: uuid(), op: "create", data: { name: "x" }, vector_clock: { [dev]: 1 } }), "invalid_change"],
      ["unknown entity", (dev) => ({ change_id: uuid(), entity: "milestone", entity_id: uuid(), op: "create", data: {}, vector_clock: { [dev]: 1 } }), "unknown_entity"],
      ["unknown op", (dev) => ({ change_id: uuid(), entity: "project", entity_id: uuid(), op: "upsert", data: { name: "x" }, vector_clock: { [dev]: 1 } }), "unknown_op"],
      ["no entity_id", (dev) => ({ change_id: uuid(), entity: "project", op: "create", data: { name: "x" }, vector_clock: { [dev]: 1 } }), "invalid_change"],
      ["entity_id not a UUID", (dev) => ({ change_id: uuid(), entity: "project", entity_id: "p1", op: "create", data: { name: "x" }, vector_clock: { [dev]: 1 } }), "invalid_change"],
      ["a key beside the payload", (dev) => ({ change_id: uuid(), entity: "project", entity_id: uuid(), op: "create", data: { name: "x" }, vector_clock: { [dev]: 1 }, name: "y" }), "invalid_change"],
      ["an update with null data", (dev) => ({ change_id: uuid(), entity: "project", entity_id: uuid(), op: "update", data: null, base_version: 1, vector_clock: { [dev]: 1 } }), "validation_failed"],
      ["data not an object", (dev) => ({ change_id: uuid(), entity: "project", entity_id: uuid(), op: "create", data: ["name"], vector_clock: { [dev]: 1 } }), "validation_failed"],
      ["data with an unknown field", (dev) => ({ change_id: uuid(), entity: "project", entity_id: uuid(), op: "create", data: { name: "x", owner: "me" }, vector_clock: { [dev]: 1 } }), "validation_failed"],
      ["data with a read-only field", (dev) => ({ change_id: uuid(), entity: "task", entity_id: uuid(), op: "create", data: { title: "x", version: 7 }, vector_clock: { [dev]: 1 } }), "validation_failed"],
      ["data of the wrong type", (dev) => ({ change_id: uuid(), entity: "task", entity_id: uuid(), op: "create", data: { title: 42 }, vector_clock: { [dev]: 1 } }), "validation_failed"],
      ["an invalid status", (dev) => ({ change_id: uuid(), entity: "task", entity_id: uuid(), op: "create", data: { title: "x", status: "finished" }, vector_clock: { [dev]: 1 } }), "validation_failed"],
      ["a title over 500 characters", (dev) => ({ change_id: uuid(), entity: "task", entity_id: uuid(), op: "create", data: { title: "x".repeat(501) }, vector_clock: { [dev]: 1 } }), "validation_failed"],
      ["an impossible due date", (dev) => ({ change_id: uuid(), entity: "task", entity_id: uuid(), op: "create", data: { title: "x", due_date: "2026-02-30" }, vector_clock: { [dev]: 1 } }), "validation_failed"],
      ["a create without a required field", (dev) => ({ change_id: uuid(), entity: "task", entity_id: uuid(), op: "create", data: { priority: "low" }, vector_clock: { [dev]: 1 } }), "validation_failed"],
      ["no vector_clock", () => ({ change_id: uuid(), entity: "project", entity_id: uuid(), op: "create", data: { name: "x" } }), "invalid_clock"],
      ["a clock that is not an object", () => ({ change_id: uuid(), entity: "project", entity_id: uuid(), op: "create", data: { name: "x" }, vector_clock: [1] }), "invalid_clock"],
      ["a zero counter", (dev) => ({ change_id: uuid(), entity: "project", entity_id: uuid(), op: "create", data: { name: "x" }, vector_clock: { [dev]: 0 } }), "invalid_clock"],
      ["a negative counter", (dev) => ({ change_id: uuid(), entity: "project", entity_id: uuid(), op: "create", data: { name: "x" }, vector_clock: { [dev]: -3 } }), "invalid_clock"],
      ["a fractional counter", (dev) => ({ change_id: uuid(), entity: "project", entity_id: uuid(), op: "create", data: { name: "x" }, vector_clock: { [dev]: 1.5 } }), "invalid_clock"],
      ["a counter that is a string", (dev) => ({ change_id: uuid(), entity: "project", entity_id: uuid(), op: "create", data: { name: "x" }, vector_clock: { [dev]: "1" } }), "invalid_clock"],
      [
        "more than 1,000 clock entries",
        (dev) => ({
          change_id: uuid(), entity: "project", entity_id: uuid(), op: "create", data: { name: "x" },
          vector_clock: Object.fromEntries([[dev, 1], ...Array.from({ length: 1000 }, (_, i) => [`k${i}`, 1])]),
        }),
        "invalid_clock",
      ],
      ["base_version zero", (dev) => ({ change_id: uuid(), entity: "project", entity_id: uuid(), op: "update", data: { name: "x" }, base_version: 0, vector_clock: { [dev]: 1 } }), "invalid_change"],
      ["base_version not a number", (dev) => ({ change_id: uuid(), entity: "project", entity_id: uuid(), op: "update", data: { name: "x" }, base_version: "3", vector_clock: { [dev]: 1 } }), "invalid_change"],
      ["an update of a record that does not exist", (dev) => ({ change_id: uuid(), entity: "project", entity_id: uuid(), op: "update", data: { name: "x" }, base_version: 1, vector_clock: { [dev]: 1 } }), "not_found"],
    ];

    for (const [name, make, code] of cases) {
      test(`${name} → rejected ${code}; its neighbours are applied`, async () => {
        const d = Device.of(t, await t.createUser());
        const before = d.create("project", { name: "before" });
        const after = d.create("project", { name: "after" });
        const bad = make(d.id);
        const r = await d.pushRaw([before, bad, after]);
        expect(r.status).toBe(200);
        const [r1, r2, r3] = r.body.results;
        expect([r1.status, r3.status]).toEqual(["applied", "applied"]);
        expect(r2.status).toBe("rejected");
        expect(r2.error?.code).toBe(code);
        expect(typeof r2.error?.message).toBe("string");
        expect(await count(t.deps.db, "SELECT COUNT(*) AS n FROM projects WHERE org_id = ?", [d.user.org.id])).toBe(2);
        expect(await count(t.deps.db, "SELECT COUNT(*) AS n FROM tasks WHERE org_id = ?", [d.user.org.id])).toBe(0);
      });
    }

    test("a rejected change leaves nothing behind: no record, history, feed row or conflict", async () => {
      const d = Device.of(t, await t.createUser());
      const p = d.create("project", { name: "P" });
      await d.push1(p);
      const id = crypto.randomUUID();
      // valid on its own, refused by the write core (no such project): nothing of it may remain
      const bad = { ...d.create("task", taskData({ project_id: crypto.randomUUID() }), id) };
      const good = d.create("task", taskData({ project_id: p.entity_id }));
      const [rb, rg] = await d.push(bad, good);
      expect(rb).toMatchObject({ status: "rejected", error: { code: "validation_failed", details: { fields: { project_id: "no such project" } } } });
      expect(rg.status).toBe("applied");
      for (const table of ["tasks", "history", "feed", "conflicts"]) {
        const col = table === "tasks" ? "id" : "entity_id";
        expect(await count(t.deps.db, `SELECT COUNT(*) AS n FROM ${table} WHERE ${col} = ?`, [id])).toBe(0);
      }
      expect(await count(t.deps.db, "SELECT COUNT(*) AS n FROM sync_changes WHERE change_id = ?", [bad.change_id])).toBe(1);
    });

    test("a delete may carry an empty or absent data; an update with no field is applied (a new version)", async () => {
      const d = Device.of(t, await t.createUser());
      const c = d.create("project", { name: "P" });
      await d.push1(c);
      expect((await d.push1(d.update("project", c.entity_id, {}))).status).toBe("applied");
      const del = { ...d.delete("project", c.entity_id), data: {} };
      const r = await d.push1(del);
      expect(r.status).toBe("applied");
      expect(typeof r.record.deleted_at).toBe("string");
    });
  });

  describe("forged clocks", () => {
    test("a key that is not a device of the organization is forged", async () => {
      const d = Device.of(t, await t.createUser());
      const c = { ...d.create("project", { name: "P" }), vector_clock: { [d.id]: 1, "made-up-device": 1 } };
      const r = await d.push1(c);
      expect(r.status).toBe("rejected");
      expect(r.error?.code).toBe("forged_clock");
    });

    test("a device of another organization is not a key this device can know", async () => {
      const d = Device.of(t, await t.createUser());
      const stranger = await t.createUser();
      const r = await d.push1({ ...d.create("project", { name: "P" }), vector_clock: { [d.id]: 1, [stranger.deviceId!]: 1 } });
      expect(r.error?.code).toBe("forged_clock");
    });

    test("another device's counter above the stored one is forged; its stored value is not", async () => {
      const { a, b } = await twoDevices(t);
      const c = a.create("task", taskData());
      await a.push1(c);
      b.learn(c.entity_id, (await a.push1(a.update("task", c.entity_id, { priority: "high" }))).record); // {a: 2}
      const honest = b.update("task", c.entity_id, { priority: "low" }); // {a: 2, b: 1}
      const forged = { ...honest, change_id: crypto.randomUUID(), vector_clock: { [a.id]: 3, [b.id]: 1 } };
      const r = await b.push1(forged);
      expect(r.status).toBe("rejected");
      expect(r.error?.code).toBe("forged_clock");
      expect((await b.push1(honest)).status).toBe("applied");
    });

    test("a create claiming the server key, or another device's entry, is forged", async () => {
      const { a, b } = await twoDevices(t);
      const r1 = await a.push1({ ...a.create("project", { name: "P" }), vector_clock: { [a.id]: 1, server: 1 } });
      const r2 = await a.push1({ ...a.create("project", { name: "P" }), vector_clock: { [a.id]: 1, [b.id]: 1 } });
      expect([r1.error?.code, r2.error?.code]).toEqual(["forged_clock", "forged_clock"]);
    });

    test("a revoked device's entry stays a valid key (other devices still carry it)", async () => {
      const { a, b, ua } = await twoDevices(t);
      const c = a.create("task", taskData());
      b.learn(c.entity_id, (await a.push1(c)).record);
      await t.services.devices.revokeAnyOrg(a.id);
      expect((await b.push1(b.update("task", c.entity_id, { title: "still fine" }))).status).toBe("applied");
      void ua;
    });
  });

  test("an update or delete of a record the server does not hold is not_found even with another device's counter in its clock (a purged tombstone), not forged_clock", async () => {
    const { a, b } = await twoDevices(t);
    const gone = crypto.randomUUID();
    const upd = { change_id: crypto.randomUUID(), entity: "task", entity_id: gone, op: "update", data: { title: "offline edit" }, base_version: 1, vector_clock: { [a.id]: 1, [b.id]: 1 } };
    const del = { change_id: crypto.randomUUID(), entity: "task", entity_id: gone, op: "delete", base_version: 1, vector_clock: { [a.id]: 1, [b.id]: 2 } };
    const [r1, r2] = await b.push(upd, del);
    expect([r1.status, r1.error?.code, r2.status, r2.error?.code]).toEqual(["rejected", "not_found", "rejected", "not_found"]);
    // A create still cannot claim another device's counter.
    const [r3] = await b.push({ change_id: crypto.randomUUID(), entity: "task", entity_id: crypto.randomUUID(), op: "create", data: taskData({}), vector_clock: { [a.id]: 1, [b.id]: 1 } });
    expect([r3.status, r3.error?.code]).toEqual(["rejected", "forged_clock"]);
  });

  describe("what a rejection answers", () => {
    test("one decided against the stored record answers that record; one refused before it is read answers null (README)", async () => {
      const d = Device.of(t, await t.createUser());
      const c = d.create("task", taskData({ title: "kept" }));
      await d.push1(c);
      const base = { entity: "task", entity_id: c.entity_id, op: "update", base_version: 1 };
      const forged = { ...base, change_id: crypto.randomUUID(), data: { title: "x" }, vector_clock: { [d.id]: 2, server: 5 } };
      const badRef = { ...base, change_id: crypto.randomUUID(), data: { project_id: crypto.randomUUID() }, vector_clock: { [d.id]: 2 } };
      const badValue = { ...base, change_id: crypto.randomUUID(), data: { priority: "critical" }, vector_clock: { [d.id]: 2 } };
      const badClock = { ...base, change_id: crypto.randomUUID(), data: { title: "x" }, vector_clock: { [d.id]: 0 } };
      const recreate = { ...d.create("task", taskData({ title: "again" }), c.entity_id), vector_clock: { [d.id]: 9 } };
      const r = await d.pushRaw([forged, badRef, badValue, badClock, recreate]);
      const answers = r.body.results.map((x: any) => [x.status, x.error?.code, x.version, x.record?.title ?? null, Object.keys(x.error?.details?.fields ?? {})]);
      expect(answers).toEqual([
        ["rejected", "forged_clock", 1, "kept", ["vector_clock"]],
        ["rejected", "validation_failed", 1, "kept", ["project_id"]],
        ["rejected", "validation_failed", null, null, ["priority"]],
        ["rejected", "invalid_clock", null, null, ["vector_clock"]],
        ["rejected", "already_exists", 1, "kept", ["entity_id"]],
      ]);
    });
  });

  describe("other organizations' records", () => {
    test("an update or delete of another organization's record is rejected and changes nothing", async () => {
      const mine = Device.of(t, await t.createUser());
      const theirs = Device.of(t, await t.createUser());
      const c = theirs.create("task", taskData({ title: "theirs" }));
      await theirs.push1(c);
      const upd = { change_id: crypto.randomUUID(), entity: "task", entity_id: c.entity_id, op: "update", data: { title: "mine now" }, base_version: 1, vector_clock: { [mine.id]: 1 } };
      const del = { change_id: crypto.randomUUID(), entity: "task", entity_id: c.entity_id, op: "delete", base_version: 1, vector_clock: { [mine.id]: 2 } };
      const [r1, r2] = await mine.push(upd, del);
      expect([r1.status, r1.error?.code, r2.status, r2.error?.code]).toEqual(["rejected", "not_found", "rejected", "not_found"]);
      expect(r1.record).toBeNull();
      const row = await t.deps.db.get<{ title: string; deleted_at: string | null; version: number }>("SELECT title, deleted_at, version FROM tasks WHERE id = ?", [c.entity_id]);
      expect(row).toEqual({ title: "theirs", deleted_at: null, version: 1 });
    });

    test("a create reusing another organization's id is rejected and does not touch their record", async () => {
      const mine = Device.of(t, await t.createUser());
      const theirs = Device.of(t, await t.createUser());
      const c = theirs.create("project", { name: "theirs" });
      await theirs.push1(c);
      const r = await mine.push1(mine.create("project", { name: "mine" }, c.entity_id));
      expect(r.status).toBe("rejected");
      // The write core's `id` is named as the change names it.
      expect(r.error).toEqual({ code: "already_exists", message: expect.any(String), details: { fields: { entity_id: "already taken" } } });
      expect(r.record).toBeNull();
      expect((await t.deps.db.get<{ name: string }>("SELECT name FROM projects WHERE id = ?", [c.entity_id]))?.name).toBe("theirs");
    });

    test("references to another organization's project, task, comment or user are rejected", async () => {
      const mine = Device.of(t, await t.createUser());
      const theirs = Device.of(t, await t.createUser());
      const p = theirs.create("project", { name: "P" });
      const tk = theirs.create("task", taskData());
      const cm = theirs.create("comment", { task_id: tk.entity_id, body: "hi" });
      await theirs.push(p, tk, cm);
      const myTask = mine.create("task", taskData());
      await mine.push1(myTask);
      const results = await mine.push(
        mine.create("task", taskData({ project_id: p.entity_id })),
        mine.create("task", taskData({ assignee_id: theirs.user.user.id })),
        mine.create("comment", { task_id: tk.entity_id, body: "x" }),
        mine.create("comment", { task_id: myTask.entity_id, parent_id: cm.entity_id, body: "x" }),
        mine.update("task", myTask.entity_id, { project_id: p.entity_id }),
      );
      expect(results.map((r) => [r.status, r.error?.code, Object.keys(r.error?.details?.fields ?? {})])).toEqual([
        ["rejected", "validation_failed", ["project_id"]],
        ["rejected", "validation_failed", ["assignee_id"]],
        ["rejected", "validation_failed", ["task_id"]],
        ["rejected", "validation_failed", ["parent_id"]],
        ["rejected", "validation_failed", ["project_id"]],
      ]);
      expect(await count(t.deps.db, "SELECT COUNT(*) AS n FROM comments WHERE org_id = ?", [mine.user.org.id])).toBe(0);
    });
  });

  describe("comment authorship", () => {
    test("another member's update or delete of a comment is rejected forbidden and changes nothing; the rest of the batch is applied", async () => {
      const author = await t.createUser();
      const member = await t.createUser({ org: author.org.slug });
      const a = Device.of(t, author);
      const m = Device.of(t, member);
      const task = a.create("task", taskData());
      const comment = a.create("comment", { task_id: task.entity_id, body: "mine" });
      const [, created] = await a.push(task, comment);
      m.learn(task.entity_id, (await a.push1(a.update("task", task.entity_id, { priority: "high" }))).record);
      m.learn(comment.entity_id, created.record);
      const edit = m.update("comment", comment.entity_id, { body: "rewritten" });
      const del = m.delete("comment", comment.entity_id);
      const own = m.create("comment", { task_id: task.entity_id, body: "my reply", parent_id: comment.entity_id });
      const results = await m.push(edit, del, own);
      expect(results.map((r) => r.status)).toEqual(["rejected", "rejected", "applied"]);
      expect(results[0].error).toEqual({ code: "forbidden", message: "only its author may edit a comment", details: {} });
      expect(results[1].error).toEqual({ code: "forbidden", message: "only its author or an organization admin may delete a comment", details: {} });
      expect(results[0].record).toMatchObject({ id: comment.entity_id, body: "mine", version: 1, deleted_at: null });
      const got = await t.request("GET", `/api/comments/${comment.entity_id}`, { token: author.token });
      expect(got.body).toMatchObject({ body: "mine", version: 1 });
      // The author's other device edits and deletes it.
      const a2 = await Device.another(t, author);
      a2.learn(comment.entity_id, got.body);
      expect((await a2.push1(a2.update("comment", comment.entity_id, { body: "edited" }))).status).toBe("applied");
      expect((await a2.push1(a2.delete("comment", comment.entity_id))).status).toBe("applied");
    });

    test("an admin's device may delete (moderate) another user's comment, not edit it", async () => {
      const author = await t.createUser();
      const admin = Device.of(t, await t.createUser({ org: author.org.slug, role: "admin" }));
      const a = Device.of(t, author);
      const task = a.create("task", taskData());
      const comment = a.create("comment", { task_id: task.entity_id, body: "spam" });
      const [, created] = await a.push(task, comment);
      admin.learn(comment.entity_id, created.record);
      const edit = await admin.push1(admin.update("comment", comment.entity_id, { body: "[removed]" }));
      expect([edit.status, edit.error?.code]).toEqual(["rejected", "forbidden"]);
      const del = await admin.push1(admin.delete("comment", comment.entity_id));
      expect(del.status).toBe("applied");
      expect(del.record).toMatchObject({ body: "spam", deleted_by: admin.user.user.id });
    });

    /** A device with two tasks and, on the first, a comment and the comment it could be moved under. */
    async function commentToMove() {
      const a = Device.of(t, await t.createUser());
      const task = a.create("task", taskData());
      const other = a.create("task", taskData());
      const parent = a.create("comment", { task_id: task.entity_id, body: "parent" });
      const comment = a.create("comment", { task_id: task.entity_id, body: "reply" });
      await a.push(task, other, parent, comment);
      return { a, task, other, parent, comment };
    }

    /** Pushes `toTask` and `toParent` as updates of the comment: both rejected, naming the field moved. */
    async function expectMovesRejected(a: Device, id: string, toTask: Record<string, unknown>, toParent: Record<string, unknown>) {
      const [movedTask, movedParent] = await a.push(a.update("comment", id, toTask), a.update("comment", id, toParent));
      expect([movedTask.status, movedTask.error?.details?.fields]).toEqual(["rejected", { task_id: "a comment cannot move to another task" }]);
      expect([movedParent.status, movedParent.error?.details?.fields]).toEqual(["rejected", { parent_id: "a comment cannot move in its thread" }]);
    }

    test("a comment stays where it was made: its author's push moving it to another task or another parent is rejected naming the field", async () => {
      const { a, task, other, parent, comment } = await commentToMove();
      await expectMovesRejected(a, comment.entity_id, { task_id: other.entity_id }, { parent_id: parent.entity_id });
      const got = await t.request("GET", `/api/comments/${comment.entity_id}`, { token: a.user.token });
      expect(got.body).toMatchObject({ task_id: task.entity_id, parent_id: null, version: 1 });
    });

    test("a push moving a comment whose task is deleted is rejected like any other move: no conflict kept, nothing written", async () => {
      const { a, task, other, parent, comment } = await commentToMove();
      await a.push(a.delete("task", task.entity_id));
      const conflicts = () => count(t.deps.db, "SELECT COUNT(*) AS n FROM conflicts WHERE entity_id = ?", [comment.entity_id]);
      await expectMovesRejected(a, comment.entity_id, { task_id: other.entity_id, body: "moved" }, { parent_id: parent.entity_id });
      expect(await conflicts()).toBe(0);
      const stored = await t.deps.db.get<{ version: number; task_id: string; parent_id: string | null }>("SELECT version, task_id, parent_id FROM comments WHERE id = ?", [comment.entity_id]);
      expect({ ...stored, version: Number(stored?.version) }).toEqual({ version: 1, task_id: task.entity_id, parent_id: null });
      // An edit that keeps it in place is still kept in a Conflict while its task is deleted.
      const edit = await a.push1(a.update("comment", comment.entity_id, { task_id: task.entity_id, body: "edited" }));
      expect(edit.status).toBe("conflict");
      expect(await conflicts()).toBe(1);
    });
  });

  describe("the envelope and the device", () => {
    test("more than 1,000 changes answer 413 payload_too_large and apply nothing", async () => {
      const d = Device.of(t, await t.createUser());
      const changes = Array.from({ length: 1001 }, () => d.create("project", { name: "P" }));
      const r = await d.pushRaw(changes);
      expect(r.status).toBe(413);
      expect((r.body as any).error.code).toBe("payload_too_large");
      expect(await count(t.deps.db, "SELECT COUNT(*) AS n FROM projects WHERE org_id = ?", [d.user.org.id])).toBe(0);
    });

    test("exactly 1,000 changes are accepted", async () => {
      const d = Device.of(t, await t.createUser());
      const r = await d.push(...Array.from({ length: 1000 }, () => d.create("project", { name: "P" })));
      expect(r.every((x) => x.status === "applied")).toBe(true);
    });

    test("a revoked device, another user's device, an unknown device: 403", async () => {
      const u = await t.createUser();
      const other = await t.createUser({ org: u.org.slug });
      const spare = await Device.another(t, u);
      await t.services.devices.revokeAnyOrg(spare.id);
      const token = await t.tokenFor(u.user);
      for (const deviceId of [spare.id, other.deviceId!, crypto.randomUUID(), "not-a-uuid"]) {
        const r = await t.request("POST", "/api/sync/push", { token, body: { device_id: deviceId, changes: [] } });
        expect(r.status).toBe(403);
        expect(r.body.error.code).toBe("forbidden");
      }
    });

    test("a body without device_id or changes is 422; no token is 401", async () => {
      const u = await t.createUser();
      expect((await t.request("POST", "/api/sync/push", { token: u.token, body: { changes: [] } })).status).toBe(422);
      expect((await t.request("POST", "/api/sync/push", { token: u.token, body: { device_id: u.deviceId } })).status).toBe(422);
      expect((await t.request("POST", "/api/sync/push", { body: { device_id: u.deviceId, changes: [] } })).status).toBe(401);
    });

    test("an empty batch answers no results; the path works with a trailing slash", async () => {
      const u = await t.createUser();
      const r = await t.request("POST", "/api/sync/push/", { token: u.token, body: { device_id: u.deviceId, changes: [] } });
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ results: [] });
    });
  });
});
