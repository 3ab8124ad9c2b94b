/**
 * Soak load generator: a steady mixed load from several devices of two organizations against a
 * running `taskmgr serve`. Usage: bun bench/soak/load.ts (normally run by bench/soak/run.sh) BASE_URL SECONDS OUT_DIR
 * Users: u{o}{k}@org{o}.test / password "soak-password-1" for o in 1..2, k in 1..2 (u{o}1 admin).
 * Writes OUT_DIR/load-summary.json (status counts per route class) and OUT_DIR/load-unexpected.log.
 */
import { appendFileSync, writeFileSync } from "node:fs";
import { connect } from "node:net";

const [base, secondsArg, outDir] = process.argv.slice(2);
const END = Date.now() + Number(secondsArg) * 1000;
const PW = "soak-password-1";
const counts: Record<string, number> = {};
const unexpectedLog = `${outDir}/load-unexpected.log`;
const uuid7 = () => Bun.randomUUIDv7();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rnd = (n: number) => Math.floor(Math.random() * n);
const pick = <T>(xs: readonly T[]): T => xs[rnd(xs.length)];
const STATUSES = ["todo", "in_progress", "blocked", "done", "cancelled"];
const PRIOS = ["low", "medium", "high", "urgent"];
const WORDS = "review update migrate refactor design deploy investigate document release verify schedule customer invoice report".split(" ");
const words = (n: number) => Array.from({ length: n }, () => pick(WORDS)).join(" ");

function count(key: string) {
  counts[key] = (counts[key] ?? 0) + 1;
}

interface Res { status: number; body: any; etag: string | null }

/** One request; never throws. `ok` lists the statuses expected; anything else is logged. */
async function req(tag: string, token: string | null, method: string, path: string, body?: unknown, ok: number[] = [200], headers: Record<string, string> = {}, rawBody?: string): Promise<Res> {
  const h: Record<string, string> = { accept: "application/json", ...headers };
  if (body !== undefined || rawBody !== undefined) h["content-type"] = "application/json";
  if (token) h.authorization = `Bearer ${token}`;
  try {
    const res = await fetch(base + path, { method, headers: h, body: rawBody ?? (body === undefined ? undefined : JSON.stringify(body)), signal: AbortSignal.timeout(30_000) });
    const text = await res.text();
    let parsed: any = null;
    try { parsed = text ? JSON.parse(text) : null; } catch { parsed = text; }
    count(`${tag} ${res.status}`);
    count(`status ${res.status}`);
    if (!ok.includes(res.status)) {
      appendFileSync(unexpectedLog, `${new Date().toISOString()} ${tag} ${method} ${path} -> ${res.status} ${text.slice(0, 300)}\n`);
    }
    return { status: res.status, body: parsed, etag: res.headers.get("etag") };
  } catch (err) {
    count(`${tag} neterr`);
    count("status neterr");
    appendFileSync(unexpectedLog, `${new Date().toISOString()} ${tag} ${method} ${path} -> network error ${String(err)}\n`);
    return { status: 0, body: null, etag: null };
  }
}

/** A request whose body is cut off: headers announce more bytes than are sent, then the socket closes. */
function abortedRequest(path: string, token: string): Promise<void> {
  const u = new URL(base);
  return new Promise((done) => {
    const s = connect(Number(u.port), u.hostname, () => {
      const body = JSON.stringify({ title: "x".repeat(2000), description: words(200) });
      s.write(`POST ${path} HTTP/1.1\r\nHost: ${u.host}\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n` + body.slice(0, rnd(body.length - 10) + 1));
      setTimeout(() => { s.destroy(); count("aborted sent"); done(); }, 50 + rnd(200));
    });
    s.on("error", () => { count("aborted error"); done(); });
  });
}

interface Known { version: number; clock: Record<string, number>; deleted: boolean; title?: string }

class Client {
  access = "";
  refresh = "";
  deviceId = "";
  cursor: string | null = null;
  known = new Map<string, Known>();
  comments = new Map<string, { task: string; version: number }>();
  lastAuth = 0;
  constructor(readonly email: string, readonly org: number, readonly name: string) {}

