/**
 * The change feed as read by sync pulls: each change of a page as the JSON text sent to the
 * device, exactly what `JSON.stringify` of the change built from `readFeed` gives
 * (test/records/feed-json.test.ts). On SQLite the database writes that text: ONE statement per page
 * (the feed rows and, per row, its record looked up by primary key) — no JS object per column, no
 * JSON.parse of the stored clocks and tags, no JSON.stringify of the records.
 */
import type { Executor } from "../db/types";
import { ENTITY_DEFS } from "./entities";
import { type FeedPage, readFeed } from "./feed";
import type { EntityKind } from "./model";

/** A page of the feed as sent by a pull. */
export interface FeedJsonPage {
  /**
   * The changes sent, as the body of a JSON array: `{"entity","entity_id","op","record","version",
   * "vector_clock"}` texts joined by commas. Rows whose record has meanwhile moved to a newer
   * version (and so the row to a later position) or is gone are left out.
   */
  changes: string;
  /** How many changes `changes` holds. */
  count: number;
  /** The position to continue after: the last row read, or `afterPos` when nothing was read. */
  lastPos: number;
  /** More rows exist after `lastPos`. */
  hasMore: boolean;
}

/** Which rows a page reads: those of `readFeed`, and `skipOrigin` leaves out the rows written exactly as that device pushed them. */
export interface FeedJsonOptions {
  liveOnly?: boolean;
  throughPos?: number;
  skipOrigin?: string;
}

/**
 * How a table column appears in the record's JSON; must match `EntityDef.fromRow` (stored JSON
 * text embedded as JSON, 0/1 as a boolean, derived columns left out).
 */
const JSON_TEXT_COLUMNS = new Set(["vector_clock", "tags"]);
const BOOLEAN_COLUMNS = new Set(["archived"]);
const NOT_IN_RECORD = new Set(["priority_rank"]);
const KINDS = Object.keys(ENTITY_DEFS) as EntityKind[];

/**
 * SQLite: the record as one `json_object` over the record row `r`, wrapped by concatenation with
 * the fields of the feed row `f` (a `json_object` around it would parse the record again: 50% slower).
 * The top-level clock is the stored text as is (JSON.stringify's output, written by `toRow`).
 */
function sqliteChange(kind: EntityKind): string {
  const fields = recordColumns(kind).map((c) => {
    if (JSON_TEXT_COLUMNS.has(c)) return `'${c}', json(r.${c})`;
    if (BOOLEAN_COLUMNS.has(c)) return `'${c}', json(CASE WHEN r.${c} = 1 THEN 'true' ELSE 'false' END)`;
    return `'${c}', r.${c}`;
  });
  return (
    `'{"entity":' || json_quote(f.entity) || ',"entity_id":' || json_quote(f.entity_id) || ',"op":' || json_quote(f.op) || ` +
    `',"record":' || json_object(${fields.join(", ")}) || ',"version":' || f.version || ',"vector_clock":' || r.vector_clock || '}'`
  );
}

function recordColumns(kind: EntityKind): string[] {
  return ENTITY_DEFS[kind].columns.filter((c) => !NOT_IN_RECORD.has(c));
}

/**
 * SQLite: per feed row, the change of its entity kind — from the record only if it still has the
 * version the row was written for (a correlated primary-key lookup: `CAST(org_id AS TEXT)` keeps
 * SQLite's planner off the `(org_id, …)` indexes).
 */
function sqlitePageSql(where: string): string {
  const branches = KINDS.map(
    (kind) =>
      `WHEN '${kind}' THEN (SELECT ${sqliteChange(kind)} FROM ${ENTITY_DEFS[kind].table} r ` +
      `WHERE r.id = f.entity_id AND CAST(r.org_id AS TEXT) = f.org_id AND r.version = f.version)`,
  );
  return `SELECT f.pos, f.origin_device, CASE f.entity ${branches.join(" ")} END AS change FROM feed f WHERE ${where} ORDER BY f.pos LIMIT ?`;
}

const sqlCache = new Map<string, string>();

function pageSql(liveOnly: boolean, bounded: boolean): string {
  const key = `${liveOnly}:${bounded}`;
  let sql = sqlCache.get(key);
  if (sql === undefined) {
    sql = sqlitePageSql(`f.org_id = ? AND f.pos > ?${bounded ? " AND f.pos <= ?" : ""}${liveOnly ? " AND f.op = 'upsert'" : ""}`);
    sqlCache.set(key, sql);
  }
  return sql;
}

/**
 * Reads the organization's feed after `afterPos` in position (= commit) order, at most `limit`
 * rows (`liveOnly`: no tombstones; `throughPos`: only rows at or below that position), and
 * serializes the changes to send.
 *
 * SQLite: one statement that returns each change as JSON text. Postgres: `readFeed` (the feed
 * rows, then one query per entity kind) and one JSON.stringify of the page — Postgres' own JSON
 * functions (`row_to_json`, `to_json`) cost it 3–4× the plain read, and a single statement joining
 * the three record tables is re-planned on every execution (0.6 ms, more than the round trip it saves).
 */
export async function readFeedJson(exec: Executor, orgId: string, afterPos: number, limit: number, opts: FeedJsonOptions = {}): Promise<FeedJsonPage> {
  if (exec.dialect === "postgres") return fromFeedPage(await readFeed(exec, orgId, afterPos, limit, opts), opts.skipOrigin);
  const bounded = opts.throughPos !== undefined;
  const params = bounded ? [orgId, afterPos, opts.throughPos!, limit + 1] : [orgId, afterPos, limit + 1];
  const raw = await exec.all<{ pos: number; origin_device: string | null; change: string | null }>(pageSql(opts.liveOnly ?? false, bounded), params);
  const hasMore = raw.length > limit;
  const n = hasMore ? limit : raw.length;
  const changes: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = raw[i];
    if (r.change !== null && (opts.skipOrigin === undefined || r.origin_device !== opts.skipOrigin)) changes.push(r.change);
  }
  return { changes: changes.join(","), count: changes.length, lastPos: n > 0 ? Number(raw[n - 1].pos) : afterPos, hasMore };
}

/** A `readFeed` page as a JSON page: the entries whose record is still at the row's version, in one JSON.stringify. */
function fromFeedPage(page: FeedPage, skipOrigin: string | undefined): FeedJsonPage {
  const changes = [];
  for (const e of page.entries) {
    if (e.record.version !== e.version || (skipOrigin !== undefined && e.originDevice === skipOrigin)) continue;
    changes.push({ entity: e.entity, entity_id: e.entityId, op: e.op, record: e.record, version: e.version, vector_clock: e.record.vector_clock });
  }
  return { changes: JSON.stringify(changes).slice(1, -1), count: changes.length, lastPos: page.lastPos, hasMore: page.hasMore };
}
