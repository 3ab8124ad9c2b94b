/**
 * `search=…` on a large organization, this checkout against another one (A/B), through `app.handle`.
 * Not part of `npm run bench`; the figures of docs/performance.md "Search at 200,000 tasks after
 * instr/strpos (2026-12-06, thirteenth session)".
 *
 *   npx bun bench/search-ab.ts seed sqlite:/tmp/s.db [--tasks 200000]
 *   npx bun bench/search-ab.ts seed postgres://postgres@127.0.0.1:5432/NAME   (the database must exist)
 *   npx bun bench/search-ab.ts time URL --other /path/to/other/checkout [--n 20] [--set search|lists]
 *
 * `seed` builds one organization (an admin, a device, a project) through the services, then inserts
 * the tasks directly (bench/seed.ts: 40-character titles, 400-character descriptions of common
 * words), then soft-deletes 10% of them, puts the rare word "Zeppelin" in 0.05% of the titles and
 * "Über" in 1% of the descriptions, then `VACUUM (ANALYZE)` on Postgres (SQLite: no statistics, as
 * deployed). `time` builds two apps over the same database, this checkout's and the other's (each
 * from its own src/ and test/support/app.ts; the other needs node_modules, a symlink will do), and
 * sends each request `--n` times to each, alternating which goes first; it checks that both answer
 * the same count and page, and prints p50 / min / max per request and checkout.
 */
import postgres from "postgres";
import { Database as BunSqlite } from "bun:sqlite";
import { resolve } from "node:path";
import { seedTasks } from "./seed";
import { createTestApp } from "../test/support/app";
import { openDatabase } from "../src/db/open";
import { migrate } from "../src/db/migrate";

const EMAIL = "search-ab@example.test";
const PASSWORD = "search-ab password 0123456789";
const SLUG = "search-ab";

