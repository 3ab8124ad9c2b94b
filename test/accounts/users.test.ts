import { beforeAll, expect, test } from "bun:test";
import { createLogger } from "../../src/log/logger";
import { createTestApp, type TestApp } from "../support/app";
import { forEachDialect } from "../support/db";

forEachDialect("users over HTTP", ({ db }) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(db());
  });

  test("GET /api/users lists the caller's organization only, paginated, without passwords", async () => {
    const a = await t.createUser({ role: "admin" });
    for (let i = 0; i < 2; i++) await t.createUser({ org: a.org.slug });
    await t.createUser();

    const p1 = await t.request("GET", "/api/users?page_size=2", { token: a.token });
    expect(p1.status).toBe(200);
    expect(p1.body.count).toBe(3);
    expect(p1.body.results).toHaveLength(2);
    expect(p1.body.previous).toBeNull();
    expect(new URL(p1.body.next).searchParams.get("page")).toBe("2");
    const p2 = await t.request("GET", "/api/users/?page=2&page_size=2", { token: a.token });
    expect(p2.body.results).toHaveLength(1);
    expect(p2.body.next).toBeNull();
    const all = [...p1.body.results, ...p2.body.results];
    expect(all.every((u: { organization_id: string }) => u.organization_id === a.org.id)).toBe(true);
    expect(all.map((u: { id: string }) => u.id)).toContain(a.user.id);
    expect(JSON.stringify(all)).not.toContain("password");

    expect((await t.request("GET", "/api/users?page_size=501", { token: a.token })).status).toBe(422);
  });

  test("GET /api/users/me answers the caller's own record", async () => {
    const u = await t.createUser({ name: "Ada", device: false });
    const r = await t.request("GET", "/api/users/me/", { token: u.token });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      id: u.user.id,
      email: u.email,
      name: "Ada",
      role: "member",
      organization_id: u.org.id,
      is_active: true,
      created_at: u.user.createdAt,
    });
  });
});

