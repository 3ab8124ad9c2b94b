import { isStorageFull } from "../db/errors";
import type { Executor, Tx } from "../db/types";
import { idsInOrg } from "../db/bulk";
import { lockWithdrawal, lockWriter } from "../db/write-locks";
import { type PageRequest, type PageResult, selectPage } from "../db/page";
import { columnsOf, insertRow } from "../db/row";
import { isUuid } from "../ids";
import type { Clock } from "../time";
import type { Role } from "../users/model";
import type { Device } from "./model";

interface DeviceRow {
  id: string;
  org_id: string;
  user_id: string;
  name: string;
  platform: string | null;
  created_at: string;
  last_seen_at: string | null;
  revoked_at: string | null;
}

/** A device's `last_seen_at` is written at most once per this many milliseconds. */
const LAST_SEEN_RESOLUTION_MS = 60_000;

const staleBefore = (now: Date): string => new Date(now.getTime() - LAST_SEEN_RESOLUTION_MS).toISOString();

/** Whether a device whose `last_seen_at` is `lastSeenAt` is due to have it written at `now` (never, or over {@link LAST_SEEN_RESOLUTION_MS} ago). */
export function lastSeenDue(lastSeenAt: string | null, now: Date): boolean {
  return lastSeenAt === null || lastSeenAt < staleBefore(now);
}

const COLUMNS = columnsOf<DeviceRow>({ id: true, org_id: true, user_id: true, name: true, platform: true, created_at: true, last_seen_at: true, revoked_at: true });
const COLS = COLUMNS.join(", ");
/** {@link COLS} of `devices d` in a join. */
const D_COLS = COLUMNS.map((c) => `d.${c}`).join(", ");
const toDevice = (r: DeviceRow): Device => ({
  id: r.id,
  orgId: r.org_id,
  userId: r.user_id,
  name: r.name,
  platform: r.platform,
  createdAt: r.created_at,
  lastSeenAt: r.last_seen_at,
  revokedAt: r.revoked_at,
});
const deviceRow = (d: Device, orgId: string): DeviceRow => ({
  id: d.id,
  org_id: orgId,
  user_id: d.userId,
  name: d.name,
  platform: d.platform,
  created_at: d.createdAt,
  last_seen_at: d.lastSeenAt,
  revoked_at: d.revokedAt,
});

/** Looks a device up by id in any organization: only for the CLI's `devices revoke ID`. */
export async function findDeviceAnyOrg(exec: Executor, id: string): Promise<Device | undefined> {
  const r = await exec.get<DeviceRow>(`SELECT ${COLS} FROM devices WHERE id = ?`, [id]);
  return r && toDevice(r);
}

/**
 * Every device of every organization, in ONE query: organization by organization (in
 * `OrgRepo.list` order: oldest first, then by slug), each one's devices oldest first. Only for the
 * CLI's `devices list`.
 */
export async function listDevicesAnyOrg(exec: Executor): Promise<Device[]> {
  const rows = await exec.all<DeviceRow>(`SELECT ${D_COLS} FROM devices d JOIN organizations o ON o.id = d.org_id ORDER BY o.created_at, o.slug, d.created_at, d.id`);
  return rows.map(toDevice);
}

/** Devices of one organization. */
export class DeviceRepo<E extends Executor = Executor> {
  constructor(
    private readonly exec: E,
    private readonly orgId: string,
  ) {}

  async find(id: string): Promise<Device | undefined> {
    if (!isUuid(id)) return undefined; // no such device, and nothing to send the database
    const r = await this.exec.get<DeviceRow>(`SELECT ${COLS} FROM devices WHERE id = ? AND org_id = ?`, [id, this.orgId]);
    return r && toDevice(r);
  }

  /**
   * The ids among `ids` of devices of the organization, revoked ones included (their entries stay in
   * vector clocks): what a push checks its
   * clocks' keys against, whatever the number of devices the organization has.
   */
  findIds(ids: Iterable<string>): Promise<Set<string>> {
    return idsInOrg(this.exec, "devices", this.orgId, ids);
  }

