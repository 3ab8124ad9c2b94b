import { daysBefore } from "../time";
import { PURGE_PHASES, RetentionRepo } from "./retention-repo";
import type { Job, JobContext, JobResult } from "./types";

/**
 * `cleanup-tombstones`: hard-deletes projects, tasks and comments soft-deleted at least
 * `TOMBSTONE_RETENTION_DAYS` ago (0: every tombstone), with the comments of purged tasks and,
 * for every purged record, its feed row, history and conflicts (and a task's tag rows) (open or resolved: the record they
 * are about is gone). Each batch raises `org_feed_state.purged_through` to the highest feed
 * position it removed, in the same transaction, so a pull cursor that could have missed a purged
 * tombstone answers 410 `reset_required`. Exactly-once rows of pushes older than the same
 * retention (`sync_changes`) are deleted too: their devices must reset by then anyway.
 */
export const cleanupTombstones: Job = {
  name: "cleanup-tombstones",
  schedule: "0 3 * * *",
  description: "hard-delete tombstones older than TOMBSTONE_RETENTION_DAYS",
  async run(ctx: JobContext): Promise<JobResult> {
    const cutoff = daysBefore(ctx.now, ctx.config.tombstoneRetentionDays);
    const totals = { projects: 0, tasks: 0, comments: 0, history_rows: 0, feed_rows: 0, conflicts: 0, batches: 0 };
    const horizons = new Map<string, number>();
    for (const phase of PURGE_PHASES) {
      while (!ctx.signal.aborted) {
        const ids = await new RetentionRepo(ctx.db).listExpired(phase, cutoff, ctx.batchSize);
        if (ids.length === 0) break;
        const batch = await ctx.db.transaction(async (tx) => {
          const repo = new RetentionRepo(tx);
          const purged = await repo.deleteRecords(phase, ids, cutoff);
          if (purged.length === 0) return { records: 0, feed: 0, history: 0, conflicts: 0, horizons: [] };
          if (phase.entity === "task") await repo.deleteTaskTags(purged);
          const deleted = purged.map((r) => r.id);
          const raised = await repo.feedHorizons(phase.entity, deleted);
          for (const h of raised) await repo.raiseHorizon(h.org_id, h.pos);
          return {
            records: deleted.length,
            feed: await repo.deleteDependents("feed", phase.entity, deleted),
            history: await repo.deleteDependents("history", phase.entity, deleted),
            conflicts: await repo.deleteDependents("conflicts", phase.entity, deleted),
            horizons: raised,
          };
        });
        for (const h of batch.horizons) horizons.set(h.org_id, Math.max(horizons.get(h.org_id) ?? 0, h.pos));
        totals.feed_rows += batch.feed;
        totals.history_rows += batch.history;
        totals.conflicts += batch.conflicts;
        totals[phase.table] += batch.records;
        totals.batches++;
        if (batch.records === 0 || ids.length < ctx.batchSize) break;
      }
    }
    let syncChanges = 0;
    while (!ctx.signal.aborted) {
      const n = await new RetentionRepo(ctx.db).deleteSyncChanges(cutoff, ctx.batchSize);
      syncChanges += n;
      if (n < ctx.batchSize) break;
    }
    return {
      retention_days: ctx.config.tombstoneRetentionDays,
      cutoff,
      ...totals,
      sync_change_rows: syncChanges,
      organizations: horizons.size,
      interrupted: ctx.signal.aborted,
    };
  },
};
