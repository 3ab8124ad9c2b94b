import { beforeAll, expect, test } from "bun:test";
import { Elysia } from "elysia";
import { SignJWT } from "jose";
import { adminGuard, authGuard } from "../../src/auth/guard";
import { errorHandler } from "../../src/http/errors";
import { createLogger, silentLogger } from "../../src/log/logger";
import { loadSecret } from "../../src/auth/secret";
import { ManualClock } from "../support/clock";
import { createTestApp, type TestApp, type TestUser } from "../support/app";
import { forEachDialect } from "../support/db";

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");

forEachDialect("auth: access tokens and the guard", ({ db }) => {
  let t: TestApp;
  let clock: ManualClock;
  let u: TestUser;
  let key: Uint8Array;
  beforeAll(async () => {
    clock = new ManualClock(new Date());
    t = await createTestApp(db(), { clock });
    u = await t.createUser({ device: false });
    key = loadSecret(t.config);
  });
  const me = (token: string) => t.request("GET", "/api/users/me", { token });
  const claims = () => ({ sub: u.user.id, org: u.org.id, role: "member" });
  const sign = (o: { iss?: string; aud?: string; alg?: string; key?: Uint8Array; body?: Record<string, unknown> } = {}) => {
    const iat = Math.floor(clock.now().getTime() / 1000);
    return new SignJWT(o.body ?? claims())
      .setProtectedHeader({ alg: o.alg ?? "HS256", typ: "JWT" })
      .setIssuer(o.iss ?? "taskmgr")
      .setAudience(o.aud ?? "taskmgr-api")
      .setIssuedAt(iat)
      .setExpirationTime(iat + 60)
      .sign(o.key ?? key);
  };

  test("a token built like ours is accepted (so the refusals below are about the one thing changed)", async () => {
    expect((await me(await sign())).status).toBe(200);
    expect((await me(u.token)).status).toBe(200);
  });

  test("the session claim: absent (a token issued before it existed) is accepted, of the wrong type refused", async () => {
    expect(JSON.parse(Buffer.from(u.token.split(".")[1]!, "base64url").toString()).sid).toEqual(expect.any(String));
    expect((await me(await sign({ body: { ...claims() } }))).status).toBe(200);
    expect((await me(await sign({ body: { ...claims(), sid: 7 } }))).status).toBe(401);
    expect((await me(await sign({ body: { ...claims(), did: 7 } }))).status).toBe(401);
  });

  test("missing or malformed Authorization is 401", async () => {
    const none = await t.request("GET", "/api/users/me");
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe("unauthenticated");
    expect((await t.request("GET", "/api/users/me", { headers: { authorization: `Basic ${u.token}` } })).status).toBe(401);
    expect((await me("garbage")).status).toBe(401);
  });

  test("authentication comes before validation: no or a bad token with an invalid request is 401", async () => {
    for (const token of [undefined, "garbage"]) {
      const invalidBody = await t.request("POST", "/api/tasks", { token, body: { title: 5, nope: true } });
      expect(invalidBody.status).toBe(401);
      expect(invalidBody.body.error.code).toBe("unauthenticated");
      expect((await t.request("GET", "/api/tasks?page=abc&status=doing", { token })).status).toBe(401);
      expect((await t.request("PATCH", "/api/projects/not-a-uuid", { token, body: { archived: "yes" } })).status).toBe(401);
      expect((await t.request("GET", "/api/metrics?window=forever", { token })).status).toBe(401);
    }
    // With a valid token the same request is judged on its content.
    expect((await t.request("POST", "/api/tasks", { token: u.token, body: { title: 5 } })).status).toBe(422);
    // A member is refused an admin route before its query is validated.
    expect((await t.request("GET", "/api/metrics?window=forever", { token: u.token })).status).toBe(403);
  });

  test("wrong issuer, wrong audience, foreign key and another HMAC algorithm are refused", async () => {
    expect((await me(await sign({ iss: "someone-else" }))).status).toBe(401);
    expect((await me(await sign({ aud: "another-api" }))).status).toBe(401);
    expect((await me(await sign({ key: new TextEncoder().encode("x".repeat(64)) }))).status).toBe(401);
    expect((await me(await sign({ alg: "HS512" }))).status).toBe(401);
  });

  test("a well-signed token whose claims name no role we know, or another user's device, is refused", async () => {
    expect((await me(await sign({ body: { ...claims(), role: "owner" } }))).status).toBe(401);
    expect((await me(await sign({ body: { ...claims(), role: 1 } }))).status).toBe(401);
    const own = await t.createUser({ org: u.org.slug });
    const other = await t.createUser({ org: u.org.slug });
    expect((await me(await sign({ body: { sub: own.user.id, org: u.org.id, role: "member", did: own.deviceId } }))).status).toBe(200);
    const foreignDevice = await me(await sign({ body: { sub: own.user.id, org: u.org.id, role: "member", did: other.deviceId } }));
    expect(foreignDevice.status).toBe(401);
  });

  test("a tampered payload and alg none are refused", async () => {
    const [h, , s] = u.token.split(".");
    const payload = JSON.parse(Buffer.from(u.token.split(".")[1]!, "base64url").toString());
    expect((await me(`${h}.${b64({ ...payload, role: "admin" })}.${s}`)).status).toBe(401);
    expect((await me(`${b64({ alg: "none", typ: "JWT" })}.${b64(payload)}.`)).status).toBe(401);
  });

  test("an access token expires after the configured lifetime", async () => {
    // The clock is the suite's: put it back, or every later test's `u.token` has expired too (they
    // passed only when run before this one: found with `bun test --randomize`).
    const start = clock.now();
    try {
      const token = await t.tokenFor(u.user);
      clock.advance((t.config.accessTokenTtlSeconds - 5) * 1000);
      expect((await me(token)).status).toBe(200);
      clock.advance(10_000);
      const r = await me(token);
      expect(r.status).toBe(401);
      expect(r.body.error.message).toContain("expired");
    } finally {
      clock.set(start);
    }
  });

  test("a revoked device's token is refused on the next request", async () => {
    const d = await t.createUser({ role: "admin" });
    expect((await t.request("GET", "/api/devices", { token: d.token })).status).toBe(200);
    expect((await t.request("DELETE", `/api/devices/${d.deviceId}`, { token: d.token })).status).toBe(204);
    const after = await t.request("GET", "/api/devices", { token: d.token });
    expect([after.status, after.body.error.message]).toEqual([401, "this device has been revoked"]);
  });

  test("a deactivated user's token is refused on the next request", async () => {
    const d = await t.createUser();
    expect((await me(d.token)).status).toBe(200);
    await t.services.users.deactivate(d.email);
    expect((await me(d.token)).status).toBe(401);
  });

  test("authGuard gives handlers the AuthContext; adminGuard answers 403 to members", async () => {
    const admin = await t.createUser({ role: "admin" });
    const member = await t.createUser({ org: admin.org.slug, device: false });
    const app = new Elysia()
      .use(errorHandler(silentLogger))
      .use(new Elysia().use(authGuard(t.services)).get("/who", ({ auth }) => auth))
      .use(new Elysia().use(adminGuard(t.services)).get("/admin", ({ auth }) => ({ ok: auth.userId })));
    const call = async (path: string, token?: string) => {
      const res = await app.handle(new Request(`http://localhost${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} }));
      return { status: res.status, body: (await res.json()) as any };
    };
    expect(await call("/who", admin.token)).toEqual({
      status: 200,
      body: { userId: admin.user.id, orgId: admin.org.id, role: "admin", deviceId: admin.deviceId, email: admin.email },
    });
    expect((await call("/who", member.token)).body.deviceId).toBeNull();
    expect((await call("/who")).status).toBe(401);
    expect(await call("/admin", admin.token)).toEqual({ status: 200, body: { ok: admin.user.id } });
    const denied = await call("/admin", member.token);
    expect(denied.status).toBe(403);
    expect(denied.body.error.code).toBe("forbidden");
    expect((await call("/admin")).status).toBe(401);
  });

  test("using a device-bound token records last_seen_at", async () => {
    const d = await t.createUser();
    const before = await t.request("GET", `/api/devices/${d.deviceId}`, { token: d.token });
    expect(before.status).toBe(200);
    expect(before.body.last_seen_at).toBe(clock.now().toISOString());
  });

  test("a push or pull naming a device records its last_seen_at too, written at most once a minute", async () => {
    const u = await t.createUser({ device: false });
    const created = await t.request("POST", "/api/devices", { token: u.token, body: { name: "phone" } });
    const id = created.body.id as string;
    // As stored once the background writes (src/devices/last-seen.ts) are done: a write still under way
    // when the clock jumps a minute (a loaded machine) holds the device's note, and the next is not made.
    const seen = async () => {
      await t.services.lastSeen.flush();
      return (await t.request("GET", `/api/devices/${id}`, { token: u.token })).body.last_seen_at;
    };
    expect(await seen()).toBeNull();
    const first = clock.now().toISOString();
    expect((await t.request("GET", `/api/sync/pull?device_id=${id}`, { token: u.token })).status).toBe(200);
    expect(await seen()).toBe(first);
    clock.advance(30_000);
    expect((await t.request("POST", "/api/sync/push", { token: u.token, body: { device_id: id, changes: [] } })).status).toBe(200);
    expect(await seen()).toBe(first);
    clock.advance(31_000);
    expect((await t.request("POST", "/api/sync/push", { token: u.token, body: { device_id: id, changes: [] } })).status).toBe(200);
    expect(await seen()).toBe(clock.now().toISOString());
  });

  // Found by ops QA: two instances without a shared TASKMGR_SECRET each made their own, and refused
  // each other's tokens with 401s that told nobody why.
  test("a token signed with another TASKMGR_SECRET is refused (401) and logged once a minute, naming both key ids", async () => {
    const lines: string[] = [];
    const log = createLogger({ level: "info", console: (l) => lines.push(l) });
    const other = await createTestApp(db(), { clock, log, config: { secret: "another-secret-0123456789abcdef0123456789ab" } });
    const header = (token: string) => JSON.parse(Buffer.from(token.split(".")[0]!, "base64url").toString());
    const ours = header(u.token).kid as string;
    expect(ours).toMatch(/^[0-9a-f]{16}$/);
    expect(header(await other.services.auth.tokens.sign({ userId: u.user.id, orgId: u.org.id, role: "member", deviceId: null, sessionId: null })).kid).not.toBe(ours);
    const warnings = () => lines.map((l) => JSON.parse(l)).filter((l) => l.event === "access_token_other_secret");

    for (let i = 0; i < 3; i++) {
      const r = await other.request("GET", "/api/users/me", { token: u.token });
      expect([r.status, r.body.error.code]).toEqual([401, "unauthenticated"]);
    }
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toMatchObject({ level: "warn", other_key_id: ours, key_id: other.services.auth.tokens.keyId() });
    expect(warnings()[0].hint).toContain("same TASKMGR_SECRET");
    clock.advance(61_000);
    await other.request("GET", "/api/users/me", { token: u.token });
    expect(warnings()).toHaveLength(2);
    // A forged signature that names this key, or no key, is just refused: nothing to say about secrets.
    clock.advance(61_000);
    const forged = u.token.slice(0, -4) + (u.token.endsWith("AAAA") ? "BBBB" : "AAAA");
    expect((await t.request("GET", "/api/users/me", { token: forged })).status).toBe(401);
    expect((await other.request("GET", "/api/users/me", { token: await sign() })).status).toBe(401);
    expect(warnings()).toHaveLength(2);
    // Tokens issued before key ids (no kid) still work.
    expect((await me(await sign())).status).toBe(200);
  });
});
