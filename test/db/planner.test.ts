/** gathersStatistics: `serve` warns when Postgres runs without autovacuum (pull plans need statistics on `feed`). */
import { expect, test } from "bun:test";
import { gathersStatistics } from "../../src/db/planner";
import type { Database } from "../../src/db/types";
import { createTestDatabase, DIALECTS } from "../support/db";

for (const dialect of DIALECTS) {
  test(`answers what the database says [${dialect}]`, async () => {
    const { db, drop } = await createTestDatabase(dialect);
    try {
      const expected = dialect === "sqlite" ? true : (await db.get<{ autovacuum: string }>("SHOW autovacuum"))!.autovacuum !== "off";
      expect(await gathersStatistics(db)).toBe(expected);
    } finally {
      await drop();
    }
  });
}

test("false for a Postgres whose autovacuum is off, true when it is on", async () => {
  const answering = (autovacuum: string) => ({ dialect: "postgres", get: async () => ({ autovacuum }) }) as unknown as Database;
  expect(await gathersStatistics(answering("off"))).toBe(false);
  expect(await gathersStatistics(answering("on"))).toBe(true);
});
