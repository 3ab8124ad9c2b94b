/**
 * The change feed as read by sync pulls: each change of a page as the JSON text sent to the
 * device, stored whole in its feed row by the write core (src/records/feed.ts, `changeText`) and
 * read as bytes — nothing is put together, parsed, looked up, decoded or serialized again on its
 * way to the device.
 */
import { sqlOf } from "../db/dialect";
import { rawBytes, rawNumber, rawText } from "../db/raw";
import type { Executor, RawValue, SqlValue } from "../db/types";
import { type FeedState, readFeedState, recordOfChange } from "./feed";

/** A page of the feed as sent by a pull. */
export interface FeedJsonPage {
  /**
   * The changes sent, in order: each one's JSON text (`{"entity","entity_id","op","record","version",
   * "vector_clock"}`) in UTF-8, to be joined by commas into the body of a JSON array.
   */
  changes: Uint8Array[];
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
   * With `skipOrigin`: leaves out only its creates (rows at version 1), and sends its writes of records
   * that existed before them — a paged snapshot's catch-up (src/sync/pull.ts), whose start such a
   * record may have been live at.
   */
  skipOriginCreatesOnly?: boolean;
  /**
   * Also answer the organization's {@link FeedState}, as of a moment no earlier than the rows of the
   * page: every purge that removed a row this page would otherwise have carried is counted in its
   * `purgedThrough` (a pull checks its cursor against it after the page, so a purge committing while
   * the page is read cannot make it skip a tombstone silently). It is read by the page's statement
   * (one snapshot, no extra round trip), or right after it when the page is empty.
   */
  withState?: boolean;
  /** {@link readFeedJson} only: the page's byte budget (default {@link PAGE_BYTES}). */
  maxBytes?: number;
  /** {@link readFeedJson} only: rows read per statement (default {@link ROWS_PER_STATEMENT}). */
  rowsPerStatement?: number;
  /** {@link readFeedJson} only: `skipOrigin` rows a page may read beyond `limit` (default {@link MAX_SKIPPED_ROWS}). */
  maxSkipped?: number;
}

/**
 * A pull page stops adding changes once they reach this many bytes (it always holds one), and says
 * `has_more`: at `limit` 5,000, records of 100 KB each made pages of 500 MB, held in memory at once.
 */
export const PAGE_BYTES = 8 * 1024 * 1024;

/**
 * Rows a page reads per statement: a larger `limit` is read in several, the byte budget checked
 * between them, so that what a page holds in memory at once stays near the budget plus one
 * statement's rows. Pages of up to this many rows (the default `limit` is 500) take one statement.
 */
const ROWS_PER_STATEMENT = 1000;

/**
 * Rows of the device's own writes (`skipOrigin`) a page may read, and leave out, beyond its `limit`:
 * a device that pushed many changes offline finds others' changes behind them in the same pull
 * instead of pulling a page that comes back empty for every `limit` of its own (found by client QA:
 * 600 own creates, `limit=10`, 60 empty round trips). Bounded, so that a page's statements stay short.
 */
const MAX_SKIPPED_ROWS = 5000;

/**
 * The state as two uncorrelated subqueries of the page's statement: each evaluated once, in the
 * statement's snapshot, and the rows still come straight from the index in position order (a join
 * to the state row made Postgres sort the page's wide rows again: 40% of its time).
 */
const STATE_COLUMNS =
  "(SELECT seq FROM org_feed_state WHERE org_id = ?) AS state_seq, (SELECT purged_through FROM org_feed_state WHERE org_id = ?) AS state_purged_through";

const SQL = new Map<string, string>();

/**
 * The page's statement for `opts` (a range of the `(org_id, pos)` index, one row read each), built
 * once: `pos, pushed_by_device`, the change's JSON text as bytes and `version`.
 */
function pageSql(exec: Executor, opts: FeedJsonOptions): string {
  const key = `${exec.dialect}:${opts.liveOnly === true}:${opts.throughPos !== undefined}:${opts.withState === true}`;
  let sql = SQL.get(key);
  if (sql === undefined) {
    sql =
      `SELECT pos, pushed_by_device, ${sqlOf(exec).bytes("change")} AS change, version${opts.withState ? `, ${STATE_COLUMNS}` : ""} FROM feed WHERE org_id = ? AND pos > ?` +
      `${opts.throughPos === undefined ? "" : " AND pos <= ?"}${opts.liveOnly ? " AND op = 'upsert'" : ""} ORDER BY pos LIMIT ?`;
    SQL.set(key, sql);
  }
  return sql;
}

/** The parameters of {@link pageSql}: one row more than `limit`, to tell whether more follow. */
function pageParams(orgId: string, afterPos: number, limit: number, opts: FeedJsonOptions): SqlValue[] {
  const params: SqlValue[] = opts.withState ? [orgId, orgId, orgId, afterPos] : [orgId, afterPos];
  if (opts.throughPos !== undefined) params.push(opts.throughPos);
  params.push(limit + 1);
  return params;
}

