import { cleanupSyncLogs } from "./cleanup-sync-logs";
import { cleanupTombstones } from "./cleanup-tombstones";
import { syncMetrics } from "./sync-metrics";
import type { Job } from "./types";

/** The built-in jobs (`taskmgr jobs list`), scheduled by `taskmgr serve`. */
export const JOBS: Job[] = [cleanupTombstones, cleanupSyncLogs, syncMetrics];
