/**
 * api-contract.md, Conflicts: "resolving twice → 409". test/sync/conflicts.test.ts resolves twice
 * one after the other; here two resolutions of one conflict run at once (on Postgres in two
 * transactions that really overlap, as from two server instances): exactly one writes, the other
 * answers 409 already_resolved, and the record has one `conflict_resolved` history entry.
 */
import { beforeAll, expect, test } from "bun:test";
import { createTestApp, type TestApp } from "../support/app";
import { forEachDialect } from "../support/db";
import { Device, taskData, twoDevices } from "./helpers";

const ROUNDS = 8;

forEachDialect("two resolutions of one conflict at once", ({ db }) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(db());
  });

  async function titleConflict(a: Device, b: Device): Promise<{ id: string; conflictId: string }> {
    const c = a.create("task", taskData({ title: "Buy milk" }));
    b.learn(c.entity_id, (await a.push1(c)).record);
    await a.push1(a.update("task", c.entity_id, { title: "Buy oat milk" }));
    const r = await b.push1(b.update("task", c.entity_id, { title: "Buy soy milk" }));
    expect(r.status).toBe("conflict");
    return { id: c.entity_id, conflictId: r.conflict_id! };
  }

  test("exactly one wins; the other is 409 already_resolved and writes nothing", async () => {
    const { a, b } = await twoDevices(t);
    for (let round = 0; round < ROUNDS; round++) {
      const { id, conflictId } = await titleConflict(a, b);
      const before = (await t.request("GET", `/api/tasks/${id}`, { token: a.user.token })).body.version as number;
      const resolve = (token: string, resolution: string) => t.request("POST", `/api/sync/conflicts/${conflictId}/resolve`, { token, body: { resolution } });
      const answers = await Promise.all([resolve(a.user.token, "local"), resolve(b.user.token, "remote")]);
      expect(answers.map((r) => r.status).sort()).toEqual([200, 409]);
      expect(answers.find((r) => r.status === 409)!.body.error.code).toBe("already_resolved");
      const won = answers.find((r) => r.status === 200)!.body;
      expect(won.version).toBe(before + 1);
      const history = (await t.request("GET", `/api/tasks/${id}/history`, { token: a.user.token })).body.results as { action: string }[];
      expect(history.filter((e) => e.action === "conflict_resolved")).toHaveLength(1);
      const now = (await t.request("GET", `/api/tasks/${id}`, { token: a.user.token })).body;
      expect({ version: now.version, title: now.title }).toEqual({ version: won.version, title: won.title });
    }
  });
});
