/**
 * `authenticate` refuses a caller only after a second read (src/auth/service.ts): a read that
 * answers a valid caller as unknown once — seen on Postgres just after a reconnect — is not a 401.
 */
import { beforeAll, expect, test } from "bun:test";
import { createTestApp, type TestApp } from "../support/app";
import { forEachDialect } from "../support/db";

forEachDialect("authenticate reads again before it refuses", ({ db }) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(db());
  });

  /** Runs `fn` while the first `n` reads of the caller's state answer no row; answers how many reads there were. */
  async function withLostReads(n: number, fn: () => Promise<void>): Promise<number> {
    const target = t.deps.db as unknown as { get: (sql: string, params?: unknown[]) => Promise<unknown> };
    const real = target.get.bind(target);
    let reads = 0;
    target.get = async (sql, params) => (sql.includes("FROM users u LEFT JOIN devices d") && reads++ < n ? undefined : real(sql, params));
    try {
      await fn();
    } finally {
      delete (target as { get?: unknown }).get;
    }
    return reads;
  }

  test("one lost read: the caller is served (two reads)", async () => {
    const u = await t.createUser();
    const reads = await withLostReads(1, async () => expect((await t.request("GET", "/api/users/me", { token: u.token })).status).toBe(200));
    expect(reads).toBe(2);
  });

  test("a caller refused by both reads is 401; a valid one costs one read", async () => {
    const u = await t.createUser();
    expect(await withLostReads(2, async () => expect((await t.request("GET", "/api/users/me", { token: u.token })).status).toBe(401))).toBe(2);
    expect(await withLostReads(0, async () => expect((await t.request("GET", "/api/users/me", { token: u.token })).status).toBe(200))).toBe(1);
    await t.services.users.deactivate(u.email);
    const r = await t.request("GET", "/api/users/me", { token: u.token });
    expect([r.status, r.body.error.message]).toEqual([401, "the account is not active"]);
  });
});
