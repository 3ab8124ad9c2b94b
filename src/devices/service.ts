import { RefreshTokenRepo } from "../auth/repo";
import { mustStillWrite, type Writer } from "../auth/writer";
import type { AuthContext } from "../auth/model";
import type { PageRequest, PageResult } from "../db/page";
import { alreadyExists, notFound } from "../errors";
import { isUuid, newId } from "../ids";
import type { Deps } from "../deps";
import { findUserByEmail, UserRepo } from "../users/repo";
import { normalizeEmail } from "../users/model";
import { LastSeenRecorder } from "./last-seen";
import type { CreateDeviceBody, Device } from "./model";
import { DeviceRepo, findDeviceAnyOrg, listDevicesAnyOrg } from "./repo";
import { storedName } from "../wire/text";

/** Whose device is being created: an `AuthContext` fits. */
export interface DeviceOwner {
  userId: string;
  orgId: string;
}

/** Devices: the keys of vector clocks, bound to access tokens; revoking one ends its sessions. */
export class DeviceService {
  constructor(
    private readonly deps: Deps,
    /** Its pending `last_seen_at` writes show in what is read (createServices shares one). */
    private readonly lastSeen = new LastSeenRecorder(deps),
  ) {}

  /** Registers a device of `owner` (`input` as `CreateDeviceBody` validated it; the name is stored trimmed); 409 for a taken id. */
  async create(owner: DeviceOwner, input: CreateDeviceBody): Promise<Device> {
    const device: Device = {
      id: input.id?.toLowerCase() ?? newId(),
      orgId: owner.orgId,
      userId: owner.userId,
      name: storedName(input.name),
      platform: input.platform ? storedName(input.platform) || null : null,
      createdAt: this.deps.clock.now().toISOString(),
      lastSeenAt: null,
      revokedAt: null,
    };
    return this.deps.db.transaction(async (tx) => {
      if (!(await new DeviceRepo(tx, owner.orgId).put(device))) {
        throw alreadyExists(`device ${device.id} already exists`, "id");
      }
      tx.afterCommit(() => this.deps.log.info("device_created", { device_id: device.id, user_id: owner.userId, org_id: owner.orgId }));
      return device;
    });
  }

  /** One page of the caller's own devices (revoked ones included, with `revokedAt`). */
  async listMine(auth: AuthContext, page: PageRequest): Promise<PageResult<Device>> {
    const listed = await new DeviceRepo(this.deps.db, auth.orgId).listForUser(auth.userId, page);
    return { ...listed, results: listed.results.map((d) => this.lastSeen.withPending(d)) };
  }

  /** A device the caller may see: their own, or any of the organization for an admin; 404 otherwise. */
  async get(auth: AuthContext, id: string): Promise<Device> {
    const device = isUuid(id) ? await new DeviceRepo(this.deps.db, auth.orgId).find(id.toLowerCase()) : undefined;
    if (!device || (device.userId !== auth.userId && auth.role !== "admin")) throw notFound("device");
    return this.lastSeen.withPending(device);
  }

  /**
   * Revokes a device the caller may see (idempotent): its tokens stop working on the next request.
   * Another user's device is an admin's to revoke as of the revocation's transaction: an admin
   * demoted (or deactivated) since the request's token check is answered as a member (404, or 401).
   */
  async revoke(auth: AuthContext, id: string): Promise<void> {
    const device = await this.get(auth, id);
    const byAdmin = device.userId === auth.userId ? undefined : { orgId: auth.orgId, userId: auth.userId, deviceId: null };
    await this.revokeDevice(device, auth.userId, byAdmin);
  }

  /** Every device (organization by organization), or those of the user with this email (404 when unknown); for the CLI. */
  async listAcrossOrgs(userEmail?: string): Promise<Device[]> {
    if (userEmail !== undefined) {
      const user = await findUserByEmail(this.deps.db, userEmail);
      if (!user) throw notFound(`user ${normalizeEmail(userEmail)}`);
      return new DeviceRepo(this.deps.db, user.orgId).listAllOfUser(user.id);
    }
    return listDevicesAnyOrg(this.deps.db);
  }

  /** Revokes any device by id, whatever its organization (404 when unknown); for the CLI. */
  async revokeAnyOrg(id: string): Promise<Device> {
    const device = isUuid(id) ? await findDeviceAnyOrg(this.deps.db, id.toLowerCase()) : undefined;
    if (!device) throw notFound("device");
    return this.revokeDevice(device, null);
  }

  /** Revokes `device` for `by` (null: the CLI); `admin`, when given, must still be an admin of the organization where the revocation commits. */
  private async revokeDevice(device: Device, by: string | null, admin?: Writer): Promise<Device> {
    if (device.revokedAt) return device;
    const revokedAt = await this.deps.db.transaction(async (tx) => {
      if (admin && (await mustStillWrite(tx, admin)) !== "admin") throw notFound("device");
      // The device first: its pushes in flight commit before the revocation, which is stamped when it
      // takes effect, and the user's row (which logins lock) is not held while waiting for them.
      const { revokedAt, revokedNow } = await new DeviceRepo(tx, device.orgId).revoke(device.id, this.deps.clock);
      await new UserRepo(tx, device.orgId).lockForTokens(device.userId);
      await new RefreshTokenRepo(tx).revokeForDevice(device.id, revokedAt);
      if (revokedNow) tx.afterCommit(() => this.deps.log.info("device_revoked", { device_id: device.id, org_id: device.orgId, by_user_id: by }));
      return revokedAt;
    });
    return { ...device, revokedAt };
  }
}
