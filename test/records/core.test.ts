/** The write core (src/records) on its own: writeRecord, repos, history snapshots, the change feed. */
import { describe, expect, test } from "bun:test";
import type { Database, Executor } from "../../src/db/types";
import { DomainError } from "../../src/errors";
import { readFeedState } from "../../src/records/feed";
import { readFeedRows } from "../support/feed-rows";
import { HistoryRepo } from "../../src/records/history";
import type { Task } from "../../src/records/model";
import { RecordRepo } from "../../src/records/repo";
import { checkFields, failureDetails, failureMessage, MAX_FIELD_ERRORS, normalizeDueDate } from "../../src/records/validate";
import { WriteConflict, writeRecord, type WriteInput } from "../../src/records/write";
import type { EntityKind } from "../../src/records/model";
import { forEachDialect } from "../support/db";
import { world } from "./fixture";

const uuid = () => crypto.randomUUID();

/** An executor that counts the statements sent through it. */
function counting(exec: Executor): { exec: Executor; count: () => number } {
  let n = 0;
  return {
    count: () => n,
    exec: {
      dialect: exec.dialect,
      all: (sql, params) => (n++, exec.all(sql, params)),
      get: (sql, params) => (n++, exec.get(sql, params)),
      run: (sql, params) => (n++, exec.run(sql, params)),
      rawRows: (sql, params) => (n++, exec.rawRows(sql, params)),
      exec: (sql) => (n++, exec.exec(sql)),
    },
  };
}

const write = <K extends EntityKind>(db: Database, input: WriteInput<K>) => db.transaction((tx) => writeRecord(tx, input));

describe("normalizeDueDate", () => {
  const cases: [string, string | null][] = [
    ["2026-03-01", "2026-03-01"],
    ["2024-02-29", "2024-02-29"],
    ["2023-02-29", null],
    ["2026-02-30", null],
    ["2026-04-31", null],
    ["2026-13-01", null],
    ["2026-00-10", null],
    ["0000-01-01", null],
    ["2026-03-01T10:00:00Z", "2026-03-01T10:00:00.000Z"],
    ["2026-03-01T10:00Z", "2026-03-01T10:00:00.000Z"],
    ["2026-03-01T10:00:00.5+02:00", "2026-03-01T08:00:00.500Z"],
    ["2026-03-01T00:30:00-01:00", "2026-03-01T01:30:00.000Z"],
    ["2026-03-01T24:00:00Z", null],
    ["2026-03-01T10:60:00Z", null],
    ["2026-03-01T10:00:60Z", null],
    ["2026-03-01T10:00:00+25:00", null],
    ["2026-03-01T10:00:00", null],
    ["2026-3-1", null],
    ["tomorrow", null],
    ["", null],
    // An instant outside the years 0001..9999 in UTC, though its local date is inside them (found by fuzzing).
    ["0001-01-01T00:00:00+01:00", null],
    ["0001-01-01T00:00:00-01:00", "0001-01-01T01:00:00.000Z"],
    ["0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000Z"],
    ["9999-12-31T23:59:59-00:01", null],
    ["9999-12-31T23:59:59+00:01", "9999-12-31T23:58:59.000Z"],
  ];
  for (const [input, expected] of cases) test(`${JSON.stringify(input)} → ${expected}`, () => expect(normalizeDueDate(input)).toBe(expected));

  test("what it stores, it takes back unchanged (a push normalizes, then the write core checks again)", () => {
    const inputs = cases.map(([input]) => input);
    for (const day of ["0001-01-01", "0001-01-02", "2024-02-29", "9999-12-30", "9999-12-31"])
      for (const time of ["T00:00:00", "T23:59:59.999999999", "T12:00"]) for (const zone of ["Z", "+14:00", "-12:00", "+00:01", "-00:01"]) inputs.push(`${day}${time}${zone}`);
    for (const input of inputs) {
      const once = normalizeDueDate(input);
      if (once !== null) expect(`${input} → ${normalizeDueDate(once)}`).toBe(`${input} → ${once}`);
    }
  });
});

