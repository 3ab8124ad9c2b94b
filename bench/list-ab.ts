/**
 * In-process A/B of list answers: `bun bench/list-ab.ts --other /path/to/other/checkout` builds this
 * checkout's app and the other's (`test/support/app.ts` of each) over one SQLite file, and times
 * `GET /api/tasks` pages through `app.handle` (body read whole), the two apps alternating request by
 * request: small pages (titles and short descriptions) and large ones (descriptions of 100,000 characters).
 */
import { join, resolve } from "node:path";
import { createTestApp } from "../test/support/app";
import { createTestDatabase } from "../test/support/db";

const i = process.argv.indexOf("--other");
if (i < 0) throw new Error("usage: bun bench/list-ab.ts --other DIR");
const other = resolve(process.argv[i + 1]!);
const { createTestApp: createOther } = (await import(join(other, "test/support/app.ts"))) as { createTestApp: typeof createTestApp };

const { db, drop } = await createTestDatabase("sqlite");
const mine = await createTestApp(db);
const theirs = await createOther(db);
const small = await mine.createUser();
const large = await mine.createUser();
for (let k = 0; k < 300; k++) await mine.request("POST", "/api/tasks", { token: small.token, body: { title: `task ${k}`, description: `a short description ${k}` } });
const text = (k: number) => Array.from({ length: 12_500 }, (_, j) => ((j * 31 + k) % 997).toString(36).padEnd(7, "x")).join(" ").slice(0, 100_000);
for (let k = 0; k < 100; k++) await mine.request("POST", "/api/tasks", { token: large.token, body: { title: `big ${k}`, description: text(k) } });

async function time(app: typeof mine.app, path: string, token: string): Promise<number> {
  const t0 = performance.now();
  const res = await app.handle(new Request(`http://localhost${path}`, { headers: { authorization: `Bearer ${token}` } }));
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`${path}: ${res.status}`);
  return performance.now() - t0;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const cases: [string, string, number][] = [
  ["50 small tasks", "/api/tasks", 60],
  ["300 small tasks", "/api/tasks?page_size=500", 40],
  ["100 tasks of 100 KB", "/api/tasks?page_size=100", 12],
];
for (const [name, path, pairs] of cases) {
  const token = name.includes("KB") ? large.token : small.token;
  const a: number[] = [];
  const b: number[] = [];
  for (let p = 0; p < 3; p++) await time(mine.app, path, token), await time(theirs.app, path, token);
  for (let p = 0; p < pairs; p++) {
    if (p % 2 === 0) {
      a.push(await time(mine.app, path, token));
      b.push(await time(theirs.app, path, token));
    } else {
      b.push(await time(theirs.app, path, token));
      a.push(await time(mine.app, path, token));
    }
  }
  console.log(`${name}: this checkout p50 ${median(a).toFixed(2)} ms, other ${median(b).toFixed(2)} ms (${pairs} pairs)`);
}
await drop();
