/**
 * One page of a pull (docs/sync-design.md, "Pull"): a paged snapshot of the live records, then
 * incremental pages in feed (= commit) order. Reads only; the cursor is checked by the service.
 */
import type { Executor } from "../db/types";
import { type FeedEntry, readFeed } from "../records";
import type { Cursor } from "./cursor";
import type { PulledChange } from "./model";

export interface PullPage {
  changes: PulledChange[];
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
  if (snapshotAt !== undefined && cursor.pos < snapshotAt) {
    // Snapshot phase: live records up to the starting point, own writes included.
    const page = await readFeed(exec, orgId, cursor.pos, limit, { liveOnly: true, throughPos: snapshotAt });
    const changes = page.entries.filter(isLatest).map(toPulled);
    if (page.hasMore) return { changes, next: { orgId, pos: page.lastPos, snapshotAt }, hasMore: true };
    // Tombstones up to the start were deliberately skipped: continue incrementally from there.
    return { changes, next: { orgId, pos: snapshotAt }, hasMore: seq > snapshotAt };
  }
  const page = await readFeed(exec, orgId, cursor.pos, limit);
  const changes = page.entries.filter((e) => isLatest(e) && e.originDevice !== deviceId).map(toPulled);
  return { changes, next: { orgId, pos: page.lastPos }, hasMore: page.hasMore };
}

const isLatest = (e: FeedEntry): boolean => e.record.version === e.version;

function toPulled(e: FeedEntry): PulledChange {
  return {
    entity: e.entity,
    entity_id: e.entityId,
    op: e.op,
    record: e.record as unknown as Record<string, unknown>,
    version: e.version,
    vector_clock: e.record.vector_clock,
  };
}
