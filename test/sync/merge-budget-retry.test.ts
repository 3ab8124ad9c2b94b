/**
 * A change whose compare-and-set loses to another transaction (a WriteConflict: Postgres, when a
 * concurrent push wrote the record between the read and the write) is decided again, change by
 * change (src/sync/push/batch.ts, `processOne`). Each attempt starts from the push's merge budget as it was
 * before the first one: the text merges of the lost attempt are not charged twice. So a push whose
 * merges fit its budget once, but not twice, still merges the retried change instead of turning it
 * into a conflict.
 */
import { beforeAll, expect, test } from "bun:test";
import type { Tx } from "../../src/db/types";
import { MAX_PUSH_MERGE_WORK, MAX_TEXT_MERGE_WORK, mergeText } from "../../src/sync/text-merge";
import { PushBatch } from "../../src/sync/push/batch";
import { createTestApp, type TestApp } from "../support/app";
import { forEachDialect } from "../support/db";
import { twoDevices } from "./helpers";

/** `tx` whose first compare-and-set of task `id` reports no row changed, as when another transaction wrote it first. */
function losingOnce(tx: Tx, id: string, lost: { n: number }): Tx {
  const wrap = (inner: Tx): Tx => ({
    dialect: inner.dialect,
    all: (sql, params) => inner.all(sql, params),
    get: (sql, params) => inner.get(sql, params),
    run: (sql, params) => {
      if (lost.n > 0 || !sql.startsWith("UPDATE tasks SET") || !params?.includes(id)) return inner.run(sql, params);
      lost.n++;
      return Promise.resolve({ changes: 0 });
    },
    rawRows: (sql, params) => inner.rawRows(sql, params),
    exec: (sql) => inner.exec(sql),
    savepoint: (fn) => inner.savepoint((sp) => fn(wrap(sp))),
    enqueue: (flush, item) => inner.enqueue(flush, item),
    afterCommit: (fn) => inner.afterCommit(fn),
  });
  return wrap(tx);
}

const LINES = Array.from({ length: 800 }, (_, i) => `line ${i}`);
const BASE = LINES.join("\n");
/** Every 8th line in upper case, from `offset`: edits 0 and 4 never touch each other, so they merge. */
const edited = (...offsets: number[]) => LINES.map((l, i) => (offsets.includes(i % 8) ? l.toUpperCase() : l)).join("\n");

forEachDialect("merge budget of a retried change", ({ db }) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(db());
  });

  test("a WriteConflict retry is not charged the lost attempt's merges: a push that fits its budget once but not twice still merges", async () => {
    // What one merge of the two edits costs, and how many fit the push's budget once but not twice as the last.
    const probe = { work: MAX_TEXT_MERGE_WORK };
    expect(mergeText(BASE, edited(4), edited(0), probe)).toEqual({ ok: true, text: edited(0, 4) });
    const cost = MAX_TEXT_MERGE_WORK - probe.work;
    const count = Math.floor(MAX_PUSH_MERGE_WORK / cost);
    const leftForLast = MAX_PUSH_MERGE_WORK - (count - 1) * cost;
    expect(leftForLast >= cost && leftForLast < 2 * cost).toBe(true);

    // `count` tasks, each edited by A and then concurrently by B (from the version before A's edit).
    const { a, b, ub } = await twoDevices(t);
    const creates = Array.from({ length: count }, () => a.create("task", { title: "shared", description: BASE }));
    for (const r of await a.push(...creates)) b.learn(r.entity_id!, r.record);
    expect((await a.push(...creates.map((c) => a.update("task", c.entity_id, { description: edited(0) })))).every((r) => r.status === "applied")).toBe(true);
    const changes = creates.map((c) => b.update("task", c.entity_id, { description: edited(4) }));

    // B's push, change by change; the last change's first write loses its compare-and-set once.
    const lost = { n: 0 };
    const ctx = { orgId: ub.org.id, userId: ub.user.id, deviceId: b.id, admin: false, now: new Date() };
    const last = changes.at(-1)!.entity_id;
    const results = await db().transaction((tx) => new PushBatch(losingOnce(tx, last, lost), ctx, "savepoints").run(changes));
    expect(lost.n).toBe(1);
    expect(results.map((r) => r.status)).toEqual(changes.map(() => "merged"));
    expect(results.at(-1)!.record).toMatchObject({ description: edited(0, 4), version: 3 });
    expect((await t.request("GET", `/api/tasks/${last}`, { token: ub.token })).body.description).toBe(edited(0, 4));
  });
});
