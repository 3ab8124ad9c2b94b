/**
 * Seeded multi-device, multi-entity fuzz of sync through the HTTP app: 4 devices of 3 users in one
 * organization (two devices share a user, one user is an admin) edit projects, tasks and comments
 * (threaded replies) offline, push with clocks and base versions built as a client builds them,
 * pull from cursors in small pages, lose push answers and re-send them, edit through REST with
 * `If-Match` (fresh and stale), resolve conflicts (local, remote, custom), and one device stays
 * offline for most of the run and then pushes its whole stale queue at once.
 *
 * Invariants, checked as the run goes and at its end:
 * - no 5xx ever, every error in the contract's error body;
 * - nothing an honest device sends is `rejected` (or `stale`); a change is `duplicate` exactly when
 *   it was sent before, and the duplicate answers the original's version, clock, conflict and record;
 * - an `applied` answer carries the pushed values and the pushed clock; a merged one a clock
 *   dominating the pushed one;
 * - an incremental pull never returns a record whose state is exactly one this device pushed and
 *   got `applied`, and never a version older than one the device already knew;
 * - at the end (conflicts resolved, everything pushed and pulled): every device knows every
 *   record of the organization, tombstones included, at the server's version, field by field and
 *   clock by clock (nothing skipped by any cursor), and no conflict is left open;
 * - a task's history has one entry per version, 1..version, and each applied change is the entry
 *   at its answered version, by its device.
 *
 * `FUZZ_SEEDS` (`7,99` or `1000-1049`) runs other seeds; a failure names its seed and replays.
 */
import { describe, expect, test } from "bun:test";
import { compareClocks, mergeClocks, type VectorClock } from "../../src/records/clock";
import { ENTITY_KINDS } from "../../src/records/model";
import type { ChangeResult, PullResponse } from "../../src/sync/model";
import { createTestApp, type TestApp, type TestResponse } from "../support/app";
import { forEachDialect } from "../support/db";
import { type Entity, type Json, type PushChange, Rng, WRITABLE, pickFields } from "../support/device";

const SEEDS = seedsFrom(process.env.FUZZ_SEEDS) ?? [3, 17, 47, 59, 2026];
const STEPS = Number(process.env.FUZZ_STEPS ?? 300);
const RUN_TIMEOUT_MS = 120_000;
/** `FUZZ_HOT=1`: few records, so that most edits meet others' (more merges and conflicts). */
const HOT = process.env.FUZZ_HOT === "1";

const WORDS = ["plan", "the", "review", "draft", "ship", "fix", "call", "team", "report", "budget", "a", "notes"];
const TAGS = ["home", "work", "urgent", "later", "q4"];
const DUE_DATES = [null, "2026-11-20", "2026-12-01", "2027-01-15", "2026-12-01T09:30:00Z", "2026-12-01T10:30:00.000+01:00"];
const STATUSES = ["todo", "in_progress", "blocked", "done", "cancelled"];
const PRIORITIES = ["low", "medium", "high", "urgent"];
/** Status precedence of merges, lowest first (the contract's example order). */
const STATUS_RANK = ["todo", "in_progress", "blocked", "cancelled", "done"];
const COLORS = ["#ff0000", "#00ff00", "#0000ff", "#123456"];
const PLURAL: Record<Entity, string> = { project: "projects", task: "tasks", comment: "comments" };

function seedsFrom(spec: string | undefined): number[] | undefined {
  if (spec === undefined || spec.trim() === "") return undefined;
  const range = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(spec);
  if (range) return Array.from({ length: Number(range[2]) - Number(range[1]) + 1 }, (_, i) => Number(range[1]) + i);
  return spec.split(",").map((x) => Number(x.trim()));
}

class Violation extends Error {}
const fail = (seed: number, what: string): never => {
  throw new Violation(`seed ${seed}: ${what}`);
};
/** A value as the server stores it: due dates as instants, tags without repeats. */
function normalized(field: string, v: unknown): unknown {
  if (field === "due_date" && typeof v === "string") return v.length === 10 ? v : new Date(v).toISOString();
  if (field === "tags" && Array.isArray(v)) return [...new Set(v)].sort();
  return v;
}
/** Whether a pull cursor is still in its snapshot phase (`c2.`, the base64url of `org:pos[:snapshotAt]`, `.` and its check). */
const inSnapshot = (cursor: string) => Buffer.from(cursor.slice(3).split(".")[0]!, "base64url").toString("utf8").split(":").length > 2;
const key = (entity: Entity, id: string) => `${entity}:${id}`;
const same = (a: unknown, b: unknown) => Bun.deepEquals(a, b);

interface Known {
  record: Json;
  version: number;
  clock: VectorClock;
  deleted: boolean;
}
interface Entry {
  entity: Entity;
  id: string;
  server: Known | null;
  fields: Json;
  clock: VectorClock;
  deleted: boolean;
}
/** What the server answered a change the first time (the harness sees lost answers too). */
interface Answer {
  device: string;
  change: PushChange;
  result: ChangeResult;
}

class Fuzz {
  readonly answers = new Map<string, Answer>();
  readonly changeIds: string[] = [];
  /** device/change_id → the record the update was made on, when no other own edit of it was pending. */
  readonly bases = new Map<string, Json>();
  readonly stats: Record<string, number> = {};
  constructor(
    readonly seed: number,
    readonly t: TestApp,
  ) {}
  count(what: string) {
    this.stats[what] = (this.stats[what] ?? 0) + 1;
  }
  /** Every request goes through here: no 5xx, errors in the contract's body. */
  async request(method: string, path: string, token: string, body?: unknown, headers?: Record<string, string>): Promise<TestResponse> {
    const res = await this.t.request(method, path, { token, body, headers });
    if (res.status >= 500) fail(this.seed, `${method} ${path} answered ${res.status} ${JSON.stringify(res.body)} to ${JSON.stringify(body)}`);
    if (res.status >= 400) {
      const e = res.body?.error;
      if (!e || typeof e.code !== "string" || typeof e.message !== "string" || Object.keys(res.body).length !== 1) {
        fail(this.seed, `${method} ${path} answered ${res.status} with a body outside the contract: ${JSON.stringify(res.body)}`);
      }
    }
    return res;
  }
}

