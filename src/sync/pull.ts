/**
 * One page of a pull (docs/sync-design.md, "Pull"): a paged snapshot of the live records, then
 * incremental pages in feed (= commit) order. Reads only; the cursor is checked by the service.
 * The changes come out of the database as JSON text (src/records/feed-json.ts) and are sent as is.
 */
import type { Executor } from "../db/types";
import { readFeedJson } from "../records/feed-json";
import type { Cursor } from "./cursor";

export interface PullPage {
  /** The changes as the body of a JSON array (`PulledChange` texts joined by commas). */
  changes: string;
  count: number;
  next: Cursor;
  hasMore: boolean;
}

/**
 * Reads the page after `cursor` for `deviceId`. `seq` is the feed counter read before (to tell
 * whether anything was written after a finished snapshot).
 *
 * A feed row whose record has meanwhile moved to a newer version is skipped: its row has moved
 * to a position after this page (positions are allocated in commit order), where it is sent in
 * its latest state — so each version reaches the device at most once.
 */
export async function readPullPage(exec: Executor, cursor: Cursor, deviceId: string, limit: number, seq: number): Promise<PullPage> {
  const { orgId, snapshotAt } = cursor;
  if (snapshotAt === undefined || cursor.pos >= snapshotAt) return readChangesPage(exec, cursor, deviceId, limit);
  // Snapshot phase: live records up to the starting point, own writes included.
  const page = await readFeedJson(exec, orgId, cursor.pos, limit, { liveOnly: true, throughPos: snapshotAt });
  const { changes, count } = page;
  if (page.hasMore) return { changes, count, next: { orgId, pos: page.lastPos, snapshotAt }, hasMore: true };
  // Tombstones up to the start were deliberately skipped: continue incrementally from there.
  return { changes, count, next: { orgId, pos: snapshotAt }, hasMore: seq > snapshotAt };
}

/** The incremental page after `cursor` (deletes included, `deviceId`'s own applied writes left out); `cursor.snapshotAt` is ignored. */
export async function readChangesPage(exec: Executor, cursor: Cursor, deviceId: string, limit: number): Promise<PullPage> {
  const page = await readFeedJson(exec, cursor.orgId, cursor.pos, limit, { skipOrigin: deviceId });
  return { changes: page.changes, count: page.count, next: { orgId: cursor.orgId, pos: page.lastPos }, hasMore: page.hasMore };
}

/** The JSON text of a `PullResponse` (`changes`, `cursor`, `has_more`) around changes already in JSON. */
export function pullResponseJson(changes: string, cursor: string, hasMore: boolean): string {
  return `{"changes":[${changes}],"cursor":${JSON.stringify(cursor)},"has_more":${hasMore}}`;
}
