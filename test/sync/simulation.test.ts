/**
 * Seeded multi-device simulation of the sync protocol (shared/sync-notes.md, "Testing the way the
 * anchors do"): several devices of one organization edit projects, tasks and comments offline (tasks
 * moved between projects, projects deleted under them, threaded replies, comments on tasks deleted
 * concurrently; each device's user edits only its own comments, the admin's device also deletes others'), sync in a random order,
 * lose some push answers (and re-send those changes later with the same change_id), resolve
 * conflicts now and then, and users also edit through REST (server writes). At the end every device syncs until nothing is pending, and each
 * device's replica must equal a fresh snapshot of the server, record by record, field by field,
 * clock by clock; a reply's parent is a comment of its task, and REST shows a live comment exactly
 * when its task is live. Runs on both dialects; on Postgres also with devices pushing concurrently while
 * others pull.
 *
 * A failure names the seed: the sequential runs replay exactly (ids and choices come from the seed).
 */
import { describe, expect, test } from "bun:test";
import { ENTITY_KINDS, type EntityKind } from "../../src/records/model";
import { fieldsWithRule } from "../../src/sync/merge";
import { createTestApp, type TestApp, type TestResponse } from "../support/app";
import { forEachDialect } from "../support/db";
import { type Json, Rng, SimDevice } from "../support/device";

/**
 * The seeds run: `SIM_SEEDS` (`7,99` or a range `1000-1049`) explores others (`SIM_STEPS` makes each run longer), e.g.
 * `SIM_SEEDS=1000-1049 npx bun test test/sync/simulation.test.ts` (CONTRIBUTING.md); a failing one replays.
 */
const SEEDS = seedsFrom(process.env.SIM_SEEDS) ?? [1, 42, 20261124];
const STEPS = Number(process.env.SIM_STEPS ?? 160);
const DEVICES = 4;
/** Per-run limit (a run is a few hundred HTTP requests). */
const RUN_TIMEOUT_MS = 120_000;

const WORDS = ["plan", "the", "review", "draft", "ship", "fix", "call", "team", "report", "budget", "a", "notes"];
const TAGS = ["home", "work", "urgent", "later", "q4"];
const DUE_DATES = [null, "2026-11-20", "2026-12-01", "2027-01-15", "2026-12-01T09:30:00.000Z"];
const STATUSES = ["todo", "in_progress", "blocked", "done", "cancelled"];
const PRIORITIES = ["low", "medium", "high", "urgent"];
const COLORS = ["#ff0000", "#00ff00", "#0000ff"];

/**
 * Whether the simulation generates each kind: a new kind does not compile until it is decided here,
 * and the coverage check below fails when the runs' records are of other kinds than these.
 */
const SIMULATED: { readonly [K in EntityKind]: boolean } = { project: true, task: true, comment: true };

/** `"7,99"` → [7, 99], `"1000-1003"` → [1000, …, 1003]; undefined when unset or empty; a malformed value throws. */
function seedsFrom(spec: string | undefined): number[] | undefined {
  if (spec === undefined || spec.trim() === "") return undefined;
  const range = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(spec);
  if (range) {
    const [from, to] = [Number(range[1]), Number(range[2])];
    if (from > to) throw new Error(`SIM_SEEDS: the range ${spec} is empty (its start is above its end)`);
    return Array.from({ length: to - from + 1 }, (_, i) => from + i);
  }
  const seeds = spec.split(",").map((x) => x.trim());
  if (!seeds.every((x) => /^\d+$/.test(x))) throw new Error(`SIM_SEEDS must be seeds separated by commas or a range like 1000-1049, not ${JSON.stringify(spec)}`);
  return seeds.map(Number);
}

interface Stats {
  statuses: Record<string, number>;
  /** Pushed changes by kind and op (`comment delete`…), counted when generated. */
  made: Record<string, number>;
  lost: number;
  resolved: number;
  restEdits: number;
  /** Resolutions `local`/`custom` refused (422) for a project or parent comment deleted since, then resolved `remote`. */
  refusedReferences: number;
  /** The live comments the runs ended with, by whether their task is live. */
  liveComments: { "of live tasks": number; "of deleted tasks": number };
  /** The kinds of the records the runs ended with. */
  kinds: Set<string>;
}

