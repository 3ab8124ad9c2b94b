/**
 * Compact keys on SQLite, an experiment (docs/performance.md, "Compact keys on SQLite"): the rows a
 * push of task creates stores (tasks, task_tags, history, feed as bench/baseline.ts builds them, plus
 * the exactly-once `sync_changes` row each pushed change writes), inserted through bun:sqlite on a
 * fresh file with the server's pragmas (WAL, synchronous=FULL, the checkpoint backstop), under
 * several physical layouts of the same schema:
 *
 *   base     the schema of migrations/ (checked column by column and index by index against them)
 *   1ts      base, with one created_at/updated_at for every row and no sync_changes: exactly what
 *            bench/baseline.ts stores (the other variants give each batch its own server time)
 *   blob     every UUID column (ids, org_id, device, user, change ids) a 16-byte BLOB, not 36-char TEXT
 *   org      org_id an INTEGER (the organization's rowid) in every table and index
 *   wr       sync_changes WITHOUT ROWID (its key is what every lookup uses)
 *   wrfeed   feed WITHOUT ROWID (keyed by record, as each write's upsert of its row uses it)
 *   idtie    tasks_live_priority tie-broken by id alone, as before migration 0011 (which put created_at
 *            before the id, so that new tasks land at the end of their priority instead of at a random
 *            id; not done for tasks_live_due: 500 creates fall on about 400 of its 730 due dates anyway,
 *            and the wider entries made it worse at 2,000 tasks). The figures of docs/performance.md's
 *            "Compact keys" table were measured before 0011: their "base" is this "idtie", their "tie" this "base"
 *   v7       base, with time-ordered UUIDv7 task and change ids chosen by the client (for comparison:
 *            a client-side choice, no schema change)
 *   and combinations joined with "+" (e.g. blob+org, v7+blob+org).
 *
 * Each round, for each task count, runs every variant one after the other (rotated each round) twice:
 * every row in ONE transaction, and one COMMIT per `--batch` tasks; it prints tasks/s (best / median)
 * and this process's CPU time per task (median).
 * A separate untimed pass per variant counts the WAL frames each COMMIT writes (a PASSIVE checkpoint
 * after each COMMIT restarts the WAL; `--count-last K`: only the last K COMMITs, for large counts)
 * and maps the last COMMIT's pages to their B-trees (dbstat).
 *
 *   bun bench/keys-experiment.ts [--tasks 10000,20000] [--batch 500] [--rounds 3]
 *     [--variants base,1ts,blob,org,wr,wrfeed,idtie,blob+org,blob+org+wr] [--no-pages]
 *
 * `--rounds 0` runs the page count only; `--no-pages` the timings only. `--migrate [--to blob+org]`
 * instead times the conversion of a base-layout database of `--tasks` tasks into another layout.
 */
import { Database as BunSqlite } from "bun:sqlite";
import { mkdtempSync, openSync, readSync, closeSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MIGRATIONS, migrationSql } from "../src/db/migrations";
import { openLikeServer } from "./baseline";
import { type IdKind, newId, newTask, Rng } from "./data";
import { addTask, emptyBatch, FEED, HISTORY, type RowBatch, TASK_TAGS, TASKS, type TableSpec, type Value, type Writer } from "./rows";

// ---------------------------------------------------------------------------------------------
// Layouts

interface Layout {
  name: string;
  /** UUID columns as 16-byte BLOBs. */
  blob: boolean;
  /** org_id as the organization's INTEGER rowid. */
  orgInt: boolean;
  /** sync_changes WITHOUT ROWID. */
  syncWithoutRowid: boolean;
  /** feed WITHOUT ROWID. */
  feedWithoutRowid: boolean;
  /** the priority index tie-broken by id alone (before migration 0011), not by (created_at, id). */
  tieId: boolean;
  /** baseline.ts's rows: one timestamp for every row, no sync_changes. */
  asBaseline: boolean;
  /** UUIDv7 task and change ids. */
  v7: boolean;
}

