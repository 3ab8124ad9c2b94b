/**
 * One page of a pull (docs/sync-design.md, "Pull"): a paged snapshot of the live records, then
 * incremental pages in feed (= commit) order. Reads only; the cursor is checked by the service.
 * The changes come out of the database as JSON text in bytes (src/records/feed-json.ts) and are sent as they are.
 */
import type { Executor } from "../db/types";
import type { FeedState } from "../records/feed";
import { readFeedJson } from "../records/feed-json";
import type { Cursor } from "./cursor";

export interface PullPage {
  /** The changes, in order: each one's `PulledChange` JSON text in UTF-8. */
  changes: Uint8Array[];
  next: Cursor;
  hasMore: boolean;
  /**
   * The organization's feed state, read no earlier than the page's rows: the cursor is checked
   * against its purge horizon AFTER the page is read, so that a purge committing while the page is
   * read answers 410 instead of a page that silently lacks a purged tombstone.
   */
  state: FeedState;
}

/**
 * Reads the page after `cursor` for `deviceId`, with the feed state ({@link PullPage.state}; its
 * counter tells whether anything was written after a finished snapshot).
 *
 * Each feed row carries its record as written at the row's version; a later write moves the row
 * to a position after this page (positions are allocated in commit order), where it is sent in
 * its latest state — so each version reaches the device at most once.
 */
export async function readPullPage(exec: Executor, cursor: Cursor, deviceId: string, limit: number): Promise<PullPage> {
  const { orgId, snapshotAt } = cursor;
  if (snapshotAt === undefined || cursor.pos >= snapshotAt) return readChangesPage(exec, cursor, deviceId, limit);
  // Snapshot phase: live records up to the starting point, own writes included.
  const page = await readFeedJson(exec, orgId, cursor.pos, limit, { liveOnly: true, throughPos: snapshotAt, withState: true });
  const { changes } = page;
  const state = page.state!;
  if (page.hasMore) return { changes, next: { orgId, pos: page.lastPos, snapshotAt }, hasMore: true, state };
  // Tombstones up to the start were deliberately skipped: continue from there, catching up if anything was written since.
  const more = state.seq > snapshotAt;
  return { changes, next: more ? { orgId, pos: snapshotAt, snapshotAt } : { orgId, pos: snapshotAt }, hasMore: more, state };
}

/**
 * The incremental page after `cursor`: deletes included, `deviceId`'s own applied writes left out —
 * except, in a snapshot's catch-up (`cursor.snapshotAt` set), those that are not creates (rows past
 * version 1): a record live at the snapshot's start that the device wrote before its page came has
 * moved past the start, and would otherwise be in no page of the snapshot (one the device created
 * during the paging and edited again comes too: the state it holds). The catch-up ends with its last page.
 */
async function readChangesPage(exec: Executor, cursor: Cursor, deviceId: string, limit: number): Promise<PullPage> {
  const { orgId, snapshotAt } = cursor;
  const catchingUp = snapshotAt !== undefined;
  const page = await readFeedJson(exec, orgId, cursor.pos, limit, { skipOrigin: deviceId, skipOriginCreatesOnly: catchingUp, withState: true });
  const next: Cursor = catchingUp && page.hasMore ? { orgId, pos: page.lastPos, snapshotAt } : { orgId, pos: page.lastPos };
  return { changes: page.changes, next, hasMore: page.hasMore, state: page.state! };
}

const CHANGES_OPEN = Buffer.from('{"changes":[');
const COMMA = Buffer.from(",");

/**
 * A `PullResponse` (`changes`, `cursor`, `has_more`) in UTF-8 JSON around the changes' JSON texts, as
 * the chunks of its body, in order (joined once, by whoever sends it).
 */
export function pullResponseChunks(changes: readonly Uint8Array[], cursor: string, hasMore: boolean): Uint8Array[] {
  const chunks: Uint8Array[] = [CHANGES_OPEN];
  for (let i = 0; i < changes.length; i++) {
    if (i > 0) chunks.push(COMMA);
    chunks.push(changes[i]!);
  }
  chunks.push(Buffer.from(`],"cursor":${JSON.stringify(cursor)},"has_more":${hasMore}}`));
  return chunks;
}