const newStats = (): Stats => ({ statuses: {}, made: {}, lost: 0, resolved: 0, restEdits: 0, refusedReferences: 0, liveComments: { "of live tasks": 0, "of deleted tasks": 0 }, kinds: new Set() });

/** A simulated device and its user (device-0's is the organization's admin). */
interface Sim {
  device: SimDevice;
  userId: string;
  admin: boolean;
}

/** A run's devices, and who wrote each comment (ids are never reused: the author is known from the create). */
interface World {
  t: TestApp;
  sims: Sim[];
  authors: Map<string, string>;
}

/** One organization with `n` devices (one user each), sharing `t`. */
async function makeWorld(t: TestApp, rng: Rng, n: number): Promise<World> {
  const first = await t.createUser({ device: "device-0", role: "admin" });
  const users = [first];
  for (let i = 1; i < n; i++) users.push(await t.createUser({ org: first.org.slug, device: `device-${i}` }));
  const sims = users.map((u, i) => ({ device: new SimDevice(`device-${i}`, u.deviceId!, u.token, t.request, () => rng.uuid()), userId: u.user.id, admin: i === 0 }));
  return { t, sims, authors: new Map() };
}

const words = (rng: Rng, min: number, max: number) => Array.from({ length: min + rng.int(max - min + 1) }, () => rng.pick(WORDS)).join(" ");

function newTask(rng: Rng, projects: string[]): Json {
  return {
    project_id: projects.length > 0 && rng.chance(0.6) ? rng.pick(projects) : null,
    title: words(rng, 3, 5),
    description: Array.from({ length: 2 + rng.int(4) }, () => words(rng, 2, 4)).join("\n"),
    status: rng.pick(STATUSES),
    priority: rng.pick(PRIORITIES),
    due_date: rng.pick(DUE_DATES),
    tags: rng.shuffle(TAGS).slice(0, rng.int(3)),
  };
}

/**
 * How a device edits each field, computed from what it currently shows: one for every task field with
 * a merge rule (a test below checks it against `fieldsWithRule`, so a new rule is simulated too).
 */
const FIELD_EDITS: Record<string, (rng: Rng, fields: Json) => unknown> = {
  title: (rng, fields) => {
    const ws = String(fields.title).split(" ");
    ws[rng.int(ws.length)] = rng.pick(WORDS); // same word count: a title never becomes empty
    return ws.join(" ");
  },
  description: (rng, fields) => {
    const lines = String(fields.description).split("\n");
    const i = rng.int(lines.length);
    const op = rng.int(4);
    if (op === 0) {
      const ws = lines[i].split(" ");
      ws[rng.int(ws.length)] = rng.pick(WORDS);
      lines[i] = ws.join(" ");
    } else if (op === 1) lines[i] = words(rng, 1, 4);
    else if (op === 2) lines.splice(i, 0, words(rng, 1, 3));
    else if (lines.length > 1) lines.splice(i, 1);
    return lines.join("\n");
  },
  priority: (rng) => rng.pick(PRIORITIES),
  status: (rng) => rng.pick(STATUSES),
  tags: (rng, fields) => {
    const tags = (fields.tags as string[]) ?? [];
    const tag = rng.pick(TAGS);
    return tags.includes(tag) ? tags.filter((x) => x !== tag) : [...tags, tag];
  },
  due_date: (rng) => rng.pick(DUE_DATES),
};
const EDITED_FIELDS = Object.keys(FIELD_EDITS);

test("the simulated edits cover every task field with a merge rule", () => {
  expect([...EDITED_FIELDS].sort()).toEqual(fieldsWithRule("task").sort());
});

/** One local edit of one field, computed from what the device currently shows. */
function editField(rng: Rng, fields: Json): Json {
  const field = EDITED_FIELDS[rng.int(EDITED_FIELDS.length)];
  return { [field]: FIELD_EDITS[field](rng, fields) };
}

/** Replaces a line of a text (a comment's body, a project's description) or inserts one. */
function editText(rng: Rng, text: string): string {
  const lines = text.split("\n");
  const i = rng.int(lines.length);
  if (rng.chance(0.6)) lines[i] = words(rng, 1, 4);
  else lines.splice(i, 0, words(rng, 1, 3));
  return lines.join("\n");
}

