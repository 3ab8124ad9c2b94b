import { ACCESS_TOKEN_TTL_MAX_SECONDS } from "../config";
import { daysBefore } from "../time";
import { RetentionRepo } from "./retention-repo";
import type { Job, JobContext, JobResult } from "./types";

/**
 * What the job deletes before: the retention's cutoff; for job runs without an end also a day ago
 * ({@link UNFINISHED_RUN_KEPT_MS}); for refresh tokens their expiry less the longest access-token lifetime.
 */
interface Cutoffs {
  retention: string;
  unfinishedRuns: string;
  tokens: string;
}

/**
 * How long a job run without an end is kept whatever the retention (`SYNC_LOG_RETENTION_DAYS` may
 * be 0): it may still be running (a run is asked to stop after an hour, `MAX_RUN_MS`), and its end
 * would then update no row. Past it the run was abandoned (its process stopped).
 */
const UNFINISHED_RUN_KEPT_MS = 24 * 60 * 60_000;

/** The tables this job prunes, in order, each under its key in the job's result. */
const TABLES: { key: string; remove: (repo: RetentionRepo, cutoffs: Cutoffs, limit: number) => Promise<number> }[] = [
  { key: "sync_log_rows", remove: (repo, c, limit) => repo.deleteSyncLogs(c.retention, limit) },
  { key: "metrics_snapshot_rows", remove: (repo, c, limit) => repo.deleteMetricsSnapshots(c.retention, limit) },
  { key: "job_run_rows", remove: (repo, c, limit) => repo.deleteJobRuns(c.retention, c.unfinishedRuns, limit) },
  { key: "refresh_token_rows", remove: (repo, c, limit) => repo.deleteExpiredRefreshTokens(c.tokens, limit) },
];

/**
 * `cleanup-sync-logs`: deletes what is older than `SYNC_LOG_RETENTION_DAYS` in `sync_log`,
 * `sync_metrics_snapshots` and `job_runs` (keeping each job's latest run), and the refresh tokens
 * that expired longer ago than any access token can live (an access token is issued with a refresh
 * token and names its session: once both have expired, nothing needs the row). "Any": a day
 * (`ACCESS_TOKEN_TTL_MAX_SECONDS`), not this process's `ACCESS_TOKEN_TTL_SECONDS`, which may be
 * shorter than the lifetime the tokens were issued with (a `taskmgr jobs run` without the server's
 * environment, an instance configured otherwise, a TTL lowered since): the revoked rows of an ended
 * session are what refuses its access tokens, and purged early they would let a logged-out (or
 * password-changed) session's access token in again until it expires. Each batch deletes
 * up to `batchSize` rows of each table not yet done, one statement per table; `batches` counts them.
 */
export const cleanupSyncLogs: Job = {
  name: "cleanup-sync-logs",
  schedule: "30 3 * * *",
  description: "delete sync log rows, metrics snapshots and job runs older than SYNC_LOG_RETENTION_DAYS (each job's latest run is kept), and expired refresh tokens",
  async run(ctx: JobContext): Promise<JobResult> {
    const cutoff = daysBefore(ctx.now, ctx.config.syncLogRetentionDays);
    const ago = (ms: number) => new Date(ctx.now.getTime() - ms).toISOString();
    const cutoffs: Cutoffs = { retention: cutoff, unfinishedRuns: ago(UNFINISHED_RUN_KEPT_MS), tokens: ago(ACCESS_TOKEN_TTL_MAX_SECONDS * 1000) };
    const repo = new RetentionRepo(ctx.db);
    const deleted: Record<string, number> = Object.fromEntries(TABLES.map((t) => [t.key, 0]));
    let pending = TABLES;
    let batches = 0;
    while (pending.length > 0 && !ctx.signal.aborted) {
      const next: typeof TABLES = [];
      for (const table of pending) {
        const n = await table.remove(repo, cutoffs, ctx.batchSize);
        deleted[table.key]! += n;
        if (n === ctx.batchSize) next.push(table);
      }
      pending = next;
      batches++;
    }
    // Interrupted only when tables were left to do: a stop asked after the last batch changes nothing.
    return { retention_days: ctx.config.syncLogRetentionDays, cutoff, ...deleted, batches, interrupted: pending.length > 0 };
  },
};
