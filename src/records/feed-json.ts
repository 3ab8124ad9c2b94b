/**
 * The change feed as read by sync pulls: each change of a page as the JSON text sent to the
 * device, assembled from the texts the write core stored in the feed row (the record as written
 * at the row's version, and its clock) — nothing is parsed, looked up or serialized again.
 */
import type { Executor, SqlValue } from "../db/types";
import { type FeedState, readFeedState } from "./feed";

/** A page of the feed as sent by a pull. */
export interface FeedJsonPage {
  /**
   * The changes sent, as the body of a JSON array: `{"entity","entity_id","op","record","version",
   * "vector_clock"}` texts joined by commas.
   */
  changes: string;
  /** How many changes `changes` holds. */
  count: number;
  /** The position to continue after: the last row read, or `afterPos` when nothing was read. */
  lastPos: number;
  /** More rows exist after `lastPos`. */
  hasMore: boolean;
  /** With `withState`: the organization's feed state, read no earlier than the page ({@link FeedJsonOptions.withState}). */
  state?: FeedState;
}

/** Which rows a page reads, and whether the feed state comes with it. */
export interface FeedJsonOptions {
  /** No tombstones. */
  liveOnly?: boolean;
  /** Only rows at or below this position. */
  throughPos?: number;
  /** Leaves out the rows written exactly as this device pushed them (they still advance `lastPos`). */
  skipOrigin?: string;
  /**
   * Also answer the organization's {@link FeedState}, as of a moment no earlier than the rows of the
   * page: every purge that removed a row this page would otherwise have carried is counted in its
   * `purgedThrough` (a pull checks its cursor against it after the page, so a purge committing while
   * the page is read cannot make it skip a tombstone silently). It is read by the page's statement
   * (one snapshot, no extra round trip), or right after it when the page is empty.
   */
  withState?: boolean;
}

/**
 * One feed row as read: `pos` and `version` as the driver answers them (numbers on SQLite, numbers
 * or numeric strings on Postgres: use `Number()`), `record` and `vector_clock` as the JSON texts stored.
 */
export interface FeedRow {
  pos: SqlValue;
  origin_device: string | null;
  entity: string;
  entity_id: string;
  op: string;
  version: SqlValue;
  record: string | null;
  vector_clock: string | null;
}

/** The rows of a page: at most `limit`, the position to continue after, whether more follow, and the state if asked. */
export interface FeedRowsPage {
  rows: FeedRow[];
  lastPos: number;
  hasMore: boolean;
  state?: FeedState;
}

const ROW_COLUMNS = "pos, origin_device, entity, entity_id, op, version, record, vector_clock";

/**
 * The state as two uncorrelated subqueries of the page's statement: each evaluated once, in the
 * statement's snapshot, and the rows still come straight from the index in position order (a join
 * to the state row made Postgres sort the page's wide rows again: 40% of its time).
 */
const STATE_COLUMNS =
  "(SELECT seq FROM org_feed_state WHERE org_id = ?) AS state_seq, (SELECT purged_through FROM org_feed_state WHERE org_id = ?) AS state_purged_through";

const SQL = new Map<string, string>();

/** The page's statement for `opts` (a range of the `(org_id, pos)` index, one row read each), built once. */
function pageSql(opts: FeedJsonOptions): string {
  const key = `${opts.liveOnly === true}:${opts.throughPos !== undefined}:${opts.withState === true}`;
  let sql = SQL.get(key);
  if (sql === undefined) {
    sql =
      `SELECT ${ROW_COLUMNS}${opts.withState ? `, ${STATE_COLUMNS}` : ""} FROM feed WHERE org_id = ? AND pos > ?` +
      `${opts.throughPos === undefined ? "" : " AND pos <= ?"}${opts.liveOnly ? " AND op = 'upsert'" : ""} ORDER BY pos LIMIT ?`;
    SQL.set(key, sql);
  }
  return sql;
}

/**
 * The feed rows of the organization after `afterPos`, in position (= commit) order, at most
 * `limit` (every row: `skipOrigin` is applied by {@link readFeedJson}).
 */
export async function readFeedRows(exec: Executor, orgId: string, afterPos: number, limit: number, opts: FeedJsonOptions = {}): Promise<FeedRowsPage> {
  const params: SqlValue[] = opts.withState ? [orgId, orgId, orgId, afterPos] : [orgId, afterPos];
  if (opts.throughPos !== undefined) params.push(opts.throughPos);
  params.push(limit + 1);
  const rows = await exec.all<FeedRow & { state_seq?: SqlValue; state_purged_through?: SqlValue }>(pageSql(opts), params);
  let state: FeedState | undefined;
  if (opts.withState) {
    // No row, no state: read after the (empty) page, which is as good as with it.
    state = rows.length > 0 ? { seq: Number(rows[0].state_seq ?? 0), purgedThrough: Number(rows[0].state_purged_through ?? 0) } : await readFeedState(exec, orgId);
  }
  const hasMore = rows.length > limit;
  if (hasMore) rows.length = limit;
  const page: FeedRowsPage = { rows, lastPos: rows.length > 0 ? Number(rows[rows.length - 1].pos) : afterPos, hasMore };
  if (state) page.state = state;
  return page;
}

/**
 * The page of {@link readFeedRows} as the changes a pull sends, in JSON text. A row without a
 * stored record (none is expected: migration 0006 filled the rows written before it from history)
 * is never sent.
 */
export async function readFeedJson(exec: Executor, orgId: string, afterPos: number, limit: number, opts: FeedJsonOptions = {}): Promise<FeedJsonPage> {
  const { rows, lastPos, hasMore, state } = await readFeedRows(exec, orgId, afterPos, limit, opts);
  const changes: string[] = [];
  for (const r of rows) {
    if (r.record === null || (opts.skipOrigin !== undefined && r.origin_device === opts.skipOrigin)) continue;
    changes.push(
      `{"entity":${JSON.stringify(r.entity)},"entity_id":${JSON.stringify(r.entity_id)},"op":${JSON.stringify(r.op)},"record":${r.record},"version":${Number(r.version)},"vector_clock":${r.vector_clock}}`,
    );
  }
  const page: FeedJsonPage = { changes: changes.join(","), count: changes.length, lastPos, hasMore };
  if (state) page.state = state;
  return page;
}
