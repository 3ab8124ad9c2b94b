/**
 * The change feed as read by sync pulls: each change of a page as the JSON text sent to the
 * device, exactly what `JSON.stringify` of the change built from `readFeed` gives
 * (test/records/feed-json.test.ts), assembled from the JSON texts the write core stored in
 * `history` on SQLite (see {@link readFeedJson}).
 */
import type { Executor } from "../db/types";
import { ENTITY_DEFS } from "./entities";
import { type FeedPage, type FeedReadOptions, type FeedState, readFeed, readFeedState } from "./feed";
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
  /** With `withState`: the organization's feed state, read no earlier than the page ({@link FeedReadOptions.withState}). */
  state?: FeedState;
}

/**
 * Which rows a page reads: those of `readFeed` (and the feed state with `withState`), and `skipOrigin`
 * leaves out the rows written exactly as that device pushed them.
 */
export interface FeedJsonOptions extends FeedReadOptions {
  skipOrigin?: string;
}

const KINDS = Object.keys(ENTITY_DEFS) as EntityKind[];

/**
 * Whether the feed row `f`'s record still has the version the row was written for (one primary-key
 * lookup). Always true for rows read in one statement through the write core (the record and its
 * feed row change in the same transaction); kept so that a row can never send an outdated state.
 */
const CURRENT = `CASE f.entity ${KINDS.map((k) => `WHEN '${k}' THEN EXISTS (SELECT 1 FROM ${ENTITY_DEFS[k].table} r WHERE r.id = f.entity_id AND r.version = f.version)`).join(" ")} ELSE FALSE END`;

/**
 * SQLite: one statement per page: the feed rows in position order and, per row, the history
 * row of its version — whose `snapshot` is the record exactly as written (the JSON text of
 * `writeRecord`'s result) and whose `vector_clock` is the record's clock. The change is assembled
 * from those texts: nothing is parsed, no column is decoded one by one, nothing is serialized again.
 */
function pageSql(liveOnly: boolean, bounded: boolean): string {
  return (
    "SELECT f.pos, f.origin_device, f.entity, f.entity_id, f.op, f.version, h.snapshot, h.vector_clock FROM feed f " +
    "LEFT JOIN history h ON h.entity_id = f.entity_id AND h.entity = f.entity AND h.version = f.version AND h.org_id = f.org_id " +
    `AND ${CURRENT} ` +
    `WHERE f.org_id = ? AND f.pos > ?${bounded ? " AND f.pos <= ?" : ""}${liveOnly ? " AND f.op = 'upsert'" : ""} ORDER BY f.pos LIMIT ?`
  );
}

const PAGE_SQL = new Map<string, string>();

interface PageRow {
  pos: number;
  origin_device: string | null;
  entity: string;
  entity_id: string;
  op: string;
  version: number;
  snapshot: string | null;
  vector_clock: string | null;
}

/**
 * Reads the organization's feed after `afterPos` in position (= commit) order, at most `limit`
 * rows (`liveOnly`: no tombstones; `throughPos`: only rows at or below that position), and
 * serializes the changes to send.
 *
 * SQLite: one statement, the changes assembled from stored JSON texts ({@link pageSql}). Postgres:
 * `readFeed` (the feed rows, then one query per entity kind) and one JSON.stringify of the page —
 * the same join to `history` in one statement gets plans that depend on the statistics (measured:
 * a bitmap scan of the organization's whole feed without them, a hash join over all of `history`
 * with them, 13–75 ms a page), Postgres' own JSON functions cost it 3–4× the plain read, and a
 * statement joining the three record tables is re-planned on every execution.
 *
 * `withState` also answers the feed state, read no earlier than the page: on SQLite by a second
 * statement right after the page's one; on Postgres in the statement of the feed rows (`readFeed`).
 */
export async function readFeedJson(exec: Executor, orgId: string, afterPos: number, limit: number, opts: FeedJsonOptions = {}): Promise<FeedJsonPage> {
  if (exec.dialect === "postgres") return fromFeedPage(await readFeed(exec, orgId, afterPos, limit, opts), opts.skipOrigin);
  const bounded = opts.throughPos !== undefined;
  const key = `${opts.liveOnly ?? false}:${bounded}`;
  let sql = PAGE_SQL.get(key);
  if (sql === undefined) PAGE_SQL.set(key, (sql = pageSql(opts.liveOnly ?? false, bounded)));
  const params = bounded ? [orgId, afterPos, opts.throughPos!, limit + 1] : [orgId, afterPos, limit + 1];
  const raw = await exec.all<PageRow>(sql, params);
  const hasMore = raw.length > limit;
  const n = hasMore ? limit : raw.length;
  const changes: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = raw[i];
    if (r.snapshot === null || (opts.skipOrigin !== undefined && r.origin_device === opts.skipOrigin)) continue;
    changes.push(
      `{"entity":${JSON.stringify(r.entity)},"entity_id":${JSON.stringify(r.entity_id)},"op":${JSON.stringify(r.op)},"record":${r.snapshot},"version":${Number(r.version)},"vector_clock":${r.vector_clock}}`,
    );
  }
  const page: FeedJsonPage = { changes: changes.join(","), count: changes.length, lastPos: n > 0 ? Number(raw[n - 1].pos) : afterPos, hasMore };
  // The page was one statement (one snapshot); the state read after it has seen every purge that
  // committed before it (a cheap in-process read: no round trip to save on SQLite).
  if (opts.withState) page.state = await readFeedState(exec, orgId);
  return page;
}

/** A `readFeed` page as a JSON page: the entries whose record is still at the row's version, in one JSON.stringify. */
function fromFeedPage(page: FeedPage, skipOrigin: string | undefined): FeedJsonPage {
  const changes = [];
  for (const e of page.entries) {
    if (e.record.version !== e.version || (skipOrigin !== undefined && e.originDevice === skipOrigin)) continue;
    changes.push({ entity: e.entity, entity_id: e.entityId, op: e.op, record: e.record, version: e.version, vector_clock: e.record.vector_clock });
  }
  const out: FeedJsonPage = { changes: JSON.stringify(changes).slice(1, -1), count: changes.length, lastPos: page.lastPos, hasMore: page.hasMore };
  if (page.state) out.state = page.state;
  return out;
}