forEachDialect("user services (used by the CLI)", ({ db }) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(db());
  });

  test("create lowercases the email, refuses duplicates (409) and bad input (422), and needs a known organization", async () => {
    const org = await t.createOrg("People");
    const u = await t.services.users.create({ orgSlug: org.slug, email: " Grace@Example.TEST ", name: "Grace", role: "admin", password: "long enough password" });
    expect(u).toMatchObject({ email: "grace@example.test", role: "admin", active: true, orgId: org.id });
    expect(Object.keys(u)).not.toContain("passwordHash");
    await expect(t.services.users.create({ orgSlug: org.slug, email: "GRACE@example.test", password: "long enough password" })).rejects.toMatchObject({
      status: 409,
      code: "already_exists",
    });
    await expect(t.services.users.create({ orgSlug: org.slug, email: "not-an-email", password: "short" })).rejects.toMatchObject({
      status: 422,
      details: { fields: { email: expect.any(String) } },
    });
    await expect(t.services.users.create({ orgSlug: org.slug, email: "x@example.test", password: "short" })).rejects.toMatchObject({
      status: 422,
      details: { fields: { password: expect.any(String) } },
    });
    // Names are counted in characters, not UTF-16 units.
    expect(await t.services.users.create({ orgSlug: org.slug, email: "emoji@example.test", name: "🙂".repeat(200), password: "long enough password" })).toMatchObject({ name: "🙂".repeat(200) });
    await expect(t.services.users.create({ orgSlug: org.slug, email: "emoji2@example.test", name: "🙂".repeat(201), password: "long enough password" })).rejects.toMatchObject({
      status: 422,
      details: { fields: { name: expect.any(String) } },
    });
    await expect(t.services.users.create({ orgSlug: "no-such-org", email: "y@example.test", password: "long enough password" })).rejects.toMatchObject({
      status: 404,
    });
  });

  test("list by organization slug, or all", async () => {
    const a = await t.createUser();
    const b = await t.createUser({ org: a.org.slug });
    const c = await t.createUser();
    expect((await t.services.users.listAcrossOrgs(a.org.slug)).map((u) => u.id)).toEqual([a.user.id, b.user.id]);
    expect((await t.services.users.listAcrossOrgs()).map((u) => u.id)).toEqual(expect.arrayContaining([a.user.id, b.user.id, c.user.id]));
    await expect(t.services.users.listAcrossOrgs("no-such-org")).rejects.toMatchObject({ status: 404 });
  });

  test("setPassword: the old password stops working, the new one works; unknown email is 404", async () => {
    const u = await t.createUser();
    await t.services.users.setPassword(u.email.toUpperCase(), "the new password");
    await expect(t.services.auth.login({ email: u.email, password: u.password }, "cli-test")).rejects.toMatchObject({ status: 401 });
    expect((await t.services.auth.login({ email: u.email, password: "the new password" }, "cli-test")).user.id).toBe(u.user.id);
    await expect(t.services.users.setPassword("nobody@example.test", "the new password")).rejects.toMatchObject({ status: 404 });
  });

  test("deactivate is idempotent and shows in the user list", async () => {
    const u = await t.createUser();
    const first = await t.services.users.deactivate(u.email);
    expect(first.active).toBe(false);
    await Bun.sleep(5);
    // Again: nothing changes, not even the time of the change (as stored and as answered).
    expect(await t.services.users.deactivate(u.email)).toEqual(first);
    expect(await t.services.users.findByEmail(u.email)).toEqual(first);
    const admin = await t.createUser({ org: u.org.slug, role: "admin" });
    const r = await t.request("GET", "/api/users", { token: admin.token });
    expect(r.body.results.find((x: { id: string }) => x.id === u.user.id).is_active).toBe(false);
  });

  test("activate brings a deactivated user back (idempotent); the sessions deactivation ended stay ended", async () => {
    const u = await t.createUser();
    await t.services.users.deactivate(u.email);
    expect((await t.services.users.activate(u.email)).active).toBe(true);
    expect((await t.services.users.activate(u.email)).active).toBe(true);
    expect((await t.services.users.findByEmail(u.email))?.active).toBe(true);
    expect((await t.request("GET", "/api/users/me", { token: u.token })).status).toBe(401);
    expect((await t.request("POST", "/api/auth/refresh", { body: { refresh: u.refresh } })).status).toBe(401);
  });

  test("setRole: an admin's powers come and go with the role, on the next request; idempotent; 404 and 422", async () => {
    const u = await t.createUser();
    const metrics = () => t.request("GET", "/api/metrics", { token: u.token }).then((r) => r.status);
    expect(await metrics()).toBe(403);
    expect(await t.services.users.hasActiveAdmin(u.org.id)).toBe(false);
    const promoted = await t.services.users.setRole(u.email.toUpperCase(), "admin");
    expect(promoted.role).toBe("admin");
    expect(await t.services.users.setRole(u.email, "admin")).toEqual(promoted);
    expect(await metrics()).toBe(200);
    expect((await t.request("GET", "/api/users/me", { token: u.token })).body.role).toBe("admin");
    expect(await t.services.users.hasActiveAdmin(u.org.id)).toBe(true);
    await t.services.users.deactivate(u.email);
    expect(await t.services.users.hasActiveAdmin(u.org.id)).toBe(false);
    await t.services.users.activate(u.email);
    expect((await t.services.users.setRole(u.email, "member")).role).toBe("member");
    expect(await t.services.users.hasActiveAdmin(u.org.id)).toBe(false);
    expect(await metrics()).toBe(401); // deactivation ended the session
    await expect(t.services.users.setRole("nobody@example.test", "admin")).rejects.toMatchObject({ status: 404 });
    await expect(t.services.users.setRole(u.email, "owner" as "admin")).rejects.toMatchObject({ status: 422, code: "validation_failed" });
    expect((await t.services.users.findByEmail(u.email))?.role).toBe("member");
  });

  test("passwords never reach the log", async () => {
    const lines: string[] = [];
    const logged = await createTestApp(db(), { log: createLogger({ level: "debug", console: (l) => lines.push(l) }) });
    const password = "a very secret password 42";
    const u = await logged.createUser({ password });
    await logged.request("POST", "/api/auth/login", { body: { email: u.email, password } });
    await logged.request("POST", "/api/auth/login", { body: { email: u.email, password: `${password}!` } });
    expect(lines.length).toBeGreaterThan(2);
    expect(lines.join("\n")).not.toContain(password);
    expect(lines.join("\n")).not.toContain(u.refresh);
  });
});
