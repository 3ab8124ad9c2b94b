/**
 * An upgrade as an operator does it, from a database that a build of before migrations 0005–0008
 * (fd55a73, schema 0004) ran for a while, to this build, end to end through the API: the rows in
 * fixtures/upgrade-from-0004.json are what that build stored while two devices synced through its
 * HTTP API (projects, tasks with tags and due dates, threaded comments, REST and sync deletes,
 * merges, three conflicts of which two were left open, a rotated refresh token), with the cursors
 * its devices held and that server's answers to their pulls. After `migrate`, the devices must go on
 * where they were: every pull from an old cursor answers exactly what the old server answered (none
 * skipped, no reset), pushes retried with their change_ids answer their original results, an offline
 * edit based on a pre-upgrade version merges, the old refresh tokens behave as the contract says, the
 * open conflicts resolve, and every record, version, clock and history entry reads as before.
 * The per-migration tests (migration-0005…0008) check each step on a few hand-made rows; this one
 * checks the path through all of them on rows the old build actually wrote.
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { migrate } from "../../src/db/migrate";
import { MIGRATIONS } from "../../src/db/migrations";
import { entityDef } from "../../src/records/entities";
import { type EntityKind, writableFields } from "../../src/records/model";
import { createTestApp, type TestApp } from "../support/app";
import { ManualClock } from "../support/clock";
import { createTestDatabase, DIALECTS } from "../support/db";

const F = JSON.parse(readFileSync(join(import.meta.dir, "fixtures", "upgrade-from-0004.json"), "utf8"));

/** Every page of a pull from `cursor` (null: a snapshot). */
async function pullAll(t: TestApp, token: string, device: string, cursor: string | null, limit = 2) {
  const changes: unknown[] = [];
  for (let c = cursor, i = 0; i < 100; i++) {
    const res = await t.request("GET", `/api/sync/pull?device_id=${device}&limit=${limit}${c ? `&cursor=${encodeURIComponent(c)}` : ""}`, { token });
    expect(res.status).toBe(200);
    changes.push(...res.body.changes);
    c = res.body.cursor;
    if (!res.body.has_more) return { changes, cursor: c as string };
  }
  throw new Error("pull did not end");
}

async function list(t: TestApp, token: string, path: string) {
  const res = await t.request("GET", `${path}${path.includes("?") ? "&" : "?"}page_size=500`, { token });
  expect(res.status).toBe(200);
  return res.body.results;
}
const byId = (rows: { id: string }[]) => [...rows].sort((a, b) => a.id.localeCompare(b.id));

/**
 * Fields added to a kind since the old build (migrations after 0004 adding a column): the old build's
 * answers lack them, and this build answers them as the migration stored them, their create default.
 * None yet; a new field needs no edit of the recorded answers.
 */
const added = (kind: EntityKind, recorded: object) => writableFields(kind).filter((f) => !(f in recorded));
/** A record as the old build answered it (a list's, a push result's), as this build answers it: with the fields added since, at their default. */
const answeredNow = (kind: EntityKind) => (rec: Record<string, unknown>) => ({ ...Object.fromEntries(added(kind, rec).map((f) => [f, entityDef(kind).defaults[f]])), ...rec });
/**
 * A change the old build's pull answered, as this build's pull answers it: its record {@link answeredNow}.
 * A pull sends the feed's stored change texts, which no column reaches: a migration adding a field
 * rewrites them (CONTRIBUTING, "Adding a field to a synced record"), or pulls lack the field.
 */
const pulledNow = (c: { entity: EntityKind; record: Record<string, unknown> }) => ({ ...c, record: answeredNow(c.entity)(c.record) });
/** A task's history entry as the old build answered it: a create's `changes` list the fields added since too (null: its snapshot lacks them). */
const historyNow = (e: { action: string; changes: Record<string, unknown> }) =>
  e.action !== "created" ? e : { ...e, changes: { ...e.changes, ...Object.fromEntries(added("task", { ...e.changes }).map((f) => [f, { old: null, new: null }])) } };

