/**
 * A push whose changes the server rejected is logged (`push_rejected`, level warn) with the device,
 * its user and the first rejections' codes and messages. Such a push answers 200, so its request line
 * looked like any other, and an operator asked "why do my phone's edits not reach the server" had
 * nothing in the log to go by.
 */
import { beforeAll, expect, test } from "bun:test";
import { createTestApp, type TestApp, type TestUser } from "../support/app";
import { forEachDialect } from "../support/db";
import { memoryLogger } from "../support/log";

forEachDialect("sync: a push with rejected changes is logged", ({ db }) => {
  let t: TestApp;
  let a: TestUser;
  const { log, lines } = memoryLogger();
  beforeAll(async () => {
    t = await createTestApp(db(), { log });
    a = await t.createUser();
  });
  const push = (changes: unknown[]) => t.request("POST", "/api/sync/push", { token: a.token, body: { device_id: a.deviceId, changes } });
  const create = (title: unknown) => ({ change_id: crypto.randomUUID(), entity: "task", entity_id: crypto.randomUUID(), op: "create", data: { title }, vector_clock: { [a.deviceId!]: 1 } });
  const rejections = () => lines.filter((l) => l.event === "push_rejected");

  test("the rejected changes' codes and messages, with the device and its user; nothing for a push without rejections", async () => {
    const good = create("fine");
    expect((await push([good])).status).toBe(200);
    expect(rejections()).toHaveLength(0);

    const invalid = create("");
    const forged = { ...create("forged"), vector_clock: { [a.deviceId!]: 1, server: 7 } };
    const res = await push([create("also fine"), invalid, forged]);
    expect(res.body.results.map((r: { status: string }) => r.status)).toEqual(["applied", "rejected", "rejected"]);
    expect(rejections()).toHaveLength(1);
    const line = rejections()[0]!;
    expect(line).toMatchObject({ level: "warn", device_id: a.deviceId, user_id: a.user.id, org_id: a.org.id, changes: 3, rejected: 2 });
    const listed = line.first as Record<string, unknown>[];
    expect(listed.map((r) => [r.change_id, r.entity, r.entity_id, r.code])).toEqual([
      [invalid.change_id, "task", invalid.entity_id, "validation_failed"],
      [forged.change_id, "task", forged.entity_id, "forged_clock"],
    ]);
    for (const r of listed) expect(typeof r.message).toBe("string");

    // Sent again: duplicates, answered as before; not logged again.
    expect((await push([invalid])).body.results[0].status).toBe("duplicate");
    expect(rejections()).toHaveLength(1);
  });

  test("a push of many rejected changes lists the first ten and counts them all", async () => {
    const res = await push(Array.from({ length: 25 }, () => create("")));
    expect(res.status).toBe(200);
    const line = rejections().at(-1)!;
    expect(line).toMatchObject({ changes: 25, rejected: 25 });
    expect(line.first as unknown[]).toHaveLength(10);
  });
});
