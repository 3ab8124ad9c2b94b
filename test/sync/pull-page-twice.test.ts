/**
 * A pull page that reads past the device's own writes takes more than one statement
 * (src/records/feed-json.ts); a record written by someone else between two of them moves to a
 * later position, where the next statement reads it again. The page must still carry each record
 * once, in its latest state (api-contract.md, "Pull"), not its earlier version first and its later
 * one after it. Found by test/sync/fuzz-devices.test.ts (a page with one task twice).
 */
import { expect, test } from "bun:test";
import type { Executor, RawValue, SqlValue } from "../../src/db/types";
import { readFeedJson } from "../../src/records/feed-json";
import { createTestApp } from "../support/app";
import { forEachDialect } from "../support/db";
import { taskData, twoDevices } from "./helpers";

/** `exec`, running `between` (once) after its first `rawRows` statement answered. */
function afterFirstStatement(exec: Executor, between: () => Promise<void>): Executor {
  let statements = 0;
  return new Proxy(exec, {
    get(target, prop, receiver) {
      if (prop !== "rawRows") return Reflect.get(target, prop, receiver);
      return async (sql: string, params?: SqlValue[]): Promise<RawValue[][]> => {
        const rows = await target.rawRows(sql, params);
        if (statements++ === 0) await between();
        return rows;
      };
    },
  });
}

forEachDialect("a pull page read in several statements while others write", ({ db }) => {
  test("each record once, in its latest state, when it is rewritten between the page's statements", async () => {
    const t = await createTestApp(db());
    const { a, b, ua } = await twoDevices(t);
    // The feed: B's task Y, then two of A's own tasks (left out of A's pull, so the page reads on past them).
    const y = (await b.push1(b.create("task", taskData({ title: "Y" })))).entity_id!;
    for (const title of ["X1", "X2"]) expect((await a.push1(a.create("task", taskData({ title })))).status).toBe("applied");

    const exec = afterFirstStatement(db(), async () => {
      // B edits Y while the page is being read: its feed row moves past A's tasks.
      expect((await b.push1(b.update("task", y, { title: "Y edited" }))).status).toBe("applied");
    });
    const page = await readFeedJson(exec, ua.org.id, 0, 2, { skipOrigin: a.id, withState: true });
    const changes = page.changes.map((c) => JSON.parse(new TextDecoder().decode(c)) as { entity_id: string; version: number; record: { title: string } });
    expect(changes.map((c) => [c.entity_id, c.version, c.record.title])).toEqual([[y, 2, "Y edited"]]);
  });

  test("a record the device itself rewrites between the page's statements is left out, not sent in its older state", async () => {
    // Sent, a client that takes what it pulls would go back to the older state for good: the later one,
    // its own, is never pulled.
    const t = await createTestApp(db());
    const { a, b, ua } = await twoDevices(t);
    const y = (await b.push1(b.create("task", taskData({ title: "Y" })))).entity_id!;
    a.learn(y, b.known.get(y)!.record);
    for (const title of ["X1", "X2"]) expect((await a.push1(a.create("task", taskData({ title })))).status).toBe("applied");

    const exec = afterFirstStatement(db(), async () => {
      expect((await a.push1(a.update("task", y, { title: "Y by A" }))).status).toBe("applied");
    });
    const page = await readFeedJson(exec, ua.org.id, 0, 2, { skipOrigin: a.id, withState: true });
    expect(page.changes).toHaveLength(0);
    expect(page.hasMore).toBe(false);
  });
});
