import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { decodeProtectedHeader, jwtVerify, SignJWT } from "jose";
import { unauthenticated } from "../errors";
import type { Clock } from "../time";
import type { Role } from "../users/model";

const ISSUER = "taskmgr";
const AUDIENCE = "taskmgr-api";
const ALGORITHM = "HS256";

/** What an access token asserts. */
export interface AccessClaims {
  userId: string;
  orgId: string;
  role: Role;
  deviceId: string | null;
  /**
   * The session (refresh-token family) the token was issued for: once the family is revoked (logout,
   * a reused refresh token, a new password) its access tokens stop working too. Null in tokens
   * issued before this claim existed, which live until they expire.
   */
  sessionId: string | null;
}

/**
 * Access tokens are JWTs signed with `jose` directly rather than through `@elysiajs/jwt`:
 * verification pins the algorithm list to HS256 (so `alg: none` and algorithm swaps are refused),
 * requires `iss`/`aud`/`exp`/`iat`/`sub`, and checks expiry against the injected Clock. Services and
 * the CLI use it without an Elysia context.
 */
export class AccessTokens {
  private keyIdOfKey: string | null = null;

  constructor(
    private readonly key: () => Uint8Array,
    private readonly clock: Clock,
    readonly ttlSeconds: number,
    /**
     * Called when a token's signature fails and its header names another key (`kid`): it was most
     * likely signed by an instance with another TASKMGR_SECRET (instances behind one load balancer
     * must share it), or before the secret was changed.
     */
    private readonly onOtherKey: (keyId: string) => void = () => {},
  ) {}

  /**
   * The key's id, in every token's header (`kid`): 16 hex digits of an HMAC of a fixed text with the
   * key, which tells two keys apart without saying anything of either.
   */
  keyId(): string {
    return (this.keyIdOfKey ??= createHmac("sha256", this.key()).update("taskmgr access token key id").digest("hex").slice(0, 16));
  }

  sign(c: AccessClaims): Promise<string> {
    const iat = Math.floor(this.clock.now().getTime() / 1000);
    const payload: Record<string, string> = { org: c.orgId, role: c.role };
    if (c.deviceId) payload.did = c.deviceId;
    if (c.sessionId) payload.sid = c.sessionId;
    return new SignJWT(payload)
      .setProtectedHeader({ alg: ALGORITHM, typ: "JWT", kid: this.keyId() })
      .setSubject(c.userId)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(iat)
      .setExpirationTime(iat + this.ttlSeconds)
      .sign(this.key());
  }

  /** The token's claims; throws 401 `unauthenticated` for a bad signature, algorithm, issuer, audience or an expired token. */
  async verify(token: string): Promise<AccessClaims> {
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, this.key(), {
        algorithms: [ALGORITHM],
        issuer: ISSUER,
        audience: AUDIENCE,
        requiredClaims: ["sub", "exp", "iat"],
        currentDate: this.clock.now(),
      }));
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === "ERR_JWS_SIGNATURE_VERIFICATION_FAILED") this.noticeOtherKey(token);
      throw unauthenticated(code === "ERR_JWT_EXPIRED" ? "the access token has expired" : "invalid access token");
    }
    const { sub, org, role, did, sid } = payload;
    const optionalString = (v: unknown) => v === undefined || typeof v === "string";
    if (typeof sub !== "string" || typeof org !== "string" || (role !== "admin" && role !== "member") || !optionalString(did) || !optionalString(sid)) {
      throw unauthenticated("invalid access token");
    }
    return { userId: sub, orgId: org, role, deviceId: (did as string | undefined) ?? null, sessionId: (sid as string | undefined) ?? null };
  }

  /** Tells `onOtherKey` when a token whose signature failed names a key id other than this key's. */
  private noticeOtherKey(token: string): void {
    let kid: unknown;
    try {
      kid = decodeProtectedHeader(token).kid;
    } catch {
      return;
    }
    if (typeof kid === "string" && /^[0-9a-f]{16}$/.test(kid) && kid !== this.keyId()) this.onOtherKey(kid);
  }
}

/** A new opaque refresh token `<id>.<secret>` and the hash of its secret, the only part stored. */
export function newRefreshToken(id: string): { token: string; hash: string } {
  const secret = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");
  return { token: `${id}.${secret}`, hash: sha256(secret) };
}

/** Splits a refresh token into its id and secret; null when it is not of our form. */
export function parseRefreshToken(token: string): { id: string; secret: string } | null {
  const m = /^([0-9a-f-]{36})\.([A-Za-z0-9_-]{43})$/.exec(token);
  return m ? { id: m[1]!, secret: m[2]! } : null;
}

/** Whether `secret` hashes to `hash`, compared in constant time. */
export function secretMatches(secret: string, hash: string): boolean {
  const a = Buffer.from(sha256(secret), "hex");
  const b = Buffer.from(hash, "hex");
  return a.length === b.length && timingSafeEqual(a, b);
}

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");
