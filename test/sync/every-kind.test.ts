/**
 * Every entity kind (ENTITY_KINDS) through the sync path, end to end on both dialects: pushed,
 * pulled by another device, updated, deleted (a tombstone pulled), its history written, and its
 * tombstone purged with its feed row and history; and a create naming a deleted record, for every
 * record reference the kind declares (REFERENCES), kept in a Conflict rather than refused. The
 * seeded suites (fuzz, simulation) generate only the kinds they name: this one takes every kind, so
 * a new kind fails here until its table, purge phase and rules for deleted references exist
 * (CONTRIBUTING, "Adding an entity kind"). A new kind needs its entries in CREATES and UPDATES to compile.
 * Also for every kind: another organization's device pushing changes that name its record is answered
 * as about an unknown record, and nothing is written, as is a push naming another organization's record
 * (or user) in any of the kind's references; and for every reference a record cannot be
 * without (a field that is not nullable, as a comment's `task_id`), the tombstone purge never leaves
 * the record behind the one it names.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import type { Database } from "../../src/db/types";
import { entityDef, isNullable } from "../../src/records/entities";
import { ENTITY_KINDS, type EntityKind, writableFieldSchemas } from "../../src/records/model";
import { REFERENCES } from "../../src/records/refs";
import { jobServices } from "../jobs/helpers";
import { createTestApp, type TestApp } from "../support/app";
import { count, forEachDialect } from "../support/db";
import { Device, twoDevices } from "./helpers";

/** One live record of each kind created before the one being made (ENTITY_KINDS: referenced before referencing). */
type Ids = Partial<Record<EntityKind, string>>;

/** A create's data of each kind, naming the records of `ids` it references. */
const CREATES: { readonly [K in EntityKind]: (ids: Ids) => Record<string, unknown> } = {
  project: () => ({ name: "A project" }),
  task: (ids) => ({ title: "A task", project_id: ids.project ?? null }),
  comment: (ids) => ({ task_id: ids.task, parent_id: ids.comment ?? null, body: "A comment" }),
};

/** An update of each kind: a writable field changed. */
const UPDATES: { readonly [K in EntityKind]: Record<string, unknown> } = {
  project: { name: "Renamed" },
  task: { title: "Retitled" },
  comment: { body: "Edited" },
};

/** Creates (through `d`'s pushes) one live record of each kind before `kind`: the records its create may reference. */
async function recordsBefore(d: Device, kind: EntityKind): Promise<Ids> {
  const ids: Ids = {};
  for (const k of ENTITY_KINDS.slice(0, ENTITY_KINDS.indexOf(kind))) ids[k] = await created(d, k, CREATES[k](ids));
  return ids;
}

/** Pushes the create of a `kind` record and expects it applied; its id. */
async function created(d: Device, kind: EntityKind, data: Record<string, unknown>): Promise<string> {
  const c = d.create(kind, data);
  expect({ kind, result: (await d.push1(c)).status }).toEqual({ kind, result: "applied" });
  return c.entity_id;
}

/** The records' tombstones purged by a run of the cleanup job (a retention of 0 days, a minute from now: every tombstone). */
async function purgeEveryTombstone(db: Database): Promise<Record<string, unknown>> {
  const { services } = jobServices(db, { config: { tombstoneRetentionDays: 0 }, now: new Date(Date.now() + 60_000).toISOString() });
  const run = await services.jobs.run("cleanup-tombstones");
  expect(run.ok).toBe(true);
  return run.result!;
}

/** The changes `d` pulls about one record. */
const pulledOf = async (d: Device, id: string) => (await d.pullAll()).filter((c) => c.entity_id === id);

