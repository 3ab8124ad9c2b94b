/**
 * A simulated offline-first client for sync tests: one device with a local replica of the
 * organization's records, a queue of pending changes, and a pull cursor, speaking only the HTTP
 * sync API (`POST /api/sync/push`, `GET /api/sync/pull`, conflicts) as a careful client would:
 *
 * - Every local edit increments the device's own counter and sets it in the record's clock;
 *   no other key is ever raised (so nothing it sends may be `rejected`).
 * - An edit is queued as its own change (fresh `change_id`) and never rewritten afterwards:
 *   a change whose answer was lost is re-sent byte for byte, so the server must answer `duplicate`.
 * - The replica keeps, per record, the last server state the device knows (from push answers and
 *   pulls; server versions only move forward, so an older answer — e.g. a duplicate's original
 *   result — never replaces a newer state) and shows the user that state with the pending
 *   changes re-applied on top.
 */
import { mergeClocks, type VectorClock } from "../../src/records/clock";
import { ENTITY_KINDS, type EntityKind, writableFields } from "../../src/records/model";
import type { ChangeResult, PulledChange, PullResponse } from "../../src/sync/model";
import type { TestResponse } from "./app";

/** A synced entity kind (the server's list: a new kind is one here too). */
export type Entity = EntityKind;
export type Json = Record<string, unknown>;
type Request = (method: string, path: string, opts?: { token?: string; body?: unknown }) => Promise<TestResponse>;

/** A change as pushed (the contract's shape); never modified once queued. */
export interface PushChange {
  change_id: string;
  entity: Entity;
  entity_id: string;
  op: "create" | "update" | "delete";
  data?: Json;
  base_version?: number;
  vector_clock: VectorClock;
}


/** The last server state of a record the device knows. */
export interface ServerState {
  record: Json;
  version: number;
  clock: VectorClock;
  deleted: boolean;
}

interface ReplicaEntry {
  entity: Entity;
  id: string;
  server: ServerState | null;
  /** What the user sees: the server state with the pending changes re-applied. */
  fields: Json;
  clock: VectorClock;
  deleted: boolean;
}

/** Writable fields of each entity: the part of a record a device edits (the server's own list). */
export const WRITABLE: Readonly<Record<Entity, readonly string[]>> = Object.fromEntries(ENTITY_KINDS.map((kind) => [kind, writableFields(kind)])) as Record<Entity, string[]>;

const key = (entity: Entity, id: string) => `${entity}:${id}`;

/** Something the server did that the contract forbids, with enough context to reproduce it. */
export class ContractViolation extends Error {}

export class SimDevice {
  private counter = 0;
  private cursor: string | null = null;
  private readonly replica = new Map<string, ReplicaEntry>();
  /** Changes not yet acknowledged, in the order they were made. */
  readonly pending: PushChange[] = [];
  /** Every push result received (for statistics). */
  readonly statuses: Record<string, number> = {};
  /** Change ids whose push answer was lost at least once. */
  readonly lostChangeIds = new Set<string>();

  constructor(
    readonly name: string,
    readonly deviceId: string,
    readonly token: string,
    private readonly request: Request,
    /** Makes record ids and change ids (seeded in simulations, so a seed replays the same run). */
    private readonly newId: () => string = () => crypto.randomUUID(),
  ) {}

  // ---- local edits ----------------------------------------------------------

  /** Creates a record locally (with a client-chosen id) and queues its `create`. */
  create(entity: Entity, fields: Json, id: string = this.newId()): string {
    const clock = { [this.deviceId]: ++this.counter };
    this.replica.set(key(entity, id), { entity, id, server: null, fields: { ...fields }, clock, deleted: false });
    this.queue({ entity, entity_id: id, op: "create", data: { ...fields }, vector_clock: clock });
    return id;
  }

  /** Changes some fields of a live local record and queues the `update` (only the changed fields). */
  update(entity: Entity, id: string, data: Json): void {
    const entry = this.mustGet(entity, id);
    if (entry.deleted) throw new Error(`${this.name}: update of deleted ${entity} ${id}`);
    entry.fields = { ...entry.fields, ...structuredClone(data) };
    entry.clock = { ...entry.clock, [this.deviceId]: ++this.counter };
    this.queue({ entity, entity_id: id, op: "update", data: structuredClone(data), base_version: entry.server?.version ?? 1, vector_clock: entry.clock });
  }

