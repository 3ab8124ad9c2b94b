/**
 * The feed's rows as objects, for checks: what `readFeedJson` (src/records/feed-json.ts) reads, by a
 * statement of its own, so that the tests compare the pull's pages with an independent reading.
 */
import type { Executor, SqlValue } from "../../src/db/types";

/**
 * One feed row as read: `pos` and `version` as the driver answers them (numbers on SQLite, numbers
 * or numeric strings on Postgres: use `Number()`), `change` as the JSON text stored (what a pull sends).
 */
export interface FeedRow {
  pos: SqlValue;
  pushed_by_device: string | null;
  entity: string;
  entity_id: string;
  op: string;
  version: SqlValue;
  change: string | null;
}

/** The rows of a page: at most `limit`, the position to continue after, whether more follow. */
export interface FeedRowsPage {
  rows: FeedRow[];
  lastPos: number;
  hasMore: boolean;
}

/**
 * The feed rows of the organization after `afterPos`, in position (= commit) order, at most `limit`
 * (every row: unlike a pull's, none is left out for its origin), in one statement: `liveOnly` leaves
 * out tombstones, `throughPos` the rows after it.
 */
export async function readFeedRows(exec: Executor, orgId: string, afterPos: number, limit: number, opts: { liveOnly?: boolean; throughPos?: number } = {}): Promise<FeedRowsPage> {
  const params: SqlValue[] = [orgId, afterPos];
  if (opts.throughPos !== undefined) params.push(opts.throughPos);
  params.push(limit + 1);
  const rows = await exec.all<FeedRow>(
    "SELECT pos, pushed_by_device, entity, entity_id, op, version, change FROM feed WHERE org_id = ? AND pos > ?" +
      `${opts.throughPos === undefined ? "" : " AND pos <= ?"}${opts.liveOnly ? " AND op = 'upsert'" : ""} ORDER BY pos LIMIT ?`,
    params,
  );
  const hasMore = rows.length > limit;
  if (hasMore) rows.length = limit;
  return { rows, lastPos: rows.length > 0 ? Number(rows[rows.length - 1]!.pos) : afterPos, hasMore };
}
