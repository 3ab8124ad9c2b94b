/**
 * The `request` log line names the device a push or a pull named (`device_id` of its body or query),
 * refused ones included: a push or pull refused with 403 (another user's device), 422 (its body or
 * query) or 410 (reset_required) was logged with its user and organization but no device, so an
 * operator could not tell which device kept failing. Anything but a UUID there is not logged.
 */
import { expect, test } from "bun:test";
import { migrate } from "../../src/db/migrate";
import { openDatabase } from "../../src/db/open";
import { createTestApp } from "../support/app";
import { memoryLogger } from "../support/log";

test("refused and answered pushes and pulls are logged with the device they named; other requests with none", async () => {
  const db = openDatabase("sqlite::memory:");
  try {
    await migrate(db);
    const { log, lines } = memoryLogger();
    const t = await createTestApp(db, { log });
    const a = await t.createUser();
    const b = await t.createUser({ org: a.org.slug });
    const mine = a.deviceId!;
    const theirs = b.deviceId!;
    const push = (device: unknown, changes: unknown = []) => t.request("POST", "/api/sync/push", { token: a.token, body: { device_id: device, changes } });
    const pull = (query: string) => t.request("GET", `/api/sync/pull?${query}`, { token: a.token });

    const first = await pull(`device_id=${mine}`);
    await db.run("UPDATE org_feed_state SET seq = seq + 1000, purged_through = seq + 1000 WHERE org_id = ?", [a.org.id]);
    const sent: [() => Promise<{ status: number }>, number, string, string | null][] = [
      [() => push(mine), 200, "/api/sync/push", mine],
      [() => push(theirs), 403, "/api/sync/push", theirs],
      [() => push(mine.toUpperCase(), 5), 422, "/api/sync/push", mine],
      [() => push("not-a-device\nforged line"), 403, "/api/sync/push", null],
      [() => pull(`device_id=${theirs}`), 403, "/api/sync/pull", theirs],
      [() => pull(`device_id=${mine}&limit=x`), 422, "/api/sync/pull", mine],
      [() => pull(`device_id=${mine}&cursor=${encodeURIComponent(first.body.cursor)}`), 410, "/api/sync/pull", mine],
      [() => t.request("GET", "/api/tasks", { token: a.token }), 200, "/api/tasks", null],
    ];
    const requestLines = () => lines.filter((l) => l.event === "request");
    while (requestLines().length === 0) await Bun.sleep(1); // the first pull's
    for (const [answer, status, path, device] of sent) {
      const before = requestLines().length;
      expect((await answer()).status).toBe(status);
      while (requestLines().length === before) await Bun.sleep(1); // the line is written after the answer
      const line = requestLines().at(-1)!;
      expect({ path: line.path, status: line.status, device_id: line.device_id, user_id: line.user_id }).toEqual({ path, status, device_id: device, user_id: a.user.id });
    }
  } finally {
    await db.close();
  }
});