function layoutOf(name: string): Layout {
  const parts = new Set(name.split("+"));
  const known = ["base", "1ts", "blob", "org", "wr", "wrfeed", "idtie", "v7"];
  for (const p of parts) if (!known.includes(p)) throw new Error(`unknown variant part ${p} (known: ${known.join(", ")})`);
  return {
    name,
    blob: parts.has("blob"),
    orgInt: parts.has("org"),
    syncWithoutRowid: parts.has("wr"),
    feedWithoutRowid: parts.has("wrfeed"),
    tieId: parts.has("idtie"),
    asBaseline: parts.has("1ts"),
    v7: parts.has("v7"),
  };
}

/** The hot tables of the schema (as migrations 0001–0011 leave them on SQLite), in a layout's types. */
function schemaSql(l: Layout): string {
  const ID = l.blob ? "BLOB" : "TEXT";
  const ORG = l.orgInt ? "INTEGER" : ID;
  const tie = l.tieId ? "id" : "created_at, id";
  const orgs = l.orgInt
    ? `CREATE TABLE organizations (id INTEGER PRIMARY KEY, uuid ${ID} NOT NULL UNIQUE, name TEXT NOT NULL, slug TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL);`
    : `CREATE TABLE organizations (id ${ID} PRIMARY KEY, name TEXT NOT NULL, slug TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL);`;
  return `
${orgs}
CREATE TABLE org_feed_state (org_id ${ORG} PRIMARY KEY REFERENCES organizations(id), seq BIGINT NOT NULL DEFAULT 0, purged_through BIGINT NOT NULL DEFAULT 0);
CREATE TABLE users (id ${ID} PRIMARY KEY, org_id ${ORG} NOT NULL REFERENCES organizations(id), email TEXT NOT NULL UNIQUE, name TEXT NOT NULL DEFAULT '',
  role TEXT NOT NULL CHECK (role IN ('admin', 'member')), password_hash TEXT NOT NULL, active INTEGER NOT NULL DEFAULT 1, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE INDEX users_org ON users (org_id, created_at);
CREATE TABLE devices (id ${ID} PRIMARY KEY, org_id ${ORG} NOT NULL REFERENCES organizations(id), user_id ${ID} NOT NULL REFERENCES users(id), name TEXT NOT NULL,
  platform TEXT, created_at TEXT NOT NULL, last_seen_at TEXT, revoked_at TEXT);
CREATE INDEX devices_user ON devices (user_id, created_at);
CREATE INDEX devices_org ON devices (org_id);
CREATE TABLE projects (id ${ID} PRIMARY KEY, org_id ${ORG} NOT NULL REFERENCES organizations(id), name TEXT NOT NULL, description TEXT NOT NULL DEFAULT '', color TEXT,
  archived INTEGER NOT NULL DEFAULT 0, created_by ${ID}, version INTEGER NOT NULL, vector_clock TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
  deleted_at TEXT, deleted_by ${ID});
CREATE INDEX projects_org ON projects (org_id, created_at);
CREATE INDEX projects_tombstones ON projects (deleted_at) WHERE deleted_at IS NOT NULL;
CREATE TABLE tasks (id ${ID} PRIMARY KEY, org_id ${ORG} NOT NULL REFERENCES organizations(id), project_id ${ID}, title TEXT NOT NULL, description TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL, priority TEXT NOT NULL, priority_rank INTEGER NOT NULL, due_date TEXT, tags TEXT NOT NULL DEFAULT '[]', assignee_id ${ID},
  created_by ${ID} NOT NULL, version INTEGER NOT NULL, vector_clock TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, deleted_at TEXT, deleted_by ${ID});
CREATE INDEX tasks_org_updated_id ON tasks (org_id, updated_at, id);
CREATE INDEX tasks_live_updated ON tasks (org_id, updated_at, id) WHERE deleted_at IS NULL;
CREATE INDEX tasks_live_created ON tasks (org_id, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX tasks_live_due ON tasks (org_id, due_date, id) WHERE deleted_at IS NULL;
CREATE INDEX tasks_live_priority ON tasks (org_id, priority_rank, ${tie}) WHERE deleted_at IS NULL;
CREATE INDEX tasks_live_title ON tasks (org_id, title, id) WHERE deleted_at IS NULL;
CREATE INDEX tasks_live_status ON tasks (org_id, status, updated_at, id) WHERE deleted_at IS NULL;
CREATE INDEX tasks_live_project ON tasks (org_id, project_id, updated_at, id) WHERE deleted_at IS NULL;
CREATE INDEX tasks_live_assignee ON tasks (org_id, assignee_id, updated_at, id) WHERE deleted_at IS NULL;
CREATE INDEX tasks_tombstones ON tasks (deleted_at) WHERE deleted_at IS NOT NULL;
CREATE TABLE task_tags (org_id ${ORG} NOT NULL, tag TEXT NOT NULL, created_at TEXT NOT NULL, task_id ${ID} NOT NULL,
  CONSTRAINT task_tags_org_tag_created_task PRIMARY KEY (org_id, tag, created_at, task_id)) WITHOUT ROWID;
CREATE TABLE history (entity_id ${ID} NOT NULL, version INTEGER NOT NULL, id ${ID} NOT NULL, org_id ${ORG} NOT NULL, entity TEXT NOT NULL, action TEXT NOT NULL,
  changes TEXT NOT NULL, snapshot TEXT NOT NULL, user_id ${ID}, device_id ${ID}, vector_clock TEXT NOT NULL, created_at TEXT NOT NULL,
  PRIMARY KEY (entity_id, entity, version));
CREATE TABLE feed (entity TEXT NOT NULL, entity_id ${ID} NOT NULL, org_id ${ORG} NOT NULL, pos BIGINT NOT NULL, op TEXT NOT NULL, version INTEGER NOT NULL,
  pushed_by_device ${ID}, change TEXT, PRIMARY KEY (entity_id, entity))${l.feedWithoutRowid ? " WITHOUT ROWID" : ""};
CREATE INDEX feed_org_pos ON feed (org_id, pos);
CREATE TABLE sync_changes (device_id ${ID} NOT NULL, change_id ${ID} NOT NULL, org_id ${ORG} NOT NULL, payload_hash TEXT NOT NULL, result TEXT NOT NULL,
  created_at TEXT NOT NULL, PRIMARY KEY (device_id, change_id))${l.syncWithoutRowid ? " WITHOUT ROWID" : ""};
`;
}

