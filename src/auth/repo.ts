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

const COLS = "id, family_id, user_id, device_id, token_hash, created_at, expires_at, used_at, revoked_at";
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
      "SELECT t.id, t.family_id, t.user_id, u.org_id, t.device_id, t.token_hash, t.created_at, t.expires_at, t.used_at, t.revoked_at " +
        "FROM refresh_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = ?",
      [id],
    );
    return r && toRecord(r);
  }

  async put(t: Omit<RefreshTokenRecord, "orgId">): Promise<void> {
    await this.exec.run(`INSERT INTO refresh_tokens (${COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, [
      t.id,
      t.familyId,
      t.userId,
      t.deviceId,
      t.tokenHash,
      t.createdAt,
      t.expiresAt,
      t.usedAt,
      t.revokedAt,
    ]);
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