  /**
   * One page of a user's devices, oldest first. `CAST(org_id AS TEXT)` keeps SQLite's planner on
   * `devices_user`: with a plain `org_id = ?` it counted the user's devices by reading every device of
   * the organization along `devices_org` (6,000 devices: 0.39 ms against 0.01 ms).
   */
  async listForUser(userId: string, page: PageRequest): Promise<PageResult<Device>> {
    const q = { columns: COLS, from: "devices", where: "WHERE CAST(org_id AS TEXT) = ? AND user_id = ?", params: [this.orgId, userId], orderBy: "ORDER BY created_at, id" };
    return selectPage(this.exec, q, page, toDevice);
  }

  /** Every device of one user, oldest first (the CLI's `devices list --user`; the API pages with {@link listForUser}). */
  async listAllOfUser(userId: string): Promise<Device[]> {
    const rows = await this.exec.all<DeviceRow>(`SELECT ${COLS} FROM devices WHERE org_id = ? AND user_id = ? ORDER BY created_at, id`, [this.orgId, userId]);
    return rows.map(toDevice);
  }

  /** Inserts the device; false when the id is taken. */
  async put(d: Device): Promise<boolean> {
    return (await insertRow(this.exec, "devices", COLUMNS, deviceRow(d, this.orgId), "ON CONFLICT (id) DO NOTHING")) === 1;
  }

  /**
   * The device's owner, whether it is revoked, whether its owner is active and their role — for a write
   * transaction by `userId` to check again where it commits: the request's own checks ran before it,
   * on the read connection, and a revocation may commit in between. Postgres: the write's locks are
   * taken first ({@link lockWriter}), so a revocation or deactivation either committed before this
   * read or waits for the write's COMMIT.
   */
  async findForWrite(this: DeviceRepo<Tx>, id: string, userId: string): Promise<{ userId: string; revoked: boolean; userActive: boolean; userRole: Role } | undefined> {
    await lockWriter(this.exec, id, userId);
    const r = await this.exec.get<{ user_id: string; revoked_at: string | null; active: number | boolean; role: Role }>(
      `SELECT d.user_id, d.revoked_at, u.active, u.role FROM devices d JOIN users u ON u.id = d.user_id AND u.org_id = d.org_id
       WHERE d.id = ? AND d.org_id = ?`,
      [id, this.orgId],
    );
    return r && { userId: r.user_id, revoked: r.revoked_at !== null, userActive: Number(r.active) === 1, userRole: r.role };
  }

  /**
   * Marks the device revoked, in a transaction: first waits for its pushes in flight
   * ({@link lockWithdrawal}), which so commit before it, then stamps the time it takes effect, read
   * from `clock` only then. A device already revoked keeps its first revocation time. Answers the
   * time stored, and whether this call revoked it.
   */
  async revoke(this: DeviceRepo<Tx>, id: string, clock: Clock): Promise<{ revokedAt: string; revokedNow: boolean }> {
    await lockWithdrawal(this.exec, "device", id);
    const now = clock.now().toISOString();
    const { changes } = await this.exec.run("UPDATE devices SET revoked_at = ? WHERE id = ? AND org_id = ? AND revoked_at IS NULL", [now, id, this.orgId]);
    if (changes === 1) return { revokedAt: now, revokedNow: true };
    const stored = await this.exec.get<{ revoked_at: string | null }>("SELECT revoked_at FROM devices WHERE id = ? AND org_id = ?", [id, this.orgId]);
    return { revokedAt: stored?.revoked_at ?? now, revokedNow: false };
  }

  /**
   * Records that `device` was used at `now` (a request with its token, a push or pull naming it):
   * `last_seen_at` is written at most once per {@link LAST_SEEN_RESOLUTION_MS}, so a device that
   * syncs every second costs one write a minute. Made off the request's path, by
   * `LastSeenRecorder` (src/devices/last-seen.ts). On a full disk it is left as it was (and tried
   * again by the device's next request), silently. Called outside transactions (a failed statement
   * there rolled back only itself). False when it was left so for a full disk.
   */
  async touchLastSeen(device: Pick<Device, "id" | "lastSeenAt">, now: Date): Promise<boolean> {
    if (!lastSeenDue(device.lastSeenAt, now)) return true;
    try {
      await this.exec.run(
        "UPDATE devices SET last_seen_at = ? WHERE id = ? AND org_id = ? AND (last_seen_at IS NULL OR last_seen_at < ?)",
        [now.toISOString(), device.id, this.orgId, staleBefore(now)],
      );
      return true;
    } catch (err) {
      if (!isStorageFull(err)) throw err;
      return false;
    }
  }
}