  async login(): Promise<boolean> {
    const r = await req("login", null, "POST", "/api/auth/login", { email: this.email, password: PW }, [200, 503]);
    if (r.status !== 200) return false;
    this.access = r.body.access; this.refresh = r.body.refresh; this.lastAuth = Date.now();
    return true;
  }
  async doRefresh(): Promise<void> {
    const r = await req("refresh", null, "POST", "/api/auth/refresh", { refresh: this.refresh }, [200]);
    if (r.status === 200) { this.access = r.body.access; this.refresh = r.body.refresh; this.lastAuth = Date.now(); }
    else await this.login();
  }
  async setup(): Promise<void> {
    while (!(await this.login())) await sleep(500);
    const r = await req("device", this.access, "POST", "/api/devices", { name: this.name, platform: "soak" }, [201]);
    this.deviceId = r.body.id;
    await this.pull();
  }
  tick(id: string): Record<string, number> {
    const k = this.known.get(id);
    const c = { ...(k?.clock ?? {}) };
    c[this.deviceId] = (c[this.deviceId] ?? 0) + 1;
    return c;
  }
  live(): string[] {
    return [...this.known.entries()].filter(([, k]) => !k.deleted).map(([id]) => id);
  }
  async pull(): Promise<void> {
    for (let i = 0; i < 20; i++) {
      const q = new URLSearchParams({ device_id: this.deviceId, limit: "500" });
      if (this.cursor) q.set("cursor", this.cursor);
      const r = await req(this.cursor ? "pull-inc" : "pull-full", this.access, "GET", `/api/sync/pull?${q}`, undefined, [200, 410]);
      if (r.status === 410) { this.cursor = null; this.known.clear(); continue; }
      if (r.status !== 200) return;
      for (const ch of r.body.changes) {
        if (ch.entity !== "task") continue;
        this.known.set(ch.entity_id, { version: ch.version, clock: ch.vector_clock, deleted: ch.op === "delete", title: ch.record?.title });
      }
      this.cursor = r.body.cursor;
      if (!r.body.has_more) return;
    }
  }
  async push(): Promise<void> {
    const changes: any[] = [];
    const live = this.live();
    const n = 1 + rnd(5);
    for (let i = 0; i < n; i++) {
      const p = Math.random();
      if (p < 0.35 || live.length < 20) {
        const id = uuid7();
        changes.push({ change_id: uuid7(), entity: "task", entity_id: id, op: "create", vector_clock: { [this.deviceId]: 1 },
          data: { title: words(5), description: words(30), status: pick(STATUSES), priority: pick(PRIOS), tags: [pick(WORDS)] } });
      } else if (p < 0.75 || live.length < 250) {
        const id = pick(live); const k = this.known.get(id)!;
        changes.push({ change_id: uuid7(), entity: "task", entity_id: id, op: "update", base_version: k.version, vector_clock: this.tick(id),
          data: Math.random() < 0.5 ? { status: pick(STATUSES), priority: pick(PRIOS) } : { title: words(5) } });
      } else {
        const id = pick(live); const k = this.known.get(id)!;
        changes.push({ change_id: uuid7(), entity: "task", entity_id: id, op: "delete", base_version: k.version, vector_clock: this.tick(id) });
      }
    }
    // one entity per batch at most once
    const seen = new Set<string>();
    const batch = changes.filter((c) => (seen.has(c.entity_id) ? false : (seen.add(c.entity_id), true)));
    const r = await req("push", this.access, "POST", "/api/sync/push", { device_id: this.deviceId, changes: batch }, [200]);
    if (r.status !== 200) return;
    for (const res of r.body.results) {
      count(`push-result ${res.status}`);
      if (["applied", "merged", "conflict", "duplicate"].includes(res.status)) {
        const ch = batch.find((c) => c.change_id === res.change_id);
        this.known.set(res.entity_id, { version: res.version, clock: res.vector_clock, deleted: ch?.op === "delete" && res.status === "applied", title: res.record?.title });
      }
    }
  }
  /** REST title edit, then a device push of the title from the old base: a conflict, then resolved. */
  async conflict(): Promise<void> {
    const live = this.live();
    if (live.length === 0) return;
    const id = pick(live); const k = this.known.get(id)!;
    const oldClock = this.tick(id);
    const p = await req("rest-patch", this.access, "PATCH", `/api/tasks/${id}`, { title: "rest " + words(4) }, [200, 404]);
    if (p.status !== 200) return;
    const r = await req("push-conflict", this.access, "POST", "/api/sync/push", { device_id: this.deviceId, changes: [
      { change_id: uuid7(), entity: "task", entity_id: id, op: "update", base_version: k.version, vector_clock: oldClock, data: { title: "device " + words(4) } }] }, [200]);
    if (r.status !== 200) return;
    const res = r.body.results[0];
    count(`conflict-push ${res.status}`);
    this.known.set(id, { version: res.version, clock: res.vector_clock, deleted: false });
    if (res.status === "conflict" && res.conflict_id) {
      await sleep(100 + rnd(500));
      const resolution = pick(["local", "remote", "custom"]);
      await req("resolve", this.access, "POST", `/api/sync/conflicts/${res.conflict_id}/resolve`,
        resolution === "custom" ? { resolution, data: { title: "custom " + words(3) } } : { resolution }, [200, 409]);
    }
  }
  async rest(): Promise<void> {
    const p = Math.random();
    const live = this.live();
    if (p < 0.25 || live.length === 0) {
      const r = await req("rest-create", this.access, "POST", "/api/tasks", { title: words(4), priority: pick(PRIOS), tags: [pick(WORDS)] }, [201]);
      if (r.status === 201) this.known.set(r.body.id, { version: r.body.version, clock: r.body.vector_clock ?? {}, deleted: false });
    } else if (p < 0.5) {
      const id = pick(live); const k = this.known.get(id)!;
      const r = await req("rest-patch-ifmatch", this.access, "PATCH", `/api/tasks/${id}`, { status: pick(STATUSES) }, [200, 404, 412], { "if-match": `"${k.version}"` });
      if (r.status === 200) this.known.set(id, { version: r.body.version, clock: r.body.vector_clock ?? k.clock, deleted: false });
    } else if (p < 0.6) {
      const id = pick(live); const k = this.known.get(id)!;
      const r = await req("rest-delete", this.access, "DELETE", `/api/tasks/${id}`, { version: k.version }, [204, 404, 409]);
      if (r.status === 204) k.deleted = true;
    } else if (p < 0.78) {
      const id = pick(live);
      const r = await req("comment-create", this.access, "POST", "/api/comments", { task_id: id, body: words(12) }, [201, 404, 422]);
      if (r.status === 201) this.comments.set(r.body.id, { task: id, version: r.body.version });
    } else if (p < 0.88 && this.comments.size > 0) {
      const [cid, c] = [...this.comments.entries()][rnd(this.comments.size)];
      if (Math.random() < 0.5) {
        const r = await req("comment-patch", this.access, "PATCH", `/api/comments/${cid}`, { body: words(10) }, [200, 404]);
        if (r.status === 200) c.version = r.body.version; else this.comments.delete(cid);
      } else {
        await req("comment-delete", this.access, "DELETE", `/api/comments/${cid}`, undefined, [204, 404]);
        this.comments.delete(cid);
      }
    } else {
      await req("rest-list", this.access, "GET", `/api/tasks?page_size=${pick([20, 50, 100])}&ordering=${pick(["-updated_at", "priority", "due_date"])}`, undefined, [200]);
      if (live.length) await req("rest-get", this.access, "GET", `/api/tasks/${pick(live)}`, undefined, [200, 404]);
    }
  }
  async bad(): Promise<void> {
    const p = Math.random();
    if (p < 0.25) await req("bad-401", null, "GET", "/api/tasks", undefined, [401]);
    else if (p < 0.35) await req("bad-401", "not.a.token", "GET", "/api/sync/pull?device_id=" + this.deviceId, undefined, [401]);
    else if (p < 0.55) await req("bad-422", this.access, "POST", "/api/tasks", { title: "", priority: "extreme" }, [422]);
    else if (p < 0.65) await req("bad-422", this.access, "GET", "/api/tasks?status=nope", undefined, [422]);
    else if (p < 0.8) await req("bad-404", this.access, "GET", `/api/tasks/${crypto.randomUUID()}`, undefined, [404]);
    else if (p < 0.88) await req("bad-400", this.access, "POST", "/api/tasks", undefined, [400], {}, "{\"title\": ");
    else await req("bad-login", null, "POST", "/api/auth/login", { email: `nobody-${uuid7()}@x.test`, password: "wrong-password" }, [401, 503]);
  }
}

