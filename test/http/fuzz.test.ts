/**
 * A seeded fuzz of the whole HTTP API, driven by the OpenAPI document the server serves
 * (`/api/schema`): every operation it lists gets valid requests (values generated from its
 * schemas: boundaries, astral characters, combining marks, upper-case ids, leap days, zones) and
 * mutated ones (wrong JSON types, missing and unknown fields, null, huge and fractional numbers,
 * NUL, lone surrogates, long strings, deep nesting, duplicate keys, non-object, empty, cut and
 * non-JSON bodies, bad path ids, bad, repeated and unknown query parameters), and the sync
 * endpoints random batches, replays and forged cursors. Checked for every answer:
 * - never a 5xx; every 4xx in the contract's error body, its code matching its status, with no
 *   stack trace, SQL or internal path;
 * - a refused write leaves the data tables exactly as they were (nothing half-written);
 * - the valid requests of the record resources succeed, and a record sent back as answered is taken.
 * A route added to the document is fuzzed without touching this file. Bounded and seeded
 * (`FUZZ_SEED=n` to vary it; a failure names the seed and the request).
 */
import { beforeAll, expect, test } from "bun:test";
import { ERROR_STATUS } from "../../src/errors";
import { createTestApp, type TestApp, type TestUser } from "../support/app";
import { forEachDialect } from "../support/db";
import { prng } from "../support/prng";

const SEED = Number(process.env.FUZZ_SEED ?? 1);
/** Requests per dialect (a few seconds each). */
const ROUNDS = 360;


type Schema = Record<string, any>;
interface Operation {
  method: string;
  path: string;
  params: { name: string; in: string; required?: boolean; schema: Schema }[];
  body: Schema | null;
}

