import { beforeAll, expect, test } from "bun:test";
import { OrgRepo } from "../../src/orgs/repo";
import { slugify } from "../../src/orgs/service";
import { BLANK_REASON } from "../../src/wire/text";
import { createTestApp, type TestApp } from "../support/app";
import { createTestDatabase, forEachDialect } from "../support/db";

test.each([
  ["Acme", "acme"],
  ["Acme Café, Inc.", "acme-cafe-inc"],
  ["  --Hello   World--  ", "hello-world"],
  ["日本", "org"],
  ["Straße Søndergård Łódź", "strasse-sondergard-lodz"],
  ["x".repeat(100), "x".repeat(59)],
])("slugify(%p) = %p", (name, slug) => {
  expect(slugify(name)).toBe(slug);
});

forEachDialect("organizations", ({ db }) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(db());
  });

  test("create derives a unique slug from the name and creates the change-feed counter", async () => {
    const a = await t.services.orgs.create("Slug Test Co");
    const b = await t.services.orgs.create("Slug Test Co");
    expect(a.slug).toBe("slug-test-co");
    expect(b.slug).toBe("slug-test-co-2");
    const feed = await db().get<{ seq: number }>("SELECT seq FROM org_feed_state WHERE org_id = ?", [b.id]);
    expect(feed?.seq).toBe(0);
    const listed = await t.services.orgs.list();
    expect(listed.map((o) => o.slug)).toEqual(expect.arrayContaining(["slug-test-co", "slug-test-co-2"]));
  });

  test("an explicit slug must be valid (422) and free (409)", async () => {
    await t.services.orgs.create("Explicit", "explicit-slug");
    await expect(t.services.orgs.create("Again", "explicit-slug")).rejects.toMatchObject({ status: 409, code: "already_exists" });
    await expect(t.services.orgs.create("Bad", "Not A Slug")).rejects.toMatchObject({ status: 422, details: { fields: { slug: expect.any(String) } } });
    await expect(t.services.orgs.create("   ")).rejects.toMatchObject({ status: 422, details: { fields: { name: BLANK_REASON } } });
    await expect(t.services.orgs.create("")).rejects.toMatchObject({ status: 422, details: { fields: { name: "must be 1 to 200 characters" } } });
    expect(await t.services.orgs.create("🏢".repeat(200), "emoji-name")).toMatchObject({ name: "🏢".repeat(200) });
    await expect(t.services.orgs.create("🏢".repeat(201), "emoji-name-2")).rejects.toMatchObject({ status: 422, details: { fields: { name: expect.any(String) } } });
    expect(await t.services.orgs.findBySlug("explicit-slug")).toMatchObject({ name: "Explicit" });
  });

  test("a derived slug stays within 63 characters (what --slug allows), numbered up to -1000 included", async () => {
    const base = "y".repeat(59); // slugify's longest
    const repo = new OrgRepo(db());
    const createdAt = new Date().toISOString();
    await repo.put({ id: Bun.randomUUIDv7(), name: "taken", slug: base, createdAt });
    for (let n = 2; n <= 999; n++) await repo.put({ id: Bun.randomUUIDv7(), name: "taken", slug: `${base}-${n}`, createdAt });
    const org = await t.services.orgs.create("y".repeat(100));
    expect(org.slug.length).toBeLessThanOrEqual(63);
    expect(org.slug).toMatch(/^[a-z0-9]+(?:-[a-z0-9]+)*$/);
    expect(org.slug.endsWith("-1000")).toBe(true);
  });

  test("a slug is looked up in any letter case, spaces around ignored (`--org Acme`); an unknown one is 404 naming it as given", async () => {
    await t.services.orgs.create("Case", "case-slug");
    for (const given of ["CASE-SLUG", " Case-Slug "]) expect(await t.services.orgs.mustGetBySlug(given)).toMatchObject({ slug: "case-slug" });
    await expect(t.services.orgs.mustGetBySlug("No-Such")).rejects.toMatchObject({ status: 404, message: expect.stringContaining('"No-Such"') });
  });
});

forEachDialect("bootstrap", ({ db, dialect }) => {
  test("an empty database gets one organization and an admin whose printed password logs in; later calls do nothing", async () => {
    const t = await createTestApp(db());
    const account = await t.services.orgs.ensureBootstrap();
    expect(account).toMatchObject({ orgSlug: "default", email: "admin@localhost" });
    expect(account!.password.length).toBeGreaterThanOrEqual(16);
    expect(await t.services.orgs.ensureBootstrap()).toBeNull();
    expect((await t.services.orgs.list()).map((o) => [o.name, o.slug])).toEqual([["Default", "default"]]);
    const users = await t.services.users.listAcrossOrgs("default");
    expect(users.map((u) => [u.email, u.role])).toEqual([["admin@localhost", "admin"]]);

    const login = await t.request("POST", "/api/auth/login", { body: { email: account!.email, password: account!.password } });
    expect(login.status).toBe(200);
    expect(login.body.user.role).toBe("admin");
  });

  test("the account is shown inside its transaction, before COMMIT: a throw while showing it creates nothing, and the next start shows a new one", async () => {
    const fresh = await createTestDatabase(dialect);
    try {
      await showsBeforeCommit(await createTestApp(fresh.db));
    } finally {
      await fresh.drop();
    }
  });
});

async function showsBeforeCommit(t: TestApp): Promise<void> {
  const shown: string[] = [];
  await expect(
    t.services.orgs.ensureBootstrap((a) => {
      shown.push(a.password);
      throw new Error("stdout gone");
    }),
  ).rejects.toThrow("stdout gone");
  expect(shown).toHaveLength(1);
  expect(await t.services.orgs.list()).toEqual([]); // rolled back: nothing was committed
  const account = await t.services.orgs.ensureBootstrap((a) => shown.push(a.password));
  expect(shown).toEqual([expect.any(String), account!.password]);
  expect(shown[1]).not.toBe(shown[0]);
  expect((await t.request("POST", "/api/auth/login", { body: { email: account!.email, password: shown[1] } })).status).toBe(200);
  expect(await t.services.orgs.ensureBootstrap(() => shown.push("again"))).toBeNull();
  expect(shown).toHaveLength(2);
}
