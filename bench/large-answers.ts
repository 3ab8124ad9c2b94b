/**
 * The server's memory for large REST answers (docs/performance.md, "Large REST answers"):
 * `bun bench/large-answers.ts [sqlite|postgres] [--port N] [--pg URL]` seeds 500 tasks of
 * 100,000-character descriptions, a task edited 300 times with such a description, and 500
 * conflicts carrying such texts, then reads the compiled server's RSS (dist/taskmgr: `npm run build`)
 * around 10 rounds of 4 concurrent requests of each large list: the peak during a round, and the
 * RSS a second after it.
 */
import { join } from "node:path";
import { Api, type Change } from "./client";
import { BINARY, childEnv, freshPostgres, freshSqlite, runCli, ServerProcess } from "./server";

const args = process.argv.slice(2);
const kind = args[0] === "postgres" ? "postgres" : "sqlite";
const opt = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1]! : fallback;
};
const port = opt("--port", "18510");
const pgAdmin = opt("--pg", "postgres://postgres@127.0.0.1:5432/postgres");
const TEXT_CHARS = 100_000;
const ROUNDS = 10;
const CONCURRENT = 4;
const BATCH = 25;

/** A text of `n` ASCII characters, different for each `seed` (words of letters, spaces, line breaks). */
function bigText(seed: number, n = TEXT_CHARS): string {
  let x = seed * 2654435761 + 1;
  const out: string[] = [];
  let len = 0;
  while (len < n) {
    x = (x * 1103515245 + 12345) >>> 0;
    const w = (x >>> 8).toString(36) + (x % 17 === 0 ? "\n" : " ");
    out.push(w);
    len += w.length;
  }
  return out.join("").slice(0, n);
}

const uuid = () => crypto.randomUUID();

async function seed(api: Api): Promise<{ historyTask: string }> {
  const a = (await api.call<{ id: string }>("POST", "/api/devices", { name: "a", platform: "bench" }, 201)).body.id;
  const b = (await api.call<{ id: string }>("POST", "/api/devices", { name: "b", platform: "bench" }, 201)).body.id;
  const ids: string[] = [];
  // A request body holds at most 5 MB: pushes of 40 changes of 100 KB.
  for (let batch = 0; batch < 500 / BATCH; batch++) {
    const changes: Change[] = [];
    for (let i = 0; i < BATCH; i++) {
      const id = uuid();
      ids.push(id);
      changes.push({ change_id: uuid(), entity: "task", entity_id: id, op: "create", data: { title: `t${batch * BATCH + i}`, description: bigText(batch * BATCH + i) }, vector_clock: { [a]: 1 } });
    }
    await api.push(a, changes);
  }
  // Conflicts: both devices rewrite every description from version 1.
  for (const [dev, salt] of [[a, 1_000], [b, 2_000]] as const) {
    for (let batch = 0; batch < 500 / BATCH; batch++) {
      const changes: Change[] = ids.slice(batch * BATCH, batch * BATCH + BATCH).map((id, i) => ({
        change_id: uuid(), entity: "task", entity_id: id, op: "update", base_version: 1,
        data: { description: bigText(salt + batch * BATCH + i) }, vector_clock: dev === a ? { [a]: 2 } : { [a]: 1, [b]: 1 },
      }));
      await api.push(dev, changes);
    }
  }
  const historyTask = (await api.call<{ id: string }>("POST", "/api/tasks", { title: "edited", description: bigText(9_999) }, 201)).body.id;
  for (let v = 1; v < 300; v++) await api.call("PATCH", `/api/tasks/${historyTask}`, { description: bigText(10_000 + v) });
  return { historyTask };
}

async function main() {
  const db = kind === "postgres" ? await freshPostgres(pgAdmin) : freshSqlite();
  const env = childEnv(db.scratch, "warn");
  const server = await ServerProcess.start([BINARY, "serve", "--port", port, "--db", db.url], env);
  try {
    const slug = "mem";
    await runCli(["orgs", "create", "Mem Org", "--slug", slug, "--db", db.url], env);
    await runCli(["users", "create", "--org", slug, "--email", "mem@example.com", "--role", "admin", "--password", "bench-password-123", "--db", db.url], env);
    const api = new Api(server.url);
    await api.login("mem@example.com", "bench-password-123");
    const t0 = performance.now();
    const { historyTask } = await seed(api);
    console.log(`${kind}: seeded in ${((performance.now() - t0) / 1000).toFixed(0)} s (pid ${server.pid}, ${join(db.scratch)})`);
    await Bun.sleep(2_000);
    const lists = [
      ["tasks", "/api/tasks?page_size=500"],
      ["history", `/api/tasks/${historyTask}/history?page_size=500`],
      ["conflicts", "/api/sync/conflicts?page_size=500"],
    ] as const;
    for (const [name, path] of lists) {
      const before = server.rssMb();
      let bytes = 0;
      const after: number[] = [];
      const peaks: number[] = [];
      const ms: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        const stop = server.sampleRss(10);
        const s = performance.now();
        const answers = await Promise.all(
          Array.from({ length: CONCURRENT }, async () => {
            const res = await fetch(server.url + path, { headers: { authorization: `Bearer ${api.token}` } });
            const body = await res.arrayBuffer();
            if (res.status !== 200) throw new Error(`${path}: ${res.status} ${new TextDecoder().decode(body.slice(0, 300))}`);
            return body.byteLength;
          }),
        );
        ms.push(performance.now() - s);
        peaks.push(stop().peakMb);
        bytes = answers[0]!;
        await Bun.sleep(1_000);
        after.push(server.rssMb());
      }
      const mb = (x: number) => x.toFixed(0);
      console.log(
        `${kind} ${name}: answer ${(bytes / 1e6).toFixed(1)} MB; RSS before ${mb(before)} MB; ` +
          `peak per round ${peaks.map(mb).join(" ")}; after each round ${after.map(mb).join(" ")}; ` +
          `ms per round ${ms.map((x) => x.toFixed(0)).join(" ")}`,
      );
    }
  } finally {
    await server.stop();
    await db.drop();
  }
}

await main();
