/**
 * SQLite may roll back a whole transaction by itself when a statement fails (SQLITE_FULL, some
 * I/O errors), not only the statement: a full database (`max_page_count`) makes it do so here.
 */
import { expect, test } from "bun:test";
import type { Database } from "../../src/db/types";
import { isStorageFull } from "../../src/db/errors";
import { createTestDatabase } from "../support/db";

/** A database that may grow by a few pages only, and a statement that needs more. */
async function nearlyFull(db: Database): Promise<(exec: { run: Database["run"] }) => Promise<void>> {
  await db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
  await db.exec("CREATE INDEX t_v ON t (v)");
  const pages = (await db.get<{ page_count: number }>("PRAGMA page_count"))!.page_count;
  await db.exec(`PRAGMA max_page_count = ${pages + 8}`);
  return async (exec) => {
    for (let i = 0; i < 2000; i++) await exec.run("INSERT INTO t (v) VALUES (?)", [crypto.randomUUID().repeat(40)]);
  };
}

test("a savepoint whose statement made SQLite roll back the whole transaction fails with that statement's error (a full database stays 503, not a 500 'no such savepoint')", async () => {
  const { db, drop } = await createTestDatabase("sqlite");
  try {
    const fill = await nearlyFull(db);
    const err = await db.transaction((tx) => tx.savepoint(fill)).catch((e: unknown) => e);
    expect(isStorageFull(err)).toBe(true);
  } finally {
    await drop();
  }
});

test("once SQLite rolled the transaction back, its statements are refused: none runs on its own, outside the transaction, and commits", async () => {
  const { db, drop } = await createTestDatabase("sqlite");
  try {
    const fill = await nearlyFull(db);
    await db.exec("CREATE TABLE marks (v TEXT)");
    const err = await db
      .transaction(async (tx) => {
        await tx.savepoint(fill).catch(() => {});
        await tx.run("INSERT INTO marks (v) VALUES ('after the rollback')");
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(await db.all("SELECT v FROM marks")).toEqual([]);
    await db.transaction((tx) => tx.run("INSERT INTO marks (v) VALUES ('next')"));
    expect(await db.all("SELECT v FROM marks")).toEqual([{ v: "next" }]);
  } finally {
    await drop();
  }
});
