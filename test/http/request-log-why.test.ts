/**
 * The `request` log line says who sent a request and why it was refused: `client`, the address the
 * login rate limit counts (the TCP peer, or the `X-Forwarded-For` entry a trusted proxy wrote), and
 * `error`, the code and message of the answer's error body (null for a success). Before, a 401 or a
 * 403 was logged with its status alone — an expired token, a revoked device and another user's device
 * looked alike — and no line named the address a flood of bad requests came from.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createApp } from "../../src/app";
import { migrate } from "../../src/db/migrate";
import { openDatabase } from "../../src/db/open";
import { type RunningServer, startServer } from "../../src/server";
import { parseTrustedProxies } from "../../src/wire/client-address";
import { createTestApp, type TestApp, type TestUser } from "../support/app";
import { memoryLogger } from "../support/log";

describe("the request log line: client and error", () => {
  let t: TestApp;
  let server: RunningServer;
  let a: TestUser;
  let b: TestUser;
  const { log, lines } = memoryLogger();
  beforeAll(async () => {
    const db = openDatabase("sqlite::memory:");
    await migrate(db);
    t = await createTestApp(db, { log, config: { trustedProxies: parseTrustedProxies("127.0.0.1") } });
    server = startServer(createApp(t.services, t.deps), { host: "127.0.0.1", port: 0 });
    a = await t.createUser();
    b = await t.createUser({ org: a.org.slug });
  });
  afterAll(async () => {
    await server.stop(true);
    await t.deps.db.close();
  });

  /** Sends a request over the socket and answers the `request` line logged for it (its path and status, after it was sent). */
  async function logged(path: string, init: { method?: string; token?: string; body?: unknown; forwardedFor?: string } = {}) {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`;
    if (init.forwardedFor !== undefined) headers["x-forwarded-for"] = init.forwardedFor;
    const before = lines.length;
    const res = await fetch(`http://127.0.0.1:${server.port}${path}`, { method: init.method ?? "GET", headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) });
    await res.arrayBuffer();
    const line = async () => lines.slice(before).find((l) => l.event === "request" && l.path === path.split("?")[0] && l.status === res.status);
    while ((await line()) === undefined) await Bun.sleep(1); // written after the answer
    return { status: res.status, line: (await line())! };
  }

  test("a success: the client's address, no error", async () => {
    const r = await logged("/api/tasks", { token: a.token });
    expect(r.status).toBe(200);
    expect(r.line).toMatchObject({ client: "127.0.0.1", error: null, user_id: a.user.id });
  });

  test("behind a trusted proxy, the address it forwarded", async () => {
    const r = await logged("/api/tasks", { token: "not-a-token", forwardedFor: "198.51.100.7" });
    expect(r.status).toBe(401);
    expect(r.line).toMatchObject({ client: "198.51.100.7", error: { code: "unauthenticated", message: "invalid access token" } });
  });

  test("refused pulls say why: another user's device, a revoked one, a cursor past the purge horizon", async () => {
    const theirs = await logged(`/api/sync/pull?device_id=${b.deviceId}`, { token: a.token });
    expect(theirs.status).toBe(403);
    expect(theirs.line.error).toEqual({ code: "forbidden", message: "device_id is not one of your devices" });

    const spare = await t.services.devices.create({ userId: a.user.id, orgId: a.org.id }, { name: "old phone" });
    await t.services.devices.revokeAnyOrg(spare.id);
    const revoked = await logged(`/api/sync/pull?device_id=${spare.id}`, { token: a.token });
    expect(revoked.status).toBe(403);
    expect(revoked.line).toMatchObject({ device_id: spare.id, error: { code: "forbidden", message: "this device is revoked" } });

    const cursor = (await t.request("GET", `/api/sync/pull?device_id=${a.deviceId}`, { token: a.token })).body.cursor as string;
    await t.deps.db.run("UPDATE org_feed_state SET seq = seq + 1000, purged_through = seq + 1000 WHERE org_id = ?", [a.org.id]);
    const gone = await logged(`/api/sync/pull?device_id=${a.deviceId}&cursor=${encodeURIComponent(cursor)}`, { token: a.token });
    expect(gone.status).toBe(410);
    expect((gone.line.error as { code: string }).code).toBe("reset_required");
  });

  test("a body the model refuses: its code and message, not its details", async () => {
    const r = await logged("/api/tasks", { method: "POST", token: a.token, body: { title: "" } });
    expect(r.status).toBe(422);
    const error = r.line.error as Record<string, unknown>;
    expect(error.code).toBe("validation_failed");
    expect(typeof error.message).toBe("string");
    expect(error.details).toBeUndefined();
  });

  test("a route no one has: 404 with its error", async () => {
    const r = await logged("/api/nothing-here", { token: a.token });
    expect(r.status).toBe(404);
    expect(r.line).toMatchObject({ client: "127.0.0.1", error: { code: "not_found" } });
  });
});
