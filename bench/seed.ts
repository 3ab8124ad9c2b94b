/**
 * Seeds a large organization straight into the database (pushing a million tasks over HTTP
 * would take too long): task, history and feed rows in big transactions, feed positions
 * allocated from `org_feed_state.seq` exactly as the server does. Run while the server is
 * stopped; the server is restarted afterwards, so it sees the rows as if it had written them.
 */
import postgres from "postgres";
import { openLikeServer } from "./baseline";
import { type IdKind, newId, newTask, Rng, type TaskFields } from "./data";
import { addTask, emptyBatch, insertPostgres, insertSqlite, type Writer } from "./rows";

export interface SeedTarget {
  kind: "sqlite" | "postgres";
  url: string;
  orgSlug: string;
  email: string;
  /** A registered device of the organization: the seeded records' clocks name it. */
  deviceId: string;
  projectId: string;
}

export interface SeedResult {
  inserted: number;
  ms: number;
  /** Every `sampleEvery`-th seeded task id (targets for edits at scale), in seeding order, with its fields as seeded (what pulls must answer). */
  sample: Map<string, TaskFields>;
}

const CHUNK = 25_000;

export async function seedTasks(t: SeedTarget, count: number, sampleEvery: number, ids: IdKind, seed = 7): Promise<SeedResult> {
  const t0 = performance.now();
  const rng = new Rng(seed);
  const sample = new Map<string, TaskFields>();
  const at = new Date().toISOString();
  let made = 0;
  const build = (w: Writer, firstPos: number, n: number) => {
    const b = emptyBatch();
    for (let i = 0; i < n; i++) {
      const id = newId(ids);
      const fields = newTask(rng, t.projectId);
      if (made++ % sampleEvery === 0) sample.set(id, fields);
      addTask(b, id, fields, w, firstPos + i, at);
    }
    return b;
  };

  if (t.kind === "sqlite") {
    const db = openLikeServer(t.url.slice("sqlite:".length));
    try {
      // Bulk load: rows are consistent by construction, so no per-row foreign key checks.
      db.exec("PRAGMA synchronous = NORMAL");
      db.exec("PRAGMA foreign_keys = OFF");
      const w = writerSqlite(db, t);
      for (let done = 0; done < count; done += CHUNK) {
        const n = Math.min(CHUNK, count - done);
        db.exec("BEGIN IMMEDIATE");
        const seq = (db.prepare("SELECT seq FROM org_feed_state WHERE org_id = ?").get(w.orgId) as { seq: number }).seq;
        insertSqlite(db, build(w, seq + 1, n));
        db.prepare("UPDATE org_feed_state SET seq = ? WHERE org_id = ?").run(seq + n, w.orgId);
        db.exec("COMMIT");
      }
      db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    } finally {
      db.close();
    }
  } else {
    const sql = postgres(t.url, { max: 1, onnotice: () => {}, types: { bigint: postgres.BigInt } });
    try {
      const [org] = await sql<{ id: string }[]>`SELECT id FROM organizations WHERE slug = ${t.orgSlug}`;
      const [user] = await sql<{ id: string }[]>`SELECT id FROM users WHERE email = ${t.email}`;
      if (!org || !user) throw new Error(`seed: organization ${t.orgSlug} or user ${t.email} not found`);
      const w: Writer = { orgId: org.id, userId: user.id, deviceId: t.deviceId };
      for (let done = 0; done < count; done += CHUNK) {
        const n = Math.min(CHUNK, count - done);
        await sql.begin(async (tx) => {
          await tx`SET LOCAL session_replication_role = replica`; // bulk load: no per-row foreign key triggers
          const [{ seq }] = await tx<{ seq: bigint }[]>`SELECT seq FROM org_feed_state WHERE org_id = ${w.orgId} FOR UPDATE`;
          await insertPostgres(tx, build(w, Number(seq) + 1, n));
          await tx`UPDATE org_feed_state SET seq = ${Number(seq) + n} WHERE org_id = ${w.orgId}`;
        });
      }
      // What autovacuum does after a bulk load: statistics and the visibility map.
      for (const table of ["tasks", "task_tags", "history", "feed"]) await sql.unsafe(`VACUUM (ANALYZE) ${table}`);
    } finally {
      await sql.end({ timeout: 5 });
    }
  }
  return { inserted: count, ms: performance.now() - t0, sample };
}

function writerSqlite(db: ReturnType<typeof openLikeServer>, t: SeedTarget): Writer {
  const org = db.prepare("SELECT id FROM organizations WHERE slug = ?").get(t.orgSlug) as { id: string } | null;
  const user = db.prepare("SELECT id FROM users WHERE email = ?").get(t.email) as { id: string } | null;
  if (!org || !user) throw new Error(`seed: organization ${t.orgSlug} or user ${t.email} not found`);
  return { orgId: org.id, userId: user.id, deviceId: t.deviceId };
}
