import type { Config } from "../config";
import type { Database } from "../db/types";
import type { Logger } from "../log/logger";

/** What a job's `run` gets: storage, configuration, and the instant it runs for (time is injected). */
export interface JobContext {
  db: Database;
  config: Config;
  log: Logger;
  /** The clock's time when the run started. */
  now: Date;
  /** The schedule tick this run belongs to; null for a manual run (`taskmgr jobs run`). */
  scheduledFor: Date | null;
  /** Rows deleted per transaction by the cleanup jobs, so that a big purge never blocks syncing for long. */
  batchSize: number;
  /** Aborted when the server shuts down: long jobs stop between batches and report `interrupted: true`. */
  signal: AbortSignal;
  /**
   * Waits for this process's pushes in flight (whose log rows commit with them), then writes out its
   * buffered `sync_log` rows (pulls, refused requests; src/sync/log.ts) and waits for them. Other
   * processes' pushes and buffers (other instances, the server beside `taskmgr jobs run`) are out of
   * reach: they write theirs within a second.
   */
  flushSyncLog(): Promise<void>;
}

/** What holds this process's buffered `sync_log` rows (the sync service). */
export interface SyncLogFlusher {
  /** Waits for the pushes in flight (a bounded time, cut short by `signal`), then writes out the buffered rows. */
  settleLog(signal?: AbortSignal): Promise<void>;
}

/** What a run did: counts and values, stored as JSON in `job_runs.result`, logged, and printed by the CLI. */
export type JobResult = Record<string, number | string | boolean | null>;

/** A scheduled job. `schedule` is a 5-field cron pattern evaluated in UTC. */
export interface Job {
  name: string;
  schedule: string;
  description: string;
  run(ctx: JobContext): Promise<JobResult>;
}

/** How a jobs runner is set up (tests replace the defaults). */
export interface JobsOptions {
  /** The jobs this runner knows (default: the three built-in ones). */
  jobs?: Job[];
  /** Names this process in `job_runs.instance` (default: host/pid/random). */
  instance?: string;
  /** Rows per delete transaction in the cleanup jobs (default 500). */
  batchSize?: number;
  /** How long a run goes on before it is asked to stop (default: one hour; see `MAX_RUN_MS`). */
  maxRunMs?: number;
}