const HOT_TABLES = ["organizations", "org_feed_state", "users", "devices", "projects", "tasks", "task_tags", "history", "feed", "sync_changes"];

/** Columns, keys and indexes (columns, uniqueness, partial) of the hot tables: what the template must match. */
function describe(db: BunSqlite): string {
  const out: string[] = [];
  for (const t of HOT_TABLES) {
    for (const c of db.prepare(`PRAGMA table_info(${t})`).all() as { name: string; type: string; notnull: number; pk: number; dflt_value: string | null }[]) {
      out.push(`${t}.${c.name} ${c.type} nn=${c.notnull} pk=${c.pk} d=${c.dflt_value}`);
    }
    const wr = (db.prepare("SELECT sql FROM sqlite_master WHERE name = ?").get(t) as { sql: string }).sql.includes("WITHOUT ROWID");
    out.push(`${t} without_rowid=${wr}`);
    const idx = (db.prepare(`PRAGMA index_list(${t})`).all() as { name: string; unique: number; partial: number }[]).map((i) => {
      const cols = (db.prepare(`PRAGMA index_info("${i.name}")`).all() as { name: string }[]).map((c) => c.name).join(",");
      const sql = (db.prepare("SELECT sql FROM sqlite_master WHERE name = ?").get(i.name) as { sql: string | null } | null)?.sql ?? "";
      const where = sql.includes(" WHERE ") ? sql.slice(sql.indexOf(" WHERE ")) : "";
      return `${t} index(${cols}) unique=${i.unique} partial=${i.partial}${where}`;
    });
    out.push(...idx.sort());
  }
  return out.join("\n");
}

