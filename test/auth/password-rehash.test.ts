/**
 * Found by security review: a stored password hash kept the Argon2 parameters of its day for good.
 * Nothing moved it to the server's parameters, so raising them (or a Bun upgrade changing its
 * defaults, which production used unstated) left old accounts with old hashes, and a failed login's
 * time then told an old account from an unknown email (whose check runs on the server's parameters).
 * A successful login now replaces a hash of other parameters, with the password it just checked.
 */
import { beforeAll, expect, test } from "bun:test";
import { AuthService } from "../../src/auth/service";
import { findCredentialsByEmail } from "../../src/users/repo";
import { type Argon2Cost, DEFAULT_ARGON2, PasswordHasher } from "../../src/users/password";
import { createServices } from "../../src/services";
import { createTestApp, type TestApp } from "../support/app";
import { forEachDialect } from "../support/db";

/** Other parameters than the test app's (memory 1024 KiB, 1 pass). */
const RAISED: Argon2Cost = { memoryCost: 2048, timeCost: 1 };

const paramsOf = (hash: string) => /^\$argon2id\$v=19\$(m=\d+,t=\d+),p=1\$/.exec(hash)?.[1];

test("the production cost is stated, not left to Bun's defaults; needsRehash tells hashes of other parameters", async () => {
  expect(DEFAULT_ARGON2).toEqual({ memoryCost: 65536, timeCost: 2 });
  const hasher = new PasswordHasher(RAISED);
  expect(hasher.needsRehash(await hasher.hash("a password"))).toBe(false);
  expect(hasher.needsRehash(await new PasswordHasher({ memoryCost: 1024, timeCost: 1 }).hash("a password"))).toBe(true);
  expect(hasher.needsRehash(await Bun.password.hash("a password", { algorithm: "argon2i", ...RAISED }))).toBe(true);
  expect(hasher.needsRehash(await Bun.password.hash("a password", { algorithm: "bcrypt", cost: 4 }))).toBe(true);
  expect(hasher.needsRehash("not a hash")).toBe(true);
});

forEachDialect("auth: password hashes follow the server's parameters", ({ db }) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(db());
  });
  const hashOf = async (email: string) => (await findCredentialsByEmail(t.deps.db, email))!.passwordHash;

  test("a login with the right password replaces a hash of other parameters; the password and the sessions go on", async () => {
    const u = await t.createUser();
    const before = await hashOf(u.email);
    expect(paramsOf(before)).toBe("m=1024,t=1");
    const raised = createServices({ ...t.deps, argon2: RAISED });

    await expect(raised.auth.login({ email: u.email, password: "not the password" }, "127.0.0.1")).rejects.toMatchObject({ status: 401 });
    expect(await hashOf(u.email)).toBe(before);

    await raised.auth.login({ email: u.email, password: u.password }, "127.0.0.1");
    const after = await hashOf(u.email);
    expect(paramsOf(after)).toBe("m=2048,t=1");
    expect(await Bun.password.verify(u.password, after)).toBe(true);
    // Not a new password: the sessions opened before go on.
    expect((await t.request("GET", "/api/users/me", { token: u.token })).status).toBe(200);
    expect((await t.request("POST", "/api/auth/refresh", { body: { refresh: u.refresh } })).status).toBe(200);
    // Once replaced, a login changes nothing more.
    await raised.auth.login({ email: u.email, password: u.password }, "127.0.0.1");
    expect(await hashOf(u.email)).toBe(after);
    // Logins on the old parameters (the test app's) still succeed with it.
    expect((await t.request("POST", "/api/auth/login", { body: { email: u.email, password: u.password } })).status).toBe(200);
  });

  test("a deactivated user's right password replaces nothing", async () => {
    const u = await t.createUser();
    await t.services.users.deactivate(u.email);
    const before = await hashOf(u.email);
    const raised = createServices({ ...t.deps, argon2: RAISED });
    await expect(raised.auth.login({ email: u.email, password: u.password }, "127.0.0.1")).rejects.toMatchObject({ status: 401 });
    expect(await hashOf(u.email)).toBe(before);
  });

  test("logins of one user at once after the parameters changed all succeed, and leave one hash of the new parameters", async () => {
    const u = await t.createUser();
    const raised = createServices({ ...t.deps, argon2: RAISED });
    const results = await Promise.allSettled(Array.from({ length: 4 }, (_, i) => raised.auth.login({ email: u.email, password: u.password }, `10.0.0.${i + 1}`)));
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "fulfilled", "fulfilled", "fulfilled"]);
    expect(paramsOf(await hashOf(u.email))).toBe("m=2048,t=1");
  });

  /**
   * A login whose password check is followed, before its session is stored, by `meanwhile` (another
   * login's replacement of the hash, or a new password).
   */
  async function loginWith(email: string, password: string, meanwhile: () => Promise<void>) {
    const real = new PasswordHasher(RAISED);
    let once = true;
    const hasher = Object.assign(Object.create(real) as PasswordHasher, {
      verify: async (p: string, h: string) => {
        const ok = await real.verify(p, h);
        if (once) {
          once = false;
          await meanwhile();
        }
        return ok;
      },
    });
    return new AuthService({ ...t.deps }, hasher).login({ email, password }, "127.0.0.1");
  }

  test("a hash replaced by another login between this login's check and its session (same password) does not refuse it", async () => {
    const u = await t.createUser();
    const session = await loginWith(u.email, u.password, async () => {
      // Another login on other parameters replaced the hash meanwhile: same password, another hash.
      await createServices({ ...t.deps, argon2: { memoryCost: 4096, timeCost: 1 } }).auth.login({ email: u.email, password: u.password }, "127.0.0.2");
    });
    expect((await t.request("GET", "/api/users/me", { token: session.access })).status).toBe(200);
    expect(paramsOf(await hashOf(u.email))).toBe("m=2048,t=1");
  });

  test("a new password committed between this login's check and its session still refuses it", async () => {
    const u = await t.createUser();
    await expect(loginWith(u.email, u.password, () => t.services.users.setPassword(u.email, "a brand new password").then(() => {}))).rejects.toMatchObject({ status: 401 });
    expect(await Bun.password.verify("a brand new password", await hashOf(u.email))).toBe(true);
  });
});
