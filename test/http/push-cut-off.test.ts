/**
 * A push whose client goes away, over a real socket (a phone losing its network mid-sync): cut off
 * after its whole body, it is applied all the same, once, and its retry answers `duplicate` for
 * every change; cut off in the middle of its body, nothing of it is applied, and its retry applies
 * every change. Found correct by the slow-clients QA pass; kept so that nothing ever ties a push's
 * work to its connection (a push abandoned when its client left would fail the first test).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { connect } from "node:net";
import { randomUUID } from "node:crypto";
import { createApp } from "../../src/app";
import { type RunningServer, startServer } from "../../src/server";
import { createTestApp, type TestApp, type TestUser } from "../support/app";
import { count, forEachDialect } from "../support/db";

const CHANGES = 200;

/**
 * Sends a push's head and the first `upTo` bytes of its `body`, then closes the connection once they
 * are written (a FIN after them: a reset would make the server's system drop what it had not yet read).
 */
function sendCutOff(port: number, token: string, body: Buffer, upTo: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    socket.on("error", () => {});
    socket.on("connect", () => {
      socket.write(`POST /api/sync/push HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\nauthorization: Bearer ${token}\r\ncontent-length: ${body.length}\r\n\r\n`);
      socket.write(body.subarray(0, upTo), (err) => {
        socket.destroy();
        if (err) reject(err);
        else resolve();
      });
    });
  });
}

/** Waits (up to 5 s) until `read` answers `want`; its last answer. */
async function settled(read: () => Promise<number>, want: number): Promise<number> {
  const until = Date.now() + 5_000;
  let n = await read();
  while (n !== want && Date.now() < until) {
    await Bun.sleep(20);
    n = await read();
  }
  return n;
}

forEachDialect("a push whose client goes away", ({ db }) => {
  let t: TestApp;
  let server: RunningServer;
  let me: TestUser;
  beforeAll(async () => {
    t = await createTestApp(db());
    server = startServer(createApp(t.services, t.deps), { host: "127.0.0.1", port: 0 });
    me = await t.createUser();
  });
  afterAll(() => server.stop(true));

  /** A push of CHANGES task creates titled `tag`, and the number of this organization's tasks so titled. */
  function creates(tag: string) {
    const changes = Array.from({ length: CHANGES }, () => ({
      change_id: randomUUID(),
      entity: "task",
      entity_id: randomUUID(),
      op: "create",
      data: { title: tag, description: "d".repeat(500) },
      vector_clock: { [me.deviceId!]: 1 },
    }));
    const stored = () => count(db(), "SELECT COUNT(*) AS n FROM tasks WHERE org_id = ? AND title = ?", [me.org.id, tag]);
    return { body: Buffer.from(JSON.stringify({ device_id: me.deviceId, changes })), stored };
  }

  const statuses = (results: { status: string }[]) => [...new Set(results.map((r) => r.status))];

  test("cut off after its whole body: applied once, and the retry answers duplicate for every change", async () => {
    const push = creates("after the body");
    await sendCutOff(server.port, me.token, push.body, push.body.length);
    expect(await settled(push.stored, CHANGES)).toBe(CHANGES);
    const retry = await t.request("POST", "/api/sync/push", { token: me.token, body: push.body.toString() });
    expect(retry.status).toBe(200);
    expect(statuses(retry.body.results)).toEqual(["duplicate"]);
    expect(await push.stored()).toBe(CHANGES);
  });

  test("cut off in the middle of its body: nothing applied, and the retry applies every change", async () => {
    const push = creates("in the middle");
    await sendCutOff(server.port, me.token, push.body, push.body.length >> 1);
    await Bun.sleep(200);
    expect(await push.stored()).toBe(0);
    const retry = await t.request("POST", "/api/sync/push", { token: me.token, body: push.body.toString() });
    expect(retry.status).toBe(200);
    expect(statuses(retry.body.results)).toEqual(["applied"]);
    expect(await push.stored()).toBe(CHANGES);
  });
});
