/**
 * readFeedJson: the pulled changes, assembled from the texts stored in the feed rows, are exactly
 * JSON.stringify of each change built from its record as read back from its table.
 */
import { expect, test } from "bun:test";
import type { Database } from "../../src/db/types";
import { readFeedState } from "../../src/records/feed";
import { readFeedJson } from "../../src/records/feed-json";
import { type FeedRow, readFeedRows } from "../support/feed-rows";
import type { EntityKind } from "../../src/records/model";
import { RecordRepo } from "../../src/records/repo";
import { writeRecord, type WriteInput } from "../../src/records/write";
import { forEachDialect } from "../support/db";
import { world } from "./fixture";

/** The changes of a page as text, joined by commas. */
const text = (page: { changes: Uint8Array[] }) => page.changes.map((c) => new TextDecoder().decode(c)).join(",");

const write = <K extends EntityKind>(db: Database, input: WriteInput<K>) => db.transaction((tx) => writeRecord(tx, input));

/** JSON.stringify of each change of `rows` built from its record as read from its table now, joined by commas. */
async function expected(db: Database, orgId: string, rows: FeedRow[], skipOrigin?: string): Promise<string> {
  const out: string[] = [];
  for (const r of rows) {
    if (skipOrigin !== undefined && r.pushed_by_device === skipOrigin) continue;
    const record = await new RecordRepo(db, orgId, r.entity as EntityKind).find(r.entity_id);
    expect(record?.version).toBe(Number(r.version));
    out.push(JSON.stringify({ entity: r.entity, entity_id: r.entity_id, op: r.op, record, version: Number(r.version), vector_clock: record!.vector_clock }));
  }
  return out.join(",");
}

/** Text that needs every kind of JSON escape, and characters that need none. */
const TRICKY = 'quote " backslash \\ newline \n tab \t cr \r bell \u0007 nul-ish \u0001 del \u007f é ü 中文 emoji 😀 sep \u2028\u2029 </script>';

