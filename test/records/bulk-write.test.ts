/** The write core's deferred and bulk paths: prepareWrite + storeWrites, rows queued until COMMIT. */
import { expect, test } from "bun:test";
import type { Database, Tx } from "../../src/db/types";
import { HistoryRepo } from "../../src/records/history";
import type { EntityKind } from "../../src/records/model";
import { RecordRepo } from "../../src/records/repo";
import { prepareWrite, type PreparedWrite, storeWrites, type WriteInput, writeRecord } from "../../src/records/write";
import { forEachDialect } from "../support/db";
import { world } from "./fixture";

const tagsOf = async (db: Database, taskId: string) =>
  (await db.all<{ tag: string }>("SELECT tag FROM task_tags WHERE task_id = ? ORDER BY tag", [taskId])).map((r) => r.tag);

forEachDialect("records bulk writes", ({ db }) => {
  const w = world(db);
  const orgA = () => w.a.org.id;
  const input = <K extends EntityKind>(x: Partial<WriteInput<K>> & Pick<WriteInput<K>, "entity" | "before" | "action">): WriteInput<K> =>
    ({ orgId: orgA(), userId: w.a.user.id, deviceId: null, ...x }) as WriteInput<K>;

  test("several writes of one task in one transaction: the last tags win, every version has its history", async () => {
    const id = await db().transaction(async (tx) => {
      const t1 = await writeRecord(tx, input({ entity: "task", before: null, action: "created", data: { title: "t", tags: ["a", "b"] } }));
      const t2 = await writeRecord(tx, input({ entity: "task", before: t1, action: "updated", data: { tags: ["c"] } }));
      await writeRecord(tx, input({ entity: "task", before: t2, action: "updated", data: { title: "t3" } })); // tags unchanged
      return t1.id;
    });
    expect(await tagsOf(db(), id)).toEqual(["c"]);
    const history = await new HistoryRepo(db(), orgA()).list("task", id, { page: 1, pageSize: 10 });
    expect(history.results.map((h) => [h.version, h.action])).toEqual([
      [1, "created"],
      [2, "updated"],
      [3, "updated"],
    ]);
    await db().transaction(async (tx) => {
      const t = (await new RecordRepo(tx, orgA(), "task").mustGet(id))!;
      await writeRecord(tx, input({ entity: "task", before: t, action: "updated", data: { tags: ["d", "a"] } }));
    });
    expect(await tagsOf(db(), id)).toEqual(["a", "d"]);
  });

  test("a task's old tags are removed by key: another task with the same tags keeps its rows", async () => {
    const make = (tags: string[]) => db().transaction((tx) => writeRecord(tx, input({ entity: "task", before: null, action: "created", data: { title: "t", tags } })));
    const one = await make(["a", "b", "b"]);
    const two = await make(["b", "a"]);
    await db().transaction(async (tx) => {
      const t = await new RecordRepo(tx, orgA(), "task").mustGet(one.id);
      const t2 = await writeRecord(tx, input({ entity: "task", before: t, action: "updated", data: { tags: ["c"] } }));
      await writeRecord(tx, input({ entity: "task", before: t2, action: "updated", data: { tags: ["b", "d"] } }));
    });
    expect(await tagsOf(db(), one.id)).toEqual(["b", "d"]);
    expect(await tagsOf(db(), two.id)).toEqual(["a", "b"]);
  });

  test("storeWrites stores the last state of each record once, checked against the version it started from", async () => {
    const t1 = await db().transaction((tx) => writeRecord(tx, input({ entity: "task", before: null, action: "created", data: { title: "base", tags: ["x"] } })));
    const result = await db().transaction(async (tx) => {
      const writes: PreparedWrite[] = [];
      const a = await prepareWrite(tx, input({ entity: "task", before: t1, action: "updated", data: { title: "a1" } }));
      writes.push(a);
      writes.push(await prepareWrite(tx, input({ entity: "task", before: a.after, action: "updated", data: { title: "a2", tags: ["y"] } })));
      const c = await prepareWrite(tx, input({ entity: "task", before: null, action: "created", data: { title: "new" } }));
      writes.push(c);
      writes.push(await prepareWrite(tx, input({ entity: "task", before: c.after, action: "updated", data: { status: "done" } })));
      return { ok: await storeWrites(tx, orgA(), writes), created: c.after.id };
    });
    expect(result.ok).toBe(true);
    const repo = new RecordRepo(db(), orgA(), "task");
    expect(await repo.find(t1.id)).toMatchObject({ title: "a2", version: 3, tags: ["y"] });
    expect(await repo.find(result.created)).toMatchObject({ title: "new", status: "done", version: 2 });
    expect(await tagsOf(db(), t1.id)).toEqual(["y"]);
    const h = await new HistoryRepo(db(), orgA()).list("task", t1.id, { page: 1, pageSize: 10 });
    expect(h.results.map((x) => x.version)).toEqual([1, 2, 3]);
    expect((await new HistoryRepo(db(), orgA()).findSnapshot("task", t1.id, 2))?.title).toBe("a1");
  });

  test("storeWrites answers false when a record moved on or an id is taken; rolled back, nothing of it remains", async () => {
    const t1 = await db().transaction((tx) => writeRecord(tx, input({ entity: "task", before: null, action: "created", data: { title: "v1" } })));
    await db().transaction(async (tx) => writeRecord(tx, input({ entity: "task", before: t1, action: "updated", data: { title: "v2 elsewhere" } })));
    const other = await db().transaction((tx) =>
      writeRecord(tx, { entity: "task", orgId: w.b.org.id, before: null, action: "created", data: { title: "theirs" }, userId: w.b.user.id, deviceId: null }),
    );
    for (const make of [
      (tx: Tx) => prepareWrite(tx, input({ entity: "task", before: t1, action: "updated", data: { title: "stale" } })), // CAS lost
      (tx: Tx) => prepareWrite(tx, input({ entity: "task", before: null, action: "created", id: other.id, data: { title: "taken" } })), // id taken
    ]) {
      // Only the test's own roll-back is caught: a storeWrites (or prepareWrite) that threw instead of
      // answering false used to pass as well (`.catch(() => null)` swallowed any error).
      const rolledBack = new Error("storeWrites answered false: roll the savepoint back");
      let stored: boolean | undefined;
      const fresh = await db().transaction(async (tx) =>
        tx
          .savepoint(async (sp) => {
            const n = await prepareWrite(sp, input({ entity: "task", before: null, action: "created", data: { title: "batch mate", tags: ["m"] } }));
            stored = await storeWrites(sp, orgA(), [n, await make(sp)]);
            if (!stored) throw rolledBack;
            return n.after.id;
          })
          .catch((e: unknown) => {
            if (e === rolledBack) return null;
            throw e;
          }),
      );
      expect(stored).toBe(false);
      expect(fresh).toBeNull();
    }
    expect((await new RecordRepo(db(), orgA(), "task").find(t1.id))?.title).toBe("v2 elsewhere");
    expect(await db().get("SELECT id FROM tasks WHERE title = 'batch mate'")).toBeUndefined();
    expect(await db().get("SELECT task_id FROM task_tags WHERE tag = 'm'")).toBeUndefined();
    expect((await new RecordRepo(db(), w.b.org.id, "task").find(other.id))?.title).toBe("theirs");
  });
});
