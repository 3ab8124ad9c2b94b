/** readFeedJson: the pulled changes serialized by the database are exactly JSON.stringify of the changes built from readFeed. */
import { expect, test } from "bun:test";
import type { Database } from "../../src/db/types";
import { feedHead, readFeed, type FeedEntry } from "../../src/records/feed";
import { readFeedJson } from "../../src/records/feed-json";
import type { EntityKind } from "../../src/records/model";
import { writeRecord, type WriteInput } from "../../src/records/write";
import { forEachDialect } from "../support/db";
import { world } from "./fixture";

const write = <K extends EntityKind>(db: Database, input: WriteInput<K>) => db.transaction((tx) => writeRecord(tx, input));

/** What the pull sent before: JSON.stringify of each change built from readFeed (latest versions only), joined by commas. */
const expected = (entries: FeedEntry[], skipOrigin?: string): string =>
  entries
    .filter((e) => e.record.version === e.version && (skipOrigin === undefined || e.originDevice !== skipOrigin))
    .map((e) =>
      JSON.stringify({ entity: e.entity, entity_id: e.entityId, op: e.op, record: e.record, version: e.version, vector_clock: e.record.vector_clock }),
    )
    .join(",");

/** Text that needs every kind of JSON escape, and characters that need none. */
const TRICKY = 'quote " backslash \\ newline \n tab \t cr \r bell \u0007 nul-ish \u0001 del \u007f é ü 中文 emoji 😀 sep \u2028\u2029 </script>';

forEachDialect("readFeedJson", ({ db }) => {
  const w = world(db);
  const orgA = () => w.a.org.id;
  const who = () => ({ userId: w.a.user.id, deviceId: "dev-1" as string | null });

  test("byte-identical to JSON.stringify of readFeed's changes: every kind, escapes, nulls, booleans, tombstones, stale rows", async () => {
    const head = await feedHead(db(), orgA());
    const project = await write(db(), { entity: "project", orgId: orgA(), before: null, data: { name: TRICKY, color: null }, action: "created", ...who() });
    await write(db(), { entity: "project", orgId: orgA(), before: null, data: { name: "archived", archived: true, description: "" }, action: "created", ...who() });
    const task = await write(db(), {
      entity: "task", orgId: orgA(), before: null, action: "created", ...who(), clock: { "dev-1": 3, "other-dev": 12 }, originDevice: "dev-1",
      data: { title: TRICKY, description: TRICKY.repeat(20), tags: ["a \"b\"", "c\\d", "😀"], due_date: "2026-03-01", project_id: project.id, priority: "high" },
    });
    await write(db(), { entity: "comment", orgId: orgA(), before: null, data: { task_id: task.id, body: TRICKY }, action: "created", ...who() });
    const gone = await write(db(), { entity: "task", orgId: orgA(), before: null, data: { title: "to delete" }, action: "created", ...who() });
    await write(db(), { entity: "task", orgId: orgA(), before: gone, action: "deleted", ...who() });
    const stale = await write(db(), { entity: "task", orgId: orgA(), before: null, data: { title: "stale" }, action: "created", ...who() });
    // A record whose version moved without its feed row (as if a write had not yet moved the row): never sent.
    await db().run("UPDATE tasks SET version = version + 1 WHERE id = ?", [stale.id]);

    const all = await readFeed(db(), orgA(), head, 100);
    const json = await readFeedJson(db(), orgA(), head, 100);
    expect(json.changes).toBe(expected(all.entries));
    expect(json.count).toBe(all.entries.length - 1); // all but the stale row
    expect(json.changes).not.toContain(stale.id);
    expect(json.changes.match(/"op":"delete"/g)).toHaveLength(1);
    expect({ lastPos: json.lastPos, hasMore: json.hasMore }).toEqual({ lastPos: all.lastPos, hasMore: all.hasMore });
    expect(JSON.parse(`[${json.changes}]`)).toHaveLength(json.count);

    // Paging, liveOnly, throughPos and skipOrigin select the same rows as readFeed.
    for (const opts of [{}, { liveOnly: true }, { liveOnly: true, throughPos: all.lastPos - 2 }, { skipOrigin: "dev-1" }]) {
      for (const limit of [1, 3, 100]) {
        const a = await readFeed(db(), orgA(), head + 1, limit, opts);
        const b = await readFeedJson(db(), orgA(), head + 1, limit, opts);
        expect(b.changes).toBe(expected(a.entries, "skipOrigin" in opts ? opts.skipOrigin : undefined));
        expect({ lastPos: b.lastPos, hasMore: b.hasMore }).toEqual({ lastPos: a.lastPos, hasMore: a.hasMore });
      }
    }
    expect((await readFeedJson(db(), orgA(), head, 100, { skipOrigin: "dev-1" })).changes).not.toContain(`"entity_id":"${task.id}"`);
    expect((await readFeedJson(db(), w.b.org.id, head, 100)).changes).not.toContain(`"entity_id":"${task.id}"`);
  });
});
