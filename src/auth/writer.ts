/**
 * The writer's standing, checked again inside a write's transaction, where the write commits: the
 * request's own checks (`authenticate`, a push's device check) ran before it, and a revocation or a
 * deactivation may have committed in between. On Postgres the writer's shared locks are taken
 * first (`lockWriter`, src/db/write-locks.ts), so such a withdrawal either committed before this read
 * or waits for the write's COMMIT; on SQLite the write transaction excludes it anyway.
 */
import type { Tx } from "../db/types";
import { DeviceRepo } from "../devices/repo";
import { forbidden, unauthenticated } from "../errors";
import { UserRepo } from "../users/repo";

/** Who writes: a user of an organization, through one of their devices (a push) or none (REST, whatever device its token names). */
export interface Writer {
  orgId: string;
  userId: string;
  deviceId: string | null;
}

/** 403 `forbidden` when the writer's device is revoked (or not theirs), 401 when their account is no longer active. */
export async function mustStillWrite(tx: Tx, w: Writer): Promise<void> {
  if (w.deviceId) {
    const device = await new DeviceRepo(tx, w.orgId).findForWrite(w.deviceId, w.userId);
    if (device?.userId !== w.userId || device.revoked) throw forbidden("this device is revoked");
    if (!device.userActive) throw inactive();
    return;
  }
  if (!(await new UserRepo(tx, w.orgId).activeForWrite(w.userId))) throw inactive();
}

const inactive = () => unauthenticated("the account is not active");
