import { isStorageFull } from "./errors";

/** How long a write refused for lack of space is reported (health's `storage_full_at`). */
export const STORAGE_FULL_REPORTED_MS = 60_000;

/**
 * The latest write of this process that the database refused for lack of space ({@link isStorageFull}:
 * a full disk, SQLite's `max_page_count`, Postgres' disk_full), for health to report: such a failure
 * is answered 503 to its request and logged, but nothing else showed it, while reads went on.
 */
export class StorageFullWatch {
  private last: Date | null = null;

  /** `pending`, its rejection noted when it says storage is full (and passed on as it is). */
  watch<T>(pending: Promise<T>): Promise<T> {
    return pending.catch((err: unknown) => {
      if (isStorageFull(err)) this.last = new Date();
      throw err;
    });
  }

  /** When the latest such refusal happened, if within the last {@link STORAGE_FULL_REPORTED_MS} of `now`; else null. */
  latest(now: Date = new Date()): Date | null {
    return this.last !== null && now.getTime() - this.last.getTime() <= STORAGE_FULL_REPORTED_MS ? this.last : null;
  }
}