for (const dialect of DIALECTS) {
  test(`a database of the 0004 schema, written by that build, syncs on after the upgrade [${dialect}]`, async () => {
    const { db, drop } = await createTestDatabase(dialect, { migrate: false });
    try {
      await migrate(db, MIGRATIONS.filter((m) => m.version <= F.schema_version));
      for (const [table, rows] of Object.entries(F.rows as Record<string, Record<string, unknown>[]>)) {
        for (const row of rows) {
          const cols = Object.keys(row);
          await db.run(`INSERT INTO ${table} (${cols.join(", ")}) VALUES (${cols.map(() => "?").join(", ")})`, cols.map((c) => row[c]) as never);
        }
      }
      expect((await migrate(db)).map((m) => m.version)).toEqual(MIGRATIONS.filter((m) => m.version > F.schema_version).map((m) => m.version));
      expect(await migrate(db)).toEqual([]);

      // An hour after the old server stopped (its refresh tokens live 30 days).
      const clock = new ManualClock(new Date(Date.parse(F.rows.refresh_tokens.at(-1).created_at) + 3_600_000));
      const t = await createTestApp(db, { clock });
      const login = async (email: string, device?: string) => {
        const res = await t.request("POST", "/api/auth/login", { body: { email, password: F.password, ...(device ? { device_id: device } : {}) } });
        expect(res.status).toBe(200);
        return res.body.access as string;
      };
      const admin = await login("admin@upg.test");
      const alice = await login("alice@upg.test", F.dev.A);
      const bob = await login("bob@upg.test", F.dev.B);

      // Records, versions, clocks, tombstones, history and conflicts read as the old server answered them.
      expect(byId(await list(t, admin, "/api/tasks?include_deleted=true"))).toEqual(F.before.tasks.map(answeredNow("task")));
      expect(byId(await list(t, admin, "/api/projects?include_deleted=true"))).toEqual(F.before.projects.map(answeredNow("project")));
      expect(byId(await list(t, admin, "/api/comments?include_deleted=true"))).toEqual(F.before.comments.map(answeredNow("comment")));
      for (const [id, entries] of Object.entries(F.before.history)) expect(await list(t, admin, `/api/tasks/${id}/history`)).toEqual((entries as never[]).map(historyNow));
      expect(byId(await list(t, admin, "/api/sync/conflicts?include_resolved=true"))).toEqual(F.before.conflicts);
      expect((await list(t, admin, "/api/tasks?tag=red")).map((x: { id: string }) => x.id).sort()).toEqual(F.before.tagFilter);

      // Pulls from the cursors the devices held (one in the middle of a paged snapshot) go on exactly where they were.
      const a = await pullAll(t, alice, F.dev.A, F.cursors.A);
      expect(a.changes).toEqual(F.expect.A.map(pulledNow));
      const b = await pullAll(t, bob, F.dev.B, F.cursors.B);
      expect(b.changes).toEqual(F.expect.B.map(pulledNow));
      // From the cursor in the middle of a paged snapshot: what the old build answered, plus (the snapshot's
      // catch-up rule since it was recorded, docs/sync-design.md "Snapshot") Bob's own applied edits and
      // deletes of records that existed before them, written after the snapshot began, in feed order.
      type Pulled = { entity_id: string; version: number };
      type Answered = { entity_id: string; status: string; version: number };
      const bobsEdits = (F.pushes as { dev: string; results: Answered[] }[])
        .filter((p) => p.dev === F.dev.B)
        .flatMap((p) => p.results.filter((r) => r.status === "applied" && r.version > 1).map((r) => `${r.entity_id}@${r.version}`));
      const own = (c: Pulled) => bobsEdits.includes(`${c.entity_id}@${c.version}`);
      const mid = (await pullAll(t, bob, F.dev.B, F.cursors.Bmid)).changes as Pulled[];
      expect(mid.filter((c) => !own(c))).toEqual(F.expect.Bmid.map(pulledNow));
      expect(mid.filter(own).map((c) => `${c.entity_id}@${c.version}`)).toEqual(bobsEdits.slice(-2)); // those of its last push, after the snapshot began
      expect((await pullAll(t, alice, F.dev.A, null, 500)).changes).toEqual(F.expect.snapshotA.map(pulledNow));

      // Pushes retried after the upgrade answer what they answered before it.
      for (const p of F.pushes) {
        const res = await t.request("POST", "/api/sync/push", { token: p.dev === F.dev.A ? alice : bob, body: { device_id: p.dev, changes: p.changes } });
        expect(res.status).toBe(200);
        expect(res.body.results).toEqual(p.results.map((r: { entity: EntityKind; record: Record<string, unknown> | null }) => ({ ...r, status: "duplicate", record: r.record && answeredNow(r.entity)(r.record) })));
      }

      // Alice's offline edits, based on versions she pulled before the upgrade: merged with Bob's later title.
      const pending = await t.request("POST", "/api/sync/push", { token: alice, body: { device_id: F.dev.A, changes: F.pending } });
      expect(pending.body.results.map((r: { status: string }) => r.status)).toEqual(["merged", "applied"]);
      const t1 = (await t.request("GET", `/api/tasks/${F.ids.tasks.T1}`, { token: alice })).body;
      expect(t1).toMatchObject({ title: "Write the upgrade plan v2", priority: "urgent", description: "line one\nline two (alice offline)\nline three" });
      const after = await pullAll(t, bob, F.dev.B, b.cursor);
      expect(after.changes.map((c: any) => `${c.entity}:${c.entity_id}:v${c.version}`).sort()).toEqual(
        pending.body.results.map((r: any) => `${r.entity}:${r.entity_id}:v${r.version}`).sort(),
      );

      // Refresh tokens: an unused one rotates; a used one is reuse (401, its family revoked); a revoked device's and a deactivated user's are 401.
      const refresh = (token: string) => t.request("POST", "/api/auth/refresh", { body: { refresh: token } });
      expect((await refresh(F.tokens.bob)).status).toBe(200);
      const current = await refresh(F.tokens.aliceCurrent);
      expect(current.status).toBe(200);
      expect((await refresh(F.tokens.aliceUsed)).status).toBe(401);
      expect((await refresh(current.body.refresh)).status).toBe(401);
      expect((await refresh(F.tokens.revokedDevice)).status).toBe(401);
      expect((await refresh(F.tokens.deactivatedUser)).status).toBe(401);

      // The conflicts left open resolve, once, and their devices pull the resolutions.
      const open = await list(t, admin, "/api/sync/conflicts");
      expect(open.length).toBe(2);
      for (const c of open) {
        const res = await t.request("POST", `/api/sync/conflicts/${c.id}/resolve`, { token: admin, body: { resolution: "remote" } });
        expect(res.status).toBe(200);
        expect((await t.request("POST", `/api/sync/conflicts/${c.id}/resolve`, { token: admin, body: { resolution: "remote" } })).status).toBe(409);
      }
      const resolved = await pullAll(t, alice, F.dev.A, a.cursor);
      for (const c of open) expect(resolved.changes.some((x: any) => x.entity_id === c.entity_id)).toBe(true);
    } finally {
      await drop();
    }
  });
}