/** Tables whose content a refused request must leave as it was (a device's last_seen_at is not data). */
const DATA_TABLES = ["projects", "tasks", "comments", "history", "feed", "conflicts", "task_tags", "org_feed_state", "users", "organizations"];
const LEAKS = [/\bat \S+:\d+:\d+/, /node_modules/, /\/src\//, /SQLITE_/i, /syntax error/i, /\bSELECT\b/, /\bINSERT\b/, /violates/i, /constraint/i, /postgres/i, /TypeError|ReferenceError|RangeError/];

const TEXT_PIECES = ["a", "Z", " ", "é", "e\u0301", "😀", "𝟘", "👩‍👩‍👧", "\u202e", "中文", "%", "_", "\\", "'", '"', "\n", "\u00a0", "\ufeff"];
const DUE_DATES = ["2028-02-29", "2024-02-29T23:59:59.999Z", "2024-02-29T00:00:00+14:00", "2024-02-29t12:00z", "2000-02-29T12:30-12:00", "2026-12-31T23:59:59.123456789Z", "0001-01-01", "9999-12-31"];
const WRONG_VALUES: unknown[] = [null, 0, -1, 1.5, 1e308, 2 ** 63, 9007199254740993, true, [], {}, [1], { a: 1 }, "", " ", "\u0000", "a\u0000b", "\ud800", "x\udfffy", "x".repeat(600), "😀".repeat(501), "not-a-uuid", "2027-02-29", "__proto__"];
/** Due dates that are no real date, or whose instant in UTC is outside the years 0001..9999. */
const BAD_DUE_DATES = ["2027-02-29", "2026-04-31", "2026-01-01T24:00:00Z", "2026-01-01T10:00:00", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-00:01"];
const RAW_NUMBERS = ["1e400", "-0", "1.0", "1E2", "123456789012345678901234567890", "-1e-400"];
const BAD_IDS = ["not-a-uuid", "00000000-0000-0000-0000-000000000000", "%00", "%E0%A4%A", "..%2F..%2Fetc", "x".repeat(300), "-1", "null", "%F0%9F%98%80", "' OR 1=1 --", "%20"];

forEachDialect(`API fuzz from the OpenAPI document (seed ${SEED})`, ({ db }) => {
  let t: TestApp;
  let admin: TestUser;
  let member: TestUser;
  let other: TestUser;
  let ops: Operation[];
  let components: Record<string, Schema>;
  const r = prng(SEED);
  const live = { project: [] as string[], task: [] as string[], comment: [] as string[], device: [] as string[], conflict: [] as string[] };
  const foreign = { project: "", task: "", comment: "" };
  let cursor: string | null = null;
  const counters = new Map<string, number>();

  beforeAll(async () => {
    t = await createTestApp(db());
    admin = await t.createUser({ role: "admin" });
    member = await t.createUser({ org: admin.org.slug });
    other = await t.createUser();
    const doc = (await t.request("GET", "/api/schema")).body;
    components = doc.components.schemas;
    ops = [];
    for (const [path, item] of Object.entries<Record<string, any>>(doc.paths)) {
      for (const [method, op] of Object.entries<any>(item)) {
        if (!["get", "post", "patch", "put", "delete"].includes(method)) continue;
        const body = op.requestBody?.content?.["application/json"]?.schema ?? null;
        ops.push({ method: method.toUpperCase(), path, params: op.parameters ?? [], body });
      }
    }
    const as = (u: TestUser) => (method: string, path: string, body?: unknown) => t.request(method, path, { token: u.token, body });
    foreign.project = (await as(other)("POST", "/api/projects", { name: "theirs" })).body.id;
    foreign.task = (await as(other)("POST", "/api/tasks", { title: "theirs" })).body.id;
    foreign.comment = (await as(other)("POST", "/api/comments", { task_id: foreign.task, body: "theirs" })).body.id;
  });

  const resolve = (s: Schema): Schema => (s?.$ref ? resolve(components[s.$ref.split("/").pop()!]!) : s);

  async function refreshLive(): Promise<void> {
    const org = admin.org.id;
    const ids = async (sql: string) => (await db().all<{ id: string }>(sql, [org])).map((x) => x.id);
    live.project = await ids("SELECT id FROM projects WHERE org_id = ? AND deleted_at IS NULL ORDER BY created_at, id");
    live.task = await ids("SELECT id FROM tasks WHERE org_id = ? AND deleted_at IS NULL ORDER BY created_at, id");
    live.comment = await ids("SELECT c.id FROM comments c JOIN tasks t ON t.id = c.task_id WHERE c.org_id = ? AND c.deleted_at IS NULL AND t.deleted_at IS NULL ORDER BY c.created_at, c.id");
    live.device = await ids("SELECT id FROM devices WHERE org_id = ? AND revoked_at IS NULL AND name = 'fuzzed' ORDER BY created_at, id");
    live.conflict = await ids("SELECT id FROM conflicts WHERE org_id = ? ORDER BY created_at, id");
  }

  async function digest(): Promise<string> {
    const tables = await Promise.all(
      DATA_TABLES.map(async (table) => `${table}:${Bun.hash((await db().all<Record<string, unknown>>(`SELECT * FROM ${table}`, [])).map((row) => JSON.stringify(row)).sort().join("\n"))}`),
    );
    return `${tables.join("|")}|devices:${JSON.stringify(await db().all("SELECT id, revoked_at FROM devices ORDER BY id", []))}`;
  }

  const text = (min: number, max: number, nonBlank: boolean): string => {
    const mode = r.int(0, 7);
    let s: string;
    if (mode === 0) s = "x".repeat(max);
    else if (mode === 1) s = "😀".repeat(max);
    else if (mode === 2) s = "e\u0301".repeat(Math.floor(max / 2));
    else s = Array.from({ length: r.int(min, Math.min(max, 30)) }, () => r.pick(TEXT_PIECES)).join("");
    s = [...s].slice(0, max).join("");
    if ((nonBlank && s.trim() === "") || [...s].length < min) s = `t${[...s].slice(1).join("")}`;
    return s;
  };

  /** A valid value for `name` of schema `s`: known ids for references, boundaries for the rest. */
  function valid(name: string, s0: Schema, create: boolean): unknown {
    const s = resolve(s0);
    const nullable = Array.isArray(s.type) && s.type.includes("null");
    if (name === "id") return r.chance(0.3) ? r.uuid().toUpperCase() : r.uuid();
    if (name === "version") return undefined;
    if (name === "project_id") return nullable && (r.chance(0.3) || !live.project.length) ? null : up(r.pick(live.project));
    // A comment's task and parent are fixed once created: an update sends them back as read or not at all.
    if ((name === "task_id" || name === "parent_id") && !create) return undefined;
    if (name === "task_id") return up(r.pick(live.task));
    if (name === "parent_id") return null;
    if (name === "assignee_id") return r.chance(0.3) ? null : up(r.pick([admin, member]).user.id);
    if (name === "device_id") return up(admin.deviceId!);
    if (name === "due_date") return r.chance(0.2) ? null : r.pick(DUE_DATES);
    if (s.anyOf) return valid(name, r.pick(s.anyOf.filter((m: Schema) => resolve(m).type !== "null")), create);
    if (s.enum) return r.pick(s.enum);
    const type = Array.isArray(s.type) ? s.type.find((x: string) => x !== "null") : s.type;
    if (type === "boolean") return r.chance(0.5);
    if (type === "integer") return r.int(s.minimum ?? 1, Math.min(s.maximum ?? 5, 5));
    if (type === "array") return Array.from({ length: r.chance(0.2) ? (s.maxItems ?? 3) : r.int(0, 4) }, (_, i) => (r.chance(0.5) ? `tag${i}` : valid("", s.items, create)));
    if (type === "object") return objectOf(s, create);
    if (type === "string") return text(s.minLength ?? 0, Math.min(s.maxLength ?? 300, 500), s.pattern === "\\S");
    return undefined;
  }
  const up = (id: string) => (r.chance(0.3) ? id.toUpperCase() : id);

  function objectOf(s0: Schema, create: boolean): Record<string, unknown> {
    const s = resolve(s0);
    const out: Record<string, unknown> = {};
    for (const [k, p] of Object.entries<Schema>(s.properties ?? {})) {
      if (!(s.required ?? []).includes(k) && !r.chance(0.5)) continue;
      const v = valid(k, p, create);
      if (v !== undefined) out[k] = v;
    }
    return out;
  }

  /** A mutated body for `obj` (of an operation whose fields are `fields`): raw text and, sometimes, headers. */
  function mutate(obj: Record<string, unknown>, fields: string[]): { body: string; headers?: Record<string, string>; what: string; refused?: boolean } {
    const field = r.pick(fields.length ? fields : ["x"]);
    const json = JSON.stringify(obj);
    switch (r.int(0, 14)) {
      case 0:
      case 1:
      case 2: {
        const v = field === "due_date" && r.chance(0.5) ? r.pick(BAD_DUE_DATES) : r.pick(WRONG_VALUES);
        return { body: JSON.stringify({ ...obj, [field]: v }), what: `${field} = ${JSON.stringify(v)?.slice(0, 30)}` };
      }
      case 3: {
        const o = { ...obj };
        delete o[r.pick(Object.keys(o).length ? Object.keys(o) : ["x"])];
        return { body: JSON.stringify(o), what: "a field missing" };
      }
      case 4:
        return { body: JSON.stringify({ ...obj, [r.pick(["extra", "version", "created_by", "author_id", "vector_clock", "org_id", "deleted_at", "__proto__", "constructor"])]: r.pick(WRONG_VALUES) }), what: "an unknown or read-only field" };
      case 5:
        return { body: r.pick(["null", "[]", "1", '"s"', "true", "[{}]"]), what: "not an object", refused: true };
      case 6:
        return { body: json.slice(0, r.int(1, Math.max(1, json.length - 1))), what: "cut short", refused: true };
      case 7:
        return { body: "[".repeat(r.int(33, 5000)), what: "nested too deeply", refused: true };
      case 8: {
        let v: unknown = 1;
        for (let i = r.int(20, 40); i > 0; i--) v = { a: v };
        return { body: JSON.stringify({ ...obj, [field]: v }), what: `${field} deeply nested` };
      }
      case 9:
        return { body: json.replace(/^\{/, `{"${field}":${JSON.stringify(r.pick(WRONG_VALUES))}${json === "{}" ? "" : ","}`), what: `${field} twice` };
      case 10:
        return { body: json, headers: { "content-type": r.pick(["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/jsonx"]) }, what: "not sent as JSON", refused: true };
      case 11:
        return { body: "", what: "empty" };
      case 12: {
        const n = r.pick(RAW_NUMBERS);
        return { body: JSON.stringify({ ...obj, [field]: "__N__" }).replace('"__N__"', n), what: `${field} = ${n}` };
      }
      case 13:
        return { body: new TextDecoder().decode(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])), what: "not UTF-8", refused: true };
      default:
        return { body: `${json}${r.pick(["x", "{}", "]"])}`, what: "trailing garbage", refused: true };
    }
  }

  interface Sent {
    method: string;
    path: string;
    body?: string;
    headers?: Record<string, string>;
    token?: string | null;
    /** A valid request that must succeed. */
    mustSucceed?: boolean;
    /** A request no route may accept (its body is not an object of JSON). */
    mustFail?: boolean;
    what: string;
  }

  async function send(req: Sent): Promise<{ status: number; json: any }> {
    const headers: Record<string, string> = { ...req.headers };
    const token = req.token === undefined ? admin.token : req.token;
    if (token) headers.authorization = `Bearer ${token}`;
    if (req.body !== undefined) headers["content-type"] ??= "application/json";
    const write = req.method !== "GET";
    const before = write ? await digest() : "";
    const res = await t.app.handle(new Request(`http://localhost${req.path}`, { method: req.method, headers, body: req.body }));
    const text = await res.text();
    const json = (() => {
      try {
        return text === "" ? null : JSON.parse(text);
      } catch {
        return null;
      }
    })();
    const seen = `seed ${SEED}: ${req.what}: ${req.method} ${req.path} ${JSON.stringify(headers["content-type"] ?? "")} ${(req.body ?? "").slice(0, 300)} → ${res.status} ${text.slice(0, 300)}`;
    expect(res.status < 500 ? "no 5xx" : seen).toBe("no 5xx");
    if (req.mustSucceed) expect(res.status < 400 ? "succeeded" : seen).toBe("succeeded");
    if (req.mustFail) expect(res.status >= 400 ? "refused" : `accepted: ${seen}`).toBe("refused");
    if (res.status >= 400) {
      const e = json?.error;
      const shaped = json && Object.keys(json).length === 1 && e && Object.keys(e).length === 3 && typeof e.code === "string" && typeof e.message === "string" && e.details !== null && typeof e.details === "object" && !Array.isArray(e.details);
      expect(shaped ? "contract error body" : seen).toBe("contract error body");
      expect((ERROR_STATUS as Record<string, number>)[e.code] === res.status ? "code fits status" : seen).toBe("code fits status");
      expect(LEAKS.some((re) => re.test(text)) ? seen : "no leak").toBe("no leak");
      if (write) expect((await digest()) === before ? "nothing written" : `half-written: ${seen}`).toBe("nothing written");
    }
    return { status: res.status, json };
  }

  /** The path of `op` with its `{id}` filled: an id of the kind the path names, or (`bad`) a bad or foreign one. */
  function fillPath(op: Operation, bad: boolean): string | null {
    if (!op.path.includes("{id}")) return op.path;
    const kind = op.path.startsWith("/api/projects") ? "project" : op.path.startsWith("/api/tasks") ? "task" : op.path.startsWith("/api/comments") ? "comment" : op.path.startsWith("/api/devices") ? "device" : "conflict";
    if (bad) {
      const f = (foreign as Record<string, string>)[kind];
      return op.path.replace("{id}", f && r.chance(0.3) ? f : r.pick(BAD_IDS));
    }
    const ids = live[kind];
    return ids.length ? op.path.replace("{id}", up(r.pick(ids))) : null;
  }

  /** A query string for `op`: valid values, or (`bad`) one bad, repeated or unknown parameter among them. */
  function query(op: Operation, bad: boolean): string {
    const q: [string, string][] = [];
    for (const p of op.params.filter((x) => x.in === "query")) {
      if (!p.required && !r.chance(0.4)) continue;
      const s = p.schema;
      let v: string;
      if (p.name === "device_id") v = up(admin.deviceId!);
      else if (p.name === "cursor") {
        if (!cursor) continue;
        v = cursor;
      } else if (p.name === "page") v = String(r.int(1, 3));
      else if (p.name === "page_size") v = String(r.pick([1, 50, 500]));
      else if (p.name === "limit") v = String(r.pick([1, 2, 500, 5000]));
      else if (p.name === "ordering") v = r.pick(["-updated_at", "created_at", "-created_at"]);
      else if (["due_before", "due_after", "from", "to"].includes(p.name)) v = r.pick(["2024-02-29", "2026-01-01T00:00:00Z"]);
      else if (p.name === "window") v = r.pick(["1h", "24h", "7d"]);
      else if (p.name === "task_id") v = up(r.pick(live.task));
      else if (p.name.endsWith("_id")) v = r.pick(["null", up(admin.user.id)]);
      else if (s.type === "boolean" || p.name.startsWith("include_") || p.name === "archived") v = r.pick(["true", "false"]);
      else if (s.pattern?.startsWith("^(")) v = s.pattern.slice(2).split(")")[0].split("|")[0];
      else v = text(s.minLength ?? 0, 20, s.pattern === "\\S");
      q.push([p.name, v]);
    }
    if (bad) {
      const named = op.params.filter((x) => x.in === "query");
      const which = r.int(0, 2);
      if (which === 0 && named.length) q.push([r.pick(named).name, r.pick(["0", "-1", "1.5", "1e2", "99999999999999999999", "", "abc", " 1", "\u0000", "x".repeat(600), "2026-02-30"])]);
      else if (which === 1 && q.length) q.push(q[0]!);
      else q.push([r.pick(["unknown", "x[]", "__proto__"]), "1"]);
    }
    return q.length ? `?${q.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&")}` : "";
  }

  /** A batch for `POST /api/sync/push`: creates, updates with base versions, deletes, comments, replays, some changes malformed. */
  async function pushBatch(): Promise<void> {
    const dev = admin.deviceId!;
    const changes: Record<string, unknown>[] = [];
    // What a batch deletes, a later change of it does not reference (that change would be refused, rightly).
    const deleted = new Set<string>();
    const references = (data: Record<string, unknown>) => [data.project_id, data.task_id].some((v) => typeof v === "string" && deleted.has(v.toLowerCase()));
    for (let i = r.int(1, 6); i > 0; i--) {
      const entity = r.pick(["project", "task", "comment"] as const);
      const ids = live[entity];
      if (!ids.length || r.chance(0.4)) {
        if (entity === "comment" && !live.task.length) continue;
        const data = objectOf(components[entity === "project" ? "ProjectCreate" : entity === "task" ? "TaskCreate" : "CommentCreate"]!, true);
        delete data.id;
        if (references(data)) continue;
        const id = r.uuid();
        counters.set(id, 1);
        changes.push({ change_id: up(r.uuid()), entity, entity_id: up(id), op: "create", data, vector_clock: { [dev]: 1 } });
        continue;
      }
      const id = r.pick(ids);
      const row = await db().get<{ version: number; vector_clock: string }>(`SELECT version, vector_clock FROM ${entity}s WHERE id = ?`, [id]);
      if (!row) continue;
      const clock = JSON.parse(row.vector_clock) as Record<string, number>;
      const n = Math.max(counters.get(id) ?? 0, clock[dev] ?? 0) + 1;
      counters.set(id, n);
      const data = objectOf(components[entity === "project" ? "ProjectUpdate" : entity === "task" ? "TaskUpdate" : "CommentUpdate"]!, false);
      const op = r.chance(0.15) ? "delete" : "update";
      if (references(data)) continue;
      if (op === "delete") deleted.add(id);
      changes.push({ change_id: r.uuid(), entity, entity_id: up(id), op, base_version: Math.max(1, Number(row.version) - r.int(0, 1)), ...(op === "update" ? { data } : {}), vector_clock: r.chance(0.5) ? { ...clock, [dev]: n } : { [dev]: n } });
    }
    const malformed = r.chance(0.4) && changes.length ? r.int(0, changes.length - 1) : -1;
    if (malformed >= 0) {
      const c = changes[malformed]!;
      const key = r.pick(["change_id", "entity", "entity_id", "op", "data", "base_version", "vector_clock"]);
      c[key] = key === "vector_clock" ? r.pick([{ [dev]: 0 }, { [dev]: 1.5 }, { server: 99999 }, { [r.uuid()]: 1 }, { "": 1 }, null]) : r.pick(WRONG_VALUES);
    }
    const body = JSON.stringify({ device_id: up(dev), changes });
    const first = await send({ method: "POST", path: "/api/sync/push", body, mustSucceed: true, what: "a push" });
    first.json.results.forEach((res: { status: string; error?: unknown }, i: number) => {
      if (i !== malformed) expect(res.status === "rejected" ? `seed ${SEED}: rejected ${JSON.stringify(changes[i])} ${JSON.stringify(res.error)}` : "not rejected").toBe("not rejected");
    });
    if (r.chance(0.3)) {
      const again = await send({ method: "POST", path: "/api/sync/push", body, mustSucceed: true, what: "a push replayed" });
      again.json.results.forEach((res: { status: string }, i: number) => {
        if (i !== malformed) expect(`${i} ${res.status}`).toBe(`${i} duplicate`);
      });
    }
  }

  test(`${ROUNDS} requests: no 5xx, contract error bodies, nothing half-written, valid record requests succeed`, async () => {
    for (let i = 0; i < 4; i++) await send({ method: "POST", path: "/api/projects", body: JSON.stringify({ name: `p${i}` }), mustSucceed: true, what: "set-up" });
    await refreshLive();
    for (let i = 0; i < 4; i++) await send({ method: "POST", path: "/api/tasks", body: JSON.stringify(objectOf(components.TaskCreate!, true)), mustSucceed: true, what: "set-up" });
    await refreshLive();
    for (let i = 0; i < 3; i++) await send({ method: "POST", path: "/api/comments", body: JSON.stringify(objectOf(components.CommentCreate!, true)), mustSucceed: true, what: "set-up" });
    await send({ method: "POST", path: "/api/devices", body: JSON.stringify({ name: "fuzzed" }), mustSucceed: true, what: "set-up" });
    const cleanRecords = /^\/api\/(projects|tasks|comments)(\/\{id\})?$/;

    for (let round = 0; round < ROUNDS; round++) {
      await refreshLive();
      // Keep something to refer to: a valid comment needs a task.
      if (live.task.length < 2) {
        await send({ method: "POST", path: "/api/tasks", body: JSON.stringify({ title: "kept" }), mustSucceed: true, what: "set-up" });
        await refreshLive();
      }
      const op = r.pick(ops);
      const bad = r.chance(0.55);
      if (op.path === "/api/sync/push" && !bad) {
        await pushBatch();
        continue;
      }
      if (op.path.startsWith("/api/auth/") && !bad) continue; // sessions are the auth tests' subject
      if (op.method === "DELETE" && op.path === "/api/devices/{id}" && !bad && live.device.length < 2) continue;
      const path = fillPath(op, bad && r.chance(0.4));
      if (path === null) continue;
      const url = path + query(op, bad && r.chance(0.3));
      let body: string | undefined;
      let headers: Record<string, string> | undefined;
      let what = bad ? "mutated" : "valid";
      let mustFail = false;
      if (op.body) {
        const schema = resolve(op.body);
        const obj = op.path.endsWith("/resolve") ? { resolution: r.pick(["local", "remote"]) } : objectOf(schema, op.method === "POST");
        if (bad && r.chance(0.8)) {
          const m = mutate(obj, Object.keys(schema.properties ?? {}));
          ({ body, headers } = m);
          what = m.what;
          mustFail = m.refused === true;
        } else body = op.method === "DELETE" && r.chance(0.5) ? undefined : JSON.stringify(obj);
      }
      const res = await send({ method: op.method, path: url, body, headers, mustSucceed: !bad && cleanRecords.test(op.path), mustFail, what: `${op.method} ${op.path}, ${what}` });
      // What the server stores, it takes back: the record's writable fields as answered, sent back whole.
      const resource = /^\/api\/(projects|tasks|comments)/.exec(op.path)?.[1];
      if (resource && ["POST", "PATCH"].includes(op.method) && (res.status === 200 || res.status === 201) && res.json?.id && r.chance(0.5)) {
        const update = components[`${resource === "projects" ? "Project" : resource === "tasks" ? "Task" : "Comment"}Update`]!;
        const back = Object.fromEntries(Object.keys(update.properties).filter((k) => k !== "version").map((k) => [k, res.json[k]]));
        await send({ method: "PATCH", path: `/api/${resource}/${res.json.id}`, body: JSON.stringify(back), mustSucceed: true, what: `${resource}: the record sent back as answered` });
      }
      if (op.path === "/api/sync/pull" && res.status === 200) cursor = r.chance(0.8) ? res.json.cursor : `${res.json.cursor.slice(0, -2)}${r.pick(["AA", "x", ""])}`;
    }
  }, 60_000);
});
