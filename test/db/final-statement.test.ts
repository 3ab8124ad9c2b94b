import { expect, test } from "bun:test";
import { runFinal } from "../../src/db/tx-state";
import type { Executor, Flusher } from "../../src/db/types";
import { forEachDialect } from "../support/db";

const INSERT_ORG = "INSERT INTO organizations (id, name, slug, created_at) VALUES (?, ?, ?, ?)";
const org = (id: string, slug = id) => [id, id, slug, "x"];

/** A `last` flusher that runs its items as final statements (as the change feed does). */
function finalFlusher(after?: (exec: Executor) => Promise<void>): Flusher<string> {
  const flush: Flusher<string> = async (exec, ids) => {
    for (const id of ids) await runFinal(exec, INSERT_ORG, org(id));
    await after?.(exec);
  };
  flush.last = true;
  return flush;
}

/** `runFinal`: the last statement of a transaction, sent with its COMMIT on Postgres. */
forEachDialect("final statement", ({ db }) => {
  test("commits it with the transaction's other writes and flushers", async () => {
    const plain: Flusher<string> = async (exec, ids) => {
      for (const id of ids) await exec.run(INSERT_ORG, org(id));
    };
    const answer = await db().transaction(async (tx) => {
      await tx.run(INSERT_ORG, org("fs1"));
      tx.enqueue(finalFlusher(), "fs3");
      tx.enqueue(plain, "fs2");
      return "done";
    });
    expect(answer).toBe("done");
    const rows = await db().all<{ id: string }>("SELECT id FROM organizations WHERE id LIKE 'fs%' ORDER BY id");
    expect(rows.map((r) => r.id)).toEqual(["fs1", "fs2", "fs3"]);
  });

  test("a failing final statement commits nothing, and the database serves the next transactions", async () => {
    await db().transaction(async (tx) => tx.run(INSERT_ORG, org("ff0", "ff-taken")));
    await expect(
      db().transaction(async (tx) => {
        await tx.run(INSERT_ORG, org("ff1"));
        tx.enqueue(finalFlusher(), "ff2");
        tx.enqueue(
          Object.assign(async (exec: Executor) => {
            await runFinal(exec, INSERT_ORG, org("ff3", "ff-taken"));
          }, { last: true }),
          "x",
        );
      }),
    ).rejects.toThrow();
    expect(await db().get("SELECT id FROM organizations WHERE id IN ('ff1', 'ff2', 'ff3')")).toBeUndefined();
    await Promise.all(Array.from({ length: 12 }, (_, i) => db().transaction(async (tx) => {
      await tx.run(INSERT_ORG, org(`ffn${i}`));
      tx.enqueue(finalFlusher(), `ffm${i}`);
    })));
    expect(await db().get<{ n: number }>("SELECT COUNT(*) AS n FROM organizations WHERE id LIKE 'ffn%' OR id LIKE 'ffm%'")).toEqual({ n: 24 });
  });

  test("outside the last flush, or in a savepoint, it is a plain statement of the transaction", async () => {
    await expect(
      db().transaction(async (tx) => {
        await runFinal(tx, INSERT_ORG, org("fp1"));
        await tx.savepoint((sp) => runFinal(sp, INSERT_ORG, org("fp2")));
        await tx.run(INSERT_ORG, org("fp3"));
        throw new Error("roll back");
      }),
    ).rejects.toThrow("roll back");
    expect(await db().get("SELECT id FROM organizations WHERE id LIKE 'fp%'")).toBeUndefined();
  });

  test("nothing runs in the transaction after a final statement that sent the COMMIT", async () => {
    const late = finalFlusher(async (exec) => {
      await exec.run(INSERT_ORG, org("fl2"));
    });
    const done = db().transaction(async (tx) => tx.enqueue(late, "fl1"));
    if (db().dialect === "postgres") {
      await expect(done).rejects.toThrow("final statement");
      expect(await db().get("SELECT id FROM organizations WHERE id = 'fl2'")).toBeUndefined();
    } else {
      await done;
    }
  });
});
