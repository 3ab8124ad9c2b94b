import type { Database, Tx } from "../db/types";
import { entityDef } from "../records/entities";
import { RecordRepo } from "../records/repo";
import { writeRecord } from "../records/write";
import { daysBefore } from "../time";
import { PURGE_PHASES, type PurgePhase, RetentionRepo } from "./retention-repo";
import type { Job, JobContext, JobResult } from "./types";

/**
 * `cleanup-tombstones`: hard-deletes projects, tasks and comments soft-deleted, and not written
 * since, at least `TOMBSTONE_RETENTION_DAYS` ago (0: every tombstone) with, for every purged record, its feed row,
 * history and conflicts (open or resolved: the record they are about is gone) and a task's tag rows.
 * A comment still live on such a task (or on no task) is first deleted, as a write of the server
 * with its own feed position (devices pull that delete), and purged once its own tombstone expires;
 * a task is purged only once none of its comments is left, so that no comment (which a conflict
 * resolution could bring back) outlives its task. Each batch raises `org_feed_state.purged_through` to the highest feed
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
    const totals: Totals = { comments_deleted: 0, projects: 0, tasks: 0, comments: 0, history_rows: 0, feed_rows: 0, conflicts: 0, batches: 0 };
    const horizons = new Map<string, number>();
    // Each step answers whether it finished: a stop asked after the last batch is no interruption.
    let finished = await deleteLiveCommentsOfExpiredTasksInBatches(ctx, cutoff, totals);
    for (const phase of PURGE_PHASES) finished = (await purgePhase(ctx, phase, cutoff, totals, horizons)) && finished;
    const syncChanges = await deleteSyncChangesInBatches(ctx, cutoff);
    return {
      retention_days: ctx.config.tombstoneRetentionDays,
      cutoff,
      ...totals,
      sync_change_rows: syncChanges.deleted,
      organizations: horizons.size,
      interrupted: !(finished && syncChanges.finished),
    };
  },
};

/** The job's counts, under their keys in its result. */
interface Totals {
  comments_deleted: number;
  projects: number;
  tasks: number;
  comments: number;
  history_rows: number;
  feed_rows: number;
  conflicts: number;
  batches: number;
}

/** What one purge batch removed, and the feed positions it raised each organization's horizon to. */
interface PurgedBatch {
  records: number;
  feed: number;
  history: number;
  conflicts: number;
  horizons: { org_id: string; pos: number }[];
}

/** Deletes the live comments of expired tasks, a batch at a time, until none is left (true) or the run is asked to stop (false). */
async function deleteLiveCommentsOfExpiredTasksInBatches(ctx: JobContext, cutoff: string, totals: Totals): Promise<boolean> {
  for (;;) {
    if (ctx.signal.aborted) return false;
    const { listed, deleted } = await deleteLiveCommentsOfExpiredTasks(ctx.db, cutoff, ctx.now, ctx.batchSize);
    totals.comments_deleted += deleted;
    if (deleted > 0) totals.batches++;
    if (listed < ctx.batchSize) return true;
  }
}

/**
 * Purges `phase`'s expired records a batch at a time, until none is left (true) or the run is asked to
 * stop (false); `horizons` keeps each organization's highest purged position.
 */
async function purgePhase(ctx: JobContext, phase: PurgePhase, cutoff: string, totals: Totals, horizons: Map<string, number>): Promise<boolean> {
  for (;;) {
    if (ctx.signal.aborted) return false;
    const ids = await new RetentionRepo(ctx.db).listExpired(phase, cutoff, ctx.batchSize);
    if (ids.length === 0) return true;
    const batch = await ctx.db.transaction((tx) => purgeBatch(tx, phase, ids, cutoff));
    for (const h of batch.horizons) horizons.set(h.org_id, Math.max(horizons.get(h.org_id) ?? 0, h.pos));
    totals.feed_rows += batch.feed;
    totals.history_rows += batch.history;
    totals.conflicts += batch.conflicts;
    totals[entityDef(phase.entity).table] += batch.records;
    totals.batches++;
    if (batch.records === 0 || ids.length < ctx.batchSize) return true;
  }
}

/**
 * In `tx`: deletes those of `ids` that still qualify, with their side rows (`afterPurge`: a task's tags), and every purged
 * record's feed rows, history and conflicts, raising each organization's purge horizon to the
 * highest feed position removed.
 */
async function purgeBatch(tx: Tx, phase: PurgePhase, ids: string[], cutoff: string): Promise<PurgedBatch> {
  const repo = new RetentionRepo(tx);
  const purged = await repo.deleteRecords(phase, ids, cutoff);
  if (purged.length === 0) return { records: 0, feed: 0, history: 0, conflicts: 0, horizons: [] };
  await entityDef(phase.entity).afterPurge?.run(tx, purged);
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
}

/** Deletes the exactly-once rows older than `cutoff`, a batch at a time; answers how many, and whether none is left (not stopped first). */
async function deleteSyncChangesInBatches(ctx: JobContext, cutoff: string): Promise<{ deleted: number; finished: boolean }> {
  let deleted = 0;
  for (;;) {
    if (ctx.signal.aborted) return { deleted, finished: false };
    const n = await new RetentionRepo(ctx.db).deleteSyncChanges(cutoff, ctx.batchSize);
    deleted += n;
    if (n < ctx.batchSize) return { deleted, finished: true };
  }
}

/**
 * Deletes (soft) up to `limit` live comments of tasks expired at `cutoff`, in one
 * transaction, as REST deletes them but by no user (`deleted_by` null, the server's clock entry
 * incremented); returns how many were listed (the loop's end) and how many it deleted (the count in
 * the result: a comment another run — or a write — deleted or revived meanwhile is listed but not
 * deleted by this one, and counted by whichever run did delete it). They are listed outside the transaction — finding a
 * comment whose task is gone reads every live comment of the server (0.9 s at 400,000 on SQLite, whose
 * pushes would wait for the write transaction that long each night) — and the transaction keeps those
 * that still qualify. Each organization's comments are locked first, in id order (as a push locks
 * them), so a concurrent write waits rather than failing the run.
 */
async function deleteLiveCommentsOfExpiredTasks(db: Database, cutoff: string, now: Date, limit: number): Promise<{ listed: number; deleted: number }> {
  const listed = await new RetentionRepo(db).listLiveCommentsOfExpiredTasks(cutoff, limit);
  if (listed.length === 0) return { listed: 0, deleted: 0 };
  const deleted = await db.transaction(async (tx) => {
    let written = 0;
    const live = await new RetentionRepo(tx).keepLiveCommentsOfExpiredTasks(listed.map((c) => c.id), cutoff);
    const byOrg = Map.groupBy(live, (c) => c.org_id);
    for (const [orgId, comments] of byOrg) {
      const locked = await new RecordRepo(tx, orgId, "comment").findMany(comments.map((c) => c.id), { forUpdate: true });
      for (const before of locked.values()) {
        if (before.deleted_at === null) {
          await writeRecord(tx, { entity: "comment", orgId, before, action: "deleted", userId: null, deviceId: null, now });
          written++;
        }
      }
    }
    return written;
  });
  return { listed: listed.length, deleted };
}
