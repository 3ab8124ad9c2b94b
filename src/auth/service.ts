import { createHmac } from "node:crypto";
import type { Executor } from "../db/types";
import { ConfigError } from "../config";
import { DomainError, invalid, unauthenticated } from "../errors";
import { newId } from "../ids";
import type { Deps } from "../deps";
import { LastSeenRecorder } from "../devices/last-seen";
import { DeviceRepo } from "../devices/repo";
import type { User } from "../users/model";
import type { PasswordHasher } from "../users/password";
import { findCredentialsByEmail, UserRepo } from "../users/repo";
import { normalizeEmail } from "../users/model";
import type { AuthContext, LoginBody } from "./model";
import { type CallerState, findCallerState } from "./caller-repo";
import { loginBudgetAddress } from "../wire/client-address";
import { LoginGate } from "./login-gate";
import { LoginLimiter } from "./rate-limit";
import { RefreshTokenRepo } from "./repo";
import { loadSecret } from "./secret";
import { AccessTokens, newRefreshToken, parseRefreshToken, secretMatches } from "./tokens";

/** Why `authenticate` refuses the caller in `state` (an inactive or unknown user, a revoked or foreign device, an ended session), or null. */
function refusal({ user, device, ended }: CallerState, claims: { deviceId: string | null }, opts: { endedSessionOk?: boolean }): string | null {
  if (!user?.active) return "the account is not active";
  if (claims.deviceId !== null && (!device || device.userId !== user.id || device.revokedAt !== null)) return "this device has been revoked";
  if (ended && !opts.endedSessionOk) return "the session has ended (a logout, a new password, or a refresh token used twice)";
  return null;
}

/** What login and refresh hand out. */
export interface Session {
  access: string;
  refresh: string;
  expiresIn: number;
  user: User;
}

const badCredentials = () => unauthenticated("invalid email or password");
const badRefresh = () => unauthenticated("invalid or expired refresh token");

/**
 * Login, refresh-token rotation with reuse detection (RFC 9700 §4.14.2: each refresh token is
 * single-use; presenting a used one revokes its whole family), logout, and the per-request check
 * of access tokens against the database.
 */
export class AuthService {
  readonly tokens: AccessTokens;
  private readonly limiter: LoginLimiter;
  private key: Uint8Array | null = null;

  constructor(
    private readonly deps: Deps,
    private readonly hasher: PasswordHasher,
    /** Writes the `last_seen_at` of the devices whose tokens are used (createServices shares one). */
    private readonly lastSeen = new LastSeenRecorder(deps),
    /** Bounds the password checks running and waiting at once (tests pass a small one). */
    private readonly gate = new LoginGate(),
  ) {
    this.limiter = new LoginLimiter(deps.db, deps.clock);
    this.tokens = new AccessTokens(() => (this.key ??= loadSecret(deps.config)), deps.clock, deps.config.accessTokenTtlSeconds, (kid) => this.warnOtherKey(kid));
  }

  /** When {@link warnOtherKey} last logged, by the server's clock (ms): at most one line a minute. */
  private otherKeyWarnedAt = Number.NEGATIVE_INFINITY;

  /**
   * Logs `access_token_other_secret` (at most once a minute): a token signed with another key came in.
   * Instances behind one load balancer without a shared TASKMGR_SECRET each make their own, and then
   * refuse each other's tokens with 401s that look random to clients (found by ops QA).
   */
  private warnOtherKey(kid: string): void {
    const now = this.deps.clock.now().getTime();
    if (Math.abs(now - this.otherKeyWarnedAt) < 60_000) return;
    this.otherKeyWarnedAt = now;
    this.deps.log.warn("access_token_other_secret", {
      other_key_id: kid,
      key_id: this.tokens.keyId(),
      hint: "an access token signed with another TASKMGR_SECRET was refused: give every instance of this database the same TASKMGR_SECRET (or, just after changing it, tokens signed with the old one are refused until they expire; anyone can also send a forged token naming a made-up key id, so look for 401s between your own instances)",
    });
  }