/**
 * The state read with a page's first row (`seq`, `purged_through`; no state row yet: zeros), or read
 * after an empty page, which is as good as with it.
 */
async function stateOf(exec: Executor, orgId: string, first: [RawValue | undefined, RawValue | undefined] | undefined): Promise<FeedState> {
  if (first === undefined) return readFeedState(exec, orgId);
  return { seq: rawNumber(first[0], 0), purgedThrough: rawNumber(first[1], 0) };
}

/**
 * Rows the next statement of a page may read for its byte budget: after `read` rows of `bytes`
 * bytes, about as many as the budget still has room for at that size (at least one); before any
 * changes' bytes, `perStatement`.
 */
function rowsWithinBudget(maxBytes: number, bytes: number, read: number, perStatement: number): number {
  if (read === 0 || bytes === 0) return perStatement;
  return Math.max(1, Math.ceil((maxBytes - bytes) / (bytes / read)));
}

/** Whether `row` (of {@link pageSql}) is one of the device's own writes that `opts` leaves out. */
function skipped(row: RawValue[], opts: FeedJsonOptions): boolean {
  if (opts.skipOrigin === undefined || rawText(row[1]) !== opts.skipOrigin) return false;
  return !opts.skipOriginCreatesOnly || rawNumber(row[3]) === 1;
}

/**
 * The page of the feed after `afterPos` as the changes a pull sends: its rows in position (= commit)
 * order less those of `skipOrigin` (which still advance `lastPos`), each change's
 * JSON text as stored, in bytes — up to `limit` changes, or fewer once the changes reach
 * {@link PAGE_BYTES} or the rows left out {@link MAX_SKIPPED_ROWS} (then `hasMore`). Read up to {@link ROWS_PER_STATEMENT} rows per statement, after
 * the first only about as many as the budget still has room for; the state
 * (`withState`) comes with the last statement, no earlier than every row of the page. A record
 * written again between two of the page's statements is read by both (its row moved to a later
 * position): only its later state stays in the page, at its later place (each record once, in its
 * latest state, in commit order — or not at all when the later state is `skipOrigin`'s). A row without
 * a stored change (none is expected: migrations 0006 and 0007 filled the rows written before them
 * from history) is never sent.
 */
export async function readFeedJson(exec: Executor, orgId: string, afterPos: number, limit: number, opts: FeedJsonOptions = {}): Promise<FeedJsonPage> {
  const maxBytes = opts.maxBytes ?? PAGE_BYTES;
  const perStatement = opts.rowsPerStatement ?? ROWS_PER_STATEMENT;
  const maxRows = limit + (opts.skipOrigin === undefined ? 0 : (opts.maxSkipped ?? MAX_SKIPPED_ROWS));
  const sql = pageSql(exec, opts);
  // The changes in order (null: superseded by a later row of the page). Where each record's change
  // is matters only once a second statement reads on (one statement reads each record once): the
  // changes are keyed by their record then, from their own first bytes.
  const changes: (Uint8Array | null)[] = [];
  let placed: Map<string, number> | null = null;
  // The changes in the page and their bytes; the rows read (sent, left out or superseded alike).
  let sent = 0;
  let bytes = 0;
  let read = 0;
  let lastPos = afterPos;
  let hasMore = false;
  let state: FeedState | undefined;
  for (;;) {
    const want = Math.min(limit - sent, maxRows - read, perStatement, rowsWithinBudget(maxBytes, bytes, read, perStatement));
    const rows = await exec.rawRows(sql, pageParams(orgId, lastPos, want, opts));
    if (opts.withState) state = await stateOf(exec, orgId, rows[0] && [rows[0][4], rows[0][5]]);
    const more = rows.length > want;
    const n = Math.min(rows.length, want);
    if (read > 0 && placed === null) placed = new Map(changes.map((c, at) => [recordOfChange(c!), at]));
    let i = 0;
    for (; i < n && bytes < maxBytes; i++) {
      const row = rows[i]!;
      const change = rawBytes(row[2]);
      if (change === null) continue;
      const record = placed === null ? null : recordOfChange(change);
      const earlier = record === null ? undefined : placed!.get(record);
      if (earlier !== undefined) {
        // Written again after an earlier statement of this page read it: that state is superseded.
        bytes -= changes[earlier]!.byteLength;
        changes[earlier] = null;
        placed!.delete(record!);
        sent--;
      }
      if (!skipped(row, opts)) {
        if (record !== null) placed!.set(record, changes.length);
        changes.push(change);
        sent++;
        bytes += change.byteLength;
      }
    }
    if (i > 0) lastPos = rawNumber(rows[i - 1]![0]);
    read += i;
    hasMore = i < n || more;
    if (!more || i < n || sent >= limit || read >= maxRows || bytes >= maxBytes) break;
  }
  const page: FeedJsonPage = { changes: changes.filter((c): c is Uint8Array => c !== null), lastPos, hasMore };
  if (state) page.state = state;
  return page;
}
