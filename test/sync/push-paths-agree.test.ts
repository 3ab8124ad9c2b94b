/**
 * The two ways a push batch is stored answer alike (docs/sync-design.md, "One transaction, decided in
 * memory, stored in bulk": "The answers are the same either way, bar the text merges' budget"): the
 * bulk path (decided in memory, references checked against the batch's records, stored with
 * multi-row statements) and the careful path (each change in its own savepoint, stored at once,
 * references checked against the database). Seeded batches from two users' devices over one
 * organization's projects, tasks and comments — creates sent before or after what references them,
 * updates and deletes with current, older and forged clocks and base versions, empty titles, the same
 * change twice, a change_id reused, malformed changes, changes of earlier pushes sent again — are run
 * from the same state both ways (each in a transaction rolled back), and then committed. After each
 * commit every record is whole: its row, its feed row's change, its last history snapshot (one entry
 * per version) and its task_tags agree.
 */
import { beforeAll, expect, test } from "bun:test";
import type { Database } from "../../src/db/types";
import { RecordRepo } from "../../src/records/repo";
import type { EntityKind } from "../../src/records/model";
import { PushBatch } from "../../src/sync/push/batch";
import type { PushContext } from "../../src/sync/push/context";
import { createTestApp, type TestApp, type TestUser } from "../support/app";
import { forEachDialect } from "../support/db";
import { Rng } from "../support/device";

const SEEDS = [1, 2, 3, 4];
const ROUNDS = 20;
const WORDS = ["plan", "ship", "fix", "call"];

class Rollback extends Error {}

/** What the generator remembers of a record: its kind, the states answered so far, a comment's task. */
interface Known {
  entity: EntityKind;
  states: { version: number; clock: Record<string, number> }[];
  taskId?: string;
}

/** Seeded batches of a device, honest and not (see the module comment). */
class Batches {
  readonly known = new Map<string, Known>();
  readonly sent: Record<string, unknown>[] = [];
  constructor(private readonly rng: Rng) {}

  private ids(entity: EntityKind): string[] {
    return [...this.known].filter(([, k]) => k.entity === entity).map(([id]) => id);
  }

  private text(): string {
    return Array.from({ length: 1 + this.rng.int(3) }, () => this.rng.pick(WORDS)).join(this.rng.chance(0.5) ? "\n" : " ");
  }

  private data(entity: EntityKind, creating: boolean, taskId?: string): Record<string, unknown> {
    const r = this.rng;
    const d: Record<string, unknown> = {};
    if (entity === "task") {
      if (creating || r.chance(0.5)) d.title = r.chance(0.1) ? "" : this.text();
      if (r.chance(0.5)) d.priority = r.pick(["low", "medium", "high", "urgent"]);
      if (r.chance(0.3)) d.tags = [r.pick(WORDS), r.pick(WORDS)];
      if (r.chance(0.2)) d.due_date = r.pick([null, "2026-01-01", "2026-01-01T10:00:00+01:00"]);
      const projects = this.ids("project");
      if (projects.length && r.chance(0.3)) d.project_id = r.pick(projects);
    } else if (entity === "project") {
      if (creating || r.chance(0.5)) d.name = this.text();
      if (r.chance(0.3)) d.archived = r.chance(0.5);
    } else {
      if (creating) {
        d.task_id = taskId;
        const siblings = [...this.known].filter(([, k]) => k.entity === "comment" && k.taskId === taskId).map(([id]) => id);
        if (siblings.length && r.chance(0.5)) d.parent_id = r.pick(siblings);
      }
      if (creating || r.chance(0.7)) d.body = this.text();
    }
    return d;
  }

  next(device: string, other: string): Record<string, unknown>[] {
    const r = this.rng;
    const out: Record<string, unknown>[] = [];
    const n = 1 + r.int(12);
    while (out.length < n) {
      const roll = r.int(20);
      if (roll < 2 && out.length) out.push(r.pick(out)); // the same change twice
      else if (roll < 3 && this.sent.length) out.push(r.pick(this.sent)); // an earlier push's change again
      else if (roll < 4 && out.length) out.push({ ...r.pick(out), data: { title: "reused" } }); // a change_id reused
      else if (roll < 5) out.push({ change_id: crypto.randomUUID(), entity: "task", entity_id: "not-a-uuid", op: "update", vector_clock: { [device]: 1 } });
      else if (roll < 10 || this.known.size === 0) {
        const entity = r.pick<EntityKind>(["task", "task", "project", "comment"]);
        const tasks = this.ids("task");
        if (entity === "comment" && tasks.length === 0) continue;
        const taskId = entity === "comment" ? r.pick(tasks) : undefined;
        const id = crypto.randomUUID();
        const change = { change_id: crypto.randomUUID(), entity, entity_id: id, op: "create", data: this.data(entity, true, taskId), vector_clock: { [device]: 1 + r.int(2) } };
        this.known.set(id, { entity, states: [], taskId });
        out.splice(r.chance(0.3) ? r.int(out.length + 1) : out.length, 0, change); // sometimes before what references it
      } else {
        const id = r.pick([...this.known.keys()]);
        const k = this.known.get(id)!;
        const state = k.states.length === 0 ? undefined : r.chance(0.5) ? k.states.at(-1) : r.pick(k.states);
        const clock: Record<string, number> = { ...(state?.clock ?? {}) };
        clock[device] = (clock[device] ?? 0) + 1 + r.int(2);
        if (r.chance(0.07)) clock[other] = 99; // forged
        const op = r.chance(0.15) ? "delete" : "update";
        out.push({
          change_id: crypto.randomUUID(),
          entity: k.entity,
          entity_id: id,
          op,
          ...(op === "update" && { data: this.data(k.entity, false) }),
          ...(state && { base_version: state.version }),
          vector_clock: clock,
        });
      }
    }
    return out;
  }

