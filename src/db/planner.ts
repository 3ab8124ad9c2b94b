import type { Database } from "./types";

/**
 * Whether Postgres gathers planner statistics by itself (`autovacuum`, on by default). Without
 * statistics on `feed` it may plan a pull page — the next rows of an organization by position —
 * as a scan of every row after the cursor and a sort (README, Operations): `serve` warns when it is
 * off. Always true on SQLite, whose pull plans do not depend on statistics.
 */
export async function gathersStatistics(db: Database): Promise<boolean> {
  if (db.dialect !== "postgres") return true;
  const row = await db.get<{ autovacuum: string }>("SHOW autovacuum");
  return row?.autovacuum !== "off";
}
