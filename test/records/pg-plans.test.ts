/**
 * Postgres plans of the bulk statements whose rows come in one JSON parameter: the planner cannot
 * see how many rows that holds (it assumes 100), and must still look records up by their key
 * rather than scan the organization's table.
 */
import { expect, test } from "bun:test";
import { deleteRows, insertRows } from "../../src/db/bulk";
import type { Executor, SqlValue } from "../../src/db/types";
import { TASK_TAG_COLUMNS, taskTagRows } from "../../src/records/task-tags";
import type { Task } from "../../src/records/model";
import { RecordRepo } from "../../src/records/repo";
import { writeRecord } from "../../src/records/write";
import { createTestDatabase, PG_AVAILABLE } from "../support/db";

/** A parameter as an SQL literal (for `EXECUTE`). */
const literal = (v: SqlValue): string => (v === null ? "NULL" : typeof v === "number" ? String(v) : `'${v.replace(/'/g, "''")}'`);

/**
 * `inner` (a transaction), which also records the two plans Postgres can make for each `run`: with
 * its parameters' values (what a statement's first executions get), and the generic plan (what a
 * prepared statement may switch to after five).
 */
function explaining(inner: Executor, plans: string[]): Executor {
  return {
    dialect: inner.dialect,
    all: (sql, params) => inner.all(sql, params),
    get: (sql, params) => inner.get(sql, params),
    rawRows: (sql, params) => inner.rawRows(sql, params),
    exec: (sql) => inner.exec(sql),
    async run(sql: string, params: SqlValue[] = []) {
      const [custom] = await inner.all<{ "QUERY PLAN": unknown }>(`EXPLAIN (FORMAT JSON) ${sql}`, params);
      plans.push(JSON.stringify(custom!["QUERY PLAN"]));
      let n = 0;
      await inner.exec(`PREPARE probe AS ${sql.replace(/\?/g, () => `$${++n}`)}`);
      await inner.exec("SET LOCAL plan_cache_mode = force_generic_plan");
      const [generic] = await inner.all<{ "QUERY PLAN": unknown }>(`EXPLAIN (FORMAT JSON) EXECUTE probe(${params.map(literal).join(", ")})`);
      await inner.exec("DEALLOCATE probe; SET LOCAL plan_cache_mode = auto");
      plans.push(JSON.stringify(generic!["QUERY PLAN"]));
      return inner.run(sql, params);
    },
  };
}

test.skipIf(!PG_AVAILABLE)("updateManyIfVersion looks each record up by its key in an organization of 2,000 tasks, analyzed [postgres]", async () => {
  const { db, drop } = await createTestDatabase("postgres");
  try {
    const at = "2026-01-01T00:00:00.000Z";
    await db.run("INSERT INTO organizations (id, name, slug, created_at) VALUES ('o', 'O', 'o', ?)", [at]);
    await db.run("INSERT INTO users (id, org_id, email, name, role, password_hash, created_at, updated_at) VALUES ('u', 'o', 'u@example.test', 'U', 'admin', 'x', ?, ?)", [at, at]);
    const first = await db.transaction((tx) => writeRecord(tx, { entity: "task", orgId: "o", before: null, action: "created", data: { title: "t", description: "d".repeat(400), tags: ["a", "b"] }, userId: "u", deviceId: null }));
    const tasks: Task[] = Array.from({ length: 2000 }, () => ({ ...first, id: crypto.randomUUID() }));
    await db.transaction((tx) => new RecordRepo(tx, "o", "task").insertMany(tasks));
    await db.exec("ANALYZE tasks");

    const plans: string[] = [];
    const edited = tasks.slice(0, 20).map((t) => ({ record: { ...t, title: `${t.title}!`, version: 2 }, expected: 1, before: t }));
    const updated = await db.transaction((tx) => new RecordRepo(explaining(tx, plans), "o", "task").updateManyIfVersion(edited));
    expect(updated).toBe(20);
    expect(plans).toHaveLength(2);
    for (const plan of plans) {
      expect(plan).toContain('"Relation Name":"tasks"');
      expect(plan).not.toContain('"Node Type":"Seq Scan"');
    }
    expect((await new RecordRepo(db, "o", "task").find(tasks[0]!.id))?.title).toBe("t!");
  } finally {
    await drop();
  }
});

test.skipIf(!PG_AVAILABLE)("deleteRows looks each row up by its key among 6,000 task tags, analyzed [postgres]", async () => {
  const { db, drop } = await createTestDatabase("postgres");
  try {
    const at = "2026-01-01T00:00:00.000Z";
    await db.run("INSERT INTO organizations (id, name, slug, created_at) VALUES ('o', 'O', 'o', ?)", [at]);
    const rows = Array.from({ length: 2000 }, () => taskTagRows("o", crypto.randomUUID(), at, ["a", "b", "c"])).flat();
    await insertRows(db, "task_tags", TASK_TAG_COLUMNS, rows);
    await db.exec("ANALYZE task_tags");

    const plans: string[] = [];
    expect(await db.transaction((tx) => deleteRows(explaining(tx, plans), "task_tags", TASK_TAG_COLUMNS, rows.slice(0, 20)))).toBe(20);
    expect(plans).toHaveLength(2);
    for (const plan of plans) {
      expect(plan).toContain('"Relation Name":"task_tags"');
      expect(plan).not.toContain('"Node Type":"Seq Scan"');
    }
    expect((await db.get<{ n: number }>("SELECT COUNT(*)::int AS n FROM task_tags"))?.n).toBe(5980);
  } finally {
    await drop();
  }
});
