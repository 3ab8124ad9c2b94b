import { RetentionRepo } from "./retention-repo";
import type { Job, JobContext, JobResult } from "./types";

const DAY_MS = 86_400_000;

/** `cleanup-sync-logs`: deletes `sync_log` rows older than `SYNC_LOG_RETENTION_DAYS`, one batch per transaction. */
export const cleanupSyncLogs: Job = {
  name: "cleanup-sync-logs",
  schedule: "30 3 * * *",
  description: "delete sync log rows older than SYNC_LOG_RETENTION_DAYS",
  async run(ctx: JobContext): Promise<JobResult> {
    const cutoff = new Date(ctx.now.getTime() - ctx.config.syncLogRetentionDays * DAY_MS).toISOString();
    const repo = new RetentionRepo(ctx.db);
    let deleted = 0;
    let batches = 0;
    while (!ctx.signal.aborted) {
      const n = await repo.deleteSyncLogs(cutoff, ctx.batchSize);
      deleted += n;
      batches++;
      if (n < ctx.batchSize) break;
    }
    return { retention_days: ctx.config.syncLogRetentionDays, cutoff, sync_log_rows: deleted, batches, interrupted: ctx.signal.aborted };
  },
};