forEachDialect("readFeedJson", ({ db }) => {
  const w = world(db);
  const orgA = () => w.a.org.id;
  const who = () => ({ userId: w.a.user.id, deviceId: "dev-1" as string | null });

  test("byte-identical to JSON.stringify of the changes built from the stored records: every kind, escapes, nulls, booleans, tombstones, rewrites", async () => {
    const head = (await readFeedState(db(), orgA())).seq;
    const project = await write(db(), { entity: "project", orgId: orgA(), before: null, data: { name: TRICKY, color: null }, action: "created", ...who() });
    await write(db(), { entity: "project", orgId: orgA(), before: null, data: { name: "archived", archived: true, description: "" }, action: "created", ...who() });
    const task = await write(db(), {
      entity: "task", orgId: orgA(), before: null, action: "created", ...who(), clock: { "dev-1": 3, "other-dev": 12 }, originDevice: "dev-1",
      data: { title: TRICKY, description: TRICKY.repeat(20), tags: ["a \"b\"", "c\\d", "😀"], due_date: "2026-03-01", project_id: project.id, priority: "high" },
    });
    await write(db(), { entity: "comment", orgId: orgA(), before: null, data: { task_id: task.id, body: TRICKY }, action: "created", ...who() });
    const gone = await write(db(), { entity: "task", orgId: orgA(), before: null, data: { title: "to delete" }, action: "created", ...who() });
    await write(db(), { entity: "task", orgId: orgA(), before: gone, action: "deleted", ...who() });
    // Rewritten twice: its one feed row carries the last state.
    const moved = await write(db(), { entity: "task", orgId: orgA(), before: null, data: { title: "v1" }, action: "created", ...who() });
    const moved2 = await write(db(), { entity: "task", orgId: orgA(), before: moved, data: { title: "v2", tags: ["x"] }, action: "updated", ...who() });
    await write(db(), { entity: "task", orgId: orgA(), before: moved2, data: { title: "v3 \u00e9" }, action: "updated", ...who() });

    const all = await readFeedRows(db(), orgA(), head, 100);
    const json = await readFeedJson(db(), orgA(), head, 100);
    const changes = text(json);
    expect(changes).toBe(await expected(db(), orgA(), all.rows));
    expect(json.changes).toHaveLength(all.rows.length);
    expect(changes.match(new RegExp(moved.id, "g"))).toHaveLength(2); // entity_id and record.id, once
    expect(changes).toContain('"title":"v3 \u00e9"');
    expect(changes.match(/"op":"delete"/g)).toHaveLength(1);
    expect({ lastPos: json.lastPos, hasMore: json.hasMore }).toEqual({ lastPos: all.lastPos, hasMore: all.hasMore });
    expect(JSON.parse(`[${changes}]`)).toHaveLength(json.changes.length);

    // Paging, liveOnly, throughPos and skipOrigin (reading no row beyond the limit) select the same rows as readFeedRows.
    for (const opts of [{}, { liveOnly: true }, { liveOnly: true, throughPos: all.lastPos - 2 }, { skipOrigin: "dev-1", maxSkipped: 0 }]) {
      for (const limit of [1, 3, 100]) {
        const a = await readFeedRows(db(), orgA(), head + 1, limit, opts);
        const b = await readFeedJson(db(), orgA(), head + 1, limit, opts);
        expect(text(b)).toBe(await expected(db(), orgA(), a.rows, "skipOrigin" in opts ? opts.skipOrigin : undefined));
        expect({ lastPos: b.lastPos, hasMore: b.hasMore }).toEqual({ lastPos: a.lastPos, hasMore: a.hasMore });
      }
    }
    // Read in several statements, and cut by a byte budget: pages that follow one another from
    // `lastPos` hold every change once, in order, whatever the statement size and the budget.
    const whole = text(await readFeedJson(db(), orgA(), head, 100));
    const sizes = (await readFeedJson(db(), orgA(), head, 100)).changes.map((c) => c.byteLength);
    for (const rowsPerStatement of [1, 2, 3, 1000]) {
      for (const maxBytes of [1, sizes[0]! + 1, sizes[0]! + sizes[1]! + sizes[2]!, 1 << 30]) {
        for (const limit of [1, 4, 100]) {
          const pages: string[] = [];
          let [after, more, count] = [head, true, 0];
          while (more) {
            const p = await readFeedJson(db(), orgA(), after, limit, { rowsPerStatement, maxBytes, withState: true });
            expect(p.changes.length).toBeGreaterThan(0); // no skipOrigin here: every row read is sent
            expect(p.changes.length).toBeLessThanOrEqual(limit);
            // Within the budget, except for the one change that crossed it.
            expect(p.changes.slice(0, -1).reduce((n, c) => n + c.byteLength, 0)).toBeLessThan(maxBytes);
            expect(p.state?.seq).toBe(all.lastPos);
            pages.push(text(p));
            [after, more] = [p.lastPos, p.hasMore];
            if (++count > 50) throw new Error("pages do not end");
          }
          expect(pages.join(",")).toBe(whole);
          if (maxBytes === 1) expect(pages).toHaveLength(sizes.length);
        }
      }
    }
    // skipOrigin across statements: the rows it leaves out still move lastPos on.
    const skipped = await readFeedJson(db(), orgA(), head, 100, { skipOrigin: "dev-1", rowsPerStatement: 2 });
    expect(text(skipped)).toBe(text(await readFeedJson(db(), orgA(), head, 100, { skipOrigin: "dev-1" })));
    expect(skipped.lastPos).toBe(all.lastPos);

    expect(text(await readFeedJson(db(), orgA(), head, 100, { skipOrigin: "dev-1" }))).not.toContain(`"entity_id":"${task.id}"`);
    expect(text(await readFeedJson(db(), w.b.org.id, head, 100))).not.toContain(`"entity_id":"${task.id}"`);
  });

  test("with skipOrigin, the rows left out do not count against the limit, up to maxSkipped of them; pages that follow one another hold every other change once, in order", async () => {
    const head = (await readFeedState(db(), orgA())).seq;
    // In feed order: own, own, other, own, own, other, other, own.
    for (const own of [true, true, false, true, true, false, false, true]) {
      await write(db(), { entity: "project", orgId: orgA(), before: null, data: { name: own ? "own" : "other" }, action: "created", ...who(), ...(own && { originDevice: "dev-1" }) });
    }
    const rows = (await readFeedRows(db(), orgA(), head, 100)).rows;
    expect(rows.map((r) => r.pushed_by_device)).toEqual(["dev-1", "dev-1", null, "dev-1", "dev-1", null, null, "dev-1"]);
    const others = await expected(db(), orgA(), rows, "dev-1");
    for (const maxSkipped of [0, 1, 2, 5]) {
      for (const limit of [1, 2, 100]) {
        for (const rowsPerStatement of [1, 2, 1000]) {
          const pages: string[] = [];
          let [after, more, count] = [head, true, 0];
          while (more) {
            const p = await readFeedJson(db(), orgA(), after, limit, { skipOrigin: "dev-1", maxSkipped, rowsPerStatement });
            expect(p.changes.length).toBeLessThanOrEqual(limit);
            // Never short while more follow, but for the rows left out beyond maxSkipped.
            if (maxSkipped >= 5 && p.hasMore) expect(p.changes.length).toBe(limit);
            if (p.changes.length > 0) pages.push(text(p));
            [after, more] = [p.lastPos, p.hasMore];
            if (++count > 50) throw new Error("pages do not end");
          }
          expect(pages.join(",")).toBe(others);
          if (maxSkipped >= 5 && limit === 100) expect(count).toBe(1); // every row in one page
          if (maxSkipped === 0 && limit === 1) expect(count).toBe(8); // one row a page, as without skipOrigin
        }
      }
    }
  });
});
