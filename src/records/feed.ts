/**
 * The change feed behind sync pulls: one row per record (`feed`, keyed by entity and id) whose
 * position moves to the organization's next sequence number on every write.
 *
 * Positions are allocated just before COMMIT (the flusher below, queued with `tx.enqueue` by
 * writeRecord) with `UPDATE org_feed_state SET seq = seq + N … RETURNING seq`. That row lock is
 * held until COMMIT, so on Postgres two transactions of one organization get their positions in
 * the order they commit: a reader that has seen position p never later finds a new row below p.
 * Different organizations do not wait for each other. SQLite has one writer at a time anyway.
 */
import { columns, insertRows } from "../db/bulk";
import { runFinal } from "../db/tx-state";
import type { Executor, Flusher, SqlValue } from "../db/types";
import { entityDef, isEntityKind } from "./entities";
import type { AnyRecord, EntityKind } from "./model";
import { RecordRepo } from "./repo";

/** What one write tells the feed (queued with `tx.enqueue(flushFeed, touch)`). */
export interface FeedTouch {
  orgId: string;
  entity: EntityKind;
  entityId: string;
  op: "upsert" | "delete";
  version: number;
  /** The device whose pushed state this write is exactly (left out of that device's pulls); null otherwise. */
  originDevice: string | null;
}

const FEED_COLUMNS = columns([
  ["entity", "text"],
  ["entity_id", "text"],
  ["org_id", "text"],
  ["pos", "bigint"],
  ["op", "text"],
  ["version", "integer"],
  ["origin_device", "text"],
]);

/**
 * Flushes the touches of one transaction: per organization (in a fixed order, so two
 * multi-organization transactions cannot deadlock) it reserves one block of positions and
 * upserts one feed row per record, the last touch of a record winning.
 */
export const flushFeed: Flusher<FeedTouch> = async (exec, items) => {
  const byOrg = new Map<string, Map<string, FeedTouch>>();
  for (const item of items) {
    let touches = byOrg.get(item.orgId);
    if (!touches) byOrg.set(item.orgId, (touches = new Map()));
    const key = `${item.entity}:${item.entityId}`;
    touches.delete(key); // re-insert so that the record takes the position of its last write
    touches.set(key, item);
  }
  const orgs = [...byOrg.keys()].sort();
  for (const [i, orgId] of orgs.entries()) {
    const touches = [...byOrg.get(orgId)!.values()];
    if (exec.dialect === "postgres" && touches.length <= PG_ONE_STATEMENT_ROWS) {
      await reserveAndUpsertPg(exec, orgId, touches, i === orgs.length - 1);
      continue;
    }
    const last = await reservePositions(exec, orgId, touches.length);
    const first = last - touches.length + 1;
    const rows: SqlValue[][] = touches.map((t, i) => [t.entity, t.entityId, t.orgId, first + i, t.op, t.version, t.originDevice]);
    await insertRows(exec, "feed", FEED_COLUMNS, rows, FEED_UPSERT);
  }
};

const FEED_UPSERT =
  "ON CONFLICT (entity, entity_id) DO UPDATE SET pos = excluded.pos, op = excluded.op, version = excluded.version, origin_device = excluded.origin_device";

/** Touches one Postgres statement takes at most (7 parameters each, under the 65,535 limit). */
const PG_ONE_STATEMENT_ROWS = 4096;

/**
 * Postgres: reserves the positions (creating the organization's counter row if it has none yet)
 * and upserts the rows in ONE statement (a data-modifying CTE). The counter's row lock is held
 * from here to COMMIT and pushes of one organization queue on it: as the transaction's `last`
 * statement it is sent with the COMMIT right behind it (`runFinal`), so the lock is held only
 * while the database runs the two — not while this process is busy with other requests.
 */
