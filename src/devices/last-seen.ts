/**
 * A device's `last_seen_at`, written off the request's path. The requests that use a device only
 * note it ({@link LastSeenRecorder.record}); the write (at most once a minute per device,
 * `DeviceRepo.touchLastSeen`) is made in the background just after, so a read never waits for the
 * writer (a group commit of pushes under way, another process's SQLite write lock, a lock on the
 * device's row on Postgres) nor fails with it.
 */
import type { Database } from "../db/types";
import type { Logger } from "../log/logger";
import type { Clock } from "../time";
import type { Device } from "./model";
import { DeviceRepo, lastSeenDue } from "./repo";

/** A failed write is logged at most once per this many milliseconds (a lock held for minutes must not flood the log). */
const FAILURE_LOG_MS = 60_000;

/** A device noted as used and not written yet. */
interface Noted {
  orgId: string;
  device: Pick<Device, "id" | "lastSeenAt">;
  at: Date;
}

/**
 * The `last_seen_at` writes of one process: one per device however many of its requests note it
 * within a minute (a use a minute after one whose write is still under way is written after it),
 * one device after the other, started in the next turn of the event loop. A failed write
 * (not a full disk: `touchLastSeen` skips that silently) drops those pending — the devices' next
 * requests note them again — and is logged (`last_seen_failed`, at most once a minute); nothing is
 * ever thrown to a request. {@link close} writes what is pending and notes nothing more: called before
 * the database closes.
 */
export class LastSeenRecorder {
  /** By device id: the devices noted and not written yet (waiting or being written). */
  private readonly pending = new Map<string, Noted>();
  /**
   * By device id: when it was last written by this recorder, kept for a minute (a request that read the
   * device before that write landed must not write it again). Pruned as writes are made.
   */
  private readonly written = new Map<string, Date>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private running: Promise<void> | null = null;
  private closed = false;
  /** When a failure was last logged, by the clock (ms), and the devices whose writes failed since. */
  private failureLoggedAt = Number.NEGATIVE_INFINITY;
  private failedSinceLogged = 0;

  constructor(private readonly deps: { db: Database; clock: Clock; log: Logger }) {}

  /** Notes that `device` of organization `orgId` is being used now: its `last_seen_at` is written just after, if due. Never waits, never throws. */
  record(orgId: string, device: Pick<Device, "id" | "lastSeenAt">): void {
    if (this.closed) return;
    const at = this.deps.clock.now();
    // Noted already (its write waiting or under way), or written lately: again only once that is a minute old.
    const latest = this.pending.get(device.id)?.at ?? this.written.get(device.id);
    if (!lastSeenDue(device.lastSeenAt, at) || (latest !== undefined && !lastSeenDue(latest.toISOString(), at))) return;
    this.pending.set(device.id, { orgId, device: { id: device.id, lastSeenAt: device.lastSeenAt }, at });
    this.schedule();
  }

  /** `device` as it is once its pending write is made: a device reading itself sees itself used now, as when the request wrote it. */
  withPending<D extends Pick<Device, "id" | "lastSeenAt">>(device: D): D {
    const noted = this.pending.get(device.id)?.at.toISOString();
    return noted !== undefined && (device.lastSeenAt === null || noted > device.lastSeenAt) ? { ...device, lastSeenAt: noted } : device;
  }

  /** Makes the pending writes now and waits for them (and for those under way). Never rejects. */
  flush(): Promise<void> {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    // Only logging a failure can throw out of writeAll: nothing to report it to.
    this.running ??= this.writeAll()
      .catch(() => {})
      .finally(() => {
        this.running = null;
        if (this.pending.size > 0) this.schedule(); // noted after the last round checked
      });
    return this.running;
  }

  /** Writes what is pending and waits for it; from now on nothing is noted (the database is about to close). */
  async close(): Promise<void> {
    this.closed = true;
    while (this.pending.size > 0 || this.running !== null) await this.flush();
  }

  private schedule(): void {
    if (this.closed || this.timer !== null || this.running !== null) return;
    this.timer = setTimeout(() => void this.flush(), 0);
    this.timer.unref?.();
  }

  private async writeAll(): Promise<void> {
    const now = this.deps.clock.now();
    for (const [id, at] of this.written) if (lastSeenDue(at.toISOString(), now)) this.written.delete(id);
    while (this.pending.size > 0) {
      for (const [id, noted] of [...this.pending]) {
        try {
          if (await new DeviceRepo(this.deps.db, noted.orgId).touchLastSeen(noted.device, noted.at)) this.written.set(id, noted.at);
          // Unless the device was noted again meanwhile: that one is written in the next round.
          if (this.pending.get(id) === noted) this.pending.delete(id);
        } catch (err) {
          // The others would most likely fail alike (a lock still held, a database gone): dropped.
          const dropped = this.pending.size;
          this.pending.clear();
          this.failed(err, dropped);
          return;
        }
      }
    }
  }

  private failed(err: unknown, devices: number): void {
    this.failedSinceLogged += devices;
    const now = this.deps.clock.now().getTime();
    if (Math.abs(now - this.failureLoggedAt) < FAILURE_LOG_MS) return;
    this.failureLoggedAt = now;
    this.deps.log.warn("last_seen_failed", {
      devices: this.failedSinceLogged,
      error: err instanceof Error ? err.message : String(err),
      hint: "devices' last_seen_at could not be written (requests were answered); each is written again by the device's next request",
    });
    this.failedSinceLogged = 0;
  }
}
