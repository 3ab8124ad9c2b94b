/** The answers of a push and its Conflict rows (src/sync/push/results.ts, pure), table-driven. */
import { describe, expect, test } from "bun:test";
import type { AnyRecord } from "../../src/records/model";
import type { ChangeResult } from "../../src/sync/model";
import { changeError, conflictRow, decided, duplicate, rejected } from "../../src/sync/push/results";

const ids = { changeId: "c-1", entity: "task", entityId: "t-1" };
const record = { id: "t-1", title: "T", version: 3, vector_clock: { d: 2, server: 1 }, deleted_at: null } as unknown as AnyRecord;
const error = changeError("not_found", "task not found");

describe("push results", () => {
  const cases: [string, ChangeResult, ChangeResult][] = [
    [
      "decided: the record it left, its version and clock",
      decided(ids, "merged", record),
      { change_id: "c-1", status: "merged", entity: "task", entity_id: "t-1", version: 3, vector_clock: { d: 2, server: 1 }, record: record as never },
    ],
    [
      "rejected without a record: nulls",
      rejected({ changeId: null, entity: null, entityId: "x" }, error),
      { change_id: null, status: "rejected", entity: null, entity_id: "x", version: null, vector_clock: null, record: null, error: { code: "not_found", message: "task not found", details: {} } },
    ],
    [
      "rejected with the record the server holds",
      rejected(ids, changeError("forbidden", "no", { why: 1 }), record),
      { change_id: "c-1", status: "rejected", entity: "task", entity_id: "t-1", version: 3, vector_clock: { d: 2, server: 1 }, record: record as never, error: { code: "forbidden", message: "no", details: { why: 1 } } },
    ],
    [
      "duplicate: the original answer with its record put back",
      duplicate({ ...decided(ids, "applied", record), record: null, conflict_id: "k" }, { id: "t-1" }),
      { change_id: "c-1", status: "duplicate", entity: "task", entity_id: "t-1", version: 3, vector_clock: { d: 2, server: 1 }, record: { id: "t-1" }, conflict_id: "k" },
    ],
    [
      "duplicate of a rejection stored without details (before they were always given): empty details",
      duplicate({ ...rejected(ids, error), error: { code: "not_found", message: "task not found" } as never }, null),
      { ...rejected(ids, error), status: "duplicate", record: null, error: { code: "not_found", message: "task not found", details: {} } },
    ],
  ];
  test.each(cases)("%s", (_name, actual, expected) => {
    expect(actual).toStrictEqual(expected);
  });

  test("an error without details has empty details, as the HTTP error body", () => {
    expect(changeError("invalid_clock", "bad")).toEqual({ code: "invalid_clock", message: "bad", details: {} });
    expect(Object.keys(rejected(ids, error))).toEqual(["change_id", "status", "entity", "entity_id", "version", "vector_clock", "record", "error"]);
  });

  test("a conflict row: the spec, who pushed and when, open", () => {
    const now = new Date("2026-01-02T03:04:05.000Z");
    const push = { orgId: "o", userId: "u", deviceId: "d", admin: false, now };
    const spec = { fields: ["title"], local: { title: "L" }, remote: { title: "R", deleted_at: null }, base: null };
    expect(conflictRow("k", push, { entity: "task", entityId: "t-1" }, spec)).toStrictEqual({
      id: "k", orgId: "o", entity: "task", entityId: "t-1", fields: ["title"], local: { title: "L" }, remote: { title: "R", deleted_at: null }, base: null,
      deviceId: "d", userId: "u", createdAt: "2026-01-02T03:04:05.000Z", resolvedAt: null, resolution: null, resolvedBy: null,
    });
  });
});
