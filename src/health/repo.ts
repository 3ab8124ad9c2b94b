import type { Executor } from "../db/types";

/** Reads the migration tracking table without creating it (a health probe never writes). */
export class MigrationsRepo {
  constructor(private readonly exec: Executor) {}

  /** Applied migration versions; empty when the tracking table does not exist yet. */
  async appliedVersions(): Promise<Set<number>> {
    const exists = await this.exec.get<{ n: number }>(
      this.exec.dialect === "sqlite"
        ? "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
        : "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'schema_migrations'",
    );
    if (Number(exists?.n ?? 0) === 0) return new Set();
    const rows = await this.exec.all<{ version: number }>("SELECT version FROM schema_migrations");
    return new Set(rows.map((r) => Number(r.version)));
  }
}