function projectEdit(rng: Rng, fields: Json): Json {
  switch (rng.int(4)) {
    case 0:
      return { name: FIELD_EDITS.title(rng, { title: fields.name }) };
    case 1:
      return { description: editText(rng, String(fields.description)) };
    case 2:
      return { color: rng.pick(COLORS) };
    default:
      return { archived: !fields.archived };
  }
}

/**
 * A device's offline work, as its user sees the records: create, edit or delete a project; create,
 * edit (1–3 fields), move to another project or delete a task; comment on a live task or reply to a
 * comment of it, edit or delete one of its user's comments (the admin also deletes others').
 */
function localEdit(rng: Rng, w: World, sim: Sim, stats: Stats): void {
  const d = sim.device;
  const made = (what: string) => (stats.made[what] = (stats.made[what] ?? 0) + 1);
  const projects = d.live("project");
  const tasks = d.live("task");
  const liveTasks = new Set(tasks.map((x) => x.id));
  const comments = d.live("comment").filter((c) => liveTasks.has(String(c.fields.task_id)));
  const roll = rng.next();
  if (projects.length === 0 || roll < 0.04) {
    d.create("project", { name: words(rng, 1, 3), description: words(rng, 2, 5), color: rng.pick(COLORS), archived: false });
    made("project create");
  } else if (roll < 0.06) {
    d.remove("project", rng.pick(projects).id);
    made("project delete");
  } else if (roll < 0.1) {
    const p = rng.pick(projects);
    d.update("project", p.id, projectEdit(rng, p.fields));
    made("project update");
  } else if (tasks.length < 3 || roll < 0.18) {
    d.create("task", newTask(rng, projects.map((p) => p.id)));
    made("task create");
  } else if (roll < 0.22) {
    d.remove("task", rng.pick(tasks).id);
    made("task delete");
  } else if (roll < 0.3) {
    const task = rng.pick(tasks);
    const siblings = comments.filter((c) => c.fields.task_id === task.id);
    const parent = siblings.length > 0 && rng.chance(0.4) ? rng.pick(siblings).id : null;
    w.authors.set(d.create("comment", { task_id: task.id, parent_id: parent, body: words(rng, 2, 6) }), sim.userId);
    made(parent ? "comment reply" : "comment create");
  } else if (roll < 0.36) {
    const own = comments.filter((c) => w.authors.get(c.id) === sim.userId);
    if (own.length === 0) return;
    const c = rng.pick(own);
    d.update("comment", c.id, { body: editText(rng, String(c.fields.body)) });
    made("comment update");
  } else if (roll < 0.39) {
    const deletable = comments.filter((c) => sim.admin || w.authors.get(c.id) === sim.userId);
    if (deletable.length === 0) return;
    const c = rng.pick(deletable);
    d.remove("comment", c.id);
    made(w.authors.get(c.id) === sim.userId ? "comment delete" : "comment moderated");
  } else if (roll < 0.45) {
    const task = rng.pick(tasks);
    const others = projects.filter((p) => p.id !== task.fields.project_id);
    d.update("task", task.id, { project_id: others.length > 0 && rng.chance(0.8) ? rng.pick(others).id : null });
    made("task move");
  } else {
    const task = rng.pick(tasks);
    let data: Json = {};
    for (let k = 1 + rng.int(3); k > 0; k--) data = { ...data, ...editField(rng, { ...task.fields, ...data }) };
    d.update("task", task.id, data);
    made("task update");
  }
}

/**
 * Resolves one open conflict: as `sim`'s user, or a comment's as its author (the one who may change
 * its text). A resolution that would bring back a comment another user deleted (an admin's moderation)
 * is not the author's to make: the side that keeps it deleted is chosen instead. A `local` or `custom`
 * resolution naming a project or parent comment deleted since is refused (422) and resolved `remote`.
 */
