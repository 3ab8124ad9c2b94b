import { columnsOf, insertRow } from "../db/row";
import type { Executor } from "../db/types";

/** A stored refresh token: only the SHA-256 hash of its secret part is kept. */
export interface RefreshTokenRecord {
  id: string;
  familyId: string;
  userId: string;
  /** The user's organization (joined from users; not stored on the token). */
  orgId: string;
  deviceId: string | null;
  tokenHash: string;
  createdAt: string;
  expiresAt: string;
  usedAt: string | null;
  revokedAt: string | null;
}

interface Row {
  id: string;
  family_id: string;
  user_id: string;
  org_id: string;
  device_id: string | null;
  token_hash: string;
  created_at: string;
  expires_at: string;
  used_at: string | null;
  revoked_at: string | null;
}

/** The columns of `refresh_tokens` (a token's organization is its user's: {@link Row} joins it). */
const COLUMNS = columnsOf<Omit<Row, "org_id">>({
  id: true,
  family_id: true,
  user_id: true,
  device_id: true,
  token_hash: true,
  created_at: true,
  expires_at: true,
  used_at: true,
  revoked_at: true,
});
const toRecord = (r: Row): RefreshTokenRecord => ({
  id: r.id,
  familyId: r.family_id,
  userId: r.user_id,
  orgId: r.org_id,
  deviceId: r.device_id,
  tokenHash: r.token_hash,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  usedAt: r.used_at,
  revokedAt: r.revoked_at,
});

/**
 * Refresh-token families. Tokens belong to a user, not to organization data, so queries are keyed by
 * token id, family or user; the id comes from the token itself (`<id>.<secret>`), a primary-key lookup.
 */
export class RefreshTokenRepo {
  constructor(private readonly exec: Executor) {}

  async find(id: string): Promise<RefreshTokenRecord | undefined> {
    const r = await this.exec.get<Row>(
      `SELECT ${COLUMNS.map((c) => `t.${c}`).join(", ")}, u.org_id FROM refresh_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = ?`,
      [id],
    );
    return r && toRecord(r);
  }

  async put(t: Omit<RefreshTokenRecord, "orgId">): Promise<void> {
    await insertRow(this.exec, "refresh_tokens", COLUMNS, {
      id: t.id,
      family_id: t.familyId,
      user_id: t.userId,
      device_id: t.deviceId,
      token_hash: t.tokenHash,
      created_at: t.createdAt,
      expires_at: t.expiresAt,
      used_at: t.usedAt,
      revoked_at: t.revokedAt,
    });
  }

  /** Marks the token used; false when it already was (a concurrent or repeated use). */
  async markUsed(id: string, now: string): Promise<boolean> {
    const { changes } = await this.exec.run("UPDATE refresh_tokens SET used_at = ? WHERE id = ? AND used_at IS NULL", [now, id]);
    return changes === 1;
  }

  async revokeFamily(familyId: string, now: string): Promise<void> {
    await this.exec.run("UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL", [now, familyId]);
  }

  async revokeForUser(userId: string, now: string): Promise<void> {
    await this.exec.run("UPDATE refresh_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL", [now, userId]);
  }

  async revokeForDevice(deviceId: string, now: string): Promise<void> {
    await this.exec.run("UPDATE refresh_tokens SET revoked_at = ? WHERE device_id = ? AND revoked_at IS NULL", [now, deviceId]);
  }
}
