/**
 * The physical limit of storage: the same task (+ task_tags), history and feed rows a push of
 * N creates stores, inserted straight through bun:sqlite with prepared statements in ONE transaction,
 * on a fresh file with the server's pragmas (WAL, synchronous=FULL). No HTTP, no JSON
 * parsing, no validation, no clocks: push throughput is reported as a percentage of this.
 */
import { Database as BunSqlite } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BACKSTOP_AUTOCHECKPOINT_PAGES } from "../src/db/checkpoint";
import { MIGRATIONS, migrationSql } from "../src/db/migrations";
import { SQLITE_PRAGMAS } from "../src/db/sqlite";
import { type IdKind, newId, newTask, Rng } from "./data";
import { addTask, emptyBatch, insertSqlite, type RowBatch, type Writer } from "./rows";

export interface BaselineResult {
  tasks: number;
  ms: number;
  tasksPerSec: number;
  /** The same rows with one COMMIT per `batch` (as a push stores them), on another fresh file. */
  perBatch: { batch: number; ms: number; tasksPerSec: number };
}

/**
 * Same pragmas as src/db/sqlite.ts (imported, so the two cannot drift apart). The server
 * checkpoints the WAL in a worker thread and keeps `wal_autocheckpoint` only as a backstop; the
 * baseline gets the same backstop, so neither pays a checkpoint inside the timed COMMIT.
 */
export function openLikeServer(path: string): BunSqlite {
  const db = new BunSqlite(path, { create: true });
  for (const pragma of SQLITE_PRAGMAS) db.exec(pragma);
  db.exec(`PRAGMA wal_autocheckpoint = ${BACKSTOP_AUTOCHECKPOINT_PAGES}`);
  return db;
}

/**
 * The baseline as issue #7 defines it (every row in one transaction), and for context the same rows
 * committed every `batch` tasks: each COMMIT writes every page its transaction dirtied to the WAL
 * and fsyncs it, and a batch of random UUIDs dirties pages all over each index.
 */
export function runBaseline(tasks: number, seed = 1, batch = tasks, ids: IdKind = "v4"): BaselineResult {
  const one = storeRows(tasks, seed, tasks, batch, ids);
  const per = storeRows(tasks, seed, batch, batch, ids);
  return { tasks, ms: one.ms, tasksPerSec: one.tasksPerSec, perBatch: { batch, ms: per.ms, tasksPerSec: per.tasksPerSec } };
}

/**
 * Stores the rows of `tasks` creates, committing every `batch` of them. Each `push` tasks share a
 * timestamp, a millisecond after the previous push's, as the creates of one push share the server's
 * time (both runs store the same rows: with one timestamp for all, the indexes ordered by time
 * would take each batch's rows at random ids, which no push does).
 */
function storeRows(tasks: number, seed: number, batch: number, push: number, ids: IdKind): { ms: number; tasksPerSec: number } {
  const dir = mkdtempSync(join(tmpdir(), "taskmgr-baseline-"));
  const db = openLikeServer(join(dir, "baseline.db"));
  try {
    for (const m of MIGRATIONS) db.exec(migrationSql(m, "sqlite"));
    const start = Date.now();
    const at = new Date(start).toISOString();
    const w: Writer = { orgId: crypto.randomUUID(), userId: crypto.randomUUID(), deviceId: crypto.randomUUID() };
    const projectId = crypto.randomUUID();
    db.prepare("INSERT INTO organizations (id, name, slug, created_at) VALUES (?, ?, ?, ?)").run(w.orgId, "Baseline", "baseline", at);
    db.prepare("INSERT INTO org_feed_state (org_id, seq) VALUES (?, 1)").run(w.orgId);
    db.prepare("INSERT INTO users (id, org_id, email, role, password_hash, created_at, updated_at) VALUES (?, ?, ?, 'admin', 'x', ?, ?)")
      .run(w.userId, w.orgId, "baseline@example.com", at, at);
    db.prepare("INSERT INTO devices (id, org_id, user_id, name, created_at) VALUES (?, ?, ?, 'baseline', ?)").run(w.deviceId, w.orgId, w.userId, at);
    db.prepare("INSERT INTO projects (id, org_id, name, version, vector_clock, created_at, updated_at) VALUES (?, ?, 'P', 1, '{}', ?, ?)")
      .run(projectId, w.orgId, at, at);

    // Content generated up front: only storage is timed.
    const rng = new Rng(seed);
    const batches: RowBatch[] = [];
    for (let i = 0; i < tasks; i++) {
      if (i % batch === 0) batches.push(emptyBatch());
      addTask(batches[batches.length - 1], newId(ids), newTask(rng, projectId), w, i + 2, new Date(start + Math.floor(i / push)).toISOString());
    }

    const setSeq = db.prepare("UPDATE org_feed_state SET seq = ? WHERE org_id = ?");
    const t0 = performance.now();
    let seq = 1;
    for (const b of batches) {
      db.exec("BEGIN IMMEDIATE");
      insertSqlite(db, b);
      setSeq.run((seq += b.tasks.length), w.orgId);
      db.exec("COMMIT");
    }
    const ms = performance.now() - t0;
    const n = (db.prepare("SELECT count(*) AS n FROM tasks").get() as { n: number }).n;
    if (n !== tasks) throw new Error(`baseline: ${n} tasks stored, expected ${tasks}`);
    return { ms, tasksPerSec: (tasks / ms) * 1000 };
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