  /** Deletes a live local record and queues the `delete`. */
  remove(entity: Entity, id: string): void {
    const entry = this.mustGet(entity, id);
    entry.deleted = true;
    entry.clock = { ...entry.clock, [this.deviceId]: ++this.counter };
    this.queue({ entity, entity_id: id, op: "delete", base_version: entry.server?.version ?? 1, vector_clock: entry.clock });
  }

  /** Live records as the user sees them (id → fields). */
  live(entity: Entity): { id: string; fields: Json }[] {
    return [...this.replica.values()].filter((e) => e.entity === entity && !e.deleted).map((e) => ({ id: e.id, fields: e.fields }));
  }

  /** The known server state of every record that is live on the server (entity:id → record). */
  serverView(): Map<string, Json> {
    const out = new Map<string, Json>();
    for (const e of this.replica.values()) if (e.server && !e.server.deleted) out.set(key(e.entity, e.id), e.server.record);
    return out;
  }

  /** All known server states, tombstones included. */
  knownStates(): Map<string, ServerState> {
    const out = new Map<string, ServerState>();
    for (const e of this.replica.values()) if (e.server) out.set(key(e.entity, e.id), e.server);
    return out;
  }

  // ---- sync -------------------------------------------------------------------

  /**
   * Pushes the pending changes (at most `max`, oldest first). With `lose`, the server processes
   * the request but the device never sees the answer: the changes stay queued and are re-sent later.
   */
  async push(opts: { lose?: boolean; max?: number } = {}): Promise<ChangeResult[]> {
    const batch = this.pending.slice(0, opts.max ?? this.pending.length);
    if (batch.length === 0) return [];
    const res = await this.request("POST", "/api/sync/push", { token: this.token, body: { device_id: this.deviceId, changes: batch } });
    if (res.status !== 200) throw new ContractViolation(`${this.name}: push answered ${res.status} ${JSON.stringify(res.body)}`);
    const results = (res.body as { results: ChangeResult[] }).results;
    if (!Array.isArray(results) || results.length !== batch.length) {
      throw new ContractViolation(`${this.name}: push of ${batch.length} changes answered ${JSON.stringify(res.body)}`);
    }
    if (opts.lose) {
      for (const c of batch) this.lostChangeIds.add(c.change_id);
      return results;
    }
    const touched = new Set<string>();
    batch.forEach((change, i) => {
      const r = results[i];
      this.statuses[r.status] = (this.statuses[r.status] ?? 0) + 1;
      if (r.change_id !== change.change_id || r.entity !== change.entity || r.entity_id !== change.entity_id) {
        throw new ContractViolation(`${this.name}: result ${i} ${JSON.stringify(r)} does not answer change ${JSON.stringify(change)}`);
      }
      if (this.lostChangeIds.has(change.change_id) !== (r.status === "duplicate")) {
        const why = this.lostChangeIds.has(change.change_id) ? "was applied before (answer lost) but is not a duplicate" : "was never sent before but is a duplicate";
        throw new ContractViolation(`${this.name}: change ${JSON.stringify(change)} ${why}: ${JSON.stringify(r)}`);
      }
      if (r.status === "rejected") {
        throw new ContractViolation(`${this.name}: honest change rejected: ${JSON.stringify(change)} → ${JSON.stringify(r)}`);
      }
      if (typeof r.version !== "number" || !r.record || !r.vector_clock) {
        throw new ContractViolation(`${this.name}: result without version/record/clock: ${JSON.stringify(r)}`);
      }
      this.adopt(change.entity, change.entity_id, { record: r.record, version: r.version, clock: r.vector_clock, deleted: r.record.deleted_at != null });
      touched.add(key(change.entity, change.entity_id));
    });
    this.pending.splice(0, batch.length);
    for (const k of touched) this.rebuild(k);
    return results;
  }

