/**
 * The CLI's listings of users and devices over every organization (`users list`, `devices list`):
 * their order is part of what the commands print — organization by organization (in `orgs list`
 * order), oldest first within each, as one query per organization gave them. Ties of timestamps are
 * made on purpose (a clock moved by hand), so that the tie-breakers count. (`conflicts list`:
 * test/sync/cli-conflicts.test.ts.)
 */
import { beforeAll, describe, expect, test } from "bun:test";
import type { Device } from "../../src/devices/model";
import { DeviceRepo } from "../../src/devices/repo";
import type { Organization } from "../../src/orgs/model";
import { UserRepo } from "../../src/users/repo";
import { createTestApp, type TestApp } from "../support/app";
import { ManualClock } from "../support/clock";
import { forEachDialect } from "../support/db";

forEachDialect("CLI listings across organizations", ({ db }) => {
  let t: TestApp;
  const clock = new ManualClock(new Date("2030-01-01T00:00:00.000Z"));
  let orgs: Organization[];

  beforeAll(async () => {
    t = await createTestApp(db(), { clock });
    // Created in this order; listed by (created_at, slug): "mm" (earlier), then "aa" and "zz" (a tie).
    const mm = await t.createOrg("MM", `mm-${crypto.randomUUID().slice(0, 8)}`);
    clock.advance(1000);
    const zz = await t.createOrg("ZZ", `zz-${crypto.randomUUID().slice(0, 8)}`);
    const aa = await t.createOrg("AA", `aa-${crypto.randomUUID().slice(0, 8)}`);
    orgs = [mm, zz, aa];
    // Users (each with a device) interleaved across organizations, some created at the same instant.
    for (const [org, step] of [
      [zz, 0],
      [mm, 0],
      [aa, 0],
      [zz, 0],
      [mm, 1000],
      [aa, 1000],
      [zz, 0],
      [aa, 0],
    ] as const) {
      clock.advance(step);
      const u = await t.createUser({ org: org.slug });
      await t.services.devices.create({ userId: u.user.id, orgId: org.id }, { name: "second" });
    }
  });

  /** The listing as one query per organization gave it: organizations in `orgs list` order, each one's rows in turn. */
  async function perOrganization<T>(rows: (orgId: string) => Promise<T[]>): Promise<T[]> {
    const out: T[] = [];
    for (const o of await t.services.orgs.list()) out.push(...(await rows(o.id)));
    return out;
  }

  /** The organization's users, oldest first (then by id): one page holds them all. */
  const usersOf = async (orgId: string) => (await new UserRepo(t.deps.db, orgId).list({ page: 1, pageSize: 1000 })).results;

  /** The organization's devices, oldest first (then by id): those of each of its users, in that order. */
  async function devicesOf(orgId: string): Promise<Device[]> {
    const devices: Device[] = [];
    for (const u of await usersOf(orgId)) devices.push(...(await new DeviceRepo(t.deps.db, orgId).listAllOfUser(u.id)));
    return devices.sort((a, b) => (a.createdAt === b.createdAt ? (a.id < b.id ? -1 : 1) : a.createdAt < b.createdAt ? -1 : 1));
  }

  describe("users list", () => {
    test("every organization: organization by organization (oldest first, then by slug), each one's users oldest first (then by id)", async () => {
      const expected = await perOrganization(usersOf);
      expect(expected.length).toBeGreaterThanOrEqual(8);
      expect(await t.services.users.listAcrossOrgs()).toEqual(expected);
      // The organizations made here come in (created_at, slug) order.
      const mine = new Set(orgs.map((o) => o.id));
      const order = [...new Set(expected.map((u) => u.orgId).filter((id) => mine.has(id)))];
      expect(order).toEqual([orgs[0]!.id, orgs[2]!.id, orgs[1]!.id]);
    });

    test("one organization by slug: its users oldest first; an unknown slug is 404", async () => {
      for (const o of orgs) expect(await t.services.users.listAcrossOrgs(o.slug)).toEqual(await usersOf(o.id));
      await expect(t.services.users.listAcrossOrgs("no-such-org")).rejects.toMatchObject({ status: 404 });
    });
  });

  describe("devices list", () => {
    test("every device: organization by organization, each one's devices oldest first (then by id)", async () => {
      const expected = await perOrganization(devicesOf);
      expect(expected.length).toBeGreaterThanOrEqual(16);
      expect(await t.services.devices.listAcrossOrgs()).toEqual(expected);
    });

    test("the users a listing shows, by id, whatever their organization (unknown ids left out)", async () => {
      const shown = [(await usersOf(orgs[0]!.id))[0]!, (await usersOf(orgs[1]!.id))[1]!, (await usersOf(orgs[2]!.id))[0]!];
      const found = await t.services.users.findAnyOrg([...shown.map((u) => u.id), shown[0]!.id, crypto.randomUUID()]);
      expect(found.sort((a, b) => (a.id < b.id ? -1 : 1))).toEqual(shown.sort((a, b) => (a.id < b.id ? -1 : 1)));
    });

    test("one user's devices by email, oldest first", async () => {
      const [u] = await usersOf(orgs[2]!.id);
      expect(await t.services.devices.listAcrossOrgs(u!.email.toUpperCase())).toEqual(await new DeviceRepo(t.deps.db, u!.orgId).listAllOfUser(u!.id));
    });
  });
});
