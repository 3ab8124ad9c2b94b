/**
 * A list page's `count` and its `results` come from one snapshot: a write committing between the
 * COUNT and the page's statement (on Postgres under READ COMMITTED, or on SQLite's read connection,
 * each statement otherwise reads the latest commit) must not make them disagree — count 0 beside one
 * result, or `next` links computed from a count the page does not match.
 *
 * The interleaving is constructed deterministically: the list runs over a Database wrapper that,
 * once the first `SELECT COUNT(*)` has answered, commits a new task (through the real database)
 * before letting the list go on.
 */
import { expect, test } from "bun:test";
import type { Database, Executor, RawValue, SqlValue, Tx } from "../../src/db/types";
import { writeRecord } from "../../src/records/write";
import { TaskRepo } from "../../src/tasks/repo";
import { taskFilter } from "../../src/tasks/service";
import { forEachDialect } from "../support/db";

/** `inner`'s reads, except that the first `SELECT COUNT(*)` to answer is followed by `write` (once). */
function writingAfterCount(inner: Executor, state: { write: (() => Promise<void>) | null }): Executor {
  const after = async <T>(sql: string, p: Promise<T>): Promise<T> => {
    const r = await p;
    const write = state.write;
    if (write && /^\s*SELECT COUNT\(\*\)/i.test(sql)) {
      state.write = null;
      await write();
    }
    return r;
  };
  return {
    dialect: inner.dialect,
    all: <T>(sql: string, params?: SqlValue[]) => after(sql, inner.all<T>(sql, params)),
    get: <T>(sql: string, params?: SqlValue[]) => after(sql, inner.get<T>(sql, params)),
    rawRows: (sql: string, params?: SqlValue[]) => after(sql, inner.rawRows(sql, params)),
    run: (sql: string, params?: SqlValue[]) => inner.run(sql, params),
    exec: (sql: string) => inner.exec(sql),
  };
}

/** `inner`, its reads (and those of its snapshots) through {@link writingAfterCount}. */
class WriteAfterCount implements Database {
  readonly dialect: Database["dialect"];
  readonly label = "write-after-count wrapper";
  private readonly reads: Executor;

  constructor(
    private readonly inner: Database,
    private readonly state: { write: (() => Promise<void>) | null },
  ) {
    this.dialect = inner.dialect;
    this.reads = writingAfterCount(inner, state);
  }
  get monitor() {
    return this.inner.monitor;
  }
  all<T>(sql: string, params?: SqlValue[]): Promise<T[]> {
    return this.reads.all<T>(sql, params);
  }
  get<T>(sql: string, params?: SqlValue[]): Promise<T | undefined> {
    return this.reads.get<T>(sql, params);
  }
  rawRows(sql: string, params?: SqlValue[]): Promise<RawValue[][]> {
    return this.reads.rawRows(sql, params);
  }
  run(sql: string, params?: SqlValue[]): Promise<{ changes: number }> {
    return this.inner.run(sql, params);
  }
  exec(sql: string): Promise<void> {
    return this.inner.exec(sql);
  }
  verify(): void {
    this.inner.verify();
  }
  storageFullAt(): Date | null {
    return this.inner.storageFullAt();
  }
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.inner.transaction(fn);
  }
  readSnapshot<T>(fn: (exec: Executor) => Promise<T>): Promise<T> {
    return this.inner.readSnapshot((exec) => fn(writingAfterCount(exec, this.state)));
  }
  backup(target: string): Promise<void> {
    return this.inner.backup(target);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

forEachDialect("a list page's count and results", ({ db }) => {
  const at = "2026-01-01T00:00:00.000Z";
  let n = 0;
  /** A fresh organization with one admin. */
  async function org(): Promise<{ orgId: string; userId: string }> {
    const orgId = `o${++n}`;
    const userId = `u${n}`;
    await db().run("INSERT INTO organizations (id, name, slug, created_at) VALUES (?, ?, ?, ?)", [orgId, orgId, orgId, at]);
    await db().run("INSERT INTO users (id, org_id, email, name, role, password_hash, created_at, updated_at) VALUES (?, ?, ?, 'U', 'admin', 'x', ?, ?)", [userId, orgId, `${userId}@example.test`, at, at]);
    return { orgId, userId };
  }
  const createTask = (orgId: string, userId: string, title: string) =>
    db().transaction((tx) => writeRecord(tx, { entity: "task", orgId, before: null, action: "created", data: { title }, userId, deviceId: null }));

  for (const [label, query] of [
    ["by creation (the default ordering)", {}],
    ["by title", { ordering: "title" }],
    ["of a status", { status: "todo" }],
  ] as const) {
    test(`a task created between the COUNT and the page: both without it, or both with it (${label})`, async () => {
      const { orgId, userId } = await org();
      const state = { write: async () => void (await createTask(orgId, userId, "created meanwhile")) };
      const wrapped = new WriteAfterCount(db(), state);
      const page = await new TaskRepo(wrapped, orgId).list(taskFilter(query), { page: 1, pageSize: 20 });
      expect(state.write).toBeNull(); // the write ran, between the two statements
      expect({ count: page.count, results: page.results.length }).toEqual({ count: 0, results: 0 });
      const after = await new TaskRepo(db(), orgId).list(taskFilter(query), { page: 1, pageSize: 20 });
      expect({ count: after.count, results: after.results.length }).toEqual({ count: 1, results: 1 });
    });
  }

  test("a read outside the snapshot, while one is open, sees what committed meanwhile", async () => {
    const { orgId, userId } = await org();
    const countTasks = "SELECT COUNT(*) AS n FROM tasks WHERE org_id = ?";
    let plain: Promise<{ n: number } | undefined> | null = null;
    const inSnapshot = await db().readSnapshot(async (exec) => {
      const before = await exec.get<{ n: number }>(countTasks, [orgId]);
      await createTask(orgId, userId, "committed while the snapshot is open");
      plain = db().get<{ n: number }>(countTasks, [orgId]);
      const again = await exec.get<{ n: number }>(countTasks, [orgId]);
      return [Number(before?.n), Number(again?.n)];
    });
    expect(inSnapshot).toEqual([0, 0]);
    expect(Number((await plain!)?.n)).toBe(1);
  });
});