describe("checkFields (what sync data may hold)", () => {
  test("refuses read-only and unknown keys, bad values; normalizes due dates and tags", () => {
    const bad = checkFields("task", { title: "", version: 3, created_by: "u", vector_clock: {}, status: "x", tags: [1], due_date: "2026-02-30", foo: 1 });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(Object.keys(bad.errors).sort()).toEqual(["created_by", "due_date", "foo", "status", "tags.0", "title", "vector_clock", "version"]);
    const good = checkFields("task", { title: "t", tags: ["a", "b", "a"], due_date: "2026-03-01T01:00:00+01:00" });
    expect(good).toEqual({ ok: true, data: { title: "t", tags: ["a", "b"], due_date: "2026-03-01T00:00:00.000Z" }, normalized: true });
    // `normalized` says whether any value was stored otherwise than sent (a pushed change's own pulls depend on it).
    expect(checkFields("task", { title: "t", tags: ["a", "b"], due_date: "2026-03-01", priority: "high", project_id: null })).toMatchObject({ ok: true, normalized: false });
    expect(checkFields("task", { title: "t", due_date: "2026-03-01T00:00:00.000Z" })).toMatchObject({ ok: true, normalized: false });
    expect(checkFields("task", { title: "t", tags: ["a", "a"] })).toMatchObject({ ok: true, normalized: true });
    expect(checkFields("task", { title: "t\ud800" })).toMatchObject({ ok: true, data: { title: "t\ufffd" }, normalized: true });
    expect(checkFields("task", { due_date: "2026-03-01T00:00:00Z" })).toMatchObject({ ok: true, normalized: true });
    expect(checkFields("comment", { body: "x", title: "t" }).ok).toBe(false);
    expect(checkFields("project", { archived: 1 }).ok).toBe(false);
  });

  test("reasons in the client's terms, as a REST body gets them", () => {
    const r = checkFields("task", { due_date: "next week", status: "doing", project_id: "p1", description: "a\u0000b", tags: ["ok", "x\u0000"] });
    expect(r).toEqual({
      ok: false,
      errors: {
        due_date: "must be in the form: ISO date (YYYY-MM-DD) or date-time with zone (or null)",
        status: 'must be one of "todo", "in_progress", "blocked", "done", "cancelled"',
        project_id: "must be a UUID or null",
        description: "must not contain the NUL character (U+0000)",
        "tags.1": "must not contain the NUL character (U+0000)",
      },
      more: 0,
    });
  });

  test(`at most ${MAX_FIELD_ERRORS} failing fields are named, and the others counted`, () => {
    const data = { title: "fine", ...Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`k${i}`, 1])), status: "doing" };
    const r = checkFields("task", data);
    if (r.ok) throw new Error("expected a failure");
    expect(Object.keys(r.errors)).toEqual(Array.from({ length: MAX_FIELD_ERRORS }, (_, i) => `k${i}`));
    expect(r.more).toBe(500 - MAX_FIELD_ERRORS + 1);
    expect(failureMessage(r)).toBe(`invalid ${Object.keys(r.errors).join(", ")} and ${r.more} more fields`);
    expect(failureMessage({ errors: { a: "x" }, more: 1 })).toBe("invalid a and 1 more field");
    expect(failureDetails(r)).toEqual({ fields: r.errors, more_fields: r.more });
  });

  test("a long key is named by its first 64 characters without splitting a surrogate pair; keys alike so far are named once and counted", () => {
    const r = checkFields("task", { ["k".repeat(63) + "😀tail"]: 1, ["a".repeat(64) + "X"]: 1, ["a".repeat(64) + "Y"]: 1, b: 1 });
    if (r.ok) throw new Error("expected a failure");
    expect(Object.keys(r.errors)).toEqual([`${"k".repeat(63)}…`, `${"a".repeat(64)}…`, "b"]);
    expect(r.more).toBe(1);
    expect(failureDetails(r)).toEqual({ fields: r.errors, more_fields: 1 });
    const lone = checkFields("task", { ["\ud800"]: 1 });
    expect(lone.ok === false && Object.keys(lone.errors)).toEqual(["\ufffd"]);
  });
});