  /** Pulls from the cursor until `has_more` is false (pages of `limit`), applying every record to the replica. */
  async pull(limit?: number): Promise<number> {
    let received = 0;
    for (let pages = 0; ; pages++) {
      if (pages > 10_000) throw new ContractViolation(`${this.name}: pull never ends (has_more stays true)`);
      const q = new URLSearchParams({ device_id: this.deviceId });
      if (this.cursor !== null) q.set("cursor", this.cursor);
      if (limit !== undefined) q.set("limit", String(limit));
      const res = await this.request("GET", `/api/sync/pull?${q}`, { token: this.token });
      if (res.status !== 200) throw new ContractViolation(`${this.name}: pull answered ${res.status} ${JSON.stringify(res.body)}`);
      const page = res.body as PullResponse;
      for (const c of page.changes) {
        const known = this.replica.get(key(c.entity, c.entity_id))?.server;
        if (known && c.version < known.version) {
          throw new ContractViolation(`${this.name}: pull sent ${c.entity} ${c.entity_id} v${c.version} after the device knew v${known.version}`);
        }
        this.adopt(c.entity, c.entity_id, { record: c.record, version: c.version, clock: c.vector_clock, deleted: c.op === "delete" });
        this.rebuild(key(c.entity, c.entity_id));
        received++;
      }
      this.cursor = page.cursor;
      if (!page.has_more) return received;
    }
  }

  /** A full snapshot (pull without cursor), as entity:id → record; does not touch this device's state. */
  async snapshot(): Promise<Map<string, Json>> {
    const out = new Map<string, Json>();
    let cursor: string | null = null;
    for (;;) {
      const q = new URLSearchParams({ device_id: this.deviceId, limit: "5000" });
      if (cursor !== null) q.set("cursor", cursor);
      const res = await this.request("GET", `/api/sync/pull?${q}`, { token: this.token });
      if (res.status !== 200) throw new ContractViolation(`${this.name}: snapshot answered ${res.status} ${JSON.stringify(res.body)}`);
      for (const c of res.body.changes as PulledChange[]) {
        // Pages after the snapshot continue incrementally and may carry deletions.
        if (c.op === "delete") out.delete(key(c.entity, c.entity_id));
        else out.set(key(c.entity, c.entity_id), c.record);
      }
      if (!res.body.has_more) return out;
      cursor = res.body.cursor;
    }
  }

  /**
   * Resolves one open conflict of the organization (chosen by `pick`), as this device's user. A
   * `local` refused because a later write changed a conflicting field (409 `version_conflict`, checked
   * here) is resolved `remote` instead.
   */
  async resolveConflict(
    pick: <T>(items: T[]) => T,
    resolution: "local" | "remote" | "custom",
    /** For `custom`: the value of one conflicting field, given the conflict's local and remote values. */
    choose: (field: string, local: unknown, remote: unknown) => unknown = (_f, local) => local,
    /** A refusal the caller expects (checked by it: e.g. a 422 for a reference to a record deleted since), then resolved `remote` instead. */
    expectedRefusal: (conflict: Json, sent: Json, answer: TestResponse) => Promise<boolean> = async () => false,
  ): Promise<Json | null> {
    const list = await this.request("GET", "/api/sync/conflicts", { token: this.token });
    if (list.status !== 200) throw new ContractViolation(`${this.name}: GET /api/sync/conflicts answered ${list.status} ${JSON.stringify(list.body)}`);
    const open = (list.body.results ?? list.body) as Json[];
    if (!Array.isArray(open) || open.length === 0) return null;
    const conflict = pick(open);
    const body: Json = { resolution };
    if (resolution === "custom") {
      const local = (conflict.local ?? {}) as Json;
      const remote = (conflict.remote ?? {}) as Json;
      const writable = WRITABLE[conflict.entity as Entity] ?? [];
      // A conflict only about the deletion has no field to choose: a custom resolution then brings the record back with the local side's values.
      const about = ((conflict.fields ?? []) as string[]).filter((f) => writable.includes(f));
      const fields = (about.length > 0 ? about : Object.keys(local).filter((f) => writable.includes(f))).filter((f) => f in local && f in remote);
      // A pushed delete's side has no field at all (`local` is `{deleted_at}`): custom data then comes from the other side
      // (a custom resolution needs at least one field).
      const data = fields.length > 0 ? fields.map((f) => [f, choose(f, local[f], remote[f])]) : Object.keys(remote).filter((f) => writable.includes(f)).map((f) => [f, remote[f]]);
      if (data.length > 0) body.data = Object.fromEntries(data);
      else body.resolution = resolution = "local";
    }
    let res = await this.request("POST", `/api/sync/conflicts/${conflict.id}/resolve`, { token: this.token, body });
    if (resolution === "local" && res.status === 409 && res.body?.error?.code === "version_conflict") {
      // A later write changed a conflicting field: `local` would undo it unseen, so it is refused. Only then:
      // the fields named must really differ from what the conflict showed, and `remote` (keep them) must work.
      const { fields, current } = res.body.error.details as { fields: string[]; current: Json };
      const remote = (conflict.remote ?? {}) as Json;
      // Right after a conflict about the deletion the record was deleted at `remote`'s time (or `local`'s, a delete that won):
      // live since, or deleted again later (brought back by another resolution, then deleted), its `deleted_at` changed.
      const deletedAt = remote.deleted_at ?? (conflict.local as Json | undefined)?.deleted_at ?? null;
      const changed = (f: string) => (f === "deleted_at" ? current.deleted_at == null || current.deleted_at !== deletedAt : JSON.stringify(current[f]) !== JSON.stringify(remote[f]));
      if (fields.length === 0 || !fields.every(changed)) {
        throw new ContractViolation(`${this.name}: local resolution of ${JSON.stringify(conflict)} refused for fields that did not change: ${JSON.stringify(res.body)}`);
      }
      res = await this.request("POST", `/api/sync/conflicts/${conflict.id}/resolve`, { token: this.token, body: { resolution: "remote" } });
    } else if (res.status !== 200 && resolution !== "remote" && (await expectedRefusal(conflict, body, res))) {
      res = await this.request("POST", `/api/sync/conflicts/${conflict.id}/resolve`, { token: this.token, body: { resolution: "remote" } });
    }
    if (res.status !== 200) {
      throw new ContractViolation(`${this.name}: resolving conflict ${JSON.stringify(conflict)} with ${JSON.stringify(body)} answered ${res.status} ${JSON.stringify(res.body)}`);
    }
    const record = res.body as Json;
    const entity = conflict.entity as Entity;
    if (typeof record.version === "number" && record.vector_clock) {
      this.adopt(entity, String(conflict.entity_id), {
        record,
        version: record.version,
        clock: record.vector_clock as VectorClock,
        deleted: record.deleted_at != null,
      });
      this.rebuild(key(entity, String(conflict.entity_id)));
    }
    return record;
  }