class Device {
  private counter = 0;
  cursor: string | null = null;
  readonly replica = new Map<string, Entry>();
  readonly pending: PushChange[] = [];
  readonly sent = new Set<string>();
  private readonly usedIds = new Set<string>();
  /** `key@version` of states this device pushed and got `applied`. */
  readonly ownApplied = new Set<string>();
  offline = false;
  sibling: Device | null = null;
  /** Push requests of this device in flight, and answered so far: a pull read meanwhile may carry an older state than a push answer taught it. */
  pushing = 0;
  pushes = 0;

  constructor(
    readonly fz: Fuzz,
    readonly name: string,
    readonly deviceId: string,
    readonly userId: string,
    readonly admin: boolean,
    readonly token: string,
    readonly rng: Rng,
  ) {}

  resets = 0;
  reset(): void {
    this.resets++;
    this.cursor = null;
    this.replica.clear();
  }

  live(entity: Entity): Entry[] {
    return [...this.replica.values()].filter((e) => e.entity === entity && !e.deleted);
  }

  create(entity: Entity, fields: Json): string {
    const id = this.rng.uuid();
    const clock = { [this.deviceId]: ++this.counter };
    this.replica.set(key(entity, id), { entity, id, server: null, fields: { ...fields }, clock, deleted: false });
    this.queue({ entity, entity_id: id, op: "create", data: structuredClone(fields), vector_clock: clock });
    return id;
  }

  update(e: Entry, data: Json): void {
    const chain = this.pending.some((c) => c.entity === e.entity && c.entity_id === e.id);
    const base = !chain && e.server ? pickFields(e.entity, e.server.record) : null;
    e.fields = { ...e.fields, ...structuredClone(data) };
    e.clock = { ...e.clock, [this.deviceId]: ++this.counter };
    this.queue({ entity: e.entity, entity_id: e.id, op: "update", data: structuredClone(data), base_version: e.server?.version ?? 1, vector_clock: e.clock });
    if (base) this.fz.bases.set(`${this.deviceId}/${this.pending.at(-1)!.change_id}`, base);
  }

  remove(e: Entry): void {
    e.deleted = true;
    e.clock = { ...e.clock, [this.deviceId]: ++this.counter };
    this.queue({ entity: e.entity, entity_id: e.id, op: "delete", base_version: e.server?.version ?? 1, vector_clock: e.clock });
  }

  /** change_ids are unique per device only: now and then one another device already used. */
  private queue(c: Omit<PushChange, "change_id">) {
    const others = this.fz.changeIds.filter((id) => !this.usedIds.has(id));
    const id = others.length > 0 && this.rng.chance(0.1) ? this.rng.pick(others) : this.rng.uuid();
    this.usedIds.add(id);
    this.fz.changeIds.push(id);
    this.pending.push({ change_id: id, ...c });
  }

  async push(opts: { lose?: boolean; max?: number; retryAtOnce?: boolean; twiceAtOnce?: boolean } = {}): Promise<void> {
    const fz = this.fz;
    const batch = this.pending.slice(0, opts.max ?? this.pending.length);
    if (batch.length === 0) return;
    // A token bound to another device of the same user may push for this one (drawn before any await: seeds replay).
    const token = this.sibling && this.rng.chance(0.2) ? this.sibling.token : this.token;
    const send = async () => {
      this.pushing++;
      const res = await fz.request("POST", "/api/sync/push", token, { device_id: this.deviceId, changes: batch }).finally(() => {
        this.pushing--;
        this.pushes++;
      });
      if (res.status !== 200) fail(fz.seed, `${this.name}: push answered ${res.status} ${JSON.stringify(res.body)}`);
      const results = res.body.results as ChangeResult[];
      if (!Array.isArray(results) || results.length !== batch.length) fail(fz.seed, `${this.name}: push answered ${JSON.stringify(res.body)}`);
      return results;
    };
    let results: ChangeResult[];
    if (opts.twiceAtOnce && !batch.some((c) => this.sent.has(c.change_id))) {
      // The same request twice at once: per change, one answers it, the other is its duplicate.
      fz.count("sent twice at once");
      const [r1, r2] = await Promise.all([send(), send()]);
      const firsts: ChangeResult[] = [];
      const seconds: ChangeResult[] = [];
      batch.forEach((c, i) => {
        const [a, b] = r1[i].status === "duplicate" ? [r2[i], r1[i]] : [r1[i], r2[i]];
        if (a.status === "duplicate" || b.status !== "duplicate") fail(fz.seed, `${this.name}: ${JSON.stringify(c)} sent twice at once answered ${JSON.stringify(r1[i])} and ${JSON.stringify(r2[i])}`);
        firsts.push(a);
        seconds.push(b);
      });
      this.check(batch, firsts);
      this.check(batch, seconds);
      results = firsts;
    } else {
      results = await send();
      this.check(batch, results);
    }
    if (opts.retryAtOnce) {
      fz.count("retried at once");
      results = await send();
      this.check(batch, results);
    }
    if (opts.lose) {
      fz.count("lost answers");
      return;
    }
    const touched = new Set<string>();
    batch.forEach((c, i) => {
      const r = results[i];
      this.adopt(c.entity, c.entity_id, { record: r.record as Json, version: r.version!, clock: r.vector_clock as VectorClock, deleted: (r.record as Json).deleted_at != null });
      touched.add(key(c.entity, c.entity_id));
    });
    this.pending.splice(0, batch.length);
    for (const k of touched) this.rebuild(k);
  }

