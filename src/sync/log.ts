/**
 * `sync_log`: one row per push and per pull (the source of the sync metrics).
 *
 * - A push that commits writes its row in its own transaction ({@link writeSyncLog} with the
 *   transaction): the row commits with the push — no extra commit (with `synchronous=FULL`, an
 *   fsync) per request.
 * - Pulls, and requests refused or failed before anything committed, go through {@link SyncLogBuffer}:
 *   rows are kept in memory and written in batches (one multi-row INSERT, one commit) every second
 *   or every 200 rows, and when the server stops (`flush`/`close`, called by its graceful stop).
 *   A crash can lose at most the last second of these rows — metrics only, never synced data.
 */
import { columns, insertRows } from "../db/bulk";
import type { Executor, SqlValue } from "../db/types";
import { DomainError } from "../errors";
import { newId } from "../ids";
import type { Logger } from "../log/logger";
import type { ChangeStatus } from "./model";

export interface SyncLogEntry {
  orgId: string;
  /** The device, once it is known to be the caller's; null otherwise. */
  deviceId: string | null;
  userId: string;
  kind: "push" | "pull";
  /** Changes pushed (0 for a pull). */
  changeCount: number;
  counts: Record<ChangeStatus, number>;
  /** Push: records written (applied, merged, conflict). Pull: changes delivered. */
  recordCount: number;
  durationMs: number;
  /** Null for success; the error otherwise (the request failed). */
  error: unknown;
  createdAt: string;
}

/** Per-status counts of a push, all zero (a sync log row's `counts` before any change is decided). */
export const noCounts = (): Record<ChangeStatus, number> => ({ applied: 0, merged: 0, conflict: 0, duplicate: 0, stale: 0, rejected: 0 });

const LOG_COLUMNS = columns([
  ["id", "text"],
  ["org_id", "text"],
  ["device_id", "text"],
  ["user_id", "text"],
  ["kind", "text"],
  ["change_count", "integer"],
  ["applied", "integer"],
  ["merged", "integer"],
  ["conflicts", "integer"],
  ["duplicates", "integer"],
  ["stale", "integer"],
  ["rejected", "integer"],
  ["record_count", "integer"],
  ["duration_ms", "double"],
  ["outcome", "text"],
  ["error", "text"],
  ["created_at", "text"],
]);

function toRow(e: SyncLogEntry): SqlValue[] {
  const c = e.counts;
  return [
    newId(),
    e.orgId,
    e.deviceId,
    e.userId,
    e.kind,
    e.changeCount,
    c.applied,
    c.merged,
    c.conflict,
    c.duplicate,
    c.stale,
    c.rejected,
    e.recordCount,
    Math.round(e.durationMs * 1000) / 1000,
    e.error === null ? "ok" : "error",
    e.error === null ? null : describe(e.error),
    e.createdAt,
  ];
}

/**
 * Writes rows now through `exec` — inside a transaction, they commit (or roll back) with it, and a
 * failure fails that transaction like any other storage failure.
 */
export async function writeSyncLog(exec: Executor, entries: readonly SyncLogEntry[]): Promise<void> {
  await insertRows(exec, "sync_log", LOG_COLUMNS, entries.map(toRow));
}

/** Rows kept in memory at most this long, and at most this many, before they are written. */
const LOG_FLUSH_MS = 1000;
const LOG_FLUSH_ROWS = 200;

/** The buffered `sync_log` rows of pulls and failed requests (see the module comment). */
export class SyncLogBuffer {
  private rows: SyncLogEntry[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly exec: Executor,
    private readonly log: Logger,
  ) {}

  /** Queues a row; it is written within a second (at once when 200 rows are waiting). Never throws. */
  add(e: SyncLogEntry): void {
    this.rows.push(e);
    if (this.rows.length >= LOG_FLUSH_ROWS) void this.flush();
    else if (this.timer === null) {
      this.timer = setTimeout(() => void this.flush(), LOG_FLUSH_MS);
      this.timer.unref?.();
    }
  }

  /** Writes every queued row (one multi-row INSERT) and waits for writes in progress. A failure is logged, not thrown. */
  flush(): Promise<void> {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const rows = this.rows.splice(0);
    if (rows.length > 0) {
      this.writing = this.writing.then(() =>
        writeSyncLog(this.exec, rows).catch((err) => {
          this.log.error("sync_log_failed", { rows: rows.length, error: err instanceof Error ? err.message : String(err) });
        }),
      );
    }
    return this.writing;
  }
}

/** The stored error text: the code and message of a domain error; a generic word otherwise (no internals). */
function describe(err: unknown): string {
  return err instanceof DomainError ? `${err.code}: ${err.message}` : "internal";
}