forEachDialect("every entity kind through push and pull", ({ db }) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(db());
  });

  describe.each([...ENTITY_KINDS])("%s", (kind) => {
    test("created, pulled, updated, deleted (a tombstone pulled), with history, and purged", async () => {
      const { a, b } = await twoDevices(t);
      const data = CREATES[kind](await recordsBefore(a, kind));
      const id = await created(a, kind, data);

      const [c1] = await pulledOf(b, id);
      expect(c1).toMatchObject({ entity: kind, op: "upsert", version: 1, record: data });

      expect((await a.push1(a.update(kind, id, UPDATES[kind]))).status).toBe("applied");
      const [c2] = await pulledOf(b, id);
      expect(c2).toMatchObject({ entity: kind, op: "upsert", version: 2, record: UPDATES[kind] });

      expect((await a.push1(a.delete(kind, id))).status).toBe("applied");
      const [c3] = await pulledOf(b, id);
      expect(c3).toMatchObject({ entity: kind, op: "delete", version: 3 });
      expect(c3!.record.deleted_at).not.toBeNull();
      expect(await count(t.deps.db, "SELECT COUNT(*) AS n FROM history WHERE entity = ? AND entity_id = ?", [kind, id])).toBe(3);

      const result = await purgeEveryTombstone(db());
      const { table } = entityDef(kind);
      expect({ table, purged: result[table] }).toEqual({ table, purged: 1 });
      for (const from of [table, "feed", "history"]) {
        const column = from === table ? "id" : "entity_id";
        expect({ from, left: await count(t.deps.db, `SELECT COUNT(*) AS n FROM ${from} WHERE ${column} = ?`, [id]) }).toEqual({ from, left: 0 });
      }
    });

    test("another organization's device pushing its id is answered as about an unknown record, and writes nothing", async () => {
      const { a } = await twoDevices(t);
      const data = CREATES[kind](await recordsBefore(a, kind));
      const id = await created(a, kind, data);
      const other = Device.of(t, await t.createUser());
      const unknown = crypto.randomUUID();
      const answer = async (c: Record<string, unknown>, about: string) => {
        const r = await other.push1({ ...c, entity_id: about, vector_clock: { [other.id]: 1, server: 1 } });
        return { status: r.status, code: r.error?.code, record: r.record };
      };
      for (const c of [other.update(kind, id, UPDATES[kind]), other.delete(kind, id)]) {
        const change = { ...c, base_version: 1 };
        expect({ op: c.op, ...(await answer(change, id)) }).toEqual({ op: c.op, ...(await answer({ ...change, change_id: crypto.randomUUID() }, unknown)) });
      }
      // Ids are global: a create with a taken id (naming the other organization's own records) is refused, with nothing of the record it names.
      const create = await other.push1(other.create(kind, CREATES[kind](await recordsBefore(other, kind)), id));
      expect({ status: create.status, code: create.error?.code, record: create.record }).toEqual({ status: "rejected", code: "already_exists", record: null });
      expect((await other.pullAll()).filter((c) => c.entity_id === id)).toEqual([]);
      const [stored] = await pulledOf(a, id);
      expect(stored).toMatchObject({ entity: kind, version: 1, record: data });
    });
  });
});

/** The references a record cannot be without (not nullable, as a comment's `task_id`): the purge must not leave the record behind the one it names. */
const OWNERS = ENTITY_KINDS.flatMap((kind) =>
  REFERENCES[kind].flatMap(({ field, to }) => (to === "user" || isNullable(writableFieldSchemas(kind)[field]!) ? [] : [{ kind, field, to }])),
);

forEachDialect("every record a record cannot be without", ({ db }) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(db());
  });

  test("comments are among them (a task's)", () => {
    expect(OWNERS).toContainEqual({ kind: "comment", field: "task_id", to: "task" });
  });

  test.each(OWNERS)("a live $kind whose $to is deleted: the purge deletes it, then purges both, never the $to alone", async ({ kind, field, to }) => {
    const { a } = await twoDevices(t);
    const data = CREATES[kind](await recordsBefore(a, kind));
    const id = await created(a, kind, data);
    const owner = data[field] as string;
    expect((await a.push1(a.delete(to, owner))).status).toBe("applied");
    await purgeEveryTombstone(db());
    const left = async (k: EntityKind, column: string, value: string) => count(t.deps.db, `SELECT COUNT(*) AS n FROM ${entityDef(k).table} WHERE ${column} = ?`, [value]);
    expect({ [to]: await left(to, "id", owner), [kind]: await left(kind, "id", id), [`${kind}s naming it`]: await left(kind, field, owner) }).toEqual({ [to]: 0, [kind]: 0, [`${kind}s naming it`]: 0 });
  });
});

forEachDialect("every record reference to a deleted record", ({ db }) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(db());
  });

  const cases = ENTITY_KINDS.flatMap((kind) => REFERENCES[kind].flatMap(({ field, to }) => (to === "user" ? [] : [{ kind, field, to }])));
  test.each(cases)("a pushed $kind whose $field names a $to another device deleted is a conflict, not refused", async ({ kind, field, to }) => {
    const { a, b } = await twoDevices(t);
    const ids = await recordsBefore(a, kind);
    // The record named: made like the live one of its kind (so that it shares what `sameAs` asks for), then deleted.
    const named = await created(a, to, CREATES[to](ids));
    expect((await a.push1(a.delete(to, named))).status).toBe("applied");
    const r = await b.push1(b.create(kind, { ...CREATES[kind](ids), [field]: named }));
    expect({ status: r.status, error: r.error }).toEqual({ status: "conflict", error: undefined });
  });
});

forEachDialect("every record reference to another organization", ({ db }) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(db());
  });

  const cases = ENTITY_KINDS.flatMap((kind) => REFERENCES[kind].map(({ field, to }) => ({ kind, field, to })));
  test.each(cases)("a pushed $kind whose $field names another organization's $to is refused as one naming an unknown id", async ({ kind, field, to }) => {
    const { a } = await twoDevices(t);
    const other = Device.of(t, await t.createUser());
    const ids = await recordsBefore(a, kind);
    const theirs = to === "user" ? other.user.user.id : await created(other, to, CREATES[to](await recordsBefore(other, to)));
    const answer = async (id: string) => {
      const r = await a.push1(a.create(kind, { ...CREATES[kind](ids), [field]: id }));
      return { status: r.status, error: JSON.parse(JSON.stringify(r.error ?? null).replaceAll(id, "<id>")) };
    };
    const [named, unknown] = [await answer(theirs), await answer(crypto.randomUUID())];
    expect(named).toEqual(unknown);
    expect(named.status).toBe("rejected");
  });
});