async function deviceLoop(c: Client): Promise<void> {
  await c.setup();
  let lastConflict = Date.now();
  while (Date.now() < END) {
    if (Date.now() - c.lastAuth > 20_000) {
      if (Math.random() < 0.15) {
        await req("logout", c.access, "POST", "/api/auth/logout", { refresh: c.refresh }, [204]);
        await c.login();
      } else await c.doRefresh();
    }
    const p = Math.random();
    if (p < 0.3) await c.push();
    else if (p < 0.55) await c.pull();
    else if (p < 0.85) await c.rest();
    else if (p < 0.95) await c.bad();
    else await abortedRequest(pick(["/api/tasks", "/api/sync/push", "/api/comments"]), c.access);
    if (Date.now() - lastConflict > 8_000) { lastConflict = Date.now(); await c.conflict(); }
    await sleep(100 + rnd(140));
  }
}

const clients: Client[] = [];
for (const o of [1, 2]) for (const k of [1, 2]) for (const d of [1, 2]) if (!(k === 2 && d === 2)) clients.push(new Client(`u${o}${k}@org${o}.test`, o, `org${o}-u${k}-dev${d}`));
const dump = () => writeFileSync(`${outDir}/load-summary.json`, JSON.stringify(Object.fromEntries(Object.entries(counts).sort()), null, 1));
const timer = setInterval(dump, 10_000);
await Promise.all(clients.map((c, i) => sleep(i * 300).then(() => deviceLoop(c))));
clearInterval(timer);
dump();
console.log("load done", JSON.stringify(counts));