async function resolveOne(rng: Rng, w: World, sim: Sim, stats: Stats): Promise<void> {
  const list = await w.t.request("GET", "/api/sync/conflicts?page_size=500", { token: sim.device.token });
  expect(list.status).toBe(200);
  const open = list.body.results as Json[];
  if (open.length === 0) return;
  const conflict = rng.pick(open);
  let resolution = rng.pick(["local", "remote", "custom"] as const);
  let resolver = sim;
  if (conflict.entity === "comment") {
    const author = w.authors.get(String(conflict.entity_id));
    resolver = w.sims.find((x) => x.userId === author)!;
    const row = await w.t.deps.db.get<{ deleted_by: string | null }>("SELECT deleted_by FROM comments WHERE id = ?", [conflict.entity_id as string]);
    const [local, remote] = [(conflict.local ?? {}) as Json, (conflict.remote ?? {}) as Json];
    const aboutDeletion = (conflict.fields as string[]).includes("deleted_at");
    const bringsBack = aboutDeletion && (resolution === "custom" || (resolution === "local" ? local.deleted_at == null : remote.deleted_at == null));
    if (bringsBack && row?.deleted_by != null && row.deleted_by !== author) resolution = local.deleted_at == null ? "remote" : "local";
  }
  const expectedRefusal = async (c: Json, sent: Json, res: TestResponse): Promise<boolean> => {
    if (res.status !== 422) return false;
    const named = Object.keys(res.body?.error?.details?.fields ?? {});
    const table = { project_id: "projects", parent_id: "comments" } as const;
    // The reference written: the custom data's, or the local side's.
    const written = ((sent.data ?? c.local ?? {}) as Json);
    for (const field of named) {
      if (!(field in table) || typeof written[field] !== "string") {
        if (process.env.SIM_DEBUG) console.log("refused", JSON.stringify(c), JSON.stringify(sent), JSON.stringify(res.body));
        return false;
      }
      const ref = await w.t.deps.db.get<{ deleted_at: string | null }>(`SELECT deleted_at FROM ${table[field as keyof typeof table]} WHERE id = ?`, [written[field] as string]);
      if (!ref || ref.deleted_at === null) return false;
    }
    stats.refusedReferences++;
    return named.length > 0;
  };
  const resolved = await resolver.device.resolveConflict(
    (items) => items.find((x) => (x as Json).id === conflict.id) ?? rng.pick(items),
    resolution,
    (_f, local, remote) => (rng.chance(0.5) ? local : remote),
    expectedRefusal,
  );
  if (resolved) stats.resolved++;
}

/** A server-side write: a user edits a live task through REST (`PATCH /api/tasks/{id}`), no device involved. */
async function restEdit(rng: Rng, t: TestApp, d: SimDevice, stats: Stats): Promise<void> {
  const list = await t.request("GET", "/api/tasks?page_size=500&ordering=created_at", { token: d.token });
  expect(list.status).toBe(200);
  const tasks = list.body.results as Json[];
  if (tasks.length === 0) return;
  const task = rng.pick(tasks);
  const res = await t.request("PATCH", `/api/tasks/${task.id}`, { token: d.token, body: editField(rng, task) });
  expect({ status: res.status, body: res.status === 200 ? "…" : res.body }).toEqual({ status: 200, body: "…" });
  stats.restEdits++;
}

/** Push (answer lost with probability 0.2) or pull, as one device. */
async function syncAction(rng: Rng, d: SimDevice, stats: Stats): Promise<void> {
  if (rng.chance(0.5)) {
    const lose = rng.chance(0.2);
    const max = rng.chance(0.3) ? 1 + rng.int(3) : undefined;
    if (lose && d.pending.length > 0) stats.lost++;
    await d.push({ lose, max });
  } else {
    await d.pull(rng.chance(0.5) ? 1 + rng.int(4) : undefined);
  }
}

/** Every device pushes everything (no answer lost) and pulls, until nothing is pending; then one more pull each. */
async function quiesce(devices: SimDevice[]): Promise<void> {
  for (let round = 0; devices.some((d) => d.pending.length > 0); round++) {
    if (round > 10) throw new Error("devices never became quiescent");
    for (const d of devices) await d.push();
    for (const d of devices) await d.pull();
  }
  for (const d of devices) await d.pull();
}

/**
 * Each device's view of the live records equals the server's snapshot, record by record; a live
 * reply's parent is a comment of its task; REST shows a live comment exactly when its task is live.
 */
