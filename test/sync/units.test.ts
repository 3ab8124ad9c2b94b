import { describe, expect, test } from "bun:test";
import { canonicalJson, earlierPayloadHash, parseChange, payloadHash } from "../../src/sync/change";
import { changedSinceConflict, resolutionPlan } from "../../src/sync/conflict-service";
import { cursorProblem, decodeCursor, encodeCursor, horizonOf } from "../../src/sync/cursor";

const ORG = "7d1f3e2a-0000-4000-8000-000000000001";

describe("cursor", () => {
  test("round-trips a position, with and without a snapshot start", () => {
    for (const c of [{ orgId: ORG, pos: 0 }, { orgId: ORG, pos: 42 }, { orgId: ORG, pos: 3, snapshotAt: 10 }]) {
      expect(decodeCursor(encodeCursor(c), ORG)).toEqual(c);
    }
  });

  test("a snapshot catching up (its position at or past its start) keeps its start", () => {
    for (const c of [{ orgId: ORG, pos: 10, snapshotAt: 10 }, { orgId: ORG, pos: 12, snapshotAt: 10 }]) {
      expect(decodeCursor(encodeCursor(c), ORG)).toEqual(c);
    }
  });

  test("the horizon is the snapshot start while paging, the position after", () => {
    expect(horizonOf({ orgId: ORG, pos: 3, snapshotAt: 10 })).toBe(10);
    expect(horizonOf({ orgId: ORG, pos: 12, snapshotAt: 10 })).toBe(12);
    expect(horizonOf({ orgId: ORG, pos: 12 })).toBe(12);
  });

  test.each([
    ["at the head", { pos: 10 }, { seq: 10, purgedThrough: 0 }, null],
    ["behind the head, after the purge", { pos: 4 }, { seq: 10, purgedThrough: 4 }, null],
    ["paging a snapshot that started after the purge", { pos: 2, snapshotAt: 6 }, { seq: 10, purgedThrough: 5 }, null],
    ["ahead of the feed (a restored database)", { pos: 11 }, { seq: 10, purgedThrough: 0 }, "ahead of the database"],
    ["a snapshot started ahead of the feed", { pos: 2, snapshotAt: 12 }, { seq: 10, purgedThrough: 0 }, "ahead of the database"],
    ["behind the purge", { pos: 3 }, { seq: 10, purgedThrough: 4 }, "no longer kept"],
  ] as const)("a cursor %s: %p against %p", (_name, c, state, problem) => {
    const found = cursorProblem({ orgId: ORG, ...c }, state);
    if (problem === null) expect(found).toBeNull();
    else expect(found).toContain(problem);
  });

  test("a cursor cut short anywhere, or with any character changed, is not a cursor (it was another valid one before its check)", () => {
    for (const c of [{ orgId: ORG, pos: 0, snapshotAt: 57 }, { orgId: ORG, pos: 1234 }, { orgId: ORG, pos: 0 }]) {
      const raw = encodeCursor(c);
      expect(raw).toStartWith("c2.");
      for (let n = 0; n < raw.length; n++) expect(decodeCursor(raw.slice(0, n), ORG)).toBeNull();
      for (let i = 3; i < raw.length; i++) {
        if (raw[i] === ".") continue;
        const changed = raw.slice(0, i) + (raw[i] === "A" ? "B" : "A") + raw.slice(i + 1);
        expect(decodeCursor(changed, ORG)).toBeNull();
      }
    }
  });

  test("a cursor handed out before the check (c1.) is still taken", () => {
    const v1 = (s: string) => "c1." + Buffer.from(s).toString("base64url");
    expect(decodeCursor(v1(`${ORG}:42`), ORG)).toEqual({ orgId: ORG, pos: 42 });
    expect(decodeCursor(v1(`${ORG}:3:10`), ORG)).toEqual({ orgId: ORG, pos: 3, snapshotAt: 10 });
  });

  const b64 = (s: string) => "c1." + Buffer.from(s).toString("base64url");
  const checked = (s: string) => {
    const body = Buffer.from(s).toString("base64url");
    return `c2.${body}.${Bun.hash.crc32(body).toString(16).padStart(8, "0")}`;
  };
  test.each([
    ["checked: another organization", checked("7d1f3e2a-0000-4000-8000-000000000002:1")],
    ["checked: negative", checked(`${ORG}:-1`)],
    ["checked: extra parts", checked(`${ORG}:1:2:3`)],
    ["checked: no check", `c2.${Buffer.from(`${ORG}:1`).toString("base64url")}`],
    ["checked: an empty check", `c2.${Buffer.from(`${ORG}:1`).toString("base64url")}.`],
    ["checked: a wrong check", checked(`${ORG}:1`).replace(/\.([0-9a-f]{8})$/, (_m, c: string) => `.${(parseInt(c, 16) ^ 1).toString(16).padStart(8, "0")}`)],
    ["empty", ""],
    ["no prefix", Buffer.from(`${ORG}:1`).toString("base64url")],
    ["another organization", b64("7d1f3e2a-0000-4000-8000-000000000002:1")],
    ["negative", b64(`${ORG}:-1`)],
    ["fraction", b64(`${ORG}:1.5`)],
    ["leading zero", b64(`${ORG}:01`)],
    ["too large", b64(`${ORG}:99999999999999999`)],
    ["empty snapshot start", b64(`${ORG}:5:`)],
    ["extra parts", b64(`${ORG}:1:2:3`)],
    ["not base64url", "c1.a+b/c="],
  ])("%s is not a cursor", (_name, raw) => {
    expect(decodeCursor(raw, ORG)).toBeNull();
  });
});