  /** Remembers what a committed push answered. */
  learn(changes: Record<string, unknown>[], results: { entity_id: string | null; record: Record<string, unknown> | null }[]): void {
    this.sent.push(...changes.filter((c) => typeof c.change_id === "string"));
    for (const r of results) {
      const k = r.entity_id === null ? undefined : this.known.get(r.entity_id);
      if (k && r.record) k.states.push({ version: r.record.version as number, clock: r.record.vector_clock as Record<string, number> });
    }
  }
}

/** Conflict ids are new on each path: the rest of the answers must agree. */
const comparable = (results: unknown) => JSON.parse(JSON.stringify(results).replace(/"conflict_id":"[^"]+"/g, '"conflict_id":"…"'));

async function runRolledBack(db: Database, ctx: PushContext, mode: "bulk" | "savepoints", changes: unknown[]): Promise<unknown> {
  let results: unknown;
  try {
    await db.transaction(async (tx) => {
      results = await new PushBatch(tx, ctx, mode).run(changes);
      throw new Rollback();
    });
  } catch (err) {
    if (!(err instanceof Rollback)) throw err;
  }
  return results;
}

/** The record's row, its feed row's change, its last history snapshot and (a task) its task_tags agree; one history entry per version. */
async function expectWhole(db: Database, orgId: string, entity: EntityKind, id: string): Promise<void> {
  const record = await new RecordRepo(db, orgId, entity).find(id);
  if (!record) return;
  const feed = await db.get<{ change: string; op: string }>("SELECT change, op FROM feed WHERE entity = ? AND entity_id = ?", [entity, id]);
  const change = JSON.parse(feed!.change);
  expect(change.record).toEqual(record);
  expect([change.version, change.vector_clock, feed!.op]).toEqual([record.version, record.vector_clock, record.deleted_at === null ? "upsert" : "delete"]);
  const history = await db.all<{ version: number; snapshot: string }>("SELECT version, snapshot FROM history WHERE entity = ? AND entity_id = ? ORDER BY version", [entity, id]);
  expect(history.map((h) => Number(h.version))).toEqual(Array.from({ length: record.version }, (_, i) => i + 1));
  expect(JSON.parse(history.at(-1)!.snapshot)).toEqual(record);
  if (entity === "task") {
    const tags = await db.all<{ tag: string }>("SELECT tag FROM task_tags WHERE task_id = ?", [id]);
    expect(tags.map((t) => t.tag).sort()).toEqual([...new Set((record as { tags: string[] }).tags)].sort());
  }
}

forEachDialect("the bulk and careful push paths agree", ({ db }) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(db());
  });

  for (const seed of SEEDS) {
    test(`seed ${seed}: ${ROUNDS} batches answered alike both ways; every record whole after each`, async () => {
      const rng = new Rng(seed);
      const member = await t.createUser();
      const admin = await t.createUser({ org: member.org.slug, role: "admin" });
      const batches = new Batches(rng);
      for (let round = 0; round < ROUNDS; round++) {
        const [u, other]: TestUser[] = rng.chance(0.6) ? [member, admin] : [admin, member];
        const changes = batches.next(u.deviceId!, other.deviceId!);
        const ctx: PushContext = { orgId: u.org.id, userId: u.user.id, deviceId: u.deviceId!, admin: u === admin, now: new Date(Date.UTC(2026, 0, 1, 0, round)) };
        const bulk = await runRolledBack(db(), ctx, "bulk", changes);
        const careful = await runRolledBack(db(), ctx, "savepoints", changes);
        expect(comparable(careful)).toEqual(comparable(bulk));
        const results = await db().transaction((tx) => new PushBatch(tx, ctx).run(changes));
        expect(comparable(results)).toEqual(comparable(bulk));
        batches.learn(changes, results);
        for (const [id, k] of batches.known) await expectWhole(db(), u.org.id, k.entity, id);
      }
    });
  }
});
