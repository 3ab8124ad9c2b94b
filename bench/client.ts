/**
 * HTTP helpers for the benchmark: a thin client of the public API (contract v1.1),
 * timing, and `check` — every answer is verified, and a wrong one stops the phase.
 */

export type VectorClock = Record<string, number>;

/** One change of `POST /api/sync/push`. */
export interface Change {
  change_id: string;
  entity: "task" | "project" | "comment";
  entity_id: string;
  op: "create" | "update" | "delete";
  data?: Record<string, unknown>;
  base_version?: number;
  vector_clock: VectorClock;
}

export interface PushResult {
  change_id: string;
  status: "applied" | "merged" | "conflict" | "duplicate" | "stale" | "rejected";
  entity: string;
  entity_id: string;
  version: number;
  vector_clock: VectorClock;
  record?: Record<string, unknown>;
  error?: unknown;
}

export interface PulledChange {
  entity: string;
  entity_id: string;
  op: "upsert" | "delete";
  record: Record<string, unknown>;
  version: number;
  vector_clock: VectorClock;
}

export interface PullPage {
  changes: PulledChange[];
  cursor: string;
  has_more: boolean;
}

/** A verification failure: the server answered something the contract does not allow. */
export class CheckError extends Error {}

/** Throws a {@link CheckError} with `message` unless `cond`. */
export function check(cond: unknown, message: string): asserts cond {
  if (!cond) throw new CheckError(message);
}

/** Milliseconds since an arbitrary origin, sub-millisecond precision. */
export const now = (): number => performance.now();

/** The time (of `now()`) after which requests fail instead of waiting: one time budget per phase. */
let deadline: number | null = null;

/** Gives the current phase `seconds` (null: no limit); a slow server then fails the phase instead of hanging the bench. */
export function setTimeBudget(seconds: number | null): void {
  deadline = seconds === null ? null : now() + seconds * 1000;
}

function remainingMs(what: string): number | undefined {
  if (deadline === null) return undefined;
  const left = deadline - now();
  if (left <= 0) throw new CheckError(`${what}: the phase exceeded its time budget (--phase-timeout)`);
  return left;
}

/** Same entries (order-independent). */
export function sameClock(a: VectorClock, b: VectorClock): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b ?? {}).length && ka.every((k) => b[k] === a[k]);
}

/** A shortened body for error messages. */
const clip = (s: string, n = 300): string => (s.length > n ? s.slice(0, n) + "…" : s);

/** A logged-in API client for one server. */
export class Api {
  token = "";
  constructor(public base: string) {}

  /** Sends a request, checks the status, parses JSON; returns the body and the round-trip time. */
  async call<T>(method: string, path: string, body?: unknown, expect = 200): Promise<{ body: T; ms: number }> {
    const { raw, ms } = await this.send(method, path, body, expect);
    return { body: parseJson<T>(`${method} ${path}`, raw), ms };
  }

  /** Sends a request and checks the status; returns the raw answer and the round-trip time. */
  async send(method: string, path: string, body?: unknown, expect = 200): Promise<{ raw: string; ms: number }> {
    const headers: Record<string, string> = { accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    const left = remainingMs(`${method} ${path}`);
    const signal = left === undefined ? undefined : AbortSignal.timeout(left);
    const t0 = now();
    let res: Response;
    let raw: string;
    try {
      res = await fetch(this.base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal });
      raw = await res.text();
    } catch (err) {
      if (signal?.aborted) throw new CheckError(`${method} ${path}: no answer within the phase's time budget (--phase-timeout)`);
      throw err;
    }
    const ms = now() - t0;
    check(res.status === expect, `${method} ${path}: expected ${expect}, got ${res.status} ${clip(raw)}`);
    return { raw, ms };
  }

  async health(): Promise<boolean> {
    try {
      const res = await fetch(this.base + "/api/health");
      await res.arrayBuffer();
      return res.status === 200;
    } catch {
      return false;
    }
  }

  /** `POST /api/auth/login` → keeps the access token for the next calls. */
  async login(email: string, password: string): Promise<void> {
    const { body } = await this.call<{ access: string; token_type: string }>("POST", "/api/auth/login", { email, password });
    check(typeof body.access === "string" && body.access.length > 0, "login: no access token");
    this.token = body.access;
  }

  /** `POST /api/devices` → the device id (its key in vector clocks). */
  async createDevice(name: string): Promise<string> {
    const { body } = await this.call<{ id: string; name: string }>("POST", "/api/devices", { name, platform: "bench" }, 201);
    check(typeof body.id === "string" && body.name === name, `device create: unexpected answer ${clip(JSON.stringify(body))}`);
    return body.id;
  }

  /** `POST /api/sync/push`; checks one result per change, in order. */
  async push(deviceId: string, changes: Change[]): Promise<{ results: PushResult[]; ms: number }> {
    const { body, ms } = await this.call<{ results: PushResult[] }>("POST", "/api/sync/push", { device_id: deviceId, changes });
    check(Array.isArray(body?.results), "push: answer has no results array");
    check(body.results.length === changes.length, `push: ${changes.length} changes but ${body.results.length} results`);
    body.results.forEach((r, i) => {
      check(r.change_id === changes[i].change_id, `push: result ${i} is for change ${r.change_id}, expected ${changes[i].change_id}`);
    });
    return { results: body.results, ms };
  }

