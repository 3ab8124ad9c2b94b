/**
 * Health on a full disk: writes, logins and token refreshes answer 503 (logged `database_full`) while
 * reads go on, and health answered 200 `ok` with nothing to say about it — a monitor polling health saw
 * nothing until every client was out (their access tokens expired, and refreshing them must write).
 * Health now names the latest write refused for lack of space (`storage_full_at`, within the last
 * minute), still 200 `ok`, so that a load balancer keeps sending the reads.
 */
import { expect, test } from "bun:test";
import { StorageFullWatch, STORAGE_FULL_REPORTED_MS } from "../../src/db/storage-full";
import type { Database } from "../../src/db/types";
import { createTestApp } from "../support/app";
import { forEachDialect } from "../support/db";

/** Makes a write of `db` fail because its storage is full: SQLite's real SQLITE_FULL (max_page_count), Postgres' disk_full raised by the server. */
async function failFull(db: Database, via: "run" | "transaction"): Promise<unknown> {
  if (db.dialect === "postgres") {
    const raise = "DO $$ BEGIN RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = '53100'; END $$";
    return (via === "run" ? db.run(raise) : db.transaction((tx) => tx.run(raise))).then(() => null, (e: unknown) => e);
  }
  await db.exec("CREATE TABLE IF NOT EXISTS filler (x BLOB)");
  const pages = (await db.get<{ page_count: number }>("PRAGMA page_count"))!.page_count;
  await db.exec(`PRAGMA max_page_count = ${pages + 2}`);
  const insert = "INSERT INTO filler VALUES (zeroblob(100000))";
  const error = await (via === "run" ? db.run(insert) : db.transaction((tx) => tx.run(insert))).then(() => null, (e: unknown) => e);
  await db.exec("PRAGMA max_page_count = 1073741823");
  return error;
}

forEachDialect("health names a full storage", ({ db }) => {
  test("absent while writes succeed; after a write refused for lack of space (run or transaction), its time, with 200 ok", async () => {
    const t = await createTestApp(db());
    const healthy = await t.request("GET", "/api/health");
    expect(healthy.status).toBe(200);
    expect(healthy.body.storage_full_at).toBeUndefined();
    expect(db().storageFullAt()).toBeNull();

    for (const via of ["run", "transaction"] as const) {
      const before = Date.now();
      const error = await failFull(db(), via);
      expect((error as { code?: string }).code).toBe(db().dialect === "sqlite" ? "SQLITE_FULL" : "53100");
      const full = await t.request("GET", "/api/health");
      expect(full.status).toBe(200);
      expect(full.body.status).toBe("ok");
      expect(Date.parse(full.body.storage_full_at)).toBeGreaterThanOrEqual(before - 1);
      expect(Date.parse(full.body.storage_full_at)).toBeLessThanOrEqual(Date.now());
    }
  });

  test("other failures are not a full storage", async () => {
    const d = db();
    const error = await d.run("INSERT INTO no_such_table VALUES (1)").then(() => null, (e: unknown) => e);
    expect(error).not.toBeNull();
    // The storage of this database may have been found full by the test before: only its time is checked there.
    const t = await createTestApp(d);
    const before = d.storageFullAt();
    await d.transaction(() => Promise.reject(new Error("boom"))).catch(() => {});
    expect(d.storageFullAt()).toEqual(before);
    expect((await t.request("GET", "/api/health")).status).toBe(200);
  });
});

test("StorageFullWatch: the latest refusal for lack of space, for a minute; other errors and successes change nothing", async () => {
  const watch = new StorageFullWatch();
  await watch.watch(Promise.resolve(1));
  await watch.watch(Promise.reject(Object.assign(new Error("locked"), { code: "SQLITE_BUSY" }))).catch(() => {});
  expect(watch.latest()).toBeNull();
  const full = Object.assign(new Error("database or disk is full"), { code: "SQLITE_FULL" });
  await expect(watch.watch(Promise.reject(full))).rejects.toBe(full);
  const at = watch.latest()!;
  expect(at).toBeInstanceOf(Date);
  await watch.watch(Promise.resolve(2));
  expect(watch.latest()).toEqual(at);
  expect(watch.latest(new Date(at.getTime() + STORAGE_FULL_REPORTED_MS))).toEqual(at);
  expect(watch.latest(new Date(at.getTime() + STORAGE_FULL_REPORTED_MS + 1))).toBeNull();
});
