import { beforeAll, expect, test } from "bun:test";
import { LOGIN_FAILURES_ALLOWED } from "../../src/auth/rate-limit";
import { createTestApp, type TestApp } from "../support/app";
import { forEachDialect } from "../support/db";
import { memoryLogger } from "../support/log";

forEachDialect("auth: what a failed login logs", ({ db }) => {
  let t: TestApp;
  const { log, lines } = memoryLogger();
  beforeAll(async () => {
    t = await createTestApp(db(), { log });
  });
  const login = (email: string, password: string) => t.request("POST", "/api/auth/login", { body: { email, password } });
  const failures = () => lines.filter((l) => l.event === "login_failed");

  test("an account's email is logged as it is known; anything else only as a keyed hash, never as typed", async () => {
    const u = await t.createUser();
    expect((await login(u.email, "not the password")).status).toBe(401);
    expect(failures().at(-1)).toMatchObject({ email: u.email, user_id: u.user.id });

    // Someone typing a password into the email field.
    const typed = "Tr0ub4dor&3-correct-horse";
    expect((await login(typed, "whatever")).status).toBe(401);
    const first = failures().at(-1)!;
    expect(JSON.stringify(first)).not.toContain(typed.toLowerCase());
    expect(JSON.stringify(first)).not.toContain(typed);
    expect(first.email).toBeUndefined();
    expect(first.user_id).toBeNull();
    expect(first.unknown_email).toMatch(/^[0-9a-f]{16}$/);

    // The same input gives the same tag (repeated attempts show), another input another one.
    expect((await login(typed, "again")).status).toBe(401);
    expect(failures().at(-1)!.unknown_email).toBe(first.unknown_email);
    expect((await login("nobody@example.test", "x")).status).toBe(401);
    expect(failures().at(-1)!.unknown_email).not.toBe(first.unknown_email);

    // Nor does the database keep it: the rate limit counts the account under a keyed hash.
    const stored = await db().all<{ email: string }>("SELECT email FROM login_attempts");
    expect(stored.length).toBeGreaterThan(0);
    for (const { email } of stored) {
      expect(email).toMatch(/^[0-9a-f]{64}$/);
      expect(email).not.toContain(typed.toLowerCase());
    }
  });
});

forEachDialect("auth: what a rate-limited login logs", ({ db }) => {
  let t: TestApp;
  const { log, lines } = memoryLogger();
  beforeAll(async () => {
    t = await createTestApp(db(), { log });
  });
  const login = (email: string, password: string) => t.request("POST", "/api/auth/login", { body: { email, password } });
  const limited = () => lines.filter((l) => l.event === "login_rate_limited");

  test("each 429 names the account (an unknown one by its keyed hash), the client address and the wait", async () => {
    const u = await t.createUser();
    for (let i = 0; i < LOGIN_FAILURES_ALLOWED; i++) expect((await login(u.email, "wrong")).status).toBe(401);
    expect(limited()).toHaveLength(0);
    const refused = await login(u.email, u.password);
    expect(refused.status).toBe(429);
    expect(limited()).toHaveLength(1);
    const line = limited()[0]!;
    expect(line).toMatchObject({ level: "warn", email: u.email, user_id: u.user.id, client: "local" });
    expect(line.retry_after).toBe(Number(refused.headers.get("retry-after")));

    const typed = "Tr0ub4dor&3-in-the-email-field";
    for (let i = 0; i <= LOGIN_FAILURES_ALLOWED; i++) await login(typed, "x");
    const unknown = limited().at(-1)!;
    expect(JSON.stringify(unknown)).not.toContain(typed.toLowerCase());
    expect(unknown.email).toBeUndefined();
    expect(unknown.user_id).toBeNull();
    const failed = lines.filter((l) => l.event === "login_failed").at(-1)!;
    expect(unknown.unknown_email).toBe(failed.unknown_email); // the same tag as its failures
  });
});
