import { beforeAll, describe, expect, test } from "bun:test";
import { LOGIN_FAILURES_ALLOWED } from "../../src/auth/rate-limit";
import { createTestApp, type TestApp } from "../support/app";
import { forEachDialect } from "../support/db";

forEachDialect("auth: login", ({ db }) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(db());
  });
  const login = (body: Record<string, unknown>) => t.request("POST", "/api/auth/login", { body });

  test("the right password answers tokens and the user, without any password field", async () => {
    const u = await t.createUser({ email: "Mixed.Case@Example.test", device: false });
    const r = await login({ email: "  mixed.case@EXAMPLE.test ", password: u.password });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ token_type: "Bearer", expires_in: t.config.accessTokenTtlSeconds });
    expect(r.body.user).toEqual({
      id: u.user.id,
      email: "mixed.case@example.test",
      name: "Test User",
      role: "member",
      organization_id: u.org.id,
      is_active: true,
      created_at: u.user.createdAt,
    });
    expect(JSON.stringify(r.body)).not.toContain("password");
    // Tokens are never stored by a cache (found by security review: the answer had no Cache-Control).
    expect(r.headers.get("cache-control")).toBe("no-store");
    expect(r.headers.get("pragma")).toBe("no-cache");
    const me = await t.request("GET", "/api/users/me", { token: r.body.access });
    expect(me.status).toBe(200);
    expect(me.body.id).toBe(u.user.id);
  });

  test("wrong password, unknown email and deactivated user answer the same 401 body", async () => {
    const u = await t.createUser();
    const gone = await t.createUser();
    await t.services.users.deactivate(gone.email);
    const wrong = await login({ email: u.email, password: "not the password" });
    const unknown = await login({ email: "nobody@example.test", password: u.password });
    const deactivated = await login({ email: gone.email, password: gone.password });
    for (const r of [wrong, unknown, deactivated]) expect(r.status).toBe(401);
    expect(unknown.body).toEqual(wrong.body);
    expect(deactivated.body).toEqual(wrong.body);
    expect(wrong.body.error.code).toBe("unauthenticated");
  });

  test("a device_id binds the session to one of the user's devices; revoked or foreign devices are refused", async () => {
    const u = await t.createUser();
    const other = await t.createUser();
    const ok = await login({ email: u.email, password: u.password, device_id: u.deviceId });
    expect(ok.status).toBe(200);
    const claims = JSON.parse(Buffer.from(ok.body.access.split(".")[1], "base64url").toString());
    expect(claims.did).toBe(u.deviceId);

    const foreign = await login({ email: u.email, password: u.password, device_id: other.deviceId });
    expect(foreign.status).toBe(422);
    expect(foreign.body.error.details.fields).toHaveProperty("device_id");
    // A colleague's device (same organization) is not one of the user's either.
    const colleague = await t.createUser({ org: u.org.slug });
    const borrowed = await login({ email: u.email, password: u.password, device_id: colleague.deviceId });
    expect(borrowed.status).toBe(422);
    expect(borrowed.body.error.details.fields).toHaveProperty("device_id");

    await t.services.devices.revokeAnyOrg(u.deviceId!);
    expect((await login({ email: u.email, password: u.password, device_id: u.deviceId })).status).toBe(401);
  });

  test("malformed bodies: missing and unknown fields are 422 naming them, bad JSON is 400", async () => {
    const missing = await login({ email: "a@b.c" });
    expect(missing.status).toBe(422);
    expect(missing.body.error.details.fields).toHaveProperty("password");
    const extra = await login({ email: "a@b.c", password: "whatever1", remember_me: true });
    expect(extra.status).toBe(422);
    expect(extra.body.error.details.fields).toHaveProperty("remember_me");
    const bad = await t.request("POST", "/api/auth/login", { body: "{not json" });
    expect(bad.status).toBe(400);
  });

  describe("rate limiting", () => {
    test("failures for one account from one address turn into 429 with Retry-After; other accounts are unaffected", async () => {
      const victim = await t.createUser();
      const bystander = await t.createUser();
      for (let i = 0; i < LOGIN_FAILURES_ALLOWED; i++) {
        expect((await login({ email: victim.email, password: `guess-${i}` })).status).toBe(401);
      }
      const limited = await login({ email: victim.email, password: "guess-again" });
      expect(limited.status).toBe(429);
      expect(limited.body.error.code).toBe("rate_limited");
      const retryAfter = Number(limited.headers.get("retry-after"));
      expect(Number.isInteger(retryAfter) && retryAfter > 0).toBe(true);

      // While locked, even the right password gets 429 from this address (else guessing could go on).
      expect((await login({ email: victim.email, password: victim.password })).status).toBe(429);

      expect((await login({ email: bystander.email, password: "wrong password" })).status).toBe(401);
      expect((await login({ email: bystander.email, password: bystander.password })).status).toBe(200);
    });

    test("the limit is per client address, and successful logins spend nothing and reset the count", async () => {
      const u = await t.createUser();
      for (let i = 0; i < LOGIN_FAILURES_ALLOWED; i++) {
        await expect(t.services.auth.login({ email: u.email, password: "nope-nope" }, "203.0.113.1")).rejects.toMatchObject({ status: 401 });
      }
      await expect(t.services.auth.login({ email: u.email, password: u.password }, "203.0.113.1")).rejects.toMatchObject({ status: 429 });
      expect((await t.services.auth.login({ email: u.email, password: u.password }, "198.51.100.7")).user.id).toBe(u.user.id);

      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < LOGIN_FAILURES_ALLOWED - 1; i++) {
          await expect(t.services.auth.login({ email: u.email, password: "nope-nope" }, "198.51.100.7")).rejects.toMatchObject({ status: 401 });
        }
        await t.services.auth.login({ email: u.email, password: u.password }, "198.51.100.7");
      }
    });
  });
});
