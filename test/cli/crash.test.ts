/**
 * "An acknowledged change survives a crash of the server process" and "each change is applied
 * exactly once" (api-contract.md, Push), with the real server: `taskmgr serve` is killed (SIGKILL)
 * while pushes are in flight, started again on the same database, and every batch is pushed again
 * with the same change_ids, as a client whose answers were lost does. Where the kill falls is left
 * to chance; what must hold does not depend on it.
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { openDatabase } from "../../src/db/open";
import { createTestDatabase, DIALECTS } from "../support/db";
import { removeTempDirs, serve, tempDir, type Served } from "./support";

setDefaultTimeout(60_000);
afterAll(removeTempDirs);

type Json = Record<string, any>;
interface Change {
  change_id: string;
  entity: "task";
  entity_id: string;
  op: "create" | "update";
  data: Json;
  base_version?: number;
  vector_clock: Record<string, number>;
}

/** Round 0 kills at the first answer; the others after `round * KILL_STEP_MS`, to fall sometimes between a COMMIT and its answers. */
const ROUNDS = 6;
const KILL_STEP_MS = 15;
const BATCHES_AT_ONCE = 6;
const CREATES_PER_BATCH = 10;

for (const dialect of DIALECTS) {
  describe(`taskmgr serve killed mid-push [${dialect}]`, () => {
    test("answered changes survive the kill and their retries are duplicates of the same answer; unanswered ones are applied once", async () => {
      const cwd = tempDir();
      let db: string;
      let drop: () => Promise<void> = async () => {};
      if (dialect === "sqlite") db = `sqlite:${join(cwd, "data", "crash.db")}`;
      else ({ url: db, drop } = await createTestDatabase("postgres", { migrate: false }));
      const env = { LOG_DIR: join(cwd, "logs"), TASKMGR_SECRET: "crash-test-secret-0123456789abcdef0123", LOG_LEVEL: "warn" };
      const start = () => serve(["--port", "0", "--db", db], { cwd, env });
      let s: Served = await start();
      try {
        const [, email, password] = /admin (\S+) with password: (\S+)/.exec(s.stdout())!;
        const call = async (method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; body: Json }> => {
          const r = await fetch(`${s.url}${path}`, {
            method,
            headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
            body: body === undefined ? undefined : JSON.stringify(body),
          });
          return { status: r.status, body: (await r.json()) as Json };
        };
        const token = (await call("POST", "/api/auth/login", { email, password })).body.access as string;
        const pusher = (await call("POST", "/api/devices", { name: "pusher" }, token)).body.id as string;
        const reader = (await call("POST", "/api/devices", { name: "reader" }, token)).body.id as string;
        const snapshot = await call("GET", `/api/sync/pull?device_id=${reader}`, undefined, token);
        expect(snapshot.body.has_more).toBe(false);
        const readerCursor = snapshot.body.cursor as string;
        const migrations = async () => {
          const conn = openDatabase(db);
          try {
            return JSON.stringify(await conn.all("SELECT version, applied_at FROM schema_migrations ORDER BY version"));
          } finally {
            await conn.close();
          }
        };
        const migrated = await migrations();

        let counter = 0;
        const batches: Change[][] = [];
        /** change_id → the first answer received (the original, or a duplicate when the original was lost). */
        const answers = new Map<string, Json>();
        /** Task id → its expected latest version and title. */
        const tasks = new Map<string, { version: number; clock: Record<string, number>; title: string; updated: boolean }>();
        const push = (changes: Change[]) => call("POST", "/api/sync/push", { device_id: pusher, changes }, token);

        /** Checks one answer against what was answered before for the same change, and remembers it. */
        const take = (change: Change, result: Json) => {
          expect(result.change_id).toBe(change.change_id);
          const before = answers.get(change.change_id);
          if (before) {
            expect({ status: result.status, version: result.version, vector_clock: result.vector_clock, record: result.record }).toEqual({
              status: "duplicate",
              version: before.version,
              vector_clock: before.vector_clock,
              record: before.record,
            });
            return;
          }
          // Never answered: either committed before the kill (duplicate) or not (applied now). Stale would mean applied once already but not remembered.
          expect(["applied", "duplicate"]).toContain(result.status);
          expect(result.vector_clock).toEqual(change.vector_clock);
          answers.set(change.change_id, result);
          const task = tasks.get(change.entity_id)!;
          task.version = Math.max(task.version, result.version);
        };

        for (let round = 0; round < ROUNDS; round++) {
          // Edits of tasks created (and answered) in earlier rounds, each task edited once, then new tasks.
          const editable = [...tasks.entries()].filter(([, t]) => !t.updated);
          const sent = Array.from({ length: BATCHES_AT_ONCE }, (_, b) => {
            const changes: Change[] = [];
            for (const [id, t] of editable.filter((_, i) => i % BATCHES_AT_ONCE === b)) {
              const title = `edited in round ${round}`;
              const vector_clock = { ...t.clock, [pusher]: ++counter };
              changes.push({ change_id: crypto.randomUUID(), entity: "task", entity_id: id, op: "update", data: { title }, base_version: t.version, vector_clock });
              Object.assign(t, { title, updated: true, clock: vector_clock });
            }
            for (let i = 0; i < CREATES_PER_BATCH; i++) {
              const id = crypto.randomUUID();
              const title = `round ${round} batch ${b} task ${i}`;
              const vector_clock = { [pusher]: ++counter };
              tasks.set(id, { version: 0, clock: vector_clock, title, updated: false });
              changes.push({ change_id: crypto.randomUUID(), entity: "task", entity_id: id, op: "create", data: { title }, vector_clock });
            }
            batches.push(changes);
            return changes;
          });
          const pending = sent.map((changes) => push(changes).then((r) => ({ changes, r }), () => ({ changes, r: null })));
          // Killed at the first answer (the others in flight), or a moment after the requests were sent
          // (SQLite commits a group of them at once: some committed, their answers not yet read).
          await (round === 0 ? Promise.race(pending) : Bun.sleep(round * KILL_STEP_MS));
          expect(await s.stop("SIGKILL")).not.toBe(0);
          for (const { changes, r } of await Promise.all(pending)) {
            if (r?.status !== 200) continue;
            changes.forEach((c, i) => take(c, r.body.results[i]));
          }

          s = await start();
          expect(s.stdout()).not.toContain("password"); // the same database: no second admin
          // Every batch so far again, as clients whose answers were lost or who are unsure.
          for (const changes of batches) {
            const r = await push(changes);
            expect(r.status).toBe(200);
            changes.forEach((c, i) => take(c, r.body.results[i]));
          }
        }

        // Each task holds its last edit, with one history entry per change (none applied twice).
        for (const [id, t] of tasks) {
          const history = await call("GET", `/api/tasks/${id}/history`, undefined, token);
          expect(history.status).toBe(200);
          const entries = (history.body.results ?? history.body) as Json[];
          expect(entries.map((e) => [e.version, e.device_id]).sort()).toEqual((t.updated ? [1, 2] : [1]).map((v) => [v, pusher]));
          expect(t.version).toBe(t.updated ? 2 : 1);
        }
        // Another device pulls every task once, in its latest state.
        const seen = new Map<string, number>();
        let cursor = readerCursor;
        for (;;) {
          const page = await call("GET", `/api/sync/pull?device_id=${reader}&cursor=${cursor}&limit=97`, undefined, token);
          expect(page.status).toBe(200);
          for (const c of page.body.changes as Json[]) {
            expect(seen.has(c.entity_id)).toBe(false);
            seen.set(c.entity_id, c.version);
            expect(c.record.title).toBe(tasks.get(c.entity_id)!.title);
          }
          cursor = page.body.cursor;
          if (!page.body.has_more) break;
        }
        expect(seen).toEqual(new Map([...tasks].map(([id, t]) => [id, t.version])));
        expect(await s.stop("SIGTERM")).toBe(0);
        expect(await migrations()).toBe(migrated); // restarts after kills applied no migration again
      } finally {
        if (s.proc.exitCode === null) await s.stop("SIGKILL");
        await drop();
      }
    });
  });
}