async function expectConverged(seed: number, w: World, stats: Stats): Promise<void> {
  const devices = w.sims.map((x) => x.device);
  const snapshot = await devices[0].snapshot();
  for (const k of snapshot.keys()) stats.kinds.add(k.split(":")[0]);
  expect(snapshot.size).toBeGreaterThan(0);
  for (const d of devices) {
    const view = d.serverView();
    const differences: string[] = [];
    for (const [k, record] of snapshot) {
      const mine = view.get(k);
      if (!mine) differences.push(`${k}: missing on ${d.name} (server v${record.version})`);
      else {
        for (const field of new Set([...Object.keys(record), ...Object.keys(mine)])) {
          if (!Bun.deepEquals(record[field], mine[field])) {
            differences.push(`${k}.${field}: server ${JSON.stringify(record[field])} (v${record.version}), ${d.name} ${JSON.stringify(mine[field])} (v${mine.version})`);
          }
        }
      }
    }
    for (const k of view.keys()) if (!snapshot.has(k)) differences.push(`${k}: live on ${d.name} (v${view.get(k)!.version}), not in the server's snapshot`);
    expect({ seed, device: d.name, differences }).toEqual({ seed, device: d.name, differences: [] });
  }
  const problems: string[] = [];
  for (const [k, record] of snapshot) {
    if (!k.startsWith("comment:")) continue;
    if (record.parent_id != null) {
      const parent = await w.t.deps.db.get<{ task_id: string }>("SELECT task_id FROM comments WHERE id = ?", [record.parent_id as string]);
      if (parent?.task_id !== record.task_id) problems.push(`${k} replies to ${record.parent_id}, a comment of ${parent?.task_id ?? "nothing"}, not of its task ${record.task_id}`);
    }
    const taskLive = snapshot.has(`task:${record.task_id}`);
    const shown = await w.t.request("GET", `/api/comments/${record.id}`, { token: devices[0].token });
    if (shown.status !== (taskLive ? 200 : 404)) problems.push(`${k} (task ${taskLive ? "live" : "deleted"}): GET answered ${shown.status}`);
    stats.liveComments[taskLive ? "of live tasks" : "of deleted tasks"]++;
  }
  expect({ seed, problems }).toEqual({ seed, problems: [] });
}

/** Statuses the device-level checks see (lost changes re-sent must come back `duplicate`). */
function tally(devices: SimDevice[], stats: Stats): void {
  for (const d of devices) for (const [s, n] of Object.entries(d.statuses)) stats.statuses[s] = (stats.statuses[s] ?? 0) + n;
}

async function simulateSequential(t: TestApp, seed: number): Promise<Stats> {
  const rng = new Rng(seed);
  const stats = newStats();
  const w = await makeWorld(t, rng, DEVICES);
  const devices = w.sims.map((x) => x.device);
  for (const d of devices) await d.pull();
  for (let step = 0; step < STEPS; step++) {
    const sim = rng.pick(w.sims);
    const d = sim.device;
    const roll = rng.next();
    if (roll < 0.5) localEdit(rng, w, sim, stats);
    else if (roll < 0.9) await syncAction(rng, d, stats);
    else if (roll < 0.95) await resolveOne(rng, w, sim, stats);
    else await restEdit(rng, t, d, stats);
  }
  await quiesce(devices);
  await expectConverged(seed, w, stats);
  tally(devices, stats);
  if (process.env.SIM_DEBUG) console.log(seed, JSON.stringify(stats), (await devices[0].snapshot()).size, "live records");
  return stats;
}

