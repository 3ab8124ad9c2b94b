/**
 * The writer's standing, checked again inside a write's transaction, where the write commits: the
 * request's own checks (`authenticate`, a push's device check) ran before it, and a revocation, a
 * deactivation or a change of role may have committed in between. On Postgres the writer's shared
 * locks are taken first (`lockWriter`, src/db/write-locks.ts), so such a change either committed
 * before this read or waits for the write's COMMIT; on SQLite the write transaction excludes it anyway.
 */
import type { Tx } from "../db/types";
import { DeviceRepo } from "../devices/repo";
import { forbidden, unauthenticated } from "../errors";
import type { Role } from "../users/model";
import { UserRepo } from "../users/repo";

/** Who writes: a user of an organization, through one of their devices (a push) or none (REST, whatever device its token names). */
export interface Writer {
  orgId: string;
  userId: string;
  deviceId: string | null;
}

/**
 * The writer's role as of the write's transaction — what decides what only an admin may do, rather
 * than the role the request was authenticated with. 403 `forbidden` when the writer's device is
 * revoked (or not theirs), 401 when their account is no longer active.
 */
export async function mustStillWrite(tx: Tx, w: Writer): Promise<Role> {
  if (w.deviceId) {
    const device = await new DeviceRepo(tx, w.orgId).findForWrite(w.deviceId, w.userId);
    if (device?.userId !== w.userId || device.revoked) throw forbidden("this device is revoked");
    if (!device.userActive) throw inactive();
    return device.userRole;
  }
  const role = await new UserRepo(tx, w.orgId).roleForWrite(w.userId);
  if (role === null) throw inactive();
  return role;
}

const inactive = () => unauthenticated("the account is not active");
