import { afterAll, beforeAll } from "bun:test";
import type { Config } from "../../src/config";
import type { Database } from "../../src/db/types";
import { createTestApp, type TestApp } from "./app";
import { createTestDatabase } from "./db";

/**
 * A test app on a fresh Postgres database of its own for the enclosing describe (register it there,
 * under `describe.skipIf(!PG_AVAILABLE)`): made before its tests, dropped after them once the sync
 * log is flushed. For tests of row locks, which only Postgres takes.
 */
export function postgresTestApp(config: Partial<Config> = {}): { app: () => TestApp; db: () => Database } {
  let t: TestApp | undefined;
  let handle: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  beforeAll(async () => {
    handle = await createTestDatabase("postgres");
    t = await createTestApp(handle.db, { config });
  });
  afterAll(async () => {
    await t?.services.sync.flushLog();
    await handle?.drop();
  });
  return { app: () => t!, db: () => handle!.db };
}
