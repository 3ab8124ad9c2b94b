import pkg from "../../package.json";
import { MIGRATIONS } from "../db/migrations";
import { trackingRows } from "../db/tracking";
import { unknownVersions } from "../db/migrate";
import { DomainError } from "../errors";
import type { JobsService } from "../jobs/service";
import type { Deps } from "../deps";
import type { HealthResponse } from "./model";

/**
 * How long health waits for the database: past it, 503 at once rather than an answer a load
 * balancer gives up on (e.g. while every pooled connection waits for a lock, until the lock timeout).
 */
const HEALTH_DB_TIMEOUT_MS = 3_000;

/** Liveness for load balancers and operators. */
export class HealthService {
  constructor(
    private readonly deps: Deps,
    private readonly jobs: JobsService,
    private readonly timeoutMs = HEALTH_DB_TIMEOUT_MS,
  ) {}

  /** The check in flight, which concurrent requests share. */
  private inFlight: Promise<HealthResponse> | null = null;

  /** The unknown migrations the latest check found (logged once each time they change). */
  private newerSeen = "";

  /**
   * The health report; 503 `unavailable` when the database does not answer, is no longer the file
   * opened (SQLite), or lacks migrations this version needs. Requests that come while a check is
   * running share its answer (nothing is kept after it): health is public, and each check queued its
   * statements on the one monitor connection, so a client without an account sending a few hundred
   * checks a second (Postgres: ~1.7 ms each) made every check, the load balancer's too, wait past
   * the timeout and answer 503 — a healthy instance taken out of service.
   */
  check(): Promise<HealthResponse> {
    return (this.inFlight ??= this.checkNow().finally(() => {
      this.inFlight = null;
    }));
  }

  private async checkNow(): Promise<HealthResponse> {
    const { db, log } = this.deps;
    let current = false;
    let newer: number[] = [];
    let jobs: HealthResponse["jobs"] = {};
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    try {
      db.verify();
      await Promise.race([
        (async () => {
          const applied = new Set((await trackingRows(db.monitor)).map((r) => r.version));
          current = MIGRATIONS.every((m) => applied.has(m.version));
          newer = unknownVersions(applied);
          if (current) jobs = await this.jobs.health(db.monitor);
        })(),
        timedOut,
      ]);
    } catch (err) {
      log.error("health_check_failed", { error: err instanceof Error ? err.message : String(err) });
      throw new DomainError("unavailable", "the database does not answer");
    } finally {
      clearTimeout(timer);
    }
    // A database without the tables this version needs (recreated, restored from an old dump) serves nothing.
    if (!current) throw new DomainError("unavailable", "the database lacks migrations this version needs: run `taskmgr migrate`");
    this.noteNewer(newer);
    const full = db.storageFullAt();
    return {
      status: "ok",
      database: db.dialect,
      version: pkg.version,
      migrations: "current",
      jobs,
      ...(full === null ? {} : { storage_full_at: full.toISOString() }),
      ...(newer.length === 0 ? {} : { newer_migrations: newer }),
    };
  }

  /**
   * Logs `database_newer_than_this_version` when a newer taskmgr's migrations appear (or change): this
   * instance runs on a schema it was not written for, and its requests fail wherever it changed.
   */
  private noteNewer(newer: number[]): void {
    const seen = newer.join(",");
    if (seen === this.newerSeen) return;
    this.newerSeen = seen;
    if (newer.length === 0) return;
    this.deps.log.warn("database_newer_than_this_version", {
      versions: newer,
      version: pkg.version,
      hint: "a newer taskmgr migrated this database while this one runs: stop this instance and run the newer version",
    });
  }
}
