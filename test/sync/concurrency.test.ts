import { beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { createTestApp, type TestApp } from "../support/app";
import { forEachDialect } from "../support/db";
import { type Change, Device, taskData } from "./helpers";

setDefaultTimeout(120_000);

const WRITERS = 5;
const ROUNDS = 8;
const SHARED = 6;
const PRIORITIES = ["low", "medium", "high", "urgent"];
const STATUSES = ["todo", "in_progress", "blocked", "done", "cancelled"];

/**
 * Several devices push in parallel (own tasks created and edited, shared tasks edited by all,
 * in a different order by each — on Postgres these transactions really overlap, contend for rows
 * and may deadlock) while a reader pulls small pages over and over. At the end the reader has
 * received every record, never the same version twice nor an older one after a newer, and holds
 * exactly the server's latest state of each.
 */
forEachDialect("sync under concurrent pushes", ({ db }) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(db());
  });

  test("a reader pulling while devices push sees every change once, in its latest state, nothing skipped", async () => {
    const owner = await t.createUser();
    const writers: Device[] = [Device.of(t, owner)];
    for (let i = 1; i < WRITERS; i++) writers.push(Device.of(t, await t.createUser({ org: owner.org.slug })));
    const reader = await Device.another(t, owner, "reader");

    const shared = Array.from({ length: SHARED }, () => writers[0].create("task", taskData({ title: "shared" })));
    await writers[0].push(...shared);
    for (const w of writers.slice(1)) for (const s of shared) w.learn(s.entity_id, writers[0].known.get(s.entity_id)!.record);

    const seen = new Map<string, number[]>();
    let writing = true;
    const readerLoop = (async () => {
      let pulls = 0;
      while (writing || pulls === 0) {
        for (;;) {
          const r = await reader.pullRaw(reader.cursor, 7);
          expect(r.status).toBe(200);
          for (const c of r.body.changes) {
            seen.set(c.entity_id, [...(seen.get(c.entity_id) ?? []), c.version]);
            reader.learn(c.entity_id, c.record);
          }
          reader.cursor = r.body.cursor;
          pulls++;
          if (!r.body.has_more) break;
        }
        await Bun.sleep(1);
      }
    })();

    const statuses: string[] = [];
    await Promise.all(
      writers.map(async (w, wi) => {
        const own: string[] = [];
        for (let round = 0; round < ROUNDS; round++) {
          const changes: Change[] = [];
          for (let i = 0; i < 3; i++) {
            const c = w.create("task", taskData({ title: `w${wi} r${round} #${i}` }));
            own.push(c.entity_id);
            changes.push(c);
          }
          for (const id of own.slice(0, -3).slice(-3)) changes.push(w.update("task", id, { priority: PRIORITIES[(round + wi) % 4] }));
          const order = wi % 2 === 0 ? shared : [...shared].reverse();
          for (const s of order.slice(0, 3 + (round % 3))) {
            changes.push(w.update("task", s.entity_id, (round + wi) % 2 ? { status: STATUSES[(round + wi) % 5] } : { tags: [`w${wi}`, `r${round}`] }));
          }
          const results = await w.push(...changes);
          statuses.push(...results.map((r) => r.status));
        }
      }),
    );
    writing = false;
    await readerLoop;
    for (const c of await reader.pullAll(7)) seen.set(c.entity_id, [...(seen.get(c.entity_id) ?? []), c.version]); // what the last writes added

    expect(statuses).not.toContain("rejected");
    expect(statuses).not.toContain("duplicate");

    const server = await t.deps.db.all<{ id: string; version: number }>("SELECT id, version FROM tasks WHERE org_id = ?", [owner.org.id]);
    expect(server).toHaveLength(SHARED + WRITERS * ROUNDS * 3);
    for (const row of server) {
      const versions = seen.get(row.id) ?? [];
      for (let i = 1; i < versions.length; i++) expect(versions[i]).toBeGreaterThan(versions[i - 1]);
      expect(versions.at(-1)).toBe(Number(row.version));
      expect(reader.known.get(row.id)!.record).toEqual(
        (await t.request("GET", `/api/tasks/${row.id}`, { token: owner.token })).body,
      );
    }
  });
});
