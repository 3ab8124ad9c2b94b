/**
 * One email, one account, whatever Unicode form it is typed in: "é" may come precomposed (U+00E9,
 * NFC, what most keyboards send) or as "e" + U+0301 (NFD, what text copied from a macOS file name
 * carries). Both look the same everywhere an email is shown.
 */
import { beforeAll, expect, test } from "bun:test";
import { UserRepo } from "../../src/users/repo";
import { createTestApp, type TestApp } from "../support/app";
import { forEachDialect } from "../support/db";

const composed = (local: string) => `jos\u00e9-${local}@caf\u00e9.example`;
const decomposed = (local: string) => `jose\u0301-${local}@cafe\u0301.example`;

forEachDialect("emails in any Unicode normalization form", ({ db }) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(db());
  });

  test("an email typed decomposed names the account created composed, and the other way round: no second account", async () => {
    const org = await t.createOrg();
    const password = "long enough password";
    const a = await t.services.users.create({ orgId: org.id, email: composed("a"), password });
    await expect(t.services.users.create({ orgId: org.id, email: decomposed("a"), password })).rejects.toMatchObject({ status: 409, code: "already_exists" });
    const b = await t.services.users.create({ orgId: org.id, email: decomposed("b"), password });
    await expect(t.services.users.create({ orgId: org.id, email: composed("b").toUpperCase(), password })).rejects.toMatchObject({ status: 409 });
    // Stored in one form (NFC), whichever was typed.
    expect(a.email).toBe(composed("a"));
    expect(b.email).toBe(composed("b"));

    expect((await t.services.auth.login({ email: decomposed("a"), password }, "127.0.0.1")).user.id).toBe(a.id);
    expect((await t.services.auth.login({ email: composed("b"), password }, "127.0.0.1")).user.id).toBe(b.id);
    expect((await t.services.users.mustGetByEmail(decomposed("a"))).id).toBe(a.id);
    expect((await t.services.users.deactivate(decomposed("b"))).id).toBe(b.id);
  });

  test("over HTTP: a login with the decomposed form of a composed account's email answers 200", async () => {
    const u = await t.createUser({ email: composed("http"), device: false });
    const r = await t.request("POST", "/api/auth/login", { body: { email: decomposed("http"), password: u.password } });
    expect(r.status).toBe(200);
    expect(r.body.user.id).toBe(u.user.id);
  });

  test("an account an earlier version stored with a decomposed email still logs in and is found with that email as typed", async () => {
    const org = await t.createOrg();
    const password = "long enough password";
    const id = Bun.randomUUIDv7();
    const now = new Date().toISOString();
    const hash = await Bun.password.hash(password, { algorithm: "argon2id", memoryCost: 1024, timeCost: 1 });
    const stored = decomposed("legacy"); // as earlier versions stored it: trimmed and lowercased only
    await new UserRepo(t.deps.db, org.id).put({ id, orgId: org.id, email: stored, name: "", role: "member", active: true, createdAt: now, updatedAt: now }, hash);

    expect((await t.services.auth.login({ email: ` ${stored.toUpperCase()} `, password }, "127.0.0.1")).user.id).toBe(id);
    expect((await t.services.users.mustGetByEmail(stored)).id).toBe(id);
    expect(await t.services.devices.listAcrossOrgs(stored)).toEqual([]);
    // Typed as then, the email is still taken: no second account in its canonical form.
    await expect(t.services.users.create({ orgId: org.id, email: stored, password })).rejects.toMatchObject({ status: 409, code: "already_exists" });
  });
});
