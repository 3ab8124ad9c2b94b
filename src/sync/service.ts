/**
 * Push and pull (api-contract.md, "Sync"; docs/sync-design.md): the device check, the batch
 * transaction (retried whole when Postgres aborts it for a deadlock), cursors, and one
 * `sync_log` row per push and per pull (src/sync/log.ts: a committed push's row commits with it;
 * the others are buffered — `flushLog` writes them out).
 */
import type { AuthContext } from "../auth/model";
import { mustStillWrite } from "../auth/writer";
import { isTransactionConflict } from "../db/errors";
import type { Database } from "../db/types";
import { LastSeenRecorder } from "../devices/last-seen";
import { DeviceRepo } from "../devices/repo";
import { readFeedState } from "../records/feed";
import { DomainError, forbidden } from "../errors";
import type { Logger } from "../log/logger";
import type { Clock } from "../time";
import { cursorProblem, decodeCursor, encodeCursor, type Cursor } from "./cursor";
import { noCounts, SyncLogBuffer, type SyncLogEntry, writeSyncLog } from "./log";
import { logRejections } from "./rejections-log";
import { MAX_PUSH_CHANGES, pullLimit, type ChangeStatus, type PullQuery, type PushBody, type PushResponse } from "./model";
import { pullResponseChunks, readPullPage } from "./pull";
import { PushBatch } from "./push/batch";

/**
 * Who syncs: an authenticated caller (`AuthContext` fits). `deviceId`, when given, is the device
 * the caller's token is bound to, which authentication has already found to be the caller's and
 * not revoked.
 */
export type SyncCaller = Pick<AuthContext, "userId" | "orgId"> & { deviceId?: string | null };

/** A push as the route hands it over: its changes are checked one by one later (a malformed one is answered `rejected`). */
export type PushInput = Omit<PushBody, "changes"> & { changes: readonly unknown[] };

/** A pull's query; `limit` as the query wrote it (a decimal string) or, from code, as a number. */
export type PullInput = Omit<PullQuery, "limit"> & { limit?: string | number };

/** `p`, marked as handled: it may be dropped unawaited when an earlier check throws (no unhandled rejection). */
function settled<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
}

/** A pull's page as answered: the changes' JSON texts, the next cursor and whether more follow. */
interface PullAnswer {
  changes: Uint8Array[];
  cursor: string;
  hasMore: boolean;
}

/** How long {@link SyncService.settleLog} waits at most for the pushes in flight (a push stuck on a lock must not hold up the job for ever). */
const PUSH_SETTLE_MAX_MS = 30_000;

/** Whole-batch attempts when Postgres aborts the transaction (deadlock, serialization failure). */
const MAX_TX_ATTEMPTS = 3;

/** Push and pull (api-contract.md, "Sync"): the device checks, the batch retries on Postgres, the sync log. */
export class SyncService {
  private readonly logBuffer: SyncLogBuffer;

  constructor(
    private readonly deps: { db: Database; clock: Clock; log: Logger },
    /** Writes the `last_seen_at` of the devices pushes and pulls name (createServices shares one). */
    private readonly lastSeen = new LastSeenRecorder(deps),
  ) {
    this.logBuffer = new SyncLogBuffer(deps.db, deps.log);
  }

  /** The pushes of this process not yet answered (committed or failed), for {@link settleLog}. */
  private readonly pushesInFlight = new Set<Promise<unknown>>();

  /** Writes the buffered `sync_log` rows (pulls, failed requests) now; also the graceful stop's last step before the database closes. */
  flushLog(): Promise<void> {
    return this.logBuffer.flush();
  }

