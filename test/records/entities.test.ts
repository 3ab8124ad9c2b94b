/**
 * The entity definitions (src/records/entities.ts) against the wire models (src/records/model.ts):
 * what a record is answered with is what its table's row holds, and a create can fill every field.
 * A field added to a model without the rest fails here, not as a 500 of every answer; a reference
 * checked by the write core but not declared (src/records/refs.ts) fails here, not as a push that
 * misses it.
 */
import { describe, expect, test } from "bun:test";
import { type TObject, type TSchema, Type } from "@sinclair/typebox";
import { t } from "elysia";
import { columnType, entityDef, isNullable, mapper, storageOfFields, storedAsOf } from "../../src/records/entities";
import { Nullable } from "../../src/wire/schema";
import { newId, UUID_PATTERN } from "../../src/ids";
import { ENTITY_KINDS, type EntityKind, KIND_MODELS, type RecordOf, writableFieldSchemas } from "../../src/records/model";
import { checkReferences, type KnownRecords, REFERENCES } from "../../src/records/refs";

test("a nullable field a create leaves out is null unless declared otherwise; the others take the declared default", () => {
  expect(entityDef("task").defaults).toEqual({ project_id: null, description: "", status: "todo", priority: "medium", due_date: null, tags: [], assignee_id: null });
  expect(entityDef("project").defaults).toEqual({ description: "", color: null, archived: false });
  expect(entityDef("comment").defaults).toEqual({ parent_id: null });
  expect([isNullable(Nullable(t.String())), isNullable(Nullable(Type.Integer())), isNullable(t.String()), isNullable(t.Array(t.String()))]).toEqual([true, true, false, false]);
});

/** Columns that hold no field of the record (derived from its fields when written). */
const DERIVED: Record<EntityKind, string[]> = { project: [], task: ["priority_rank"], comment: [] };

describe.each([...ENTITY_KINDS])("%s", (kind) => {
  const def = entityDef(kind);

  test("its columns are the answered record's fields, plus the derived ones", () => {
    expect(def.columns.filter((c) => !DERIVED[kind].includes(c)).sort()).toEqual(Object.keys((KIND_MODELS[kind].record as TObject).properties).sort());
  });

  test("every writable field is required on create or has a default", () => {
    expect([...def.required, ...Object.keys(def.defaults)].sort()).toEqual([...def.fields].sort());
  });

  test("the references a write checks are the declared ones (REFERENCES: what a push reads first)", async () => {
    // Every field names a record or user that is known not to exist: each reference fails, by its field.
    const nothing: KnownRecords = { record: () => null, user: () => false };
    const after = Object.fromEntries(["id", ...def.fields].map((f) => [f, newId()])) as unknown as RecordOf[typeof kind];
    const errors = await checkReferences(undefined as never, newId(), kind, null, after, nothing);
    expect(Object.keys(errors).sort()).toEqual(REFERENCES[kind].map((r) => r.field).sort());
  });

  test("every field holding a UUID is a declared reference (REFERENCES): a new one is checked on every write, not stored unchecked", () => {
    const holdsUuid = (s: TSchema): boolean => (s as { pattern?: unknown }).pattern === UUID_PATTERN || ((s as { anyOf?: TSchema[] }).anyOf ?? []).some(holdsUuid);
    const uuids = Object.entries(writableFieldSchemas(kind)).filter(([, s]) => holdsUuid(s)).map(([f]) => f);
    expect(uuids.sort()).toEqual(REFERENCES[kind].map((r) => r.field).sort());
  });

  test("integer and boolean fields are integer columns in multi-row statements, the others text", () => {
    for (const [field, schema] of Object.entries(writableFieldSchemas(kind))) {
      const s = schema as { type?: string; anyOf?: { type?: string }[] };
      const type = s.anyOf ? s.anyOf.map((m) => m.type).find((t) => t !== "null") : s.type;
      expect({ field, type: columnType(field) }).toEqual({ field, type: type === "integer" || type === "boolean" ? "integer" : "text" });
    }
  });
});

test("the server's own columns are stored as before", () => {
  expect(["version", "priority_rank", "vector_clock", "created_at", "deleted_at"].map(columnType)).toEqual(["integer", "integer", "text", "text", "text"]);
});

// A field added to a model as CONTRIBUTING says (its storage follows from its schema) must keep what it holds.
describe("a field the model could gain", () => {
  test("a nullable boolean, integer or JSON field keeps its null, written as NULL and read back as null", () => {
    const stored = { flag: "boolean", count: "integer", extra: "json" } as const;
    const m = mapper(["id", "flag", "count", "extra"], {}, (c) => stored[c as keyof typeof stored]);
    const rec = { id: "x", flag: null, count: null, extra: null } as never;
    expect(m.toRow(rec)).toEqual(["x", null, null, null]);
    expect(m.fromRow({ id: "x", flag: null, count: null, extra: null }) as unknown).toEqual({ id: "x", flag: null, count: null, extra: null });
    expect(m.fromRow({ id: "x", flag: 0, count: 0, extra: "[]" }) as unknown).toEqual({ id: "x", flag: false, count: 0, extra: [] });
    expect(storedAsOf(Nullable(t.Boolean()))).toBe("boolean");
  });

  test("a schema with no storage (a number, anything untyped) is refused, not stored as text that Postgres's bulk casts reject", () => {
    expect(() => storedAsOf(t.Number())).toThrow(/not \{"type":"number"\}/);
    expect(() => storedAsOf(Nullable(t.Number()))).toThrow();
    expect(() => storedAsOf(t.Unknown())).toThrow();
    expect(storedAsOf(t.String())).toBeUndefined();
    expect(() => storedAsOf(t.Integer())).toThrow(/Type\.Integer .* not Elysia's t\.Integer/);
  });

  test("one name, one storage: a field two entities would store two ways is refused (a column's SQL type goes by its name)", () => {
    expect(storageOfFields({ task: { estimate: Type.Integer() }, project: { estimate: Nullable(Type.Integer()), note: t.String() } })).toEqual({ estimate: "integer" });
    expect(() => storageOfFields({ task: { estimate: Type.Integer() }, project: { estimate: t.String() } })).toThrow(/estimate is stored as integer by one entity and as text by project/);
  });
});
