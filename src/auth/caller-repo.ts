/**
 * What `authenticate` checks of an access token's claims on every request — its user, its device,
 * its session — read in ONE statement: three lookups by key, one statement to run and, on Postgres,
 * one pooled connection per request instead of three (docs/performance.md, ninth session: no
 * throughput change measured on the 2-core machine, where the pool is never short).
 */
import type { Executor } from "../db/types";
import type { Role } from "../users/model";

/** The standing of a token's user, device and session. */
export interface CallerState {
  /** Null when the user is not in the token's organization (any more). */
  user: { id: string; orgId: string; email: string; role: Role; active: boolean } | null;
  /** The token's device; null without one, or when it is not in the organization. */
  device: { id: string; userId: string; revokedAt: string | null; lastSeenAt: string | null } | null;
  /** The token's session (refresh-token family) was ended: a logout, a new password, a reused token. */
  ended: boolean;
}

interface Row {
  id: string;
  email: string;
  role: Role;
  active: number | boolean;
  device_id: string | null;
  device_user_id: string | null;
  device_revoked_at: string | null;
  device_last_seen_at: string | null;
  ended: number | null;
}

const SQL = `SELECT u.id, u.email, u.role, u.active,
    d.id AS device_id, d.user_id AS device_user_id, d.revoked_at AS device_revoked_at, d.last_seen_at AS device_last_seen_at,
    (SELECT 1 FROM refresh_tokens r WHERE r.family_id = ? AND r.revoked_at IS NOT NULL LIMIT 1) AS ended
  FROM users u LEFT JOIN devices d ON d.id = ? AND d.org_id = u.org_id
  WHERE u.id = ? AND u.org_id = ?`;

/** The state of the caller the claims name (`deviceId`, `sessionId`: null when the token has none). */
export async function findCallerState(exec: Executor, c: { orgId: string; userId: string; deviceId: string | null; sessionId: string | null }): Promise<CallerState> {
  const r = await exec.get<Row>(SQL, [c.sessionId, c.deviceId, c.userId, c.orgId]);
  if (!r) return { user: null, device: null, ended: false };
  return {
    user: { id: r.id, orgId: c.orgId, email: r.email, role: r.role, active: Number(r.active) === 1 },
    device: r.device_id === null ? null : { id: r.device_id, userId: r.device_user_id!, revokedAt: r.device_revoked_at, lastSeenAt: r.device_last_seen_at },
    ended: r.ended !== null,
  };
}
