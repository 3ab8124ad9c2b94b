/**
 * Pull cursors: opaque to clients, a base64url text here. A cursor names the organization it
 * belongs to, the last feed position delivered (`pos`) and, while a paged snapshot is still
 * under way (its catch-up on what was written since its start included), the feed position at
 * which it started (`snapshotAt`). Pure: no I/O.
 */

export interface Cursor {
  orgId: string;
  /** Every feed row at or below this position has been delivered (or deliberately skipped). */
  pos: number;
  /**
   * Set while a snapshot is paged: live rows up to here are sent, tombstones only beyond it. Once
   * `pos` has reached it, the snapshot catches up on what was written since its start, the device's
   * own writes but its creates (rows at version 1) included (src/sync/pull.ts); the first page that
   * answers `has_more: false` ends it.
   */
  snapshotAt?: number;
}

/** Cursors handed out before their check existed (2026-12-07): still taken, as they were. */
const PREFIX_V1 = "c1.";
const PREFIX = "c2.";

/**
 * The cursor as clients carry it: `c2.`, the base64url of `org:pos[:snapshotAt]`, `.` and the CRC-32
 * of that base64url text in 8 hex digits. The check makes a cursor cut short or mistyped (a client
 * storing it in a column too narrow) a 400 instead of another, valid cursor: without it `org:0:57`
 * cut by a character read as `org:0:5`, and by four as the incremental cursor `org:0`. Not a
 * secret: any instance sharing the database reads any other's cursors.
 */
export function encodeCursor(c: Cursor): string {
  const parts = [c.orgId, String(c.pos)];
  if (c.snapshotAt !== undefined) parts.push(String(c.snapshotAt));
  const body = Buffer.from(parts.join(":"), "utf8").toString("base64url");
  return `${PREFIX}${body}.${check(body)}`;
}

/** The cursor, or null when `raw` is not a cursor of `orgId` (malformed, cut short, tampered, another organization's). */
export function decodeCursor(raw: string, orgId: string): Cursor | null {
  if (raw.length > 200) return null;
  let body: string;
  if (raw.startsWith(PREFIX)) {
    const dot = raw.lastIndexOf(".");
    body = raw.slice(PREFIX.length, dot);
    if (dot < PREFIX.length || raw.slice(dot + 1) !== check(body)) return null;
  } else if (raw.startsWith(PREFIX_V1)) body = raw.slice(PREFIX_V1.length);
  else return null;
  if (!/^[A-Za-z0-9_-]+$/.test(body)) return null;
  const parts = Buffer.from(body, "base64url").toString("utf8").split(":");
  if (parts.length < 2 || parts.length > 3 || parts[0] !== orgId) return null;
  const pos = position(parts[1]);
  const snapshotAt = parts.length === 3 ? position(parts[2]) : undefined;
  if (pos === null || snapshotAt === null) return null;
  return snapshotAt === undefined ? { orgId, pos } : { orgId, pos, snapshotAt };
}

/** The CRC-32 of a cursor's body, 8 lower-case hex digits. */
const check = (body: string): string => Bun.hash.crc32(body).toString(16).padStart(8, "0");

/** The highest position the cursor vouches for: a purge above it may have removed something it still needs. */
export function horizonOf(c: Cursor): number {
  return Math.max(c.pos, c.snapshotAt ?? 0);
}

/**
 * Why `c` cannot go on against the organization's feed `state` (read with or after the page), or
 * null: ahead of the feed (the database went back in time, restored from a backup, after the cursor
 * was handed out: the device holds changes the database no longer has), or behind the purge
 * horizon (tombstones it has not seen are gone). Either way the device pulls again without a cursor.
 */
export function cursorProblem(c: Cursor, state: { seq: number; purgedThrough: number }): string | null {
  if (horizonOf(c) > state.seq) return "this cursor is ahead of the database (restored from a backup?): pull again without a cursor";
  if (horizonOf(c) < state.purgedThrough) {
    return "changes this cursor has not seen are no longer kept (deleted records purged, or the database restored from a backup): pull again without a cursor";
  }
  return null;
}

function position(s: string | undefined): number | null {
  if (s === undefined || !/^(0|[1-9][0-9]{0,15})$/.test(s)) return null;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : null;
}