const args = process.argv.slice(2);
const flag = (name: string, def?: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const [mode, url] = args;
if (!mode || !url) throw new Error("usage: bun bench/search-ab.ts seed|time URL [--tasks N] [--other DIR] [--n 20]");
const isPg = url.startsWith("postgres");

async function seed(tasks: number): Promise<void> {
  const db = openDatabase(url);
  await migrate(db);
  const t = await createTestApp(db);
  const org = await t.services.orgs.create("Search AB", SLUG);
  const u = await t.createUser({ org: org.slug, role: "admin", email: EMAIL, password: PASSWORD, device: "seed" });
  const project = await t.request("POST", "/api/projects", { token: u.token, body: { name: "Everything" } });
  if (project.status !== 201) throw new Error(`project: ${project.status} ${JSON.stringify(project.body)}`);
  await db.close();
  const r = await seedTasks({ kind: isPg ? "postgres" : "sqlite", url, orgSlug: SLUG, email: EMAIL, deviceId: u.deviceId!, projectId: project.body.id }, tasks, 1e9, "v4");
  console.log(`seeded ${r.inserted} tasks in ${(r.ms / 1000).toFixed(1)} s`);
  // Deleted, rare and non-ASCII rows chosen by a hash of the (random) id: spread over every index.
  if (isPg) {
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    const h = "abs(hashtext(id))";
    await sql.unsafe(`UPDATE tasks SET deleted_at = updated_at, deleted_by = created_by WHERE ${h} % 10 = 0`);
    await sql.unsafe(`UPDATE tasks SET title = 'Zeppelin ' || substr(title, 10) WHERE ${h} % 2000 = 7`);
    await sql.unsafe(`UPDATE tasks SET description = 'Über ' || substr(description, 6) WHERE ${h} % 100 = 3`);
    await sql.unsafe("VACUUM (ANALYZE)");
    await sql.end({ timeout: 5 });
  } else {
    const s = new BunSqlite(url.slice("sqlite:".length));
    s.exec("UPDATE tasks SET deleted_at = updated_at, deleted_by = created_by WHERE rowid % 10 = 0");
    s.exec("UPDATE tasks SET title = 'Zeppelin ' || substr(title, 10) WHERE rowid % 2000 = 7");
    s.exec("UPDATE tasks SET description = 'Über ' || substr(description, 6) WHERE rowid % 100 = 3");
    s.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    s.close();
  }
}

/** The requests of `--set search` (the default), each sent with `&page_size=50` unless it says its own. */
const SEARCHES: [string, string][] = [
  ["common word", "search=invoice"],
  ["rare word", "search=zeppelin"],
  ["no match", "search=xylophone"],
  ["non-ASCII", "search=%C3%BCber"],
  ["search + status", "search=invoice&status=blocked"],
];

/** `--set lists`: list pages without search, shallow and deep, in an index's order or sorted. */
const LISTS: [string, string][] = [
  ["default, page 1", "page_size=50"],
  ["title, page 1", "ordering=title&page_size=50"],
  ["-priority, page 1", "ordering=-priority&page_size=50"],
  ["status filter", "status=todo&page_size=50"],
  ["default, page 2000", "page=2000&page_size=50"],
  ["title, page 2000", "ordering=title&page=2000&page_size=50"],
  ["deleted, page 300 of 500", "include_deleted=true&page=300&page_size=500"],
  ["title,priority, page 1", "ordering=title,priority&page_size=50"],
  ["title,priority, page 2000", "ordering=title,priority&page=2000&page_size=50"],
  ["-due_date,title, page 1", "ordering=-due_date,title&page_size=50"],
  ["status + title,priority", "status=todo&ordering=title,priority&page_size=50"],
  ["status + due_date, page 200", "status=todo&ordering=due_date&page=200&page_size=50"],
];

const QUERIES = flag("set", "search") === "lists" ? LISTS : SEARCHES;

async function time(other: string, n: number): Promise<void> {
  const here = resolve(import.meta.dir, "..");
  const apps = [] as { name: string; request: Awaited<ReturnType<typeof createTestApp>>["request"]; close: () => Promise<void> }[];
  for (const [name, dir] of [["this", here], ["other", other]] as const) {
    const { createTestApp: make } = (await import(`${dir}/test/support/app.ts`)) as typeof import("../test/support/app");
    const { openDatabase: open } = (await import(`${dir}/src/db/open.ts`)) as typeof import("../src/db/open");
    const db = open(url);
    const app = await make(db);
    apps.push({ name, request: app.request, close: () => db.close() });
  }
  const login = await apps[0].request("POST", "/api/auth/login", { body: { email: EMAIL, password: PASSWORD } });
  if (login.status !== 200) throw new Error(`login: ${login.status} ${JSON.stringify(login.body)}`);
  const token = login.body.access as string;
  console.log(`${isPg ? "postgres" : "sqlite"}: this = ${here}, other = ${other}, ${n} requests each, alternating`);
  for (const [label, q] of QUERIES) {
    const path = `/api/tasks?${q}${q.includes("page_size=") ? "" : "&page_size=50"}`;
    const ms: number[][] = [[], []];
    let seen: string | null = null;
    const once = async (k: number, timed: boolean) => {
      const t0 = performance.now();
      const r = await apps[k].request("GET", path, { token });
      const took = performance.now() - t0;
      if (r.status !== 200) throw new Error(`${apps[k].name} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
      const answer = JSON.stringify([r.body.count, r.body.results.map((x: { id: string }) => x.id)]);
      if (seen !== null && answer !== seen) throw new Error(`${path}: the two checkouts answer differently`);
      seen = answer;
      if (timed) ms[k].push(took);
      return r.body.count as number;
    };
    const count = await once(0, false);
    await once(1, false);
    for (let i = 0; i < n; i++) {
      const first = i % 2;
      await once(first, true);
      await once(1 - first, true);
    }
    const stat = (xs: number[]) => {
      const s = [...xs].sort((a, b) => a - b);
      const f = (x: number) => x.toFixed(x < 10 ? 2 : 0);
      return `p50 ${f(s[Math.floor(s.length / 2)])} ms (${f(s[0])}–${f(s[s.length - 1])})`;
    };
    console.log(`${label.padEnd(28)} count ${String(count).padStart(6)}  this ${stat(ms[0])}  other ${stat(ms[1])}`);
  }
  for (const a of apps) await a.close();
}

if (mode === "seed") await seed(Number(flag("tasks", "200000")));
else if (mode === "time") await time(resolve(flag("other") ?? "."), Number(flag("n", "20")));
else throw new Error(`unknown mode ${mode}`);