  private check(batch: PushChange[], results: ChangeResult[]) {
    const fz = this.fz;
    batch.forEach((c, i) => {
      const r = results[i];
      const where = () => `${this.name}: change ${JSON.stringify(c)} → ${JSON.stringify(r)}`;
      fz.count(r.status);
      if (r.change_id !== c.change_id || r.entity !== c.entity || r.entity_id !== c.entity_id) fail(fz.seed, `${where()}: answers another change`);
      if (r.status === "rejected" || r.status === "stale") fail(fz.seed, `${where()}: an honest change answered ${r.status}`);
      const first = fz.answers.get(`${this.deviceId}/${c.change_id}`);
      if (this.sent.has(c.change_id) !== (r.status === "duplicate")) fail(fz.seed, `${where()}: sent before: ${this.sent.has(c.change_id)}`);
      if (typeof r.version !== "number" || !r.record || !r.vector_clock) fail(fz.seed, `${where()}: no version, record or clock`);
      if (first) {
        const a = first.result;
        const keep = (x: ChangeResult) => ({ version: x.version, vector_clock: x.vector_clock, conflict_id: x.conflict_id ?? null, record: x.record });
        if (!same(keep(a), keep(r))) fail(fz.seed, `${where()}: the duplicate's answer differs from the original ${JSON.stringify(a)}`);
        return;
      }
      // A duplicate within one batch (never made here) would answer like the first.
      fz.answers.set(`${this.deviceId}/${c.change_id}`, { device: this.deviceId, change: c, result: r });
      const record = r.record as Json;
      if (r.version !== record.version || !same(r.vector_clock, record.vector_clock)) fail(fz.seed, `${where()}: version/clock differ from the record's`);
      if (r.status === "applied") {
        if (!same(r.vector_clock, c.vector_clock)) fail(fz.seed, `${where()}: applied with another clock than pushed`);
        let asSent = true;
        for (const [f, v] of Object.entries(c.op === "delete" ? {} : (c.data ?? {}))) {
          if (same(record[f], v)) continue;
          asSent = false;
          if (!same(normalized(f, record[f]), normalized(f, v))) fail(fz.seed, `${where()}: applied but ${f} is ${JSON.stringify(record[f])}`);
        }
        if ((c.op === "delete") !== (record.deleted_at != null)) fail(fz.seed, `${where()}: applied with the wrong deletion state`);
        // A normalized value comes back in pulls; a state stored as sent does not.
        if (asSent) this.ownApplied.add(`${key(c.entity, c.entity_id)}@${r.version}`);
      } else {
        const order = compareClocks(c.vector_clock, r.vector_clock as VectorClock);
        if (order !== "BEFORE") fail(fz.seed, `${where()}: a ${r.status} answer whose clock is not newer than the pushed one (${order})`);
        if (r.status === "conflict" && typeof r.conflict_id !== "string") fail(fz.seed, `${where()}: conflict without conflict_id`);
        // Tags merge three-way: what the device added stays, what it removed stays removed (the other side cannot re-add a base tag).
        const base = fz.bases.get(`${this.deviceId}/${c.change_id}`);
        if (base && c.op === "update" && Array.isArray(c.data?.tags) && record.deleted_at == null) {
          const mine = normalized("tags", c.data.tags) as string[];
          const before = base.tags as string[];
          const now = record.tags as string[];
          const lost = mine.filter((x) => !before.includes(x) && !now.includes(x));
          const back = before.filter((x) => !mine.includes(x) && now.includes(x));
          if (lost.length + back.length > 0) fail(fz.seed, `${where()}: tags merged from base ${JSON.stringify(before)}: added ${lost} lost, removed ${back} back`);
        }
      }
    });
    for (const c of batch) this.sent.add(c.change_id);
  }

  async pull(limit?: number): Promise<void> {
    const fz = this.fz;
    for (let pages = 0; ; pages++) {
      if (pages > 5000) fail(fz.seed, `${this.name}: pull never ends`);
      const q = new URLSearchParams({ device_id: this.deviceId });
      const incremental = this.cursor !== null && !inSnapshot(this.cursor);
      if (this.cursor !== null) q.set("cursor", this.cursor);
      if (limit !== undefined) q.set("limit", String(limit));
      const [pushingBefore, pushesBefore] = [this.pushing, this.pushes];
      const res = await fz.request("GET", `/api/sync/pull?${q}`, this.token);
      // A push of this device answered while the page was read: the page may hold a state older than the answer's.
      const pushedMeanwhile = pushingBefore > 0 || this.pushing > 0 || this.pushes !== pushesBefore;
      if (res.status !== 200) fail(fz.seed, `${this.name}: pull answered ${res.status} ${JSON.stringify(res.body)}`);
      const page = res.body as PullResponse;
      if (limit !== undefined && page.changes.length > limit) fail(fz.seed, `${this.name}: page of ${page.changes.length} > limit ${limit}`);
      const seen = new Set<string>();
      for (const c of page.changes) {
        const k = key(c.entity as Entity, c.entity_id);
        if (seen.has(k)) fail(fz.seed, `${this.name}: ${k} twice in one page of ${q}: ${JSON.stringify(page.changes.map((x) => [x.entity_id.slice(0, 8), x.version, x.op]))} → ${page.cursor} ${page.has_more}`);
        seen.add(k);
        if (incremental && this.ownApplied.has(`${k}@${c.version}`)) fail(fz.seed, `${this.name}: pulled its own applied write ${k} v${c.version}`);
        const known = this.replica.get(k)?.server;
        if (known && c.version < known.version && !pushedMeanwhile) fail(fz.seed, `${this.name}: pulled ${k} v${c.version} after knowing v${known.version}`);
        if (c.version !== (c.record as Json).version || !same(c.vector_clock, (c.record as Json).vector_clock)) fail(fz.seed, `${this.name}: pulled change disagrees with its record ${JSON.stringify(c)}`);
        if ((c.op === "delete") !== ((c.record as Json).deleted_at != null)) fail(fz.seed, `${this.name}: op ${c.op} with deleted_at ${(c.record as Json).deleted_at}`);
        this.adopt(c.entity as Entity, c.entity_id, { record: c.record as Json, version: c.version, clock: c.vector_clock as VectorClock, deleted: c.op === "delete" });
        this.rebuild(k);
      }
      this.cursor = page.cursor;
      if (!page.has_more) return;
    }
  }

  adopt(entity: Entity, id: string, s: Known) {
    let e = this.replica.get(key(entity, id));
    if (!e) {
      e = { entity, id, server: null, fields: {}, clock: {}, deleted: false };
      this.replica.set(key(entity, id), e);
    }
    if (e.server && s.version < e.server.version) return;
    if (e.server && s.version === e.server.version && !same(e.server.record, s.record)) {
      fail(this.fz.seed, `${this.name}: two states of ${key(entity, id)} v${s.version}: ${JSON.stringify(e.server.record)} and ${JSON.stringify(s.record)}`);
    }
    e.server = structuredClone(s);
  }