/** Rounds of offline edits, then every device syncs at once: some push while the others pull. */
async function simulateConcurrent(t: TestApp, seed: number): Promise<Stats> {
  // Not the sequential run's stream: it runs on the same database, and a generator that has made as
  // many draws from the same seed draws the same ids (a third of seeds had a create meet its own id, made
  // by the sequential run in another organization: `already_exists`).
  const rng = new Rng(seed ^ 0x5eed_c0de);
  const stats = newStats();
  const w = await makeWorld(t, rng, DEVICES);
  const devices = w.sims.map((x) => x.device);
  for (const d of devices) await d.pull();
  for (let round = 0; round < STEPS / 8; round++) {
    for (const sim of w.sims) for (let k = rng.int(4); k > 0; k--) localEdit(rng, w, sim, stats);
    const plan = devices.map((d) => ({ d, push: rng.chance(0.6), lose: rng.chance(0.15), limit: rng.chance(0.5) ? 1 + rng.int(4) : undefined }));
    await Promise.all(
      plan.map(async ({ d, push, lose, limit }) => {
        if (push) {
          if (lose && d.pending.length > 0) stats.lost++;
          await d.push({ lose });
        } else await d.pull(limit);
      }),
    );
    if (rng.chance(0.15)) await resolveOne(rng, w, rng.pick(w.sims), stats);
  }
  // The last word also concurrent: all push at once, then all pull at once.
  await Promise.all(devices.map((d) => d.push()));
  await Promise.all(devices.map((d) => d.pull(2)));
  await quiesce(devices);
  await expectConverged(seed, w, stats);
  tally(devices, stats);
  if (process.env.SIM_DEBUG) console.log(seed, JSON.stringify(stats), (await devices[0].snapshot()).size, "live records");
  return stats;
}

function add(total: Stats, s: Stats): void {
  for (const [k, n] of Object.entries(s.statuses)) total.statuses[k] = (total.statuses[k] ?? 0) + n;
  total.lost += s.lost;
  total.resolved += s.resolved;
  total.restEdits += s.restEdits;
  total.refusedReferences += s.refusedReferences;
  for (const [k, n] of Object.entries(s.made)) total.made[k] = (total.made[k] ?? 0) + n;
  for (const k of ["of live tasks", "of deleted tasks"] as const) total.liveComments[k] += s.liveComments[k];
  for (const k of s.kinds) total.kinds.add(k);
}

forEachDialect("sync simulation", ({ db, dialect }) => {
  /**
   * Each seed's sequential run, made once: by its own test, or by the coverage check below when that
   * runs first or alone (`-t`), so that neither depends on the other having run.
   */
  const runs = new Map<number, Promise<Stats>>();
  const sequentialRun = (seed: number): Promise<Stats> => {
    let run = runs.get(seed);
    if (!run) runs.set(seed, (run = createTestApp(db()).then((t) => simulateSequential(t, seed))));
    return run;
  };

  describe("devices editing offline, syncing in random order", () => {
    for (const seed of SEEDS) {
      test(`seed ${seed}: every replica equals the server, field by field and clock by clock`, async () => {
        await sequentialRun(seed);
      }, RUN_TIMEOUT_MS);
    }

    test("the runs exercised merges, conflicts, resolutions and lost answers re-sent as duplicates, on the kinds simulated", async () => {
      const total = newStats();
      for (const seed of SEEDS) add(total, await sequentialRun(seed));
      const s = total.statuses;
      // (`stale` cannot happen here: every change of an honest device carries a counter the server has not seen.)
      expect({ applied: s.applied > 0, merged: s.merged > 0, conflict: s.conflict > 0, duplicate: s.duplicate > 0 }).toEqual({
        applied: true,
        merged: true,
        conflict: true,
        duplicate: true,
      });
      expect(total.lost).toBeGreaterThan(0);
      expect(total.resolved).toBeGreaterThan(0);
      expect(total.restEdits).toBeGreaterThan(0);
      expect([...total.kinds].sort()).toEqual(ENTITY_KINDS.filter((k) => SIMULATED[k]).sort());
      // Every kind created, edited and deleted; tasks moved; replies; an admin's moderation; comments left live on deleted tasks.
      if (process.env.SIM_SEEDS === undefined) {
        const ops = ["create", "update", "delete"];
        const made = [...ENTITY_KINDS.filter((k) => SIMULATED[k]).flatMap((k) => ops.map((op) => `${k} ${op}`)), "task move", "comment reply", "comment moderated"];
        expect(made.filter((k) => !total.made[k])).toEqual([]);
        expect(total.liveComments["of deleted tasks"]).toBeGreaterThan(0);
      }
    }, RUN_TIMEOUT_MS * SEEDS.length);
  });

  if (dialect === "postgres") {
    describe("devices pushing concurrently while others pull", () => {
      for (const seed of SEEDS) {
        test(`seed ${seed}: every replica equals the server`, async () => {
          const t = await createTestApp(db());
          await simulateConcurrent(t, seed);
        }, RUN_TIMEOUT_MS);
      }
    });
  }
});