async function reserveAndUpsertPg(exec: Executor, orgId: string, touches: FeedTouch[], last: boolean): Promise<void> {
  // The VALUES list is padded to a power of two with rows of NULLs (filtered out): a handful of
  // distinct statements — each prepared once per connection — whatever the batch sizes.
  let size = 1;
  while (size < touches.length) size *= 2;
  const params: SqlValue[] = [orgId, touches.length, touches.length];
  for (let i = 0; i < size; i++) {
    const t = touches[i];
    if (t) params.push(t.entity, t.entityId, t.orgId, i + 1, t.op, t.version, t.originDevice);
    else params.push(null, null, null, null, null, null, null);
  }
  const tuple = "(?, ?, ?, CAST(? AS BIGINT), ?, CAST(? AS INTEGER), ?)";
  const sql = `WITH s AS (INSERT INTO org_feed_state (org_id, seq) VALUES (?, CAST(? AS BIGINT))
       ON CONFLICT (org_id) DO UPDATE SET seq = org_feed_state.seq + excluded.seq RETURNING seq)
     INSERT INTO feed (entity, entity_id, org_id, pos, op, version, origin_device)
     SELECT v.entity, v.entity_id, v.org_id, s.seq - CAST(? AS BIGINT) + v.ord, v.op, v.version, v.origin_device
     FROM s, (VALUES ${Array(size).fill(tuple).join(", ")}) AS v(entity, entity_id, org_id, ord, op, version, origin_device)
     WHERE v.entity IS NOT NULL
     ${FEED_UPSERT}`;
  await (last ? runFinal(exec, sql, params) : exec.run(sql, params));
}

// Always flushed after the other queued rows of the transaction: the organization's counter lock
// is then held only for the feed write and the COMMIT (and cannot be part of a deadlock cycle).
flushFeed.last = true;

/** Takes `n` positions from the organization's counter (locking its row until COMMIT); returns the last one. */
async function reservePositions(exec: Executor, orgId: string, n: number): Promise<number> {
  const row = await exec.get<{ seq: number }>("UPDATE org_feed_state SET seq = seq + ? WHERE org_id = ? RETURNING seq", [n, orgId]);
  if (row) return Number(row.seq);
  // Organizations created before their counter row existed: create it (same lock semantics).
  const created = await exec.get<{ seq: number }>(
    "INSERT INTO org_feed_state (org_id, seq) VALUES (?, ?) ON CONFLICT (org_id) DO UPDATE SET seq = org_feed_state.seq + excluded.seq RETURNING seq",
    [orgId, n],
  );
  return Number(created!.seq);
}

/** One feed row with the record in its current state. */
export interface FeedEntry {
  pos: number;
  entity: EntityKind;
  entityId: string;
  op: "upsert" | "delete";
  /** The version the feed row was written for; `record.version` may already be newer (its row then moves again). */
  version: number;
  originDevice: string | null;
  /** The record as stored now (a tombstone for `delete`). */
  record: AnyRecord;
}

export interface FeedPage {
  entries: FeedEntry[];
  /** The position to continue after: the last row read, or `afterPos` when nothing was read. */
  lastPos: number;
  /** More rows exist after `lastPos`. */
  hasMore: boolean;
  /** With `withState`: the organization's feed state, read no earlier than the page (see {@link FeedReadOptions.withState}). */
  state?: FeedState;
}

/** The organization's feed counter (`seq`, the latest position allocated) and purge horizon (`purged_through`). */
export interface FeedState {
  seq: number;
  purgedThrough: number;
}

/** Which rows a page reads, and whether the feed state comes with it. */
export interface FeedReadOptions {
  /** No tombstones. */
  liveOnly?: boolean;
  /** Only rows at or below this position. */
  throughPos?: number;
  /**
   * Also answer the organization's {@link FeedState}, as of a moment no earlier than the rows the page
   * was read from: every purge that removed a row or record this page would otherwise have carried
   * is counted in its `purgedThrough` (a pull checks its cursor against it after the page, so a purge
   * committing while the page is read cannot make it skip a tombstone silently). Here it is read in
   * the same statement as the feed rows (one snapshot, no extra round trip); when a row's record has
   * then vanished before it could be looked up (a purge committed in between), it is read again after
   * the lookups.
   */
  withState?: boolean;
}

/** The organization's feed state (0 and 0 before its first write). */
export async function readFeedState(exec: Executor, orgId: string): Promise<FeedState> {
  const r = await exec.get<{ seq: SqlValue; purged_through: SqlValue }>("SELECT seq, purged_through FROM org_feed_state WHERE org_id = ?", [orgId]);
  return { seq: Number(r?.seq ?? 0), purgedThrough: Number(r?.purged_through ?? 0) };
}

interface FeedRow {
  pos: number;
  entity: string;
  entity_id: string;
  op: string;
  version: number;
  origin_device: string | null;
}

/**
 * Reads the organization's feed after position `afterPos`, in position (= commit) order, at most
 * `limit` rows, with the records batch-loaded (one query per entity kind). `liveOnly` skips
 * tombstones (a full snapshot is `readFeed(exec, org, 0, n, {liveOnly: true})` paged to the end);
 * `throughPos` reads only rows at or below that position (a paged snapshot's starting point);
 * `withState` answers the feed state too ({@link FeedReadOptions.withState}).
 */
