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
import { columns, insertRows, pgRowBatches } from "../db/bulk";
import { runFinal } from "../db/tx-state";
import type { Executor, Flusher, SqlValue } from "../db/types";
import type { EntityKind } from "./model";

/** What one write tells the feed (queued with `tx.enqueue(flushFeed, touch)`). */
export interface FeedTouch {
  orgId: string;
  entity: EntityKind;
  entityId: string;
  op: "upsert" | "delete";
  version: number;
  /** The device whose pushed state this write is exactly (left out of that device's pulls); null otherwise. */
  originDevice: string | null;
  /** The record as written, as JSON text (the same text as its history row's `snapshot`): part of the row's change ({@link changeText}). */
  record: string;
  /** Its vector clock as JSON text (as the history row's `vector_clock`): part of the row's change. */
  vectorClock: string;
}

/** The columns of a feed row, in the order {@link feedRow} gives its values (also what the bench's direct seeding inserts). */
export const FEED_COLUMNS = columns([
  ["entity", "text"],
  ["entity_id", "text"],
  ["org_id", "text"],
  ["pos", "bigint"],
  ["op", "text"],
  ["version", "integer"],
  ["pushed_by_device", "text"],
  ["change", "text"],
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
    if (exec.dialect === "postgres") {
      await reserveAndUpsertPg(exec, orgId, touches, i === orgs.length - 1);
      continue;
    }
    const last = await reservePositions(exec, orgId, touches.length);
    const first = last - touches.length + 1;
    await insertRows(exec, "feed", FEED_COLUMNS, touches.map((t, i) => feedRow(t, first + i)), FEED_UPSERT);
  }
};

/** A touch as a feed row (values in {@link FEED_COLUMNS} order) at position `pos`. */
const feedRow = (t: FeedTouch, pos: number): SqlValue[] => [t.entity, t.entityId, t.orgId, pos, t.op, t.version, t.originDevice, changeText(t)];

/**
 * The JSON text of the change a pull sends for this write (`PulledChange`: `entity`, `entity_id`,
 * `op`, `record`, `version`, `vector_clock`), stored in the feed row and sent as it is: the record and
 * clock texts are put in unchanged, the same texts as the history row's.
 */
export function changeText(t: Pick<FeedTouch, "entity" | "entityId" | "op" | "version" | "record" | "vectorClock">): string {
  return `{"entity":${JSON.stringify(t.entity)},"entity_id":${JSON.stringify(t.entityId)},"op":${JSON.stringify(t.op)},"record":${t.record},"version":${t.version},"vector_clock":${t.vectorClock}}`;
}

/** Enough of a change's first bytes to hold its entity and entity_id ({@link changeText}'s start). */
const RECORD_PREFIX_BYTES = 128;
const CHANGE_START = /^\{"entity":"([a-z]+)","entity_id":"([^"\\]+)"/;
const prefixDecoder = new TextDecoder();

/**
 * The record (`<entity>:<entity_id>`) of a change text as {@link changeText} made it (migration
 * 0007 wrote the rows before it the same way), read from its first bytes: what a pull page reads
 * without asking the database for two more columns per row.
 */
export function recordOfChange(change: Uint8Array): string {
  const start = CHANGE_START.exec(prefixDecoder.decode(change.subarray(0, RECORD_PREFIX_BYTES)));
  if (start === null) throw new Error("a feed change that does not start with its entity and entity_id");
  return `${start[1]}:${start[2]}`;
}

const FEED_UPSERT =
  "ON CONFLICT (entity, entity_id) DO UPDATE SET pos = excluded.pos, op = excluded.op, version = excluded.version, pushed_by_device = excluded.pushed_by_device, " +
  "change = excluded.change";

/**
 * Postgres: reserves the positions (creating the organization's counter row if it has none yet)
 * and upserts the rows in ONE statement (a data-modifying CTE). The counter's row lock is held
 * from here to COMMIT and pushes of one organization queue on it: as the transaction's `last`
 * statement it is sent with the COMMIT right behind it (`runFinal`), so the lock is held only
 * while the database runs the two — not while this process is busy with other requests. Rows too
 * large for one statement ({@link pgRowBatches}) go in several, each reserving the next block of
 * positions for its part, in order (the lock is held from the first): the last one is the final statement.
 */
async function reserveAndUpsertPg(exec: Executor, orgId: string, touches: FeedTouch[], last: boolean): Promise<void> {
  // Each row's `ord` column carries its rank among the touches (1…n); a part of ranks a…b reserves
  // b - a + 1 positions and puts rank r at the block's end minus (b - r).
  const parts = pgRowBatches(touches.map((t, i) => feedRow(t, i + 1)), FEED_COLUMNS.types);
  let done = 0;
  for (const [i, part] of parts.entries()) {
    const sql = `WITH s AS (INSERT INTO org_feed_state (org_id, seq) VALUES (?, CAST(? AS BIGINT))
       ON CONFLICT (org_id) DO UPDATE SET seq = org_feed_state.seq + excluded.seq RETURNING seq)
     INSERT INTO feed (entity, entity_id, org_id, pos, op, version, pushed_by_device, change)
     SELECT v.entity, v.entity_id, v.org_id, s.seq - CAST(? AS BIGINT) + v.ord, v.op, v.version, v.pushed_by_device, v.change
     FROM s, (${part.source}) AS v(entity, entity_id, org_id, ord, op, version, pushed_by_device, change)
     ${FEED_UPSERT}`;
    done += part.rows.length;
    const params = [orgId, part.rows.length, done, ...part.params];
    await (last && i === parts.length - 1 ? runFinal(exec, sql, params) : exec.run(sql, params));
  }
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

/** How far {@link moveFeedsOn} moves feeds: past every position a database hands out between a backup and its restore. */
const RESTORE_POSITION_JUMP = 1_000_000_000;

/**
 * Moves every organization's feed counter and purge horizon on by {@link RESTORE_POSITION_JUMP}, in a
 * copy made to be restored (src/backup/service.ts): every cursor handed out by the database it was
 * copied from is then behind the purge horizon (or ahead of the feed) and answers 410, and new
 * positions follow on from the new counter.
 */
export async function moveFeedsOn(exec: Executor): Promise<void> {
  await exec.run("UPDATE org_feed_state SET seq = seq + ?, purged_through = seq + ?", [RESTORE_POSITION_JUMP, RESTORE_POSITION_JUMP]);
}

/** The organization's feed counter (`seq`, the latest position allocated) and purge horizon (`purged_through`). */
export interface FeedState {
  seq: number;
  purgedThrough: number;
}

/** The organization's feed state (0 and 0 before its first write). */
export async function readFeedState(exec: Executor, orgId: string): Promise<FeedState> {
  const r = await exec.get<{ seq: SqlValue; purged_through: SqlValue }>("SELECT seq, purged_through FROM org_feed_state WHERE org_id = ?", [orgId]);
  return { seq: Number(r?.seq ?? 0), purgedThrough: Number(r?.purged_through ?? 0) };
}