  rebuild(k: string) {
    const e = this.replica.get(k)!;
    let fields: Json = e.server ? pickFields(e.entity, e.server.record) : {};
    let clock: VectorClock = e.server ? e.server.clock : {};
    let deleted = e.server?.deleted ?? false;
    for (const c of this.pending) {
      if (key(c.entity, c.entity_id) !== k) continue;
      if (c.op === "delete") deleted = true;
      else fields = { ...fields, ...structuredClone(c.data ?? {}) };
      clock = mergeClocks(clock, c.vector_clock);
    }
    e.fields = fields;
    e.clock = clock;
    e.deleted = deleted;
  }
}

const words = (rng: Rng, min: number, max: number) => Array.from({ length: min + rng.int(max - min + 1) }, () => rng.pick(WORDS)).join(" ");
const text = (rng: Rng) => Array.from({ length: 2 + rng.int(3) }, () => words(rng, 2, 4)).join("\n");

function editText(rng: Rng, s: string): string {
  const lines = String(s).split("\n");
  const i = rng.int(lines.length);
  switch (rng.int(4)) {
    case 0: {
      const ws = lines[i].split(" ");
      ws[rng.int(ws.length)] = rng.pick(WORDS);
      lines[i] = ws.join(" ");
      break;
    }
    case 1:
      lines[i] = words(rng, 1, 4);
      break;
    case 2:
      lines.splice(i, 0, words(rng, 1, 3));
      break;
    default:
      if (lines.length > 1) lines.splice(i, 1);
  }
  return lines.join("\n");
}

function editTitle(rng: Rng, s: string): string {
  const ws = String(s).split(" ");
  ws[rng.int(ws.length)] = rng.pick(WORDS);
  return ws.join(" ");
}

function taskEdit(rng: Rng, f: Json, projects: string[], users: string[]): Json {
  switch (rng.int(9)) {
    case 0:
      return { title: editTitle(rng, String(f.title)) };
    case 1:
      return { description: editText(rng, String(f.description)) };
    case 2:
      return { priority: rng.pick(PRIORITIES) };
    case 3:
      return { status: rng.pick(STATUSES) };
    case 4:
    case 5: {
      const tags = (f.tags as string[]) ?? [];
      const tag = rng.pick(TAGS);
      if (rng.chance(0.15)) return { tags: [...tags, ...tags.slice(0, 1), tag] }; // a repeated tag: stored once
      return { tags: tags.includes(tag) ? tags.filter((x) => x !== tag) : [...tags, tag] };
    }
    case 6:
      return { due_date: rng.pick(DUE_DATES) };
    case 7:
      return { assignee_id: rng.chance(0.3) ? null : rng.pick(users) };
    default:
      return { project_id: projects.length === 0 || rng.chance(0.3) ? null : rng.pick(projects) };
  }
}

function projectEdit(rng: Rng, f: Json): Json {
  switch (rng.int(4)) {
    case 0:
      return { name: editTitle(rng, String(f.name)) };
    case 1:
      return { description: editText(rng, String(f.description)) };
    case 2:
      return { color: rng.pick(COLORS) };
    default:
      return { archived: !f.archived };
  }
}

function localEdit(rng: Rng, d: Device, users: string[]): void {
  const projects = d.live("project");
  const tasks = d.live("task");
  const comments = d.live("comment");
  const roll = rng.next();
  if (roll < (HOT ? 0.1 : 0.08) || projects.length === 0) {
    d.create("project", { name: words(rng, 1, 3), description: text(rng), color: rng.pick(COLORS), archived: false });
  } else if (roll < (HOT ? 0.15 : 0.22) || tasks.length < 2) {
    d.create("task", {
      title: words(rng, 2, 4),
      description: text(rng),
      status: rng.pick(STATUSES),
      priority: rng.pick(PRIORITIES),
      due_date: rng.pick(DUE_DATES),
      tags: rng.shuffle(TAGS).slice(0, rng.int(3)),
      project_id: rng.chance(0.6) ? rng.pick(projects).id : null,
      assignee_id: rng.chance(0.5) ? rng.pick(users) : null,
    });
  } else if (roll < 0.34) {
    const task = rng.pick(tasks);
    const siblings = comments.filter((c) => c.fields.task_id === task.id);
    d.create("comment", { task_id: task.id, parent_id: siblings.length > 0 && rng.chance(0.5) ? rng.pick(siblings).id : null, body: text(rng) });
  } else if (roll < 0.42) {
    const mine = comments.filter((c) => (c.server ? c.server.record.author_id === d.userId : true));
    if (mine.length > 0) {
      const c = rng.pick(mine);
      d.update(c, { body: editText(rng, String(c.fields.body)) });
    }
  } else if (roll < 0.45) {
    const deletable = comments.filter((c) => d.admin || (c.server ? c.server.record.author_id === d.userId : true));
    if (deletable.length > 0) d.remove(rng.pick(deletable));
  } else if (roll < 0.5) {
    const p = rng.pick(projects);
    if (rng.chance(0.1)) d.remove(p);
    else d.update(p, projectEdit(rng, p.fields));
  } else if (roll < 0.54) {
    d.remove(rng.pick(tasks));
  } else if (roll < 0.57) {
    // An edit that changes nothing the server holds: empty data, or a field set to its value.
    const task = rng.pick(tasks);
    d.update(task, rng.chance(0.5) ? {} : { priority: task.fields.priority });
  } else {
    const task = rng.pick(tasks);
    let data: Json = {};
    for (let k = 1 + rng.int(3); k > 0; k--)
      data = {
        ...data,
        ...taskEdit(
          rng,
          { ...task.fields, ...data },
          projects.map((p) => p.id),
          users,
        ),
      };
    d.update(task, data);
  }
}

