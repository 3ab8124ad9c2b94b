/**
 * The password policy counts characters (code points), as every other length of the API does and as
 * its reasons say ("at least 8 characters"), not UTF-16 units: an emoji is one character, not two.
 */
import { beforeAll, expect, test } from "bun:test";
import { checkPasswordPolicy } from "../../src/users/password";
import { createTestApp, type TestApp } from "../support/app";
import { forEachDialect } from "../support/db";

test.each([
  ["4 emoji are 4 characters: too short", "🙂".repeat(4), "must be at least 8 characters"],
  ["7 letters and an emoji are 8 characters", "abcdefg🙂", null],
  ["600 emoji are 600 characters: within 1024", "🙂".repeat(600), null],
  ["1024 emoji fit", "🙂".repeat(1024), null],
  ["1025 emoji do not", "🙂".repeat(1025), "must be at most 1024 characters"],
])("%s", (_name, password, reason) => {
  if (reason === null) expect(() => checkPasswordPolicy(password)).not.toThrow();
  else expect(() => checkPasswordPolicy(password)).toThrow(expect.objectContaining({ status: 422, details: { fields: { password: reason } } }));
});

forEachDialect("the longest password the policy allows", ({ db }) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(db());
  });

  test("logs in over HTTP (the login body counts characters too)", async () => {
    const u = await t.createUser({ password: "🙂".repeat(1024), device: false });
    const r = await t.request("POST", "/api/auth/login", { body: { email: u.email, password: u.password } });
    expect(r.status).toBe(200);
  });
});
