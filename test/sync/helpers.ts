/**
 * Helpers for sync tests: a simulated device that builds changes with honest clocks and pushes
 * and pulls over HTTP (through `app.handle`). Also meant for the property tests and the
 * multi-device simulation built on these endpoints.
 */
import { expect } from "bun:test";
import type { EntityKind } from "../../src/records/model";
import type { ChangeError, ChangeResult, PulledChange, PullResponse } from "../../src/sync/model";
import type { PullInput, SyncCaller, SyncService } from "../../src/sync/service";
import type { TestApp, TestResponse, TestUser } from "../support/app";

export type Clock = Record<string, number>;

export interface Change {
  change_id: string;
  entity: EntityKind;
  entity_id: string;
  op: "create" | "update" | "delete";
  data?: Record<string, unknown>;
  base_version?: number;
  vector_clock: Clock;
}

/** A push result as the wire type says, its record loosely typed for the tests' reads. */
export type Result = Omit<ChangeResult, "record" | "error"> & { record: any; error?: Omit<ChangeError, "details"> & { details?: any } };

/** A pulled change as the wire type says, its record loosely typed. */
export type Pulled = Omit<PulledChange, "record"> & { record: any };

export type PullPage = Omit<PullResponse, "changes"> & { changes: Pulled[] };

/**
 * A device of a test user: it remembers the last server state it knows of each record (version
 * and clock) and builds the next change the way an honest client does — its own clock entry
 * incremented over the known clock, base_version the known version.
 */
export class Device {
  readonly known = new Map<string, { version: number; clock: Clock; record: any }>();
  cursor: string | null = null;

  constructor(
    readonly t: TestApp,
    readonly user: TestUser,
    readonly id: string,
  ) {}

  /** The user's token device. */
  static of(t: TestApp, user: TestUser): Device {
    return new Device(t, user, user.deviceId!);
  }

  /** Another device registered for the same user (the user's token is not bound to it). */
  static async another(t: TestApp, user: TestUser, name = "second device"): Promise<Device> {
    const d = await t.services.devices.create({ userId: user.user.id, orgId: user.org.id }, { name });
    return new Device(t, { ...user, token: await t.tokenFor(user.user) }, d.id);
  }

  private tick(id: string): Clock {
    const k = this.known.get(id);
    const clock = { ...(k?.clock ?? {}) };
    clock[this.id] = (clock[this.id] ?? 0) + 1;
    return clock;
  }

  create(entity: Change["entity"], data: Record<string, unknown>, id: string = crypto.randomUUID()): Change {
    return { change_id: crypto.randomUUID(), entity, entity_id: id, op: "create", data, vector_clock: this.tick(id) };
  }

  update(entity: Change["entity"], id: string, data: Record<string, unknown>): Change {
    const k = this.known.get(id);
    return { change_id: crypto.randomUUID(), entity, entity_id: id, op: "update", data, base_version: k?.version, vector_clock: this.tick(id) };
  }

  delete(entity: Change["entity"], id: string): Change {
    const k = this.known.get(id);
    return { change_id: crypto.randomUUID(), entity, entity_id: id, op: "delete", base_version: k?.version, vector_clock: this.tick(id) };
  }

  /** POST /api/sync/push; adopts the server state of every answered record. */
  async pushRaw(changes: unknown[]): Promise<TestResponse<{ results: Result[] }>> {
    const r = await this.t.request<{ results: Result[] }>("POST", "/api/sync/push", { token: this.user.token, body: { device_id: this.id, changes } });
    if (r.status === 200) for (const res of r.body.results) if (res.record && res.entity_id) this.learn(res.entity_id, res.record);
    return r;
  }

  /** Pushes and expects 200; the results in order. */
  async push(...changes: unknown[]): Promise<Result[]> {
    const r = await this.pushRaw(changes);
    expect(r.status).toBe(200);
    expect(r.body.results).toHaveLength(changes.length);
    return r.body.results;
  }

  /** Pushes one change and returns its result. */
  async push1(change: unknown): Promise<Result> {
    return (await this.push(change))[0];
  }

  /** One GET /api/sync/pull from `cursor` (default: the device's own); does not move the device's cursor. */
  async pullRaw(cursor: string | null = this.cursor, limit?: number): Promise<TestResponse<PullPage>> {
    const q = new URLSearchParams({ device_id: this.id });
    if (cursor !== null) q.set("cursor", cursor);
    if (limit !== undefined) q.set("limit", String(limit));
    return this.t.request<PullPage>("GET", `/api/sync/pull?${q}`, { token: this.user.token });
  }

  /** Pulls until has_more is false from the device's cursor, adopting every record; returns all changes received. */
  async pullAll(limit?: number): Promise<Pulled[]> {
    const out: Pulled[] = [];
    for (;;) {
      const r = await this.pullRaw(this.cursor, limit);
      expect(r.status).toBe(200);
      for (const c of r.body.changes) {
        this.learn(c.entity_id, c.record);
        out.push(c);
      }
      this.cursor = r.body.cursor;
      if (!r.body.has_more) return out;
    }
  }

  learn(id: string, record: any): void {
    this.known.set(id, { version: record.version, clock: record.vector_clock, record });
  }
}

/** Two users' worth of setup in one organization: devices A and B of two users. */
export async function twoDevices(t: TestApp): Promise<{ a: Device; b: Device; ua: TestUser; ub: TestUser }> {
  const ua = await t.createUser();
  const ub = await t.createUser({ org: ua.org.slug });
  return { a: Device.of(t, ua), b: Device.of(t, ub), ua, ub };
}

/** A task's data with defaults. */
export const taskData = (over: Record<string, unknown> = {}) => ({ title: "A task", ...over });

/** A text that is costly to diff (few distinct words, every position changed from one period to another): a merge of two spends its whole share of the merge budget. */
export const costlyText = (period: number, shift = 0) => Array.from({ length: 2000 }, (_, i) => ((i + shift) % period ? "a" : "b")).join(" ");

/**
 * `n` updates by `b`, each of its own task whose description `a` changed meanwhile: costly text
 * merges (conflicts once the push's merge budget is spent). The changes, not pushed. (Edits of one
 * task would not do: a device's later edit merges against its earlier one, which costs nothing.)
 */
export async function costlyMerges(a: Device, b: Device, n: number): Promise<Change[]> {
  const changes: Change[] = [];
  for (let k = 0; k < n; k++) {
    const c = a.create("task", taskData({ description: costlyText(2) }));
    b.learn(c.entity_id, (await a.push1(c)).record);
    expect((await a.push1(a.update("task", c.entity_id, { description: costlyText(3) }))).status).toBe("applied");
    changes.push(b.update("task", c.entity_id, { description: costlyText(5, 1) }));
  }
  return changes;
}

/** An update by `b` of a new task whose description `a` changed on another line meanwhile: a cheap text merge. The change, not pushed. */
export async function cheapMerge(a: Device, b: Device): Promise<Change> {
  const c = a.create("task", taskData({ description: "one\ntwo\nthree" }));
  b.learn(c.entity_id, (await a.push1(c)).record);
  expect((await a.push1(a.update("task", c.entity_id, { description: "ONE\ntwo\nthree" }))).status).toBe("applied");
  return b.update("task", c.entity_id, { description: "one\ntwo\nTHREE" });
}


/** A pull through the service (no HTTP), its answer parsed: `pullBody` is what the route sends. */
export async function pullParsed(sync: SyncService, caller: SyncCaller, input: PullInput): Promise<PullResponse> {
  return JSON.parse(new TextDecoder().decode(Buffer.concat(await sync.pullBody(caller, input)))) as PullResponse;
}