/** A REST write by a device's user: PATCH with a fresh or a stale If-Match, a REST delete or create. */
async function restAction(fz: Fuzz, rng: Rng, d: Device, users: string[]): Promise<void> {
  const entity = rng.pick(["task", "task", "project", "comment"] as Entity[]);
  const list = await fz.request("GET", `/api/${PLURAL[entity]}?page_size=500`, d.token);
  if (list.status !== 200) fail(fz.seed, `list ${entity}: ${list.status}`);
  let items = list.body.results as Json[];
  if (entity === "comment") items = items.filter((c) => c.author_id === d.userId);
  if (entity === "task" && (items.length === 0 || rng.chance(0.15))) {
    const res = await fz.request("POST", "/api/tasks", d.token, { title: words(rng, 2, 3), description: text(rng), tags: ["work"] });
    if (res.status !== 201) fail(fz.seed, `REST create: ${res.status} ${JSON.stringify(res.body)}`);
    fz.count("rest create");
    return;
  }
  if (items.length === 0) return;
  const rec = rng.pick(items);
  const path = `/api/${PLURAL[entity]}/${rec.id}`;
  if (entity === "project" && rng.chance(0.1)) {
    const res = await fz.request("POST", `${path}/archive`, d.token);
    if (res.status !== 200 || res.body.archived !== true) fail(fz.seed, `archive: ${res.status} ${JSON.stringify(res.body)}`);
    fz.count("rest archive");
    return;
  }
  if (rng.chance(entity === "project" ? 0.04 : 0.1)) {
    const res = await fz.request("DELETE", path, d.token, undefined, { "if-match": `"${rec.version}"` });
    if (res.status !== 204) fail(fz.seed, `REST delete: ${res.status} ${JSON.stringify(res.body)}`);
    fz.count("rest delete");
    return;
  }
  const data =
    entity === "task"
      ? taskEdit(rng, rec, [], users).project_id !== undefined
        ? { priority: rng.pick(PRIORITIES) }
        : taskEdit(rng, rec, [], users)
      : entity === "project"
        ? projectEdit(rng, rec)
        : { body: editText(rng, String(rec.body)) };
  const stale = rng.chance(0.3) && (rec.version as number) > 1;
  const version = stale ? (rec.version as number) - 1 : (rec.version as number);
  const inBody = rng.chance(0.3);
  const res = inBody ? await fz.request("PATCH", path, d.token, { ...data, version }) : await fz.request("PATCH", path, d.token, data, { "if-match": `"${version}"` });
  if (stale) {
    if (res.status !== (inBody ? 409 : 412) || res.body.error.details?.current?.version !== rec.version) fail(fz.seed, `stale version on ${path}: ${res.status} ${JSON.stringify(res.body)}`);
    fz.count("rest 412");
    return;
  }
  if (res.status !== 200) fail(fz.seed, `PATCH ${path} ${JSON.stringify(data)}: ${res.status} ${JSON.stringify(res.body)}`);
  if (res.headers.get("etag") !== `"${res.body.version}"`) fail(fz.seed, `PATCH ${path}: ETag ${res.headers.get("etag")} for version ${res.body.version}`);
  const changed = Object.entries(data).some(([f, v]) => !same(normalized(f, rec[f]), normalized(f, v)));
  if (changed && (res.body.version !== (rec.version as number) + 1 || compareClocks(rec.vector_clock as VectorClock, res.body.vector_clock) !== "BEFORE")) {
    fail(fz.seed, `PATCH ${path}: version ${rec.version} → ${res.body.version}, clock ${JSON.stringify(rec.vector_clock)} → ${JSON.stringify(res.body.vector_clock)}`);
  }
  fz.count("rest patch");
}

/** Resolves one open conflict (as `d`'s user, or the author's for a comment); false when none is open. */
async function resolveOne(fz: Fuzz, rng: Rng, d: Device, devices: Device[]): Promise<boolean> {
  const list = await fz.request("GET", "/api/sync/conflicts?page_size=500", d.token);
  if (list.status !== 200) fail(fz.seed, `conflicts: ${list.status}`);
  const open = list.body.results as Json[];
  if (open.length === 0) return false;
  const c = rng.pick(open);
  const shown = await fz.request("GET", `/api/sync/conflicts/${c.id}`, d.token);
  if (shown.status !== 200 || !same(shown.body, c)) fail(fz.seed, `conflict ${c.id}: ${shown.status} ${JSON.stringify(shown.body)} listed as ${JSON.stringify(c)}`);
  let resolution = rng.pick(["local", "remote", "custom"] as const);
  let body: Json = { resolution };
  if (resolution === "custom") {
    const local = (c.local ?? {}) as Json;
    const remote = (c.remote ?? {}) as Json;
    const writable = WRITABLE[c.entity as Entity];
    const fields = (c.fields as string[]).filter((f) => writable.includes(f) && f in local && f in remote);
    if (fields.length === 0) body = { resolution: (resolution = "remote") };
    else body.data = Object.fromEntries(fields.map((f) => [f, rng.chance(0.5) ? local[f] : remote[f]]));
  }
  let resolver = d;
  if (c.entity === "comment") {
    const author = (c.remote as Json)?.author_id ?? null;
    const current = await fz.request("GET", `/api/comments/${c.entity_id}?include_deleted=true`, d.token);
    const known = devices.map((x) => x.replica.get(key("comment", String(c.entity_id)))?.server?.record.author_id).find((x) => x !== undefined);
    const authorId = current.status === 200 ? current.body.author_id : (known ?? author);
    resolver = devices.find((x) => x.userId === authorId) ?? d;
  }
  let res = await fz.request("POST", `/api/sync/conflicts/${c.id}/resolve`, resolver.token, body);
  if (res.status === 409 && res.body.error.code === "version_conflict" && resolution === "local") fz.count("resolve local refused (409)");
  else if (res.status === 422 && resolution !== "remote") fz.count(`resolve ${resolution} refused (422)`);
  else if (res.status === 403 && c.entity === "comment") {
    fz.count("resolve comment refused (403)");
    if (process.env.FUZZ_DEBUG) console.log("403", resolver.name, resolver.userId, JSON.stringify(c), JSON.stringify(res.body));
  }
  if (res.status !== 200 && res.status !== 403) res = await fz.request("POST", `/api/sync/conflicts/${c.id}/resolve`, resolver.token, { resolution: (resolution = "remote") });
  if (res.status === 403 && c.entity === "comment") {
    const admin = devices.find((x) => x.admin)!;
    res = await fz.request("POST", `/api/sync/conflicts/${c.id}/resolve`, admin.token, { resolution: (resolution = "remote") });
  }
  if (res.status !== 200) fail(fz.seed, `resolving ${JSON.stringify(c)} with ${resolution}: ${res.status} ${JSON.stringify(res.body)}`);
  // The resolution writes the chosen side's values of the conflict's fields (its deletion state too).
  const chosen: Json = resolution === "custom" ? (body.data as Json) : resolution === "local" ? ((c.local ?? {}) as Json) : {};
  const got = res.body as Json;
  for (const f of resolution === "custom" ? Object.keys(chosen) : (c.fields as string[])) {
    if (!(f in chosen)) continue;
    const ok = f === "deleted_at" ? (chosen[f] == null) === (got.deleted_at == null) : same(normalized(f, got[f]), normalized(f, chosen[f]));
    if (!ok) fail(fz.seed, `resolving ${JSON.stringify(c)} with ${JSON.stringify(body)}: ${f} is ${JSON.stringify(got[f])}: ${JSON.stringify(got)}`);
  }
  if (resolution === "custom" && (c.fields as string[]).includes("deleted_at") && got.deleted_at != null) fail(fz.seed, `custom resolution of ${JSON.stringify(c)} left the record deleted`);
  fz.count(`resolved ${resolution}`);
  const again = await fz.request("POST", `/api/sync/conflicts/${c.id}/resolve`, d.token, { resolution: "remote" });
  if (again.status !== 409) fail(fz.seed, `resolving ${c.id} twice: ${again.status} ${JSON.stringify(again.body)}`);
  return true;
}

