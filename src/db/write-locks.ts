/**
 * Postgres transaction-level advisory locks that order a write against the revocation of its device
 * and the deactivation of its user: a push holds both shared until COMMIT (a REST write of records
 * the user's), a revocation or a deactivation takes its one exclusively. So a revocation waits for
 * the pushes in flight and the pushes that come after it wait for it, then find the device revoked.
 *
 * Not row locks (`FOR SHARE` on the device and user rows, tried first): Postgres lets a new share
 * lock of a row jump ahead of a stronger one already waiting, so a user whose devices kept pushing
 * starved their logins, revocations and deactivation for 10–30 s, and the revocation, which locks
 * the user's row first, deadlocked with pushes. Advisory locks are queued in order, and logins,
 * which lock the user's row, no longer wait for pushes at all.
 *
 * A push also holds its device's push lock exclusively until COMMIT, so one device's pushes apply one
 * after the other, in the order they take it, as on SQLite: a client that sends its next push before
 * the previous one is answered (pipelining, a retry after a timeout) has it judged against what the
 * previous one wrote, not rejected for a record that push is still committing.
 *
 * SQLite has one writer at a time: nothing to lock (the functions do nothing there).
 */
import type { Executor } from "./types";

/** Lock classes (the first key of the two-key advisory locks): arbitrary, only distinct. */
const DEVICE = 1952710657;
const USER = 1952710658;
const PUSH = 1952710659;

/**
 * Shared, until COMMIT: a write by `userId` (a push names its device too; a REST write has none to
 * name). Take it before reading either. A push also takes its device's push lock, exclusively: the
 * device's next push waits for this one's COMMIT.
 */
export async function lockWriter(exec: Executor, deviceId: string | null, userId: string): Promise<void> {
  if (exec.dialect !== "postgres") return;
  if (deviceId === null) await exec.run(`SELECT pg_advisory_xact_lock_shared(${USER}, hashtext(?))`, [userId]);
  else
    await exec.run(
      `SELECT pg_advisory_xact_lock(${PUSH}, hashtext(?)), pg_advisory_xact_lock_shared(${DEVICE}, hashtext(?)), pg_advisory_xact_lock_shared(${USER}, hashtext(?))`,
      [deviceId, deviceId, userId],
    );
}

/** Exclusive, until COMMIT: the revocation of a device or the deactivation of a user; waits for the writes in flight. */
export async function lockWithdrawal(exec: Executor, kind: "device" | "user", id: string): Promise<void> {
  if (exec.dialect !== "postgres") return;
  await exec.run(`SELECT pg_advisory_xact_lock(${kind === "device" ? DEVICE : USER}, hashtext(?))`, [id]);
}
