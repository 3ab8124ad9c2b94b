import { createHash } from "node:crypto";
import m0001 from "../../migrations/0001_initial.sql" with { type: "text" };
import m0002 from "../../migrations/0002_jobs.sql" with { type: "text" };
import m0003 from "../../migrations/0003_feed_covering_index.sql" with { type: "text" };
import m0004 from "../../migrations/0004_login_attempts_and_retention.sql" with { type: "text" };
import m0005 from "../../migrations/0005_task_tags_by_tag.sql" with { type: "text" };
import m0005sqlite from "../../migrations/0005_task_tags_by_tag.sqlite.sql" with { type: "text" };
import m0006 from "../../migrations/0006_feed_record.sql" with { type: "text" };
import m0007 from "../../migrations/0007_feed_change.sql" with { type: "text" };
import m0007sqlite from "../../migrations/0007_feed_change.sqlite.sql" with { type: "text" };
import m0008 from "../../migrations/0008_feed_pushed_by_device.sql" with { type: "text" };
import m0009 from "../../migrations/0009_tasks_updated_id.sql" with { type: "text" };
import m0010 from "../../migrations/0010_comments_live_task.sql" with { type: "text" };
import m0011 from "../../migrations/0011_tasks_live_priority_ties.sql" with { type: "text" };
import m0012 from "../../migrations/0012_refresh_tokens_device.sql" with { type: "text" };
import m0013 from "../../migrations/0013_conflicts_by_creation.sql" with { type: "text" };
import m0014 from "../../migrations/0014_refresh_tokens_expiry.sql" with { type: "text" };
import m0015 from "../../migrations/0015_comments_org_updated.sql" with { type: "text" };

/** A numbered migration embedded in the program (no folder is read at run time). */
export interface Migration {
  version: number;
  name: string;
  sql: string;
  /** SQLite's own form of `sql` where the dialects differ (file `NNNN_name.sqlite.sql`). */
  sqlite?: string;
}

/** Every migration, in order. Landed migrations are immutable: add a new file instead of editing one. */
export const MIGRATIONS: Migration[] = [
  { version: 1, name: "0001_initial", sql: m0001 },
  { version: 2, name: "0002_jobs", sql: m0002 },
  { version: 3, name: "0003_feed_covering_index", sql: m0003 },
  { version: 4, name: "0004_login_attempts_and_retention", sql: m0004 },
  { version: 5, name: "0005_task_tags_by_tag", sql: m0005, sqlite: m0005sqlite },
  { version: 6, name: "0006_feed_record", sql: m0006 },
  { version: 7, name: "0007_feed_change", sql: m0007, sqlite: m0007sqlite },
  { version: 8, name: "0008_feed_pushed_by_device", sql: m0008 },
  { version: 9, name: "0009_tasks_updated_id", sql: m0009 },
  { version: 10, name: "0010_comments_live_task", sql: m0010 },
  { version: 11, name: "0011_tasks_live_priority_ties", sql: m0011 },
  { version: 12, name: "0012_refresh_tokens_device", sql: m0012 },
  { version: 13, name: "0013_conflicts_by_creation", sql: m0013 },
  { version: 14, name: "0014_refresh_tokens_expiry", sql: m0014 },
  { version: 15, name: "0015_comments_org_updated", sql: m0015 },
];

/** The SQL of `m` for a dialect. */
export function migrationSql(m: Migration, dialect: "sqlite" | "postgres"): string {
  return dialect === "sqlite" && m.sqlite !== undefined ? m.sqlite : m.sql;
}

/**
 * The SHA-256 (hex) of the SQL `m` runs on a dialect: recorded with the migration when it is applied,
 * and compared with the recorded one whenever the database is opened (src/db/migrate.ts).
 */
export function migrationChecksum(m: Migration, dialect: "sqlite" | "postgres"): string {
  return createHash("sha256").update(migrationSql(m, dialect)).digest("hex");
}
