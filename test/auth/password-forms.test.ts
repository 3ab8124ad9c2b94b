/**
 * A password is one password whatever Unicode form a keyboard produced it in: an "é" typed
 * precomposed (U+00E9) on one device and as "e" + U+0301 on another (some input methods, text
 * pasted from a macOS file name). Passwords are hashed in NFC (RFC 8265's OpaqueString profile);
 * before, the bytes as typed were hashed, and the other form of the same password answered 401.
 * Accounts whose password was set that way keep working as typed then.
 */
import { beforeAll, expect, test } from "bun:test";
import { findCredentialsByEmail, UserRepo } from "../../src/users/repo";
import { createTestApp, type TestApp } from "../support/app";
import { forEachDialect } from "../support/db";

const COMPOSED = "caf\u00e9 cr\u00e8me br\u00fbl\u00e9e";
const DECOMPOSED = COMPOSED.normalize("NFD");

forEachDialect("auth: a password in either Unicode form", ({ db }) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(db());
  });
  const login = (email: string, password: string) => t.request("POST", "/api/auth/login", { body: { email, password } });

  test("set precomposed, logged in with the decomposed form (and the other way round): 200", async () => {
    expect(DECOMPOSED).not.toBe(COMPOSED);
    const a = await t.createUser({ password: COMPOSED });
    expect((await login(a.email, DECOMPOSED)).status).toBe(200);
    expect((await login(a.email, COMPOSED)).status).toBe(200);

    const b = await t.createUser();
    await t.services.users.setPassword(b.email, DECOMPOSED);
    expect((await login(b.email, COMPOSED)).status).toBe(200);
    expect((await login(b.email, DECOMPOSED)).status).toBe(200);
    expect((await login(b.email, "cafe creme brulee")).status).toBe(401);
  });

  test("a hash an earlier version made of the decomposed bytes as typed still takes them", async () => {
    const u = await t.createUser();
    const stored = await findCredentialsByEmail(t.deps.db, u.email);
    const legacy = await Bun.password.hash(DECOMPOSED, { algorithm: "argon2id", memoryCost: 1024, timeCost: 1 });
    await t.deps.db.transaction((tx) => new UserRepo(tx, u.org.id).replacePasswordHash(u.user.id, stored!.passwordHash, legacy));
    expect((await login(u.email, DECOMPOSED)).status).toBe(200);
    expect((await login(u.email, "something else entirely")).status).toBe(401);
  });
});
