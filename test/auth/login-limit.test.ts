import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { LOGIN_FAILURES_ALLOWED, LOGIN_WINDOW_SECONDS } from "../../src/auth/rate-limit";
import { ManualClock } from "../support/clock";
import { createTestApp, type TestApp } from "../support/app";
import { DIALECTS, forEachDialect } from "../support/db";
import { sharedDatabase } from "../support/shared-db";

const MINUTE = 60_000;
const rows = async (t: TestApp, sql = "SELECT COUNT(*) AS n FROM login_attempts", params: string[] = []) =>
  Number((await t.deps.db.get<{ n: number }>(sql, params))!.n);

for (const dialect of DIALECTS) {
  describe(`login rate limit shared by two instances on one database [${dialect}]`, () => {
    let shared: Awaited<ReturnType<typeof sharedDatabase>>;
    let one: TestApp;
    let two: TestApp;
    beforeAll(async () => {
      shared = await sharedDatabase(dialect);
      one = await createTestApp(shared.a);
      two = await createTestApp(shared.b);
    });
    afterAll(() => shared.drop());
    const login = (t: TestApp, email: string, password: string) => t.request("POST", "/api/auth/login", { body: { email, password } });

    test("failures on either instance spend one budget: after 5 in all, both answer 429, even to the right password", async () => {
      const u = await one.createUser();
      for (let i = 0; i < LOGIN_FAILURES_ALLOWED; i++) {
        expect((await login(i % 2 ? two : one, u.email, `guess-${i}`)).status).toBe(401);
      }
      for (const t of [one, two]) {
        const r = await login(t, u.email, u.password);
        expect(r.status).toBe(429);
        expect(r.body.error.code).toBe("rate_limited");
        expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
      }
      expect((await two.services.auth.login({ email: u.email, password: u.password }, "198.51.100.9")).user.id).toBe(u.user.id);
    });

    test("a success on one instance clears the count for the other", async () => {
      const u = await one.createUser();
      for (let i = 0; i < LOGIN_FAILURES_ALLOWED - 1; i++) expect((await login(one, u.email, "nope-nope")).status).toBe(401);
      expect((await login(two, u.email, u.password)).status).toBe(200);
      for (let i = 0; i < LOGIN_FAILURES_ALLOWED - 1; i++) expect((await login(one, u.email, "nope-nope")).status).toBe(401);
      expect((await login(one, u.email, u.password)).status).toBe(200);
    });

    test("concurrent attempts on both instances get exactly 5 tries between them", async () => {
      const u = await one.createUser();
      const attempts = Array.from({ length: 2 * LOGIN_FAILURES_ALLOWED }, (_, i) => login(i % 2 ? two : one, u.email, `guess-${i}`));
      const statuses = (await Promise.all(attempts)).map((r) => r.status);
      expect(statuses.filter((s) => s === 401)).toHaveLength(LOGIN_FAILURES_ALLOWED);
      expect(statuses.filter((s) => s === 429)).toHaveLength(LOGIN_FAILURES_ALLOWED);
    });
  });
}

