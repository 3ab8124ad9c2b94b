import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { migrate } from "../../src/db/migrate";
import { openDatabase } from "../../src/db/open";
import type { Database } from "../../src/db/types";
import { createTestDatabase, type Dialect } from "./db";

/**
 * Two handles on one migrated database, as two instances (or processes) would have: separate
 * connection pools on Postgres, two connections to one file on SQLite.
 */
export async function sharedDatabase(dialect: Dialect): Promise<{ a: Database; b: Database; drop: () => Promise<void> }> {
  if (dialect === "postgres") {
    const first = await createTestDatabase("postgres");
    const b = openDatabase(first.url);
    return { a: first.db, b, drop: async () => (await b.close(), await first.drop()) };
  }
  const dir = mkdtempSync(join(tmpdir(), "taskmgr-shared-"));
  const a = openDatabase(`sqlite:${join(dir, "shared.db")}`);
  await migrate(a);
  const b = openDatabase(`sqlite:${join(dir, "shared.db")}`);
  return { a, b, drop: async () => (await a.close(), await b.close(), rmSync(dir, { recursive: true, force: true })) };
}