  /** One page of `GET /api/sync/pull`. */
  async pullPage(deviceId: string, cursor: string | null, limit: number): Promise<{ page: PullPage; ms: number }> {
    const { raw, ms } = await this.sendPull(deviceId, cursor, limit);
    return { page: checkPullPage(raw, limit), ms };
  }

  private sendPull(deviceId: string, cursor: string | null, limit: number): Promise<{ raw: string; ms: number }> {
    const q = new URLSearchParams({ device_id: deviceId, limit: String(limit) });
    if (cursor !== null) q.set("cursor", cursor);
    return this.send("GET", `/api/sync/pull?${q}`);
  }

  /**
   * Pulls until `has_more` is false. `onPage` sees every page (so callers can count
   * without keeping a million records). Returns the final cursor and per-page times.
   *
   * Like a client that overlaps its work with the network, the request for the next page is sent
   * as soon as a page has arrived — its cursor is read from the end of the raw answer — and the
   * page is parsed and checked meanwhile; the parsed cursor and `has_more` must then equal what
   * was read ahead, so every page is still verified in full.
   */
  async pullAll(
    deviceId: string,
    cursor: string | null,
    limit: number,
    onPage: (changes: PulledChange[]) => void,
  ): Promise<{ cursor: string; pages: number[]; ms: number }> {
    const pages: number[] = [];
    const t0 = now();
    let pending: Promise<{ raw: string; ms: number }> | null = this.sendPull(deviceId, cursor, limit);
    for (;;) {
      const { raw, ms } = await pending!;
      const ahead = readTail(raw);
      pending = ahead?.hasMore ? this.sendPull(deviceId, ahead.cursor, limit) : null;
      pending?.catch(() => {}); // awaited below; a failure of this page's checks must not leave it unhandled
      const page = checkPullPage(raw, limit);
      if (ahead) {
        check(ahead.cursor === page.cursor && ahead.hasMore === page.has_more, "pull: the end of the answer does not match its parsed cursor and has_more");
      }
      pages.push(ms);
      onPage(page.changes);
      if (!page.has_more) return { cursor: page.cursor, pages, ms: now() - t0 };
      pending ??= this.sendPull(deviceId, page.cursor, limit);
    }
  }
}

/** Parses an answer as JSON; a {@link CheckError} when it is not. */
function parseJson<T>(what: string, raw: string): T {
  if (!raw) return undefined as T;
  try {
    return JSON.parse(raw) as T;
  } catch {
    throw new CheckError(`${what}: answer is not JSON: ${clip(raw)}`);
  }
}

/** Parses and checks one pull answer. */
function checkPullPage(raw: string, limit: number): PullPage {
  const body = parseJson<PullPage>("pull", raw);
  check(Array.isArray(body?.changes), "pull: answer has no changes array");
  check(typeof body.cursor === "string" && body.cursor.length > 0, "pull: answer has no cursor");
  check(typeof body.has_more === "boolean", "pull: answer has no has_more");
  check(body.changes.length <= limit, `pull: ${body.changes.length} changes for limit ${limit}`);
  return body;
}

const TAIL = /"cursor":"([A-Za-z0-9._-]+)","has_more":(true|false)\}$/;

/** The cursor and `has_more` read from the end of a raw pull answer (null when it does not end that way: no read-ahead). */
function readTail(raw: string): { cursor: string; hasMore: boolean } | null {
  const m = TAIL.exec(raw.slice(-300));
  return m ? { cursor: m[1], hasMore: m[2] === "true" } : null;
}

/** What the benchmark knows of each task: the server's latest version and clock, and its fields. */
export interface Known {
  version: number;
  clock: VectorClock;
  /** The task's fields as the bench wrote them (the create's data, then each edit's), checked in every answer that carries it. */
  content: Record<string, unknown>;
}

/** A simulated device: its id, and the clock it would attach to its next edit of a record. */
export class Device {
  cursor: string | null = null;
  constructor(readonly id: string, readonly name: string) {}

  /** The clock after this device edits a record whose latest known clock is `clock`. */
  tick(clock: VectorClock = {}): VectorClock {
    return { ...clock, [this.id]: (clock[this.id] ?? 0) + 1 };
  }
}

/** Checks that a push result is `applied` at `version` with the clock the device sent. */
export function expectApplied(r: PushResult, change: Change, version: number): void {
  check(
    r.status === "applied",
    `push ${change.op} ${change.entity_id}: expected applied, got ${r.status}${r.error ? " " + clip(JSON.stringify(r.error)) : ""}`,
  );
  check(r.entity_id === change.entity_id, `push: result entity_id ${r.entity_id} ≠ ${change.entity_id}`);
  check(r.version === version, `push ${change.op} ${change.entity_id}: expected version ${version}, got ${r.version}`);
  check(r.vector_clock && sameClock(change.vector_clock, r.vector_clock),
    `push ${change.op} ${change.entity_id}: clock ${JSON.stringify(r.vector_clock)} ≠ sent ${JSON.stringify(change.vector_clock)}`);
}