  /**
   * {@link flushLog}, once the pushes in flight when it is called have ended (waiting at most
   * `maxWaitMs`, and no longer once `signal` is aborted: a server stopping does not wait for it). A push dates its log row before its COMMIT: the hourly `sync-metrics` job, which
   * calls this before it reads, would otherwise miss a push dated before its tick that commits after
   * its read (on Postgres; SQLite's writer lock already made the job wait), and the next hour, by the
   * row's date, never counts it.
   */
  async settleLog(signal?: AbortSignal, maxWaitMs = PUSH_SETTLE_MAX_MS): Promise<void> {
    if (this.pushesInFlight.size > 0 && !signal?.aborted) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      let stopped = () => {};
      const waited = new Promise<void>((done) => {
        timer = setTimeout(done, maxWaitMs);
        stopped = () => done();
        signal?.addEventListener("abort", stopped, { once: true });
      });
      await Promise.race([Promise.allSettled([...this.pushesInFlight]), waited]);
      clearTimeout(timer);
      signal?.removeEventListener("abort", stopped);
    }
    await this.flushLog();
  }

  /**
   * Applies a batch of changes for `device_id` and answers one result per change, after COMMIT.
   * 413 for more than 1,000 changes, 403 unless the device is the caller's and not revoked.
   */
  push(caller: SyncCaller, input: PushInput): Promise<PushResponse> {
    const pushing = this.pushNow(caller, input);
    this.pushesInFlight.add(pushing);
    const done = () => void this.pushesInFlight.delete(pushing);
    pushing.then(done, done);
    return pushing;
  }

  private async pushNow(caller: SyncCaller, input: PushInput): Promise<PushResponse> {
    const t0 = performance.now();
    let deviceId: string | null = null;
    const entry = (counts: SyncLogEntry["counts"], recordCount: number, error: unknown): SyncLogEntry =>
      this.logEntry(caller, "push", deviceId, t0, { changeCount: input.changes.length, counts, recordCount, error });
    try {
      if (input.changes.length > MAX_PUSH_CHANGES) {
        throw new DomainError("payload_too_large", `a push carries at most ${MAX_PUSH_CHANGES} changes (got ${input.changes.length})`);
      }
      deviceId = await this.mustOwnDevice(caller, input.device_id);
      const writer = { orgId: caller.orgId, userId: caller.userId, deviceId, now: this.deps.clock.now() };
      const results = await this.retrying(() =>
        this.deps.db.transaction(async (tx) => {
          // Again where it commits: a revocation or deactivation since the checks above stops it (403, 401),
          // and the role read here (not the token check's) says whether its devices may moderate comments.
          const role = await mustStillWrite(tx, writer);
          const batch = new PushBatch(tx, { ...writer, admin: role === "admin" });
          const r = await batch.run(input.changes);
          const counts = noCounts();
          for (const x of r) counts[x.status as ChangeStatus]++;
          // The log row commits with the push (its duration stops short of the final flush and COMMIT).
          await writeSyncLog(tx, [entry(counts, batch.written, null)]);
          return r;
        }),
      );
      logRejections(this.deps.log, writer, results);
      return { results };
    } catch (err) {
      this.logBuffer.add(entry(noCounts(), 0, err));
      throw err;
    }
  }

  /**
   * One page of changes for `device_id` (a `PullResponse`) as UTF-8 JSON, what the route sends, in
   * chunks to be joined in order: a snapshot without a cursor, the changes since the cursor
   * otherwise, each as its feed row stores it. 400 `invalid_cursor`, 410 `reset_required`, 422 for a bad `limit`.
   */
  async pullBody(caller: SyncCaller, input: PullInput): Promise<Uint8Array[]> {
    const page = await this.pullPage(caller, input);
    return pullResponseChunks(page.changes, page.cursor, page.hasMore);
  }

  /** {@link pullBody}'s page, logged (a sync_log row, whatever the outcome). */
  private async pullPage(caller: SyncCaller, input: PullInput): Promise<PullAnswer> {
    const t0 = performance.now();
    const served: { deviceId: string | null; delivered: number } = { deviceId: null, delivered: 0 };
    let error: unknown = null;
    try {
      const limit = pullLimit(input.limit);
      const decoded = input.cursor === undefined || input.cursor === "" ? undefined : decodeCursor(input.cursor, caller.orgId);
      const page = decoded === undefined ? await this.snapshotPage(caller, input.device_id, limit, served) : await this.sincePage(caller, input.device_id, decoded, limit, served);
      served.delivered = page.changes.length;
      return page;
    } catch (err) {
      error = err;
      throw err;
    } finally {
      this.logBuffer.add(this.logEntry(caller, "pull", served.deviceId, t0, { changeCount: 0, counts: noCounts(), recordCount: served.delivered, error }));
    }
  }

  /**
   * The first page of a snapshot: it starts at the feed head, read first (the device check alongside:
   * one round trip of latency). `served.deviceId` is set once the device is checked (for the log row).
   */
  private async snapshotPage(caller: SyncCaller, rawDeviceId: string, limit: number, served: { deviceId: string | null }): Promise<PullAnswer> {
    const state = settled(readFeedState(this.deps.db, caller.orgId));
    const deviceId = (served.deviceId = await this.mustOwnDevice(caller, rawDeviceId));
    const cursor: Cursor = { orgId: caller.orgId, pos: 0, snapshotAt: (await state).seq };
    const page = await readPullPage(this.deps.db, cursor, deviceId, limit);
    return { changes: page.changes, cursor: encodeCursor(page.next), hasMore: page.hasMore };
  }

  /**
   * The page after a cursor (`null`: one that did not decode). The device check and the page are
   * read at once (one round trip of latency on Postgres; the page is dropped unread when the check
   * fails), and the cursor is checked against the feed state read WITH or AFTER the page, never
   * before it: a tombstone purge committing while the page is read then answers 410 instead of a
   * page that silently lacks a purged tombstone. `served.deviceId` is set once the device is checked
   * (for the log row, whatever comes after).
   */
  private async sincePage(caller: SyncCaller, rawDeviceId: string, decoded: Cursor | null, limit: number, served: { deviceId: string | null }): Promise<PullAnswer> {
    const early = decoded === null ? null : settled(readPullPage(this.deps.db, decoded, rawDeviceId, limit));
    served.deviceId = await this.mustOwnDevice(caller, rawDeviceId);
    const page = early === null ? null : await early;
    if (decoded === null || page === null) throw new DomainError("invalid_cursor", "the cursor is not valid: pull without one");
    const problem = cursorProblem(decoded, page.state);
    if (problem !== null) throw new DomainError("reset_required", problem);
    return { changes: page.changes, cursor: encodeCursor(page.next), hasMore: page.hasMore };
  }

  /** The sync log row of a request by `caller` that started at `t0` (`performance.now()`), ending now. */
  private logEntry(
    caller: SyncCaller,
    kind: SyncLogEntry["kind"],
    deviceId: string | null,
    t0: number,
    outcome: Pick<SyncLogEntry, "changeCount" | "counts" | "recordCount" | "error">,
  ): SyncLogEntry {
    return { orgId: caller.orgId, deviceId, userId: caller.userId, kind, ...outcome, durationMs: performance.now() - t0, createdAt: this.deps.clock.now().toISOString() };
  }

  /** The device id when it is one of the caller's devices and not revoked (its `last_seen_at` written just after, not waited for); 403 otherwise. */
  private async mustOwnDevice(caller: SyncCaller, deviceId: string): Promise<string> {
    if (caller.deviceId === deviceId) return deviceId; // checked by authenticate, in this request
    const devices = new DeviceRepo(this.deps.db, caller.orgId);
    const device = await devices.find(deviceId);
    if (!device || device.userId !== caller.userId) throw forbidden("device_id is not one of your devices");
    if (device.revokedAt !== null) throw forbidden("this device is revoked");
    this.lastSeen.record(caller.orgId, device);
    return device.id;
  }

  /** Runs `fn` again (whole) when Postgres aborted its transaction for a deadlock or a serialization failure. */
  private async retrying<T>(fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (attempt >= MAX_TX_ATTEMPTS || !isTransactionConflict(err)) throw err;
        this.deps.log.warn("sync_push_retry", { attempt, code: (err as { code: string }).code });
      }
    }
  }
}