/** Throws unless the base template describes the same hot tables as the migrations. */
function checkTemplate(): void {
  const fromMigrations = new BunSqlite(":memory:");
  for (const m of MIGRATIONS) fromMigrations.exec(migrationSql(m, "sqlite"));
  const fromTemplate = new BunSqlite(":memory:");
  fromTemplate.exec(schemaSql(layoutOf("base")));
  const a = describe(fromMigrations).split("\n");
  const b = describe(fromTemplate).split("\n");
  fromMigrations.close();
  fromTemplate.close();
  const diff = [...a.filter((x) => !b.includes(x)).map((x) => `- ${x}`), ...b.filter((x) => !a.includes(x)).map((x) => `+ ${x}`)];
  if (diff.length > 0) throw new Error(`the base template differs from the migrations:\n${diff.join("\n")}`);
}

// ---------------------------------------------------------------------------------------------
// Rows

type Cell = Value | Uint8Array;

const SYNC_CHANGES: TableSpec = {
  name: "sync_changes",
  columns: [["device_id", "text"], ["change_id", "text"], ["org_id", "text"], ["payload_hash", "text"], ["result", "text"], ["created_at", "text"]],
};

interface Batch extends RowBatch {
  sync: Value[][];
}

interface Data {
  writer: Writer;
  projectId: string;
  setupAt: string;
  batches: Batch[];
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ID_COLUMNS = new Set(["id", "created_by", "deleted_by", "pushed_by_device"]);
const isIdColumn = (c: string): boolean => ID_COLUMNS.has(c) || c.endsWith("_id");

/** The rows of `tasks` creates in batches of `batch`, each batch at its own server time (or, like baseline.ts, all at one). */
function makeData(tasks: number, batch: number, oneTimestamp: boolean, withSync: boolean, ids: IdKind = "v4", seed = 1): Data {
  const writer: Writer = { orgId: crypto.randomUUID(), userId: crypto.randomUUID(), deviceId: crypto.randomUUID() };
  const projectId = crypto.randomUUID();
  const rng = new Rng(seed);
  const t0 = Date.UTC(2026, 11, 6, 8);
  const batches: Batch[] = [];
  let at = new Date(t0).toISOString();
  for (let i = 0; i < tasks; i++) {
    if (i % batch === 0) {
      batches.push({ ...emptyBatch(), sync: [] });
      if (!oneTimestamp) at = new Date(t0 + batches.length * 1_000).toISOString();
    }
    const b = batches[batches.length - 1];
    const id = newId(ids);
    addTask(b, id, newTask(rng, projectId), writer, i + 2, at);
    if (withSync) {
      const clock = { [writer.deviceId]: 1 };
      const changeId = newId(ids);
      const result = JSON.stringify({ change_id: changeId, status: "applied", entity: "task", entity_id: id, version: 1, vector_clock: clock, record: null });
      b.sync.push([writer.deviceId, changeId, writer.orgId, Bun.SHA256.hash(result, "hex") as string, result, at]);
    }
  }
  return { writer, projectId, setupAt: new Date(t0).toISOString(), batches };
}

function uuidBytes(s: string): Uint8Array {
  const hex = s.replaceAll("-", "");
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** A value in a layout's storage: UUIDs as BLOBs, org_id as 1 (the only organization's rowid). */
function cellOf(l: Layout, column: string, v: Value): Cell {
  if (column === "org_id" && l.orgInt) return 1;
  if (l.blob && typeof v === "string" && isIdColumn(column) && UUID_RE.test(v)) return uuidBytes(v);
  return v;
}

const TABLES = (b: Batch): [TableSpec, Value[][]][] => [[TASKS, b.tasks], [TASK_TAGS, b.tags], [HISTORY, b.history], [FEED, b.feed], [SYNC_CHANGES, b.sync]];

/** The batches' rows converted to a layout's storage (before timing). */
function convert(l: Layout, data: Data): [TableSpec, Cell[][]][][] {
  return data.batches.map((b) =>
    TABLES(b)
      .filter(([, rows]) => rows.length > 0)
      .map(([spec, rows]): [TableSpec, Cell[][]] => [spec, rows.map((r) => r.map((v, i) => cellOf(l, spec.columns[i][0], v)))]),
  );
}

// ---------------------------------------------------------------------------------------------
// One run

interface RunResult {
  ms: number;
  /** This process's CPU time (user + system) over the same span: less sensitive than `ms` to other jobs on the machine. */
  cpuMs: number;
  /** WAL frames written by each COMMIT (the counting pass only). */
  frames?: number[];
  /** The last COMMIT's pages by B-tree (the counting pass only). */
  lastCommit?: Map<string, number>;
  /** Pages of each B-tree at the end (the counting pass only). */
  sizes?: Map<string, number>;
}

/**
 * Stores `data` under layout `l` on a fresh file, one COMMIT per `perCommit` batches (`Infinity`:
 * one transaction), and answers the time. `count` > 0: for the page count, not timed: a PASSIVE
 * checkpoint after each of the last `count` COMMITs (the WAL restarts at the next one), their frames
 * counted, the last COMMIT's frames mapped to B-trees.
 */
function run(l: Layout, data: Data, rows: [TableSpec, Cell[][]][][], perCommit: number, count = 0): RunResult {
  const dir = mkdtempSync(join(tmpdir(), "taskmgr-keys-"));
  try {
    const path = join(dir, "keys.db");
    const db = openLikeServer(path);
    db.exec(schemaSql(l));
    db.close();
    return runAt(path, l, data, rows, perCommit, count);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** {@link run} on a file whose schema exists (the file is left in place). */
function runAt(path: string, l: Layout, data: Data, rows: [TableSpec, Cell[][]][][], perCommit = 1, count = 0): RunResult {
  const db = openLikeServer(path);
  try {
    const w = data.writer;
    const at = data.setupAt;
    const org = cellOf(l, "org_id", w.orgId);
    const id = (s: string): Cell => cellOf(l, "id", s);
    if (l.orgInt) {
      db.prepare("INSERT INTO organizations (id, uuid, name, slug, created_at) VALUES (1, ?, 'Keys', 'keys', ?)").run(id(w.orgId), at);
    } else {
      db.prepare("INSERT INTO organizations (id, name, slug, created_at) VALUES (?, 'Keys', 'keys', ?)").run(org, at);
    }
    db.prepare("INSERT INTO org_feed_state (org_id, seq) VALUES (?, 1)").run(org);
    db.prepare("INSERT INTO users (id, org_id, email, role, password_hash, created_at, updated_at) VALUES (?, ?, 'keys@example.com', 'admin', 'x', ?, ?)")
      .run(id(w.userId), org, at, at);
    db.prepare("INSERT INTO devices (id, org_id, user_id, name, created_at) VALUES (?, ?, ?, 'keys', ?)").run(id(w.deviceId), org, id(w.userId), at);
    db.prepare("INSERT INTO projects (id, org_id, name, version, vector_clock, created_at, updated_at) VALUES (?, ?, 'P', 1, '{}', ?, ?)")
      .run(id(data.projectId), org, at, at);
    
    const stmts = new Map<string, ReturnType<BunSqlite["prepare"]>>();
    for (const spec of [TASKS, TASK_TAGS, HISTORY, FEED, SYNC_CHANGES]) {
      stmts.set(spec.name, db.prepare(`INSERT INTO ${spec.name} (${spec.columns.map((c) => c[0]).join(", ")}) VALUES (${spec.columns.map(() => "?").join(", ")})`));
    }
    const setSeq = db.prepare("UPDATE org_feed_state SET seq = ? WHERE org_id = ?");
    const frames: number[] = [];
    let lastCommit: Map<string, number> | undefined;

    const c0 = process.cpuUsage();
    const t0 = performance.now();
    let seq = 1;
    for (let i = 0; i < rows.length; i += perCommit) {
      const last = i + perCommit >= rows.length;
      const counted = count > 0 && i >= rows.length - count * perCommit;
      if (counted && frames.length === 0) db.exec("PRAGMA wal_checkpoint(TRUNCATE)"); // the WAL restarts at the next COMMIT
      db.exec("BEGIN IMMEDIATE");
      for (const b of rows.slice(i, i + perCommit)) {
        for (const [spec, rs] of b) {
          const stmt = stmts.get(spec.name)!;
          for (const r of rs) stmt.run(...(r as never[]));
        }
        seq += b[0][1].length;
      }
      setSeq.run(seq, org as never);
      db.exec("COMMIT");
      if (counted) {
        const [cp] = db.prepare("PRAGMA wal_checkpoint(PASSIVE)").values() as number[][];
        frames.push(cp[1]);
        if (last) lastCommit = walPages(db, path, cp[1]);
      }
    }
    const ms = performance.now() - t0;
    const c = process.cpuUsage(c0);
    const cpuMs = (c.user + c.system) / 1000;
    for (const s of stmts.values()) s.finalize();
    const n = (db.prepare("SELECT count(*) AS n FROM tasks").get() as { n: number }).n;
    const expected = data.batches.reduce((a, b) => a + b.tasks.length, 0);
    if (n !== expected) throw new Error(`${l.name}: ${n} tasks stored, expected ${expected}`);
    if (count === 0) return { ms, cpuMs };
    const sizes = new Map<string, number>();
    for (const r of db.prepare("SELECT name, count(*) AS n FROM dbstat GROUP BY name").all() as { name: string; n: number }[]) sizes.set(r.name, r.n);
    return { ms, cpuMs, frames, lastCommit, sizes };
  } finally {
    db.close();
  }
}

/** The B-tree of each of the WAL's `n` frames (read before the checkpoint copies them: the WAL is not reset until the next write). */
function walPages(db: BunSqlite, path: string, n: number): Map<string, number> {
  const pageSize = (db.prepare("PRAGMA page_size").get() as { page_size: number }).page_size;
  const owner = new Map<number, string>();
  for (const r of db.prepare("SELECT name, pageno FROM dbstat").all() as { name: string; pageno: number }[]) owner.set(r.pageno, r.name);
  const fd = openSync(`${path}-wal`, "r");
  const header = Buffer.alloc(4);
  const out = new Map<string, number>();
  try {
    for (let i = 0; i < n; i++) {
      readSync(fd, header, 0, 4, 32 + i * (24 + pageSize));
      const page = header.readUInt32BE(0);
      const name = owner.get(page) ?? (page === 1 ? "(header)" : "(free/other)");
      out.set(name, (out.get(name) ?? 0) + 1);
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Main

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (x: number): string => Math.round(x).toLocaleString("en-US");

/** Random-key B-trees (in the base layout) against the rest, for the page summary. */
const RANDOM_KEY = new Set(["sqlite_autoindex_tasks_1", "tasks_live_title", "tasks_live_due", "tasks_live_priority", "sqlite_autoindex_history_1", "sqlite_autoindex_feed_1", "sqlite_autoindex_sync_changes_1"]);

/**
 * What converting an existing database would cost: `n` tasks stored in the base layout (one COMMIT
 * per batch, untimed), then every hot table copied into a fresh file of layout `to` (ids through
 * `unhex(replace(id, '-', ''))`, org_id through the organization's rowid), in one transaction, its
 * indexes maintained during the copy, as a migration rebuilding each table would do.
 */
function migrate(n: number, batch: number, to: Layout): void {
  const from = layoutOf("base");
  const data = makeData(n, batch, false, true);
  const dir = mkdtempSync(join(tmpdir(), "taskmgr-keys-migrate-"));
  try {
    // The source: stored as the base layout's run does, kept on disk.
    const src = join(dir, "old.db");
    const srcDb = openLikeServer(src);
    srcDb.exec(schemaSql(from));
    srcDb.close();
    runAt(src, from, data, convert(from, data));
    const db = openLikeServer(join(dir, "new.db"));
    db.exec(schemaSql(to));
    db.exec(`ATTACH DATABASE '${src}' AS old`);
    const idExpr = (c: string): string => (to.blob ? `unhex(replace(${c}, '-', ''))` : c);
    const orgExpr = to.orgInt ? "(SELECT rowid FROM old.organizations o WHERE o.id = t.org_id)" : idExpr("t.org_id");
    const exprOf = (c: string): string => (c === "org_id" ? orgExpr : isIdColumn(c) ? idExpr(`t.${c}`) : `t.${c}`);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    db.exec("BEGIN IMMEDIATE");
    if (to.orgInt) db.exec(`INSERT INTO organizations (id, uuid, name, slug, created_at) SELECT rowid, ${idExpr("id")}, name, slug, created_at FROM old.organizations`);
    for (const t of HOT_TABLES) {
      if (t === "organizations" && to.orgInt) continue;
      const cols = (db.prepare(`PRAGMA old.table_info(${t})`).all() as { name: string }[]).map((c) => c.name);
      const order = t === "task_tags" ? "" : " ORDER BY t.rowid"; // task_tags is WITHOUT ROWID: copied in key order
      db.exec(`INSERT INTO main.${t} (${cols.join(", ")}) SELECT ${cols.map(exprOf).join(", ")} FROM old.${t} t${order}`);
    }
    db.exec("COMMIT");
    const ms = performance.now() - t0;
    const c = process.cpuUsage(c0);
    const tasks = (db.prepare("SELECT count(*) AS n FROM tasks WHERE length(id) = ?").get(to.blob ? 16 : 36) as { n: number }).n;
    if (tasks !== n) throw new Error(`migrate: ${tasks} tasks converted, expected ${n}`);
    db.close();
    console.log(`migrate ${fmt(n)} tasks base -> ${to.name}: ${fmt(ms)} ms (${fmt(((c.user + c.system) / 1000))} ms CPU), ${(((ms / n) * 100_000) / 1000).toFixed(1)} s per 100,000 tasks`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function main(): void {
  checkTemplate();
  if (process.argv.includes("--migrate")) {
    for (const n of arg("tasks", "20000").split(",").map(Number)) migrate(n, Number(arg("batch", "500")), layoutOf(arg("to", "blob+org")));
    return;
  }
  const sizes = arg("tasks", "10000,20000").split(",").map(Number);
  const batch = Number(arg("batch", "500"));
  const rounds = Number(arg("rounds", "3"));
  const names = arg("variants", "base,1ts,blob,org,wr,wrfeed,idtie,blob+org,blob+org+wr").split(",");
  const layouts = names.map(layoutOf);
  const pages = !process.argv.includes("--no-pages");
  const countLast = Number(arg("count-last", "Infinity"));

  const one = new Map<string, number[]>();
  const per = new Map<string, number[]>();
  const oneCpu = new Map<string, number[]>();
  const perCpu = new Map<string, number[]>();
  const push = (m: Map<string, number[]>, k: string, v: number): void => {
    m.set(k, [...(m.get(k) ?? []), v]);
  };
  const key = (l: Layout, n: number): string => `${l.name}@${n}`;
  const datasets = new Map<number, { normal: Data; asBaseline?: Data; v7?: Data }>();
  for (const n of sizes) {
    datasets.set(n, {
      normal: makeData(n, batch, false, true),
      asBaseline: layouts.some((l) => l.asBaseline) ? makeData(n, batch, true, false) : undefined,
      v7: layouts.some((l) => l.v7) ? makeData(n, batch, false, true, "v7") : undefined,
    });
  }
  const converted = new Map<string, [TableSpec, Cell[][]][][]>();
  const dataOf = (l: Layout, n: number): Data => {
    const d = datasets.get(n)!;
    return l.asBaseline ? d.asBaseline! : l.v7 ? d.v7! : d.normal;
  };
  const rowsOf = (l: Layout, n: number): [TableSpec, Cell[][]][][] => {
    const k = key(l, n);
    if (!converted.has(k)) converted.set(k, convert(l, dataOf(l, n)));
    return converted.get(k)!;
  };

  if (pages) {
    console.log(`## pages per COMMIT (one COMMIT per ${batch}; untimed pass; frames of the last ${countLast} COMMITs)`);
    for (const n of sizes) {
      for (const l of layouts) {
        const r = run(l, dataOf(l, n), rowsOf(l, n), 1, countLast);
        const f = r.frames!;
        const tail = f.slice(-5);
        const lc = r.lastCommit!;
        let random = 0;
        for (const [name, c] of lc) if (RANDOM_KEY.has(name)) random += c;
        const total = [...lc.values()].reduce((a, b) => a + b, 0);
        const fileSize = [...r.sizes!.values()].reduce((a, b) => a + b, 0);
        const detail = [...lc.entries()].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(", ");
        const big = [...r.sizes!.entries()].filter(([k]) => RANDOM_KEY.has(k) || k.startsWith("tasks_live")).map(([k, v]) => `${k} ${v}`).join(", ");
        console.log(`${n} ${l.name}: frames/commit mean ${fmt(f.reduce((a, b) => a + b, 0) / f.length)}, last 5 mean ${fmt(tail.reduce((a, b) => a + b, 0) / tail.length)}; last commit ${total} (random-key ${random}); file ${fmt(fileSize)} pages`);
        console.log(`    last commit: ${detail}`);
        console.log(`    index sizes: ${big}`);
      }
    }
  }

  if (!pages) run(layouts[0], dataOf(layouts[0], sizes[0]), rowsOf(layouts[0], sizes[0]), 1); // warm-up
  for (let round = 0; round < rounds; round++) {
    for (const n of sizes) {
      const order = layouts.map((_, i) => layouts[(i + round) % layouts.length]);
      for (const l of order) {
        const rows = rowsOf(l, n);
        const a = run(l, dataOf(l, n), rows, Infinity);
        const b = run(l, dataOf(l, n), rows, 1);
        push(one, key(l, n), (n / a.ms) * 1000);
        push(per, key(l, n), (n / b.ms) * 1000);
        push(oneCpu, key(l, n), (a.cpuMs * 1000) / n);
        push(perCpu, key(l, n), (b.cpuMs * 1000) / n);
        console.error(
          `round ${round + 1} ${n} ${l.name}: one tx ${fmt((n / a.ms) * 1000)}/s (${fmt((a.cpuMs * 1000) / n)} µs CPU/task), per ${batch} ${fmt((n / b.ms) * 1000)}/s (${fmt((b.cpuMs * 1000) / n)} µs CPU/task)`,
        );
      }
    }
  }

  if (rounds === 0) return;
  console.log(`\n## tasks/s, max / median of ${rounds} (one transaction | one COMMIT per ${batch} | per-batch median / one-tx median | vs base | CPU µs per task, median: one tx, per ${batch})`);
  for (const n of sizes) {
    const base = { one: median(one.get(`base@${n}`) ?? [NaN]), per: median(per.get(`base@${n}`) ?? [NaN]) };
    for (const l of layouts) {
      const o = one.get(key(l, n))!;
      const p = per.get(key(l, n))!;
      const mo = median(o);
      const mp = median(p);
      console.log(
        `| ${fmt(n)} | ${l.name} | ${fmt(Math.max(...o))} / ${fmt(mo)} | ${fmt(Math.max(...p))} / ${fmt(mp)} | ${Math.round((mp / mo) * 100)}% | one ${((mo / base.one - 1) * 100).toFixed(0)}%, per ${((mp / base.per - 1) * 100).toFixed(0)}% | ${fmt(median(oneCpu.get(key(l, n))!))}, ${fmt(median(perCpu.get(key(l, n))!))} |`,
      );
    }
  }
}

main();