describe("parseChange", () => {
  const dev = "3f0c8a55-0000-4000-8000-00000000000a";
  const base = {
    change_id: "11111111-1111-4111-8111-111111111111",
    entity: "task",
    entity_id: "22222222-2222-4222-8222-222222222222",
    op: "update",
    data: { title: "T", tags: ["a", "a", "b"], due_date: "2026-03-01T10:00:00+02:00" },
    base_version: 3,
    vector_clock: { [dev]: 4, server: 1 },
  };

  test("a well-formed change: normalized data, sorted clock, a hash", () => {
    const r = parseChange(base);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.change).toMatchObject({ changeId: base.change_id, entity: "task", op: "update", baseVersion: 3 });
    expect(r.change.data).toEqual({ title: "T", tags: ["a", "b"], due_date: "2026-03-01T08:00:00.000Z" });
    expect(Object.keys(r.change.clock)).toEqual([dev, "server"].sort());
    expect(r.change.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  test("a delete ignores its (valid) data, and needs none", () => {
    const r = parseChange({ ...base, op: "delete", data: { title: "x" } });
    expect(r.ok && r.change.data).toEqual({});
    for (const data of [null, undefined]) expect(parseChange({ ...base, op: "delete", data }).ok).toBe(true);
  });

  test("keys beside a change's payload are refused by name, the first 20 named and the rest counted", () => {
    const r = parseChange({ ...base, foo: 1, base_version: 3 });
    expect(!r.ok && r.malformed.error).toEqual({ code: "invalid_change", message: "unknown fields of a change: foo", details: { fields: { foo: "is not a field of a change" } } });
    const many = parseChange({ ...base, ...Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`k${i}`, i])) });
    expect(!many.ok && Object.keys(many.malformed.error.details!.fields as object)).toHaveLength(20);
    expect(!many.ok && many.malformed.error.details!.more_fields).toBe(5);
    expect(!many.ok && many.malformed.error.message).toEndWith("k19 and 5 more");
  });

  test.each([
    ["change_id", { change_id: 7 }, "invalid_change", "change_id"],
    ["entity", { entity: "Task" }, "unknown_entity", "entity"],
    ["op", { op: "patch" }, "unknown_op", "op"],
    ["entity_id", { entity_id: "22222222" }, "invalid_change", "entity_id"],
    ["base_version", { base_version: 2.5 }, "invalid_change", "base_version"],
    ["vector_clock", { vector_clock: { [dev]: 0 } }, "invalid_clock", "vector_clock"],
    ["vector_clock (absent)", { vector_clock: undefined }, "invalid_clock", "vector_clock"],
    ["data", { data: "title" }, "validation_failed", "data"],
    ["data field", { data: { titel: "T" } }, "validation_failed", "titel"],
    ["data of an update (null)", { data: null }, "validation_failed", "data"],
    ["data of an update (absent)", { data: undefined }, "validation_failed", "data"],
    ["data of a create (null)", { op: "create", data: null }, "validation_failed", "data"],
    ["key beside the payload", { priority: "high" }, "invalid_change", "priority"],
  ])("a bad %s is rejected, details.fields naming the key", (_name, patch, code, key) => {
    const r = parseChange({ ...base, ...patch });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.malformed.error.code).toBe(code);
    expect(Object.keys(r.malformed.error.details.fields as object)).toEqual([key]);
  });

  test("a rejection keeps the change_id (when it is a UUID) and a hash, so that it can be remembered", () => {
    const r = parseChange({ ...base, op: "patch" });
    expect(!r.ok && r.malformed.changeId).toBe(base.change_id);
    expect(!r.ok && r.malformed.hash).toBe(payloadHash({ ...base, op: "patch" }));
    const noId = parseChange({ ...base, change_id: "x" });
    expect(!noId.ok && [noId.malformed.changeId, noId.malformed.rawChangeId, noId.malformed.hash]).toEqual([null, "x", null]);
  });

  test("the payload hash ignores key order and change_id, and sees every other difference", () => {
    const reordered = { vector_clock: { server: 1, [dev]: 4 }, op: "update", base_version: 3, entity_id: base.entity_id, entity: "task", data: { due_date: base.data.due_date, tags: ["a", "a", "b"], title: "T" }, change_id: "other" };
    expect(payloadHash(reordered)).toBe(payloadHash(base));
    expect(payloadHash({ ...base, base_version: 4 })).not.toBe(payloadHash(base));
    expect(payloadHash({ ...base, data: { ...base.data, tags: ["b", "a", "a"] } })).not.toBe(payloadHash(base));
  });

  test("the payload hash leaves out a null base_version and a delete's data; the earlier hash is kept where it differs", () => {
    const del = { change_id: base.change_id, entity: "task", entity_id: base.entity_id, op: "delete", base_version: 3, vector_clock: { [dev]: 4 } };
    for (const variant of [{ ...del, data: {} }, { ...del, data: null }, { ...del, data: { title: "x" } }]) expect(payloadHash(variant)).toBe(payloadHash(del));
    expect(payloadHash({ ...base, base_version: null })).toBe(payloadHash({ ...base, base_version: undefined }));
    expect(payloadHash({ ...base, data: {} })).not.toBe(payloadHash(base));
    const parsed = (raw: Record<string, unknown>) => {
      const r = parseChange(raw);
      if (!r.ok) throw new Error(r.malformed.error.message);
      return r.change;
    };
    expect(parsed(del).earlierHash).toBeUndefined();
    expect(parsed({ ...del, data: {} })).toMatchObject({ hash: payloadHash(del), earlierHash: earlierPayloadHash({ ...del, data: {} }) });
    expect(parsed(base).earlierHash).toBeUndefined();
  });

  // A retry of a change remembered before an upgrade must still be its duplicate, not a reused change_id.
  test("the payload hash of a change stays what it was (its keys come from the model)", () => {
    expect(payloadHash(base)).toBe("9b1265985f75c39f1e8e2e28e5983efb0616e1a196e1b4496d91584683514682");
    expect(payloadHash({ change_id: "x", entity: "task", entity_id: base.entity_id, op: "delete", vector_clock: { [dev]: 4 } })).toBe(
      "afe72eba4bf26720940e5cd7d141e19f812510842b164523b71bd012c89ec2e0",
    );
  });

  test("canonical JSON sorts keys at every level and keeps __proto__ an ordinary key", () => {
    expect(canonicalJson({ b: 1, a: { d: [{ y: 1, x: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[{"x":2,"y":1}]},"b":1}');
    expect(canonicalJson(JSON.parse('{"__proto__": {"z": 1}, "a": 2}'))).toBe('{"__proto__":{"z":1},"a":2}');
  });
});

describe("resolutionPlan", () => {
  const fieldConflict = { fields: ["title"], local: { title: "L", priority: "high" }, remote: { title: "R", priority: "low", deleted_at: null } };
  const deletedByServer = { fields: ["deleted_at", "title"], local: { title: "L", deleted_at: null }, remote: { title: "R", deleted_at: "2026-01-01T00:00:00.000Z" } };
  const deletedByDevice = { fields: ["deleted_at"], local: { deleted_at: "2026-01-01T00:00:00.000Z" }, remote: { title: "R", deleted_at: null } };

  test.each([
    ["local takes the local values of the conflicting fields only", fieldConflict, "local", { data: { title: "L" }, deleted: undefined }],
    ["remote takes the remote values", fieldConflict, "remote", { data: { title: "R" }, deleted: undefined }],
    ["local of an update the server deleted: back to life with the update", deletedByServer, "local", { data: { title: "L" }, deleted: false }],
    ["remote of an update the server deleted: stays deleted", deletedByServer, "remote", { data: { title: "R" }, deleted: true }],
    ["local of a delete: deleted", deletedByDevice, "local", { data: {}, deleted: true }],
    ["remote of a delete: back to life", deletedByDevice, "remote", { data: {}, deleted: false }],
  ] as const)("%s", (_name, conflict, resolution, plan) => {
    expect(resolutionPlan(conflict as never, { resolution })).toEqual(plan as never);
  });

  test("fields changed since the conflict stay as they are: remote leaves them, and the deletion state too", () => {
    expect(resolutionPlan(fieldConflict, { resolution: "remote" }, ["title"])).toEqual({ data: {}, deleted: undefined });
    expect(resolutionPlan(deletedByDevice, { resolution: "remote" }, ["deleted_at"])).toEqual({ data: {}, deleted: undefined });
    expect(resolutionPlan(deletedByServer, { resolution: "remote" }, ["title"])).toEqual({ data: {}, deleted: true });
  });

  test("changedSinceConflict: a field whose value is no longer remote's; a deletion conflict whose record is live again", () => {
    const record = (over: Record<string, unknown>) => ({ title: "R", priority: "low", deleted_at: null, ...over }) as never;
    expect(changedSinceConflict(fieldConflict, record({}))).toEqual([]);
    expect(changedSinceConflict(fieldConflict, record({ title: "later", priority: "urgent" }))).toEqual(["title"]);
    expect(changedSinceConflict(deletedByServer, record({ deleted_at: "2026-01-01T00:00:00.000Z" }))).toEqual([]);
    expect(changedSinceConflict(deletedByServer, record({}))).toEqual(["deleted_at"]);
    // A delete that won against an update: right after the conflict the record is deleted, not as remote shows it.
    expect(changedSinceConflict(deletedByDevice, record({ deleted_at: "2026-01-01T00:00:00.000Z" }))).toEqual([]);
    expect(changedSinceConflict({ fields: ["tags"], local: {}, remote: { tags: ["a", "b"] } }, record({ tags: ["a", "b"] }))).toEqual([]);
  });

  test("changedSinceConflict: a deletion conflict whose record was deleted again later (another deleted_at)", () => {
    const record = (over: Record<string, unknown>) => ({ title: "R", priority: "low", deleted_at: null, ...over }) as never;
    const later = record({ deleted_at: "2026-02-01T00:00:00.000Z" });
    expect(changedSinceConflict(deletedByServer, later)).toEqual(["deleted_at"]);
    expect(changedSinceConflict(deletedByDevice, later)).toEqual(["deleted_at"]);
  });

  test("custom writes the data, and revives the record only when the conflict was about its deletion", () => {
    expect(resolutionPlan(fieldConflict, { resolution: "custom", data: { title: "C" } })).toEqual({ data: { title: "C" }, deleted: undefined });
    expect(resolutionPlan(deletedByServer, { resolution: "custom", data: { title: "C" } })).toEqual({ data: { title: "C" }, deleted: false });
  });
});