forEachDialect("records write core", ({ db, dialect }) => {
  const w = world(db);
  const orgA = () => w.a.org.id;
  const createTask = (data: Record<string, unknown> = {}, extra: Partial<WriteInput<"task">> = {}) =>
    write(db(), { entity: "task", orgId: orgA(), before: null, data: { title: "t", ...data }, action: "created", userId: w.a.user.id, deviceId: null, ...extra });

  test("create, update, delete: versions, clocks, history with changes and full snapshots", async () => {
    const t1 = await createTask({ title: "one", tags: ["x"] }, { deviceId: "dev-1", clock: { "dev-1": 1 }, originDevice: "dev-1" });
    expect(t1).toMatchObject({ title: "one", version: 1, vector_clock: { "dev-1": 1 }, created_by: w.a.user.id, deleted_at: null });
    const repo = new RecordRepo(db(), orgA(), "task");
    expect(await repo.find(t1.id)).toEqual(t1);

    const t2 = await write(db(), { entity: "task", orgId: orgA(), before: t1, data: { status: "done" }, action: "merged", userId: w.a.user.id, deviceId: "dev-1" });
    expect(t2).toMatchObject({ status: "done", version: 2, vector_clock: { "dev-1": 1, server: 1 } });
    const t3 = await write(db(), { entity: "task", orgId: orgA(), before: t2, action: "deleted", userId: w.a2.user.id, deviceId: null });
    expect(t3).toMatchObject({ version: 3, deleted_by: w.a2.user.id, vector_clock: { "dev-1": 1, server: 2 } });
    expect(t3.deleted_at).toBe(t3.updated_at);

    const history = new HistoryRepo(db(), orgA());
    expect(await history.findSnapshot("task", t1.id, 1)).toEqual(t1);
    expect(await history.findSnapshot("task", t1.id, 2)).toEqual(t2);
    expect(await history.findSnapshot("task", t1.id, 3)).toEqual(t3);
    expect(await history.findSnapshot("task", t1.id, 4)).toBeUndefined();
    expect(await new HistoryRepo(db(), w.b.org.id).findSnapshot("task", t1.id, 1)).toBeUndefined();
    const entries = (await history.list("task", t1.id, { page: 1, pageSize: 10 })).results;
    const merged = entries.find((e) => e.version === 2);
    expect(merged).toMatchObject({ action: "merged", deviceId: "dev-1", userId: w.a.user.id, changes: { status: { old: "todo", new: "done" } } });
    expect(Object.keys(merged!.changes)).toEqual(["status"]);
    // A create's changes are its snapshot's fields: stored once (as JSON null), derived on read.
    const created = entries.find((e) => e.version === 1);
    expect(created!.changes).toEqual({
      title: { old: null, new: "one" },
      description: { old: null, new: "" },
      status: { old: null, new: "todo" },
      priority: { old: null, new: "medium" },
      project_id: { old: null, new: null },
      due_date: { old: null, new: null },
      tags: { old: null, new: ["x"] },
      assignee_id: { old: null, new: null },
      created_by: { old: null, new: w.a.user.id },
    });
    const stored = await db().all<{ version: number; changes: string }>("SELECT version, changes FROM history WHERE entity_id = ? ORDER BY version", [t1.id]);
    expect(stored.map((r) => [Number(r.version), JSON.parse(r.changes) === null])).toEqual([[1, true], [2, false], [3, false]]);

    const feed = await db().get<{ op: string; version: number; pushed_by_device: string | null }>(
      "SELECT op, version, pushed_by_device FROM feed WHERE entity = 'task' AND entity_id = ?",
      [t1.id],
    );
    expect({ ...feed }).toEqual({ op: "delete", version: 3, pushed_by_device: null });
  });

  test("record, history and feed commit or roll back together", async () => {
    const head = (await readFeedState(db(), orgA())).seq;
    const id = uuid();
    await expect(
      db().transaction(async (tx) => {
        await writeRecord(tx, { entity: "task", orgId: orgA(), before: null, id, data: { title: "never" }, action: "created", userId: w.a.user.id, deviceId: null });
        throw new Error("after the write");
      }),
    ).rejects.toThrow("after the write");
    expect(await db().get("SELECT id FROM tasks WHERE id = ?", [id])).toBeUndefined();
    expect(await db().get("SELECT id FROM history WHERE entity_id = ?", [id])).toBeUndefined();
    expect(await db().get("SELECT entity_id FROM feed WHERE entity_id = ?", [id])).toBeUndefined();
    expect((await readFeedState(db(), orgA())).seq).toBe(head);
  });

  test("writes refuse read-only fields in data and never let them through", async () => {
    const err = await createTask({ title: "x", version: 9, created_by: "someone", id: uuid() }).catch((e) => e);
    expect(err).toBeInstanceOf(DomainError);
    expect(err.code).toBe("validation_failed");
    expect(Object.keys(err.details.fields).sort()).toEqual(["created_by", "id", "version"]);
  });

  test("a stale `before` raises WriteConflict with the current record and writes nothing", async () => {
    const t1 = await createTask();
    const t2 = await write(db(), { entity: "task", orgId: orgA(), before: t1, data: { title: "new" }, action: "updated", userId: w.a.user.id, deviceId: null });
    const headBefore = (await readFeedState(db(), orgA())).seq;
    const err = await write(db(), { entity: "task", orgId: orgA(), before: t1, data: { title: "stale" }, action: "updated", userId: w.a.user.id, deviceId: null }).catch((e) => e);
    expect(err).toBeInstanceOf(WriteConflict);
    expect(err.status).toBe(409);
    expect(err.details.current).toEqual(t2);
    expect(await new RecordRepo(db(), orgA(), "task").find(t1.id)).toEqual(t2);
    expect((await new HistoryRepo(db(), orgA()).list("task", t1.id, { page: 1, pageSize: 10 })).count).toBe(2);
    expect((await readFeedState(db(), orgA())).seq).toBe(headBefore);
  });

  test("a create with a taken id answers already_exists, in any organization", async () => {
    const t = await createTask();
    const err = await write(db(), { entity: "task", orgId: w.b.org.id, before: null, id: t.id, data: { title: "b" }, action: "created", userId: w.b.user.id, deviceId: null }).catch((e) => e);
    expect(err.code).toBe("already_exists");
    expect(await new RecordRepo(db(), w.b.org.id, "task").find(t.id)).toBeUndefined();
  });

  test("repos are scoped by organization; findMany loads a batch in one query", async () => {
    const mine = await Promise.all([createTask(), createTask(), createTask()]);
    const theirs = await write(db(), { entity: "task", orgId: w.b.org.id, before: null, data: { title: "b" }, action: "created", userId: w.b.user.id, deviceId: null });
    const c = counting(db());
    const found = await new RecordRepo(c.exec, orgA(), "task").findMany([...mine.map((t) => t.id), theirs.id, uuid()]);
    expect(c.count()).toBe(1);
    expect([...found.keys()].sort()).toEqual(mine.map((t) => t.id).sort());
    expect(await new RecordRepo(db(), orgA(), "task").find(theirs.id)).toBeUndefined();
    await expect(new RecordRepo(db(), orgA(), "task").mustGet(theirs.id)).rejects.toMatchObject({ code: "not_found" });
  });

  test("feed: one row per record at the position of its last write; a rolled-back savepoint leaves no trace", async () => {
    const head = (await readFeedState(db(), orgA())).seq;
    const ids = await db().transaction(async (tx) => {
      const a = await writeRecord(tx, { entity: "task", orgId: orgA(), before: null, data: { title: "a" }, action: "created", userId: w.a.user.id, deviceId: null });
      const b = await writeRecord(tx, { entity: "project", orgId: orgA(), before: null, data: { name: "b" }, action: "created", userId: w.a.user.id, deviceId: null });
      await writeRecord(tx, { entity: "task", orgId: orgA(), before: a, data: { title: "a2" }, action: "updated", userId: w.a.user.id, deviceId: null });
      await expect(
        tx.savepoint(async (sp) => {
          await writeRecord(sp, { entity: "task", orgId: orgA(), before: null, data: { title: "rolled back" }, action: "created", userId: w.a.user.id, deviceId: null });
          throw new Error("undo");
        }),
      ).rejects.toThrow("undo");
      return { a: a.id, b: b.id };
    });
    expect((await readFeedState(db(), orgA())).seq).toBe(head + 2);
    const page = await readFeedRows(db(), orgA(), head, 10);
    expect(page.rows.map((e) => [Number(e.pos), e.entity, e.entity_id, Number(e.version)])).toEqual([
      [head + 1, "project", ids.b, 1],
      [head + 2, "task", ids.a, 2],
    ]);
    // Each row carries the change a pull sends: the record as written at its version, and that version's clock.
    const stored = await new RecordRepo(db(), orgA(), "task").find(ids.a);
    const change = JSON.parse(page.rows[1].change!) as { entity: string; entity_id: string; op: string; record: Task; version: number; vector_clock: unknown };
    expect(change).toEqual({ entity: "task", entity_id: ids.a, op: "upsert", record: stored!, version: 2, vector_clock: stored!.vector_clock });
    expect(change.record.title).toBe("a2");
    expect(page).toMatchObject({ lastPos: head + 2, hasMore: false });
    expect(await db().get("SELECT id FROM tasks WHERE title = 'rolled back'")).toBeUndefined();
  });

  test("the feed's rows: in position order, each carrying its record's change, tombstones as delete (left out with liveOnly)", async () => {
    const head = (await readFeedState(db(), orgA())).seq;
    const task = await createTask({ title: "fed" });
    const project = await write(db(), { entity: "project", orgId: orgA(), before: null, data: { name: "p" }, action: "created", userId: w.a.user.id, deviceId: null });
    const comment = await write(db(), { entity: "comment", orgId: orgA(), before: null, data: { task_id: task.id, body: "c" }, action: "created", userId: w.a.user.id, deviceId: "d", originDevice: "d" });
    const more = [];
    for (let i = 0; i < 5; i++) more.push(await createTask({ title: `m${i}` }));
    await write(db(), { entity: "task", orgId: orgA(), before: more[0], action: "deleted", userId: w.a.user.id, deviceId: null });

    const page = await readFeedRows(db(), orgA(), head, 100);
    expect(page.rows.map((e) => e.entity_id)).toEqual([task.id, project.id, comment.id, ...more.slice(1).map((t) => t.id), more[0].id]);
    expect(page.rows.at(-1)).toMatchObject({ op: "delete" });
    expect(Number(page.rows.at(-1)!.version)).toBe(2);
    expect(JSON.parse(page.rows.at(-1)!.change!)).toMatchObject({ op: "delete", version: 2, record: { deleted_at: expect.any(String) } });
    expect(page.rows[2]).toMatchObject({ entity: "comment", pushed_by_device: "d" });
    expect(JSON.parse(page.rows[2].change!).record).toEqual(comment);
    const positions = page.rows.map((e) => Number(e.pos));
    expect(positions).toEqual([...positions].sort((x, y) => x - y));

    const first = await readFeedRows(db(), orgA(), head, 3);
    expect(first.rows).toHaveLength(3);
    expect(first.hasMore).toBe(true);
    const rest = await readFeedRows(db(), orgA(), first.lastPos, 100);
    expect([...first.rows, ...rest.rows]).toEqual(page.rows);
    expect(rest.hasMore).toBe(false);

    const live = await readFeedRows(db(), orgA(), head, 100, { liveOnly: true });
    expect(live.rows.map((e) => e.entity_id)).not.toContain(more[0].id);
    expect(live.rows).toHaveLength(page.rows.length - 1);
    expect((await readFeedRows(db(), w.b.org.id, head, 100)).rows.map((e) => e.entity_id)).not.toContain(task.id);
  });

  test(`concurrent writers: a reader polling the feed never finds a row below a position it already passed (${dialect})`, async () => {
    const writers = 6;
    const txPerWriter = 12;
    const pause = () => new Promise((r) => setTimeout(r, Math.floor(Math.random() * 3)));
    let running = writers;
    const seen = new Map<string, number>();
    let cursor = (await readFeedState(db(), orgA())).seq;
    const start = cursor;
    const violations: string[] = [];

    const poll = async () => {
      const page = await readFeedRows(db(), orgA(), cursor, 25);
      for (const e of page.rows) {
        const pos = Number(e.pos);
        if (pos <= cursor) violations.push(`position ${pos} at or below cursor ${cursor}`);
        cursor = pos;
        seen.set(`${e.entity}:${e.entity_id}`, Math.max(seen.get(`${e.entity}:${e.entity_id}`) ?? 0, Number(e.version)));
      }
      cursor = page.lastPos;
      // Everything now committed at or below the cursor must already have been delivered.
      const below = await db().all<{ entity: string; entity_id: string; pos: number; version: number }>(
        "SELECT entity, entity_id, pos, version FROM feed WHERE org_id = ? AND pos > ? AND pos <= ?",
        [orgA(), start, cursor],
      );
      for (const r of below) {
        if ((seen.get(`${r.entity}:${r.entity_id}`) ?? 0) < Number(r.version))
          violations.push(`${r.entity} ${r.entity_id} v${r.version} appeared at ${r.pos} after the reader passed ${cursor}`);
      }
      return page.hasMore;
    };

    const writer = async (n: number) => {
      const own: Task[] = [];
      for (let i = 0; i < txPerWriter; i++) {
        await db().transaction(async (tx) => {
          const created = await writeRecord(tx, { entity: "task", orgId: orgA(), before: null, data: { title: `w${n}-${i}` }, action: "created", userId: w.a.user.id, deviceId: null });
          await pause();
          if (own.length) {
            const k = Math.floor(Math.random() * own.length);
            const before = (await new RecordRepo(tx, orgA(), "task").mustGet(own[k].id)) as Task;
            own[k] = await writeRecord(tx, { entity: "task", orgId: orgA(), before, data: { title: `w${n}-${i}-upd` }, action: "updated", userId: w.a.user.id, deviceId: null });
          }
          await pause();
          own.push(created);
        });
      }
      running--;
    };

    const reader = async () => {
      while (running > 0) {
        await poll();
        await new Promise((r) => setTimeout(r, 0));
      }
      while (await poll()) {}
    };

    await Promise.all([...Array.from({ length: writers }, (_, n) => writer(n)), reader()]);
    expect(violations).toEqual([]);
    // The reader ends with every record in its latest version.
    const rows = await db().all<{ id: string; version: number }>("SELECT id, version FROM tasks WHERE org_id = ? AND title LIKE 'w%'", [orgA()]);
    expect(rows.length).toBe(writers * txPerWriter);
    for (const r of rows) expect(`${r.id} v${seen.get(`task:${r.id}`)}`).toBe(`${r.id} v${r.version}`);
  });
});
