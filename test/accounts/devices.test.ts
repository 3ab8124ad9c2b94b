import { beforeAll, expect, test } from "bun:test";
import { DeviceRepo } from "../../src/devices/repo";
import { UserRepo } from "../../src/users/repo";
import { createTestApp, type TestApp } from "../support/app";
import { ManualClock } from "../support/clock";
import { forEachDialect } from "../support/db";

forEachDialect("devices", ({ db }) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(db());
  });

  test("POST /api/devices answers 201 with Location and the device; GET lists only the caller's devices", async () => {
    const u = await t.createUser({ device: false });
    const other = await t.createUser({ org: u.org.slug });
    const r = await t.request("POST", "/api/devices/", { token: u.token, body: { name: "Laptop", platform: "linux" } });
    expect(r.status).toBe(201);
    expect(r.headers.get("location")).toBe(`/api/devices/${r.body.id}`);
    expect(r.body).toEqual({ id: expect.any(String), user_id: u.user.id, name: "Laptop", platform: "linux", created_at: expect.any(String), last_seen_at: null, revoked_at: null });

    const list = await t.request("GET", "/api/devices", { token: u.token });
    expect(list.status).toBe(200);
    expect(list.body).toMatchObject({ count: 1, next: null, previous: null });
    expect(list.body.results.map((d: { id: string }) => d.id)).toEqual([r.body.id]);
    const theirs = await t.request("GET", "/api/devices/", { token: other.token });
    expect(theirs.body.results.map((d: { id: string }) => d.id)).toEqual([other.deviceId]);
  });

  test("a client may choose the device id (a UUID); a taken id is 409", async () => {
    const u = await t.createUser({ device: false });
    const id = crypto.randomUUID();
    const r = await t.request("POST", "/api/devices", { token: u.token, body: { id, name: "Phone" } });
    expect(r.status).toBe(201);
    expect(r.body.id).toBe(id);
    const again = await t.request("POST", "/api/devices", { token: u.token, body: { id, name: "Phone" } });
    expect(again.status).toBe(409);
    for (const bad of ["not-a-uuid", `urn:uuid:${crypto.randomUUID()}`, `{${crypto.randomUUID()}}`]) {
      expect((await t.request("POST", "/api/devices", { token: u.token, body: { id: bad, name: "Phone" } })).body.error).toMatchObject({ code: "validation_failed", details: { fields: { id: "must be a UUID" } } });
    }
  });

  test("a device id taken in another organization is the same 409 as one taken in one's own (ids are global, docs/records.md); that device is neither shown nor changed", async () => {
    const owner = await t.createUser();
    const stranger = await t.createUser({ device: false });
    const mine = (await t.request("POST", "/api/devices", { token: stranger.token, body: { name: "Mine" } })).body.id;
    const answers = [];
    for (const id of [owner.deviceId!, mine]) {
      const r = await t.request("POST", "/api/devices", { token: stranger.token, body: { id, name: "Taken" } });
      answers.push({ status: r.status, body: JSON.stringify(r.body).replace(id, "<id>") });
    }
    expect(answers[0]).toEqual({ status: 409, body: JSON.stringify({ error: { code: "already_exists", message: "device <id> already exists", details: { fields: { id: "already taken" } } } }) });
    expect(answers[1]).toEqual(answers[0]);
    const kept = await t.request("GET", `/api/devices/${owner.deviceId}`, { token: owner.token });
    expect(kept.body).toMatchObject({ user_id: owner.user.id, name: "test device", revoked_at: null });
    expect((await t.request("GET", "/api/users/me", { token: owner.token })).status).toBe(200);
    expect((await t.request("GET", "/api/devices", { token: stranger.token })).body.results.map((d: { id: string }) => d.id)).toEqual([mine]);
  });

  test("a device name's length is counted in characters: 200 emoji fit, 201 do not; it is stored trimmed", async () => {
    const u = await t.createUser({ device: false });
    const fits = await t.request("POST", "/api/devices", { token: u.token, body: { name: "📱".repeat(200) } });
    expect(fits.status).toBe(201);
    expect(fits.body.name).toBe("📱".repeat(200));
    expect((await t.request("POST", "/api/devices", { token: u.token, body: { name: "  Phone \t" } })).body.name).toBe("Phone");
    const long = await t.request("POST", "/api/devices", { token: u.token, body: { name: "📱".repeat(201) } });
    expect(long.status).toBe(422);
    expect(long.body.error.details.fields).toHaveProperty("name");
  });

  test("invalid and unknown fields are 422 naming them", async () => {
    const u = await t.createUser({ device: false });
    const missing = await t.request("POST", "/api/devices", { token: u.token, body: { platform: "ios" } });
    expect(missing.status).toBe(422);
    expect(missing.body.error).toMatchObject({ code: "validation_failed", details: { fields: { name: expect.any(String) } } });
    const empty = await t.request("POST", "/api/devices", { token: u.token, body: { name: "" } });
    expect(empty.status).toBe(422);
    expect(empty.body.error.details.fields).toHaveProperty("name");
    const unknown = await t.request("POST", "/api/devices", { token: u.token, body: { name: "Tablet", user_id: u.user.id } });
    expect(unknown.status).toBe(422);
    expect(unknown.body.error.details.fields).toHaveProperty("user_id");
  });

  test("DELETE revokes one's own device (204, idempotent); the device stays listed with revoked_at", async () => {
    const u = await t.createUser({ device: false });
    const d = await t.services.devices.create({ userId: u.user.id, orgId: u.org.id }, { name: "Old phone" });
    expect((await t.request("DELETE", `/api/devices/${d.id}/`, { token: u.token })).status).toBe(204);
    expect((await t.request("DELETE", `/api/devices/${d.id}`, { token: u.token })).status).toBe(204);
    const shown = await t.request("GET", `/api/devices/${d.id}`, { token: u.token });
    expect(shown.body.revoked_at).toEqual(expect.any(String));
  });

  test("another member's device is 404 to a member; an admin of the organization may revoke it", async () => {
    const owner = await t.createUser();
    const peer = await t.createUser({ org: owner.org.slug, device: false });
    const admin = await t.createUser({ org: owner.org.slug, role: "admin", device: false });
    expect((await t.request("GET", `/api/devices/${owner.deviceId}`, { token: peer.token })).status).toBe(404);
    expect((await t.request("DELETE", `/api/devices/${owner.deviceId}`, { token: peer.token })).status).toBe(404);
    expect((await t.request("GET", "/api/users/me", { token: owner.token })).status).toBe(200);
    expect((await t.request("DELETE", `/api/devices/${owner.deviceId}`, { token: admin.token })).status).toBe(204);
    expect((await t.request("GET", "/api/users/me", { token: owner.token })).status).toBe(401);
  });

  test("another organization's device and unknown ids are 404, even for admins", async () => {
    const owner = await t.createUser();
    const stranger = await t.createUser({ role: "admin", device: false });
    const r = await t.request("DELETE", `/api/devices/${owner.deviceId}`, { token: stranger.token });
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe("not_found");
    expect((await t.request("GET", `/api/devices/${owner.deviceId}`, { token: stranger.token })).status).toBe(404);
    expect((await t.request("DELETE", `/api/devices/${crypto.randomUUID()}`, { token: stranger.token })).status).toBe(404);
    expect((await t.request("DELETE", "/api/devices/not-a-uuid", { token: stranger.token })).status).toBe(404);
    expect((await t.request("GET", "/api/users/me", { token: owner.token })).status).toBe(200);
  });

  test("CLI services: listAcrossOrgs by user email or everything, revokeAnyOrg of any organization", async () => {
    const a = await t.createUser();
    const b = await t.createUser();
    expect((await t.services.devices.listAcrossOrgs(a.email)).map((d) => d.id)).toEqual([a.deviceId!]);
    expect((await t.services.devices.listAcrossOrgs()).map((d) => d.id)).toEqual(expect.arrayContaining([a.deviceId!, b.deviceId!]));
    await expect(t.services.devices.listAcrossOrgs("nobody@example.test")).rejects.toMatchObject({ status: 404 });
    expect((await t.services.devices.revokeAnyOrg(b.deviceId!)).revokedAt).toEqual(expect.any(String));
    expect((await t.request("GET", "/api/devices", { token: b.token })).status).toBe(401);
    await expect(t.services.devices.revokeAnyOrg(crypto.randomUUID())).rejects.toMatchObject({ status: 404 });
  });

  test("a revocation or deactivation that finds the work done answers the time stored, and says it did nothing", async () => {
    const u = await t.createUser();
    const clock = new ManualClock(new Date("2030-01-01T00:00:00.000Z"));
    const revoke = () => t.deps.db.transaction((tx) => new DeviceRepo(tx, u.org.id).revoke(u.deviceId!, clock));
    expect(await revoke()).toEqual({ revokedAt: "2030-01-01T00:00:00.000Z", revokedNow: true });
    clock.advance(60_000);
    expect(await revoke()).toEqual({ revokedAt: "2030-01-01T00:00:00.000Z", revokedNow: false });
    const deactivate = () => t.deps.db.transaction((tx) => new UserRepo(tx, u.org.id).deactivate(u.user.id, clock));
    expect(await deactivate()).toEqual({ updatedAt: "2030-01-01T00:01:00.000Z", deactivatedNow: true });
    clock.advance(60_000);
    expect(await deactivate()).toEqual({ updatedAt: "2030-01-01T00:01:00.000Z", deactivatedNow: false });
  });
});