forEachDialect("login rate limit window and storage", ({ db }) => {
  let t: TestApp;
  let clock: ManualClock;
  beforeAll(async () => {
    clock = new ManualClock(new Date("2026-06-01T12:00:00.000Z"));
    t = await createTestApp(db(), { clock });
  });
  const fail = (email: string, address = "203.0.113.5") => t.services.auth.login({ email, password: "wrong-wrong" }, address);

  test("a deactivated user's right password is a failure like a wrong one: counted, then 429 (no oracle for the password)", async () => {
    const u = await t.createUser();
    await t.services.users.deactivate(u.email);
    const right = () => t.services.auth.login({ email: u.email, password: u.password }, "203.0.113.77");
    for (let i = 0; i < LOGIN_FAILURES_ALLOWED; i++) await expect(right()).rejects.toMatchObject({ status: 401 });
    await expect(right()).rejects.toMatchObject({ status: 429, code: "rate_limited" });
  });

  test("the window is fixed: it starts at the first failure and later failures do not extend it", async () => {
    const u = await t.createUser();
    const start = clock.now().getTime();
    await expect(fail(u.email)).rejects.toMatchObject({ status: 401 });
    clock.advance(10 * MINUTE);
    for (let i = 1; i < LOGIN_FAILURES_ALLOWED; i++) await expect(fail(u.email)).rejects.toMatchObject({ status: 401 });
    const limited = await t.services.auth.login({ email: u.email, password: u.password }, "203.0.113.5").catch((e) => e);
    expect(limited).toMatchObject({ status: 429, headers: { "Retry-After": "300" } });
    // 299.5 s left: rounded up, so a client that waits as told never comes back before the window ends.
    clock.advance(500);
    const rounded = await t.services.auth.login({ email: u.email, password: u.password }, "203.0.113.5").catch((e) => e);
    expect(rounded).toMatchObject({ status: 429, headers: { "Retry-After": "300" }, details: { retry_after: 300 } });
    clock.set(new Date(start + LOGIN_WINDOW_SECONDS * 1000 - 1));
    await expect(t.services.auth.login({ email: u.email, password: u.password }, "203.0.113.5")).rejects.toMatchObject({ status: 429 });
    clock.set(new Date(start + LOGIN_WINDOW_SECONDS * 1000));
    expect((await t.services.auth.login({ email: u.email, password: u.password }, "203.0.113.5")).user.id).toBe(u.user.id);
  });

  test("a new window after the old one ended starts from zero", async () => {
    const u = await t.createUser();
    for (let i = 0; i < LOGIN_FAILURES_ALLOWED; i++) await expect(fail(u.email)).rejects.toMatchObject({ status: 401 });
    await expect(fail(u.email)).rejects.toMatchObject({ status: 429 });
    clock.advance(LOGIN_WINDOW_SECONDS * 1000);
    for (let i = 0; i < LOGIN_FAILURES_ALLOWED; i++) await expect(fail(u.email)).rejects.toMatchObject({ status: 401 });
    await expect(fail(u.email)).rejects.toMatchObject({ status: 429 });
  });

  test("the server's clock stepping back (an NTP correction) does not stretch a window: it ends at most 15 minutes after any attempt", async () => {
    const u = await t.createUser();
    for (let i = 0; i < LOGIN_FAILURES_ALLOWED; i++) await expect(fail(u.email)).rejects.toMatchObject({ status: 401 });
    clock.advance(-86_400_000);
    // Still limited (the count is kept), but for one window from now, not a day and a window.
    const limited = await t.services.auth.login({ email: u.email, password: u.password }, "203.0.113.5").catch((e) => e);
    expect(limited).toMatchObject({ status: 429, headers: { "Retry-After": String(LOGIN_WINDOW_SECONDS) } });
    clock.advance(LOGIN_WINDOW_SECONDS * 1000);
    expect((await t.services.auth.login({ email: u.email, password: u.password }, "203.0.113.5")).user.id).toBe(u.user.id);
    clock.advance(86_400_000);
  });

  test("more right passwords at once than the budget (one instance): every one succeeds", async () => {
    const u = await t.createUser();
    const logins = Array.from({ length: 3 * LOGIN_FAILURES_ALLOWED }, () => t.request("POST", "/api/auth/login", { body: { email: u.email, password: u.password } }));
    expect((await Promise.all(logins)).map((r) => r.status)).toEqual(Array(3 * LOGIN_FAILURES_ALLOWED).fill(200));
    // Wrong ones at once still get exactly the budget.
    const guesses = Array.from({ length: 2 * LOGIN_FAILURES_ALLOWED }, (_, i) => t.request("POST", "/api/auth/login", { body: { email: u.email, password: `guess-${i}` } }));
    const statuses = (await Promise.all(guesses)).map((r) => r.status);
    expect([statuses.filter((s) => s === 401).length, statuses.filter((s) => s === 429).length]).toEqual([LOGIN_FAILURES_ALLOWED, LOGIN_FAILURES_ALLOWED]);
  });

  test("a success leaves no row; expired rows are deleted when a new window starts", async () => {
    const u = await t.createUser();
    await expect(fail(u.email, "192.0.2.1")).rejects.toMatchObject({ status: 401 });
    expect(await rows(t, "SELECT COUNT(*) AS n FROM login_attempts WHERE address = ?", ["192.0.2.1"])).toBe(1);
    await t.services.auth.login({ email: u.email, password: u.password }, "192.0.2.1");
    expect(await rows(t, "SELECT COUNT(*) AS n FROM login_attempts WHERE address = ?", ["192.0.2.1"])).toBe(0);

    await expect(fail("ghost-1@example.test")).rejects.toMatchObject({ status: 401 });
    await expect(fail("ghost-2@example.test")).rejects.toMatchObject({ status: 401 });
    expect(await rows(t)).toBeGreaterThanOrEqual(2);
    clock.advance(LOGIN_WINDOW_SECONDS * 1000);
    await expect(fail("ghost-3@example.test")).rejects.toMatchObject({ status: 401 });
    expect(await rows(t)).toBe(1);
  });
});