async function makeDevices(fz: Fuzz, rng: Rng): Promise<{ devices: Device[]; users: string[] }> {
  const t = fz.t;
  const admin = await t.createUser({ role: "admin", device: "a1" });
  const slug = admin.org.slug;
  const member = await t.createUser({ org: slug, device: "b1" });
  const third = await t.createUser({ org: slug, device: "c1" });
  const second = await t.services.devices.create({ userId: admin.user.id, orgId: admin.org.id }, { name: "a2" });
  const secondToken = await t.tokenFor(admin.user, second.id);
  const devices = [
    new Device(fz, "a1", admin.deviceId!, admin.user.id, true, admin.token, rng),
    new Device(fz, "a2", second.id, admin.user.id, true, secondToken, rng),
    new Device(fz, "b1", member.deviceId!, member.user.id, false, member.token, rng),
    new Device(fz, "c1", third.deviceId!, third.user.id, false, third.token, rng),
  ];
  devices[0].sibling = devices[1];
  devices[1].sibling = devices[0];
  return { devices, users: [admin.user.id, member.user.id, third.user.id] };
}

async function quiesce(fz: Fuzz, devices: Device[]): Promise<void> {
  for (let round = 0; devices.some((d) => d.pending.length > 0); round++) {
    if (round > 10) fail(fz.seed, "devices never became quiescent");
    for (const d of devices) await d.push();
    for (const d of devices) await d.pull(3);
  }
  for (const d of devices) await d.pull(2);
}

async function serverRecords(fz: Fuzz, d: Device): Promise<Map<string, Json>> {
  const out = new Map<string, Json>();
  for (const entity of ENTITY_KINDS) {
    const res = await fz.request("GET", `/api/${PLURAL[entity]}?page_size=500&include_deleted=true`, d.token);
    if (res.status !== 200 || res.body.next !== null) fail(fz.seed, `list ${entity}: ${res.status}`);
    for (const r of res.body.results as Json[]) out.set(key(entity, String(r.id)), r);
  }
  return out;
}