  /**
   * Loads (or, the first time, creates) the token-signing key now rather than at the first login:
   * `serve` calls it before it listens, so that a secret that cannot be read or stored stops the
   * start (a ConfigError naming the setting) instead of failing every login.
   */
  loadKey(): void {
    try {
      this.key ??= loadSecret(this.deps.config);
    } catch (err) {
      throw new ConfigError(`the secret file in TASKMGR_DATA_DIR (${this.deps.config.dataDir}) cannot be used: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /**
   * How a failed login's log line names an email that belongs to no account: it may be a password
   * typed into the wrong field, so never as typed, but as a keyed hash (HMAC with the server's key,
   * 16 hex digits) that shows repeated attempts with the same input without revealing it.
   */
  private unknownEmailTag(email: string): string {
    return this.keyed("login_failed", email).slice(0, 16);
  }

  /**
   * What the login rate limit counts a (normalized) email under, in `login_attempts`: a keyed hash,
   * never the email as typed (it may be a password typed into the wrong field). The same on every
   * instance sharing `TASKMGR_SECRET`, as they must.
   */
  private limitKey(email: string): string {
    return this.keyed("login_limit", email);
  }

  /** HMAC-SHA256 of `text` for `purpose` with the server's key, in hex. */
  private keyed(purpose: string, text: string): string {
    this.key ??= loadSecret(this.deps.config);
    return createHmac("sha256", this.key).update(`${purpose}:${text}`).digest("hex");
  }

  /**
   * Checks the password and opens a session (a new refresh-token family). Unknown email, wrong
   * password and deactivated user all answer the same 401; failures are rate limited per
   * (email, `clientAddress`, an IPv6 one by its /64), shared across instances (the attempt is counted before the password is
   * checked, and forgotten on success). A `device_id` must be one of the user's devices, not revoked.
   */
  async login(input: LoginBody, clientAddress: string): Promise<Session> {
    const email = normalizeEmail(input.email);
    const budget = loginBudgetAddress(clientAddress);
    const account = this.limitKey(email);
    const creds = await this.limiter.oneAtATime(account, budget, () =>
      this.gate.run(budget, async () => {
        await this.limiter.attempt(account, budget).catch((err: unknown) => this.logLimited(err, input.email, email, clientAddress));
        const found = await findCredentialsByEmail(this.deps.db, input.email);
        const ok = found ? await this.hasher.verify(input.password, found.passwordHash) : await this.hasher.verifyNothing(input.password);
        if (!found || !ok || !found.user.active) {
          this.deps.log.warn("login_failed", { ...(found ? { email } : { unknown_email: this.unknownEmailTag(email) }), client: clientAddress, user_id: found?.user.id ?? null });
          throw badCredentials();
        }
        await this.limiter.succeeded(account, budget);
        return found;
      }),
    );
    const user = creds.user;
    const deviceId = input.device_id ? input.device_id.toLowerCase() : null;
    if (deviceId) {
      const device = await new DeviceRepo(this.deps.db, user.orgId).find(deviceId);
      if (!device || device.userId !== user.id) throw invalid({ device_id: "not one of your devices" });
      if (device.revokedAt) throw unauthenticated("this device has been revoked");
    }
    const familyId = newId();
    const refresh = await this.openSession(input.email, input.password, creds.passwordHash, user, deviceId, familyId);
    this.deps.log.info("login", { user_id: user.id, org_id: user.orgId, device_id: deviceId });
    return this.session(user, deviceId, familyId, refresh);
  }

  /**
   * Logs `login_rate_limited` (warn) when `err` is the rate limit's 429 — naming the account as a failed
   * login does, the client and the seconds it must wait — then throws `err` on.
   */
  private async logLimited(err: unknown, typed: string, email: string, clientAddress: string): Promise<never> {
    if (err instanceof DomainError && err.code === "rate_limited") {
      // The 429 stands whatever this lookup meets (a database gone meanwhile): the line then names no account.
      const found = await findCredentialsByEmail(this.deps.db, typed).catch(() => "lookup failed" as const);
      const account = found === "lookup failed" ? {} : found ? { email, user_id: found.user.id } : { unknown_email: this.unknownEmailTag(email), user_id: null };
      this.deps.log.warn("login_rate_limited", { ...account, client: clientAddress, retry_after: err.details.retry_after ?? null });
    }
    throw err;
  }

  /**
   * Stores the new session `familyId` of `user` under the user's lock (the lock order of sessions),
   * and only if `checked`, the hash `password` was just checked against, is still the user's: a new
   * password (or a deactivation) committing while it was checked would otherwise leave this session
   * open after it ended all the others. A hash of other parameters than the server's is replaced, in
   * the same transaction, by one of `password` on the server's ({@link PasswordHasher.needsRehash}).
   * `email` is the login's as typed (the lookups normalize it).
   * A hash that changed meanwhile is checked again, twice at most: another login's replacement keeps
   * the password (this login goes on), a new password does not (401).
   */
  private async openSession(email: string, password: string, checked: string, user: User, deviceId: string | null, familyId: string): Promise<string> {
    for (let attempt = 1; ; attempt++) {
      const replacement = this.hasher.needsRehash(checked) ? await this.hasher.hash(password) : null; // before the transaction: it takes ~0.1 s
      const hash = checked;
      const refresh = await this.deps.db.transaction(async (tx) => {
        const users = new UserRepo(tx, user.orgId);
        await users.lockForTokens(user.id);
        const now = await findCredentialsByEmail(tx, email);
        if (now?.user.id !== user.id || !now.user.active) throw badCredentials();
        if (now.passwordHash !== hash) return null;
        if (replacement !== null) {
          await users.replacePasswordHash(user.id, hash, replacement);
          tx.afterCommit(() => this.deps.log.info("password_rehashed", { user_id: user.id, org_id: user.orgId }));
        }
        return this.storeRefresh(tx, user.id, deviceId, familyId);
      });
      if (refresh !== null) return refresh;
      const again = attempt < 3 ? await findCredentialsByEmail(this.deps.db, email) : undefined;
      if (again?.user.id !== user.id || !(await this.hasher.verify(password, again.passwordHash))) throw badCredentials();
      checked = again.passwordHash;
    }
  }

  /** Exchanges a refresh token for a new pair; the old token is spent. A spent token presented again revokes its family. */
  async refresh(token: string): Promise<Session> {
    const parsed = parseRefreshToken(token);
    if (!parsed) throw badRefresh();
    const now = this.deps.clock.now().toISOString();
    const outcome = await this.deps.db.transaction(async (tx) => {
      const repo = new RefreshTokenRepo(tx);
      const presented = await repo.find(parsed.id);
      if (!presented || !secretMatches(parsed.secret, presented.tokenHash)) return null;
      // The user's lock first (the lock order of sessions, UserRepo.lockForTokens), then the token as
      // the transactions before this one left it: of concurrent refreshes of one token, the first
      // marks it used and every later one finds it used and revokes the family (401 each).
      const users = new UserRepo(tx, presented.orgId);
      await users.lockForTokens(presented.userId);
      const rec = await repo.find(parsed.id);
      if (!rec || rec.revokedAt) return null;
      // A used token is a reuse even once expired (a stolen copy spent by someone else, whose newer
      // tokens of the family have not expired): the family ends. An expired unused one is only refused.
      if (rec.usedAt === null && rec.expiresAt <= now) return null;
      if (rec.usedAt !== null || !(await repo.markUsed(rec.id, now))) {
        await repo.revokeFamily(rec.familyId, now);
        tx.afterCommit(() => this.deps.log.warn("refresh_token_reused", { user_id: rec.userId, family_id: rec.familyId }));
        return null;
      }
      const user = await users.find(rec.userId);
      const device = rec.deviceId ? await new DeviceRepo(tx, rec.orgId).find(rec.deviceId) : undefined;
      if (!user?.active || (rec.deviceId && (!device || device.revokedAt))) {
        await repo.revokeFamily(rec.familyId, now);
        return null;
      }
      return { user, deviceId: rec.deviceId, familyId: rec.familyId, refresh: await this.storeRefresh(tx, user.id, rec.deviceId, rec.familyId) };
    });
    if (!outcome) throw badRefresh();
    return this.session(outcome.user, outcome.deviceId, outcome.familyId, outcome.refresh);
  }

  /** Revokes the family of the caller's refresh token. Unknown tokens and other users' tokens are ignored. */
  async logout(auth: AuthContext, token: string): Promise<void> {
    const parsed = parseRefreshToken(token);
    if (!parsed) return;
    const rec = await new RefreshTokenRepo(this.deps.db).find(parsed.id);
    if (!rec || rec.userId !== auth.userId || !secretMatches(parsed.secret, rec.tokenHash)) return;
    const now = this.deps.clock.now().toISOString();
    await this.deps.db.transaction(async (tx) => {
      await new UserRepo(tx, rec.orgId).lockForTokens(rec.userId);
      await new RefreshTokenRepo(tx).revokeFamily(rec.familyId, now);
      tx.afterCommit(() => this.deps.log.info("logout", { user_id: auth.userId, org_id: auth.orgId }));
    });
  }

  /**
   * The caller behind an `Authorization: Bearer …` header value: the token must verify, the user
   * must still be active, the token's device not revoked and its session (refresh-token family) not
   * ended (indexed lookups on every request). The device's `last_seen_at` is written just after,
   * not waited for ({@link LastSeenRecorder}).
   */
  async authenticate(authorization: string | null | undefined, opts: { endedSessionOk?: boolean } = {}): Promise<AuthContext> {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
    if (!m) throw unauthenticated("missing bearer token");
    const claims = await this.tokens.verify(m[1]!);
    let state = await findCallerState(this.deps.db, claims);
    // A refusal is never based on one read: on Postgres, a read just after a reconnect was seen to
    // answer a valid caller as inactive or unknown (QA: about 1 in 40,000 requests while backends
    // were being killed) — a 401 a client takes for "logged out". The cause found since (postgres.js
    // handing back a result with holes) is refused as a lost connection (`mustBeWhole`,
    // src/db/postgres.ts); refusals are rare, so they still read again rather than trust one read.
    if (refusal(state, claims, opts) !== null) state = await findCallerState(this.deps.db, claims);
    const problem = refusal(state, claims, opts);
    if (problem !== null) throw unauthenticated(problem);
    const user = state.user!;
    if (state.device) this.lastSeen.record(claims.orgId, state.device);
    return { userId: user.id, orgId: user.orgId, role: user.role, deviceId: claims.deviceId, email: user.email };
  }

  private async storeRefresh(exec: Executor, userId: string, deviceId: string | null, familyId: string): Promise<string> {
    const now = this.deps.clock.now();
    const id = newId();
    const { token, hash } = newRefreshToken(id);
    await new RefreshTokenRepo(exec).put({
      id,
      familyId,
      userId,
      deviceId,
      tokenHash: hash,
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + this.deps.config.refreshTokenTtlSeconds * 1000).toISOString(),
      usedAt: null,
      revokedAt: null,
    });
    return token;
  }

  private async session(user: User, deviceId: string | null, familyId: string, refresh: string): Promise<Session> {
    const access = await this.tokens.sign({ userId: user.id, orgId: user.orgId, role: user.role, deviceId, sessionId: familyId });
    return { access, refresh, expiresIn: this.tokens.ttlSeconds, user };
  }
}
