/**
 * `task_tags`, the side table of the tasks' tags: one row per tag of a live or deleted task, so that
 * `?tag=` is an index lookup (src/tasks/repo.ts). Kept in step with the tasks by their entity
 * definition (src/records/entities.ts): rows written just before COMMIT, deleted with a purged task.
 */
import { columns, deleteRows, insertRows } from "../db/bulk";
import type { Executor, Flusher, SqlValue, Tx } from "../db/types";
import type { PurgedRow } from "./entities";
import type { RecordOf } from "./model";

/** The tags of a task after a write that changed them, and those it had before that write. */
export interface TaskTagsTouch {
  taskId: string;
  orgId: string;
  /** The task's created_at (part of the key, never changes). */
  createdAt: string;
  tags: readonly string[];
  /** The task's tags before the write ([] when it created the task): their rows are stored. */
  stored: readonly string[];
}

/** `task_tags` rows and key, in primary-key order (migration 0005). */
export const TASK_TAG_COLUMNS = columns([
  ["org_id", "text"],
  ["tag", "text"],
  ["created_at", "text"],
  ["task_id", "text"],
]);

/** The `task_tags` rows of one task: its distinct tags, in {@link TASK_TAG_COLUMNS} order. */
export function taskTagRows(orgId: string, taskId: string, createdAt: string, tags: readonly string[]): SqlValue[][] {
  return [...new Set(tags)].map((tag) => [orgId, tag, createdAt, taskId]);
}

/**
 * Writes the `task_tags` rows of one transaction: per task its last tags win. The rows stored
 * before the transaction (the first write's `stored` tags) are deleted by key, then every row goes
 * in multi-row INSERTs.
 */
const flushTaskTags: Flusher<TaskTagsTouch> = async (exec, items) => {
  const first = new Map<string, TaskTagsTouch>();
  const last = new Map<string, TaskTagsTouch>();
  for (const item of items) {
    if (!first.has(item.taskId)) first.set(item.taskId, item);
    last.set(item.taskId, item);
  }
  const stale: SqlValue[][] = [];
  for (const t of first.values()) stale.push(...taskTagRows(t.orgId, t.taskId, t.createdAt, t.stored));
  await deleteRows(exec, "task_tags", TASK_TAG_COLUMNS, stale);
  const rows: SqlValue[][] = [];
  for (const t of last.values()) rows.push(...taskTagRows(t.orgId, t.taskId, t.createdAt, t.tags));
  await insertRows(exec, "task_tags", TASK_TAG_COLUMNS, rows);
};

/** `task_tags` mirrors `tags` (a task's `afterWrite`): a write that changed them queues its task's rows, written just before COMMIT. */
export function queueTaskTags(tx: Tx, orgId: string, before: RecordOf["task"] | null, after: RecordOf["task"]): void {
  if (before && sameList(before.tags, after.tags)) return;
  tx.enqueue(flushTaskTags, { taskId: after.id, orgId, createdAt: after.created_at, tags: after.tags, stored: before?.tags ?? [] });
}

/**
 * A purged task's `task_tags` rows go with it (a task's `afterPurge`; there is no foreign key to
 * cascade): found by key from the `tags` and `created_at` the purge's DELETE returned.
 */
export async function purgeTaskTags(exec: Executor, purged: readonly PurgedRow[]): Promise<void> {
  const keys = purged.flatMap((t) => taskTagRows(t.org_id, t.id, String(t.created_at ?? ""), JSON.parse(String(t.tags ?? "[]")) as string[]));
  await deleteRows(exec, "task_tags", TASK_TAG_COLUMNS, keys);
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
