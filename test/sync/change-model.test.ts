/**
 * One pushed change, two readers: its model (`PushedChange`, src/sync/model.ts: the OpenAPI document
 * and the keys a change may have) and its parser (`parseChange`, src/sync/change.ts: what the server
 * accepts). For each field, sample values are put into an otherwise valid change and both must
 * accept them or both refuse them (the parser with the field's code). Where the parser is knowingly
 * finer than the schema says, the difference is listed with its reason: a new drift fails here, and
 * so does a listed difference that went away.
 */
import { describe, expect, test } from "bun:test";
import { Value } from "@sinclair/typebox/value";
import { parseChange } from "../../src/sync/change";
import { CHANGE_OPS, type ChangeErrorCode, PushedChange } from "../../src/sync/model";
import { ENTITY_KINDS } from "../../src/records/model";

const dev = "3f0c8a55-0000-4000-8000-00000000000a";
const UPPER_UUID = "ABCDEF01-1111-4111-8111-111111111111";

/** Valid for both: an update of a task with empty data (valid for every entity and op). */
const valid: Record<string, unknown> = {
  change_id: "11111111-1111-4111-8111-111111111111",
  entity: "task",
  entity_id: "22222222-2222-4222-8222-222222222222",
  op: "update",
  data: {},
  base_version: 3,
  vector_clock: { [dev]: 4 },
};

/** A sample that leaves the key out. */
const ABSENT = Symbol("absent");

/** A key that is not a property of the model (any such key). */
const OTHER_KEY = "priority";

/** The code the parser refuses a bad value of each field with. */
const CODE: Record<string, ChangeErrorCode> = {
  change_id: "invalid_change",
  entity: "unknown_entity",
  entity_id: "invalid_change",
  op: "unknown_op",
  data: "validation_failed",
  base_version: "invalid_change",
  vector_clock: "invalid_clock",
  [OTHER_KEY]: "invalid_change",
};

/** `valid` with `field` set to `value` (or left out), and `context` (other fields the sample needs). */
function changeWith(field: string, value: unknown, context: Record<string, unknown> = {}): Record<string, unknown> {
  const change = { ...valid, ...context };
  if (value === ABSENT) delete change[field];
  else change[field] = value;
  return change;
}

/** [field, value, accepted, context]. */
type Sample = [string, unknown, boolean, Record<string, unknown>?];

const samples: Sample[] = [
  ["change_id", valid.change_id, true],
  ["change_id", UPPER_UUID, true],
  ["change_id", "x", false],
  ["change_id", 7, false],
  ["change_id", null, false],
  ["change_id", ABSENT, false],
  ...ENTITY_KINDS.map((kind): Sample => ["entity", kind, true]),
  ["entity", "Task", false],
  ["entity", 1, false],
  ["entity", null, false],
  ["entity", ABSENT, false],
  ["entity_id", valid.entity_id, true],
  ["entity_id", UPPER_UUID, true],
  ["entity_id", "22222222", false],
  ["entity_id", 2, false],
  ["entity_id", ABSENT, false],
  ...CHANGE_OPS.map((op): Sample => ["op", op, true]),
  ["op", "patch", false],
  ["op", "UPDATE", false],
  ["op", ABSENT, false],
  ["data", {}, true],
  ["data", { title: "T", tags: ["a"], status: "done" }, true],
  ["data", "title", false],
  ["data", [], false],
  ["data", { titel: "T" }, false],
  ["data", { title: 5 }, false],
  ["data", { title: "  " }, false],
  ["data", { status: "nope" }, false],
  ["data", null, true, { op: "delete" }],
  ["data", ABSENT, true, { op: "delete" }],
  ["data", "x", false, { op: "delete" }],
  ["base_version", 1, true],
  ["base_version", ABSENT, true],
  ["base_version", ABSENT, true, { op: "create" }],
  ["base_version", 0, false],
  ["base_version", -1, false],
  ["base_version", 2.5, false],
  ["base_version", "3", false],
  ["base_version", true, false],
  ["base_version", Number.NaN, false],
  ["base_version", null, true],
  ["base_version", 2 ** 53, false],
  ["vector_clock", {}, true],
  ["vector_clock", { server: 2, [dev]: 1 }, true],
  ["vector_clock", { [dev]: 0 }, false],
  ["vector_clock", { [dev]: 1.5 }, false],
  ["vector_clock", { [dev]: "4" }, false],
  ["vector_clock", [], false],
  ["vector_clock", "x", false],
  ["vector_clock", null, false],
  ["vector_clock", ABSENT, false],
  [OTHER_KEY, "high", false],
  [OTHER_KEY, undefined, false],
];

/**
 * Where the two knowingly differ: [why, field, value, model accepts, parser accepts, context]. The
 * parser checks `data` by entity and op and with the write core's rules (src/records/validate.ts),
 * the clock with its limits (src/records/clock.ts) and counters as safe integers.
 */
const differences: [string, string, unknown, boolean, boolean, Record<string, unknown>?][] = [
  ["an update without data (the model cannot say which op needs it)", "data", ABSENT, true, false],
  ["an update with null data", "data", null, true, false],
  ["a create with null data", "data", null, true, false, { op: "create" }],
  ["another entity's field (the model's data is any entity's)", "data", { name: "P" }, true, false],
  ["a due date that is no calendar date", "data", { due_date: "2026-02-30" }, true, false],
  ["a clock of more than 1,000 entries", "vector_clock", Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`k${i}`, 1])), true, false],
  ["a clock key longer than 100 characters", "vector_clock", { ["k".repeat(101)]: 1 }, true, false],
  ["an empty clock key", "vector_clock", { "": 1 }, true, false],
  ["a counter beyond the safe integers", "vector_clock", { [dev]: 2 ** 53 }, true, false],
];

/** A sample in a test's name. */
const show = (value: unknown) => (value === ABSENT ? "absent" : typeof value === "object" && value !== null ? JSON.stringify(value).slice(0, 40) : String(value));

describe("a pushed change: model and parser agree", () => {
  test("the valid change is valid for both", () => {
    expect(Value.Check(PushedChange, valid)).toBe(true);
    expect(parseChange(valid).ok).toBe(true);
  });

  test("every property of the model has samples, and so does a key beside them", () => {
    expect([...new Set(samples.map(([field]) => field))].sort()).toEqual([...Object.keys(PushedChange.properties), OTHER_KEY].sort());
  });

  test.each(samples.map(([field, value, accepted, context]) => [field, show(value), accepted, value, context ?? {}] as const))(
    "%s = %s: accepted %p by both",
    (field, _shown, accepted, value, context) => {
      const change = changeWith(field, value, context);
      expect(Value.Check(PushedChange, change)).toBe(accepted);
      const parsed = parseChange(change);
      expect(parsed.ok).toBe(accepted);
      if (!parsed.ok) expect(parsed.malformed.error.code).toBe(CODE[field]);
    },
  );

  // Rows of one length: Bun passes a `done` callback as the parameter a shorter row leaves unset.
  test.each(differences.map(([why, field, value, model, parser, context]) => [why, field, value, model, parser, context ?? {}] as const))("known difference: %s", (_why, field, value, model, parser, context) => {
    const change = changeWith(field, value, context);
    expect(Value.Check(PushedChange, change)).toBe(model);
    const parsed = parseChange(change);
    expect(parsed.ok).toBe(parser);
    if (!parsed.ok) expect(parsed.malformed.error.code).toBe(CODE[field]);
  });
});