async function finalChecks(fz: Fuzz, devices: Device[]): Promise<void> {
  const server = await serverRecords(fz, devices[0]);
  for (const d of devices) {
    const diffs: string[] = [];
    for (const [k, rec] of server) {
      const mine = d.replica.get(k)?.server;
      if (!mine) {
        // A snapshot leaves tombstones out: a device that started over may never have seen one.
        if (rec.deleted_at != null && d.resets > 0) continue;
        diffs.push(`${k} v${rec.version}${rec.deleted_at != null ? " (deleted)" : ""} never reached ${d.name}`);
        continue;
      }
      if (mine.version !== rec.version) diffs.push(`${k}: server v${rec.version}, ${d.name} v${mine.version}`);
      for (const f of new Set([...Object.keys(rec), ...Object.keys(mine.record)])) {
        if (!same(rec[f], mine.record[f])) diffs.push(`${k}.${f}: server ${JSON.stringify(rec[f])}, ${d.name} ${JSON.stringify(mine.record[f])}`);
      }
      const view = d.replica.get(k)!;
      if (!same(view.fields, pickFields(k.split(":")[0] as Entity, rec)) || view.deleted !== (rec.deleted_at != null)) diffs.push(`${k}: ${d.name}'s user view differs`);
    }
    for (const k of d.replica.keys()) if (!server.has(k)) diffs.push(`${k} on ${d.name}, not on the server`);
    if (diffs.length > 0) fail(fz.seed, `${d.name} diverges:\n${diffs.slice(0, 20).join("\n")}`);
  }
  // Caught up: one more pull from each cursor brings nothing (nothing is delivered twice).
  for (const d of devices) {
    const res = await fz.request("GET", `/api/sync/pull?device_id=${d.deviceId}&cursor=${d.cursor}&limit=1`, d.token);
    if (res.status !== 200 || res.body.changes.length !== 0 || res.body.has_more !== false) fail(fz.seed, `${d.name} caught up, yet its next pull answers ${JSON.stringify(res.body)}`);
  }
  const open = await fz.request("GET", "/api/sync/conflicts", devices[0].token);
  if (open.body.count !== 0) fail(fz.seed, `${open.body.count} conflicts still open`);

  // Task history: one entry per version; each applied change is its version's entry, by its device.
  const applied = new Map<string, Answer>();
  for (const a of fz.answers.values()) if (a.result.status === "applied" && a.change.entity === "task") applied.set(`${a.change.entity_id}@${a.result.version}`, a);
  for (const [k, rec] of server) {
    if (!k.startsWith("task:")) continue;
    const res = await fz.request("GET", `/api/tasks/${rec.id}/history?page_size=500`, devices[0].token);
    if (res.status !== 200) fail(fz.seed, `history of ${k}: ${res.status}`);
    const entries = (res.body.results ?? res.body) as Json[];
    const versions = entries.map((e) => e.version as number).sort((a, b) => a - b);
    if (!same(versions, Array.from({ length: rec.version as number }, (_, i) => i + 1))) fail(fz.seed, `history of ${k} has versions ${versions} for v${rec.version}`);
    // The state at each version, rebuilt from the history's changes; every merge against it follows the contract's rules.
    const states: Json[] = [];
    let state: Json = {};
    for (const e of [...entries].sort((a, b) => (a.version as number) - (b.version as number))) {
      state = { ...state };
      for (const [f, ch] of Object.entries(e.changes as Record<string, { new: unknown }>)) state[f] = ch.new;
      states[e.version as number] = state;
    }
    const taskFields = WRITABLE.task;
    if (!same(pickFields("task", states[rec.version as number] ?? {}), pickFields("task", rec))) {
      fail(fz.seed, `${k}: history rebuilds ${JSON.stringify(states[rec.version as number])}, the record is ${JSON.stringify(rec)}`);
    }
    for (const a of fz.answers.values()) {
      const { change: c, result: r } = a;
      if ((r.status !== "merged" && r.status !== "conflict") || c.entity_id !== rec.id || c.op !== "update" || !fz.bases.has(`${a.device}/${c.change_id}`)) continue;
      const base = states[c.base_version!];
      const remote = states[r.version! - 1];
      const got = r.record as Json;
      if (!base || !remote || remote.deleted_at != null || got.deleted_at != null) continue;
      const expected: Json = { ...pickFields("task", remote) };
      const kept = new Set<string>();
      if (r.status === "conflict") {
        const shown = (await fz.request("GET", `/api/sync/conflicts/${r.conflict_id}?include_resolved=true`, devices[0].token)).body as Json;
        for (const f of shown.fields as string[]) kept.add(f); // the server keeps its value
        // The Conflict's sides: local what was pushed, remote the record before the push, base the record at base_version.
        const side = (x: Json, fields: string[]) => Object.fromEntries(fields.filter((f) => f in x).map((f) => [f, normalized(f, x[f])]));
        const fields = [...taskFields, "deleted_at"];
        const problems = [
          !same(side(shown.local as Json, Object.keys(c.data ?? {})), side(c.data ?? {}, Object.keys(c.data ?? {}))) && "local",
          !same(side(shown.remote as Json, fields), side({ deleted_at: null, ...remote }, fields)) && "remote",
          !same(side(shown.base as Json, fields), side({ deleted_at: null, ...base }, fields)) && "base",
        ].filter(Boolean);
        if (problems.length > 0) fail(fz.seed, `${k}: conflict ${JSON.stringify(shown)} of ${JSON.stringify(c)}: ${problems} differ from base ${JSON.stringify(base)} remote ${JSON.stringify(remote)}`);
      }
      const unsure = new Set<string>();
      const conflicting: string[] = [];
      for (const [f, v] of Object.entries(c.data ?? {})) {
        const l = normalized(f, v);
        const rv = normalized(f, remote[f]);
        const b = normalized(f, base[f]);
        if (same(l, rv) || same(l, b) || kept.has(f)) continue;
        if (same(rv, b)) expected[f] = l;
        else if (f === "priority") expected[f] = PRIORITIES.indexOf(l as string) >= PRIORITIES.indexOf(rv as string) ? l : rv;
        else if (f === "status") expected[f] = STATUS_RANK.indexOf(l as string) >= STATUS_RANK.indexOf(rv as string) ? l : rv;
        else if (f === "tags") {
          const [bs, ls, rs] = [b, l, rv] as string[][];
          expected[f] = [...new Set([...bs, ...ls, ...rs])].filter((x) => (bs.includes(x) ? ls.includes(x) && rs.includes(x) : ls.includes(x) || rs.includes(x))).sort();
        } else if (f === "due_date" && l !== null && rv !== null) expected[f] = Date.parse(l as string) <= Date.parse(rv as string) ? l : rv;
        else if (f === "title" || f === "description") unsure.add(f);
        else conflicting.push(f);
      }
      const diffs = taskFields.filter((f) => !unsure.has(f) && !same(normalized(f, got[f]), normalized(f, expected[f])));
      if (diffs.length > 0 || (conflicting.length > 0 && r.status !== "conflict")) {
        fail(fz.seed, `${k}: ${r.status} change ${JSON.stringify(c)} on base v${c.base_version} ${JSON.stringify(base)} and remote v${r.version! - 1} ${JSON.stringify(remote)}: fields ${diffs} differ from ${JSON.stringify(expected)}; expected conflicts ${conflicting}; got ${JSON.stringify(got)}`);
      }
    }
    // A merge takes every field only the device changed since its base from the device.
    for (const a of fz.answers.values()) {
      const { change: c, result: r } = a;
      const base = fz.bases.get(`${a.device}/${c.change_id}`);
      if (r.status !== "merged" || c.entity_id !== rec.id || c.op !== "update" || !base || (r.record as Json).deleted_at != null) continue;
      for (const [f, v] of Object.entries(c.data ?? {})) {
        if (same(normalized(f, v), normalized(f, base[f]))) continue;
        const others = entries.some((e) => (e.version as number) > c.base_version! && (e.version as number) < r.version! && f in (e.changes as Json));
        if (!others && !same(normalized(f, (r.record as Json)[f]), normalized(f, v))) {
          fail(fz.seed, `${k}: merged change ${JSON.stringify(c)} lost ${f} though no other write changed it since v${c.base_version}: ${JSON.stringify(r)}`);
        }
      }
    }
    const ACTION = { create: "created", update: "updated", delete: "deleted" } as const;
    for (const e of entries) {
      const a = applied.get(`${rec.id}@${e.version}`);
      if (!a) continue;
      if (e.device_id !== a.device || !same(e.vector_clock, a.result.vector_clock) || e.action !== ACTION[a.change.op]) {
        fail(fz.seed, `history of ${k} v${e.version}: ${JSON.stringify(e)} for applied ${JSON.stringify(a)}`);
      }
    }
    for (const a of fz.answers.values()) {
      if (a.change.entity_id !== rec.id || a.result.status !== "merged") continue;
      const e = entries.find((x) => x.version === a.result.version);
      if (!e || e.action !== "merged" || e.device_id !== a.device || !same(e.vector_clock, a.result.vector_clock)) {
        fail(fz.seed, `history of ${k} v${a.result.version}: ${JSON.stringify(e)} for merged ${JSON.stringify(a)}`);
      }
    }
  }
}