export async function readFeed(exec: Executor, orgId: string, afterPos: number, limit: number, opts: FeedReadOptions = {}): Promise<FeedPage> {
  const { page, records, lastPos, hasMore, state } = await readFeedRows(exec, orgId, afterPos, limit, opts);
  const entries: FeedEntry[] = [];
  let vanished = false;
  for (const r of page) {
    const row = records.get(`${r.entity}:${r.entity_id}`);
    if (!row) {
      vanished = true; // purged between the two reads
      continue;
    }
    entries.push({
      pos: Number(r.pos),
      entity: r.entity as EntityKind,
      entityId: r.entity_id,
      op: r.op as "upsert" | "delete",
      version: Number(r.version),
      originDevice: r.origin_device,
      record: entityDef(r.entity as EntityKind).fromRow(row),
    });
  }
  if (state === undefined) return { entries, lastPos, hasMore };
  // A record purged after the feed rows were read: the state read with them predates that purge.
  return { entries, lastPos, hasMore, state: vanished ? await readFeedState(exec, orgId) : state };
}

const FEED_ROW_COLUMNS = "pos, entity, entity_id, op, version, origin_device";

/** The feed rows of a page (with the feed state as of the same statement if asked) and the rows of their records (one query per entity kind). */
async function readFeedRows(
  exec: Executor,
  orgId: string,
  afterPos: number,
  limit: number,
  opts: FeedReadOptions,
): Promise<{ page: FeedRow[]; records: Map<string, Record<string, unknown>>; lastPos: number; hasMore: boolean; state?: FeedState }> {
  const through = opts.throughPos === undefined ? "" : " AND pos <= ?";
  const rowsSql = `SELECT ${FEED_ROW_COLUMNS} FROM feed WHERE org_id = ? AND pos > ?${through}${opts.liveOnly ? " AND op = 'upsert'" : ""} ORDER BY pos LIMIT ?`;
  const rowsParams = opts.throughPos === undefined ? [orgId, afterPos, limit + 1] : [orgId, afterPos, opts.throughPos, limit + 1];
  let rows: FeedRow[];
  let state: FeedState | undefined;
  if (opts.withState) {
    // One statement, so one snapshot: the state row (always one row, even without a counter row)
    // left-joined to the page's rows (none: one row of NULLs).
    const raw = await exec.all<FeedRow & { state_seq: SqlValue; state_purged_through: SqlValue }>(
      `SELECT s.state_seq, s.state_purged_through, f.pos, f.entity, f.entity_id, f.op, f.version, f.origin_device
       FROM (SELECT COALESCE(MAX(seq), 0) AS state_seq, COALESCE(MAX(purged_through), 0) AS state_purged_through FROM org_feed_state WHERE org_id = ?) s
       LEFT JOIN (${rowsSql}) f ON 1 = 1 ORDER BY f.pos`,
      [orgId, ...rowsParams],
    );
    state = { seq: Number(raw[0]?.state_seq ?? 0), purgedThrough: Number(raw[0]?.state_purged_through ?? 0) };
    rows = raw[0]?.pos === null || raw[0]?.pos === undefined ? [] : raw;
  } else {
    rows = await exec.all<FeedRow>(rowsSql, rowsParams);
  }
  const hasMore = rows.length > limit;
  const page = hasMore ? rows.slice(0, limit) : rows;
  const ids = new Map<EntityKind, string[]>();
  for (const r of page) {
    if (!isEntityKind(r.entity)) continue;
    let list = ids.get(r.entity);
    if (!list) ids.set(r.entity, (list = []));
    list.push(r.entity_id);
  }
  const records = new Map<string, Record<string, unknown>>();
  for (const [kind, list] of ids) {
    for (const row of await new RecordRepo(exec, orgId, kind).findRows(list)) records.set(`${kind}:${row.id as string}`, row);
  }
  return { page, records, lastPos: page.length ? Number(page[page.length - 1].pos) : afterPos, hasMore, state };
}

/** The organization's latest allocated feed position (0 when nothing was written yet). */
export async function feedHead(exec: Executor, orgId: string): Promise<number> {
  const r = await exec.get<{ seq: number }>("SELECT seq FROM org_feed_state WHERE org_id = ?", [orgId]);
  return r ? Number(r.seq) : 0;
}