  // ---- internals ----------------------------------------------------------------

  private queue(change: Omit<PushChange, "change_id">): void {
    this.pending.push({ change_id: this.newId(), ...change });
  }

  private mustGet(entity: Entity, id: string): ReplicaEntry {
    const entry = this.replica.get(key(entity, id));
    if (!entry) throw new Error(`${this.name}: no local ${entity} ${id}`);
    return entry;
  }

  /** Takes a server state unless the device already knows a newer version (versions only grow). */
  private adopt(entity: Entity, id: string, state: ServerState): void {
    let entry = this.replica.get(key(entity, id));
    if (!entry) {
      entry = { entity, id, server: null, fields: {}, clock: {}, deleted: false };
      this.replica.set(key(entity, id), entry);
    }
    if (entry.server && state.version < entry.server.version) return;
    entry.server = structuredClone(state);
  }

  /** The user's view of a record: its server state with the still-pending changes re-applied. */
  private rebuild(k: string): void {
    const entry = this.replica.get(k)!;
    const server = entry.server;
    let fields: Json = server ? pickFields(entry.entity, server.record) : {};
    let clock: VectorClock = server ? server.clock : {};
    let deleted = server?.deleted ?? false;
    for (const c of this.pending) {
      if (key(c.entity, c.entity_id) !== k) continue;
      if (c.op === "delete") deleted = true;
      else fields = { ...fields, ...structuredClone(c.data ?? {}) };
      clock = mergeClocks(clock, c.vector_clock);
    }
    entry.fields = fields;
    entry.clock = clock;
    entry.deleted = deleted;
  }
}

/** The writable fields of a server record. */
export function pickFields(entity: Entity, record: Json): Json {
  return Object.fromEntries(WRITABLE[entity].filter((f) => f in record).map((f) => [f, structuredClone(record[f])]));
}

/** A small seeded PRNG (mulberry32) with the helpers a simulation needs. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** A float in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error("pick from an empty list");
    return items[this.int(items.length)];
  }
  /** A random (version 4 shaped) UUID drawn from this generator. */
  uuid(): string {
    const hex = Array.from({ length: 32 }, () => this.int(16).toString(16));
    hex[12] = "4";
    hex[16] = ((this.int(4) + 8) as number).toString(16);
    const h = hex.join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  }
}