async function run(t: TestApp, seed: number): Promise<Record<string, number>> {
  const rng = new Rng(seed);
  const fz = new Fuzz(seed, t);
  const { devices, users } = await makeDevices(fz, rng);
  for (const d of devices) await d.pull(rng.chance(0.5) ? 2 : undefined);
  // One device goes offline for most of the run, then pushes its whole stale queue at once.
  const traveller = rng.pick(devices);
  traveller.offline = true;
  const back = Math.floor(STEPS * 0.7);
  for (let step = 0; step < STEPS; step++) {
    if (step === back) {
      traveller.offline = false;
      fz.count("traveller queue " + (traveller.pending.length > 20 ? ">20" : "<=20"));
      await traveller.push();
      await traveller.pull(2);
    }
    const d = rng.pick(devices);
    const roll = rng.next();
    const sync = (x: Device) =>
      rng.chance(0.5)
        ? x.push({ lose: rng.chance(0.2), max: rng.chance(0.3) ? 1 + rng.int(3) : undefined, retryAtOnce: rng.chance(0.1), twiceAtOnce: rng.chance(0.1) })
        : x.pull(rng.chance(0.7) ? 1 + rng.int(3) : undefined);
    if (roll < 0.03) {
      if (d.offline || d.pending.length > 0) continue;
      // The device starts over: a snapshot in small pages while the others sync.
      fz.count("resets");
      d.reset();
      await Promise.all([d.pull(1 + rng.int(3)), ...devices.filter((x) => x !== d && !x.offline && rng.chance(0.6)).map((x) => sync(x))]);
    } else if (roll < 0.5) localEdit(rng, d, users);
    else if (roll < 0.75) {
      if (!d.offline) await sync(d);
    } else if (roll < 0.85) {
      // Several devices sync at once (pushes racing pulls).
      fz.count("parallel syncs");
      // Now and then a device pulls while its own push is in flight.
      await Promise.all(devices.filter((x) => !x.offline && rng.chance(0.7)).flatMap((x) => (rng.chance(0.2) ? [x.push(), x.pull(1 + rng.int(3))] : [sync(x)])));
    } else if (roll < 0.93) {
      if (!d.offline) await restAction(fz, rng, d, users);
    } else if (!d.offline) await resolveOne(fz, rng, d, devices);
  }
  traveller.offline = false;
  await quiesce(fz, devices);
  for (let i = 0; i < 200 && (await resolveOne(fz, rng, rng.pick(devices), devices)); i++);
  await quiesce(fz, devices);
  await finalChecks(fz, devices);
  for (const { change, result } of fz.answers.values()) {
    if (result.status !== "applied" && result.status !== "merged") continue;
    fz.count(written(change.entity, change.op));
    for (const field of Object.keys(change.data ?? {})) fz.count(carried(change.entity, field));
  }
  if (process.env.FUZZ_DEBUG) console.log(seed, JSON.stringify(fz.stats));
  return fz.stats;
}

/** The stats key counting a run's pushed changes of one kind and op that were applied or merged. */
const written = (entity: Entity, op: PushChange["op"]) => `written ${entity} ${op}`;
/** The stats key counting a run's pushed creates and updates (applied or merged) that carried one field of a kind. */
const carried = (entity: Entity, field: string) => `set ${entity}.${field}`;

forEachDialect("sync fuzz: devices of several users, every entity, REST and conflicts interleaved", ({ db }) => {
  /** Each seed's run, made once: by its own test, or by the coverage check when that runs first or alone (`-t`). */
  const runs = new Map<number, Promise<Record<string, number>>>();
  const runOf = (seed: number): Promise<Record<string, number>> => {
    let r = runs.get(seed);
    if (!r) runs.set(seed, (r = createTestApp(db()).then((t) => run(t, seed))));
    return r;
  };

  describe("seeded runs", () => {
    for (const seed of SEEDS) {
      test(`seed ${seed}`, async () => {
        const stats = await runOf(seed);
        expect(stats.applied).toBeGreaterThan(0);
      }, RUN_TIMEOUT_MS);
    }

    /** Run on the default seeds and steps only: a seed or a short run of one's own may well delete no project. */
    test.if(process.env.FUZZ_SEEDS === undefined && process.env.FUZZ_STEPS === undefined)("the runs' pushes create, update and delete records of every entity kind", async () => {
      const totals: Record<string, number> = {};
      for (const seed of SEEDS) for (const [k, n] of Object.entries(await runOf(seed))) totals[k] = (totals[k] ?? 0) + n;
      const missing = ENTITY_KINDS.flatMap((kind) => (["create", "update", "delete"] as const).map((op) => written(kind, op)).filter((k) => !totals[k]));
      expect(missing).toEqual([]);
    }, RUN_TIMEOUT_MS * SEEDS.length);

    /** A field the runs never push escapes the fuzz (its merge expectations above included): `taskEdit`, `localEdit`… generate each one. */
    test.if(process.env.FUZZ_SEEDS === undefined && process.env.FUZZ_STEPS === undefined)("the runs' pushes set every writable field of every entity kind", async () => {
      const totals: Record<string, number> = {};
      for (const seed of SEEDS) for (const [k, n] of Object.entries(await runOf(seed))) totals[k] = (totals[k] ?? 0) + n;
      expect(ENTITY_KINDS.flatMap((kind) => WRITABLE[kind].map((f) => carried(kind, f))).filter((k) => !totals[k])).toEqual([]);
    }, RUN_TIMEOUT_MS * SEEDS.length);
  });
});
