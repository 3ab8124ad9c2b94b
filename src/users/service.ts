import { RefreshTokenRepo } from "../auth/repo";
import type { AuthContext } from "../auth/model";
import { alreadyExists, invalid, notFound } from "../errors";
import type { PageRequest, PageResult } from "../db/page";
import { newId } from "../ids";
import { OrgRepo } from "../orgs/repo";
import { orgScope } from "../orgs/scope";
import type { Deps } from "../deps";
import { characters, MAX_NAME, storedName } from "../wire/text";
import { type NewUser, normalizeEmail, type Role, ROLES, type User } from "./model";
import { checkPasswordPolicy, type PasswordHasher } from "./password";
import { findUserByEmail, findUsersAnyOrg, listUsersAnyOrg, UserRepo } from "./repo";

const EMAIL = /^[^\s@]+@[^\s@]+$/;
const MAX_EMAIL = 320;

/** Accounts: creation, listing, password changes, roles, deactivation. Used by the HTTP routes and the CLI alike. */
export class UserService {
  constructor(
    private readonly deps: Deps,
    private readonly hasher: PasswordHasher,
  ) {}

  /**
   * Creates a user in the organization given by `orgId` or `orgSlug` (404 when unknown).
   * 422 for a bad email, name, role or a password under 8 characters; 409 `already_exists` for a taken email.
   */
  async create(input: NewUser): Promise<User> {
    const email = normalizeEmail(input.email);
    const name = storedName(input.name ?? "");
    const role: Role = input.role ?? "member";
    const fields: Record<string, string> = {};
    if (!EMAIL.test(email) || email.length > MAX_EMAIL) fields.email = "must be an email address";
    if (characters(name) > MAX_NAME) fields.name = `must be at most ${MAX_NAME} characters`;
    if (role !== "admin" && role !== "member") fields.role = "must be admin or member";
    if (Object.keys(fields).length > 0) throw invalid(fields);
    checkPasswordPolicy(input.password);
    const org = await this.resolveOrg(input);
    const hash = await this.hasher.hash(input.password);
    const now = this.deps.clock.now().toISOString();
    const user: User = { id: newId(), orgId: org, email, name, role, active: true, createdAt: now, updatedAt: now };
    return this.deps.db.transaction(async (tx) => {
      // The email as typed may also name an account an earlier version stored in another form (findUserByEmail).
      if ((await findUserByEmail(tx, input.email)) || !(await new UserRepo(tx, org).put(user, hash))) {
        throw alreadyExists(`a user with email ${email} already exists`, "email", "already registered");
      }
      tx.afterCommit(() => this.deps.log.info("user_created", { user_id: user.id, org_id: org, role }));
      return user;
    });
  }

  /** Every user of one organization (by slug: 404 when unknown), or of all organizations, organization by organization; for the CLI. */
  async listAcrossOrgs(orgSlug?: string): Promise<User[]> {
    return listUsersAnyOrg(this.deps.db, await orgScope(this.deps.db, orgSlug));
  }

  /** The users with these ids, whatever their organization (unknown ids left out); for the CLI's listings. */
  findAnyOrg(ids: Iterable<string>): Promise<User[]> {
    return findUsersAnyOrg(this.deps.db, ids);
  }

  /** One page of the caller's organization's members. */
  list(auth: AuthContext, page: PageRequest): Promise<PageResult<User>> {
    return new UserRepo(this.deps.db, auth.orgId).list(page);
  }

  /** The caller's own account. */
  me(auth: AuthContext): Promise<User> {
    return new UserRepo(this.deps.db, auth.orgId).mustGet(auth.userId);
  }

  async findByEmail(email: string): Promise<User | undefined> {
    return findUserByEmail(this.deps.db, email);
  }

  /** The user with this email; 404 `not_found` otherwise. */
  async mustGetByEmail(email: string): Promise<User> {
    const user = await this.findByEmail(email);
    if (!user) throw notFound(`user ${normalizeEmail(email)}`);
    return user;
  }

  /** Replaces the password (policy as for `create`) and ends every session of the user. */
  async setPassword(email: string, password: string): Promise<User> {
    checkPasswordPolicy(password);
    const user = await this.mustGetByEmail(email);
    const hash = await this.hasher.hash(password);
    const now = this.deps.clock.now().toISOString();
    await this.deps.db.transaction(async (tx) => {
      await new UserRepo(tx, user.orgId).setPasswordHash(user.id, hash, now);
      await new RefreshTokenRepo(tx).revokeForUser(user.id, now);
      tx.afterCommit(() => this.deps.log.info("password_changed", { user_id: user.id, org_id: user.orgId }));
    });
    return user;
  }

  /** Deactivates the user (idempotent): logins fail, refresh tokens are revoked, access tokens stop working on the next request. */
  async deactivate(email: string): Promise<User> {
    const user = await this.mustGetByEmail(email);
    const updatedAt = await this.deps.db.transaction(async (tx) => {
      const { updatedAt, deactivatedNow } = await new UserRepo(tx, user.orgId).deactivate(user.id, this.deps.clock);
      await new RefreshTokenRepo(tx).revokeForUser(user.id, updatedAt);
      if (deactivatedNow) tx.afterCommit(() => this.deps.log.info("user_deactivated", { user_id: user.id, org_id: user.orgId }));
      return updatedAt;
    });
    return { ...user, active: false, updatedAt };
  }

  /**
   * Reactivates a deactivated user (idempotent): they can log in again with their password. The
   * sessions that deactivation ended stay ended.
   */
  async activate(email: string): Promise<User> {
    const user = await this.mustGetByEmail(email);
    if (user.active) return user;
    const now = this.deps.clock.now().toISOString();
    const changed = await new UserRepo(this.deps.db, user.orgId).activate(user.id, now);
    if (changed) this.deps.log.info("user_activated", { user_id: user.id, org_id: user.orgId });
    return { ...user, active: true, updatedAt: changed ? now : user.updatedAt };
  }

  /**
   * Gives the user `role` (idempotent); it takes effect on their next request, as the role is read
   * with every request's token check, and on their writes in flight: what only an admin may write is
   * decided by the role read in the write's transaction, which the change waits for (`UserRepo.setRole`).
   * 422 for a role that is not one.
   */
  async setRole(email: string, role: Role): Promise<User> {
    if (!(ROLES as readonly string[]).includes(role)) throw invalid({ role: `must be one of ${ROLES.join(", ")}` });
    const user = await this.mustGetByEmail(email);
    if (user.role === role) return user;
    const now = this.deps.clock.now().toISOString();
    const changed = await this.deps.db.transaction((tx) => new UserRepo(tx, user.orgId).setRole(user.id, role, now));
    if (changed) this.deps.log.info("user_role_changed", { user_id: user.id, org_id: user.orgId, role });
    return { ...user, role, updatedAt: changed ? now : user.updatedAt };
  }

  /**
   * Whether the organization has an active admin: nobody can read its metrics, moderate its comments
   * or revoke its members' devices without one (the CLI warns when a command leaves it none).
   */
  async hasActiveAdmin(orgId: string): Promise<boolean> {
    return (await new UserRepo(this.deps.db, orgId).countActiveAdmins()) > 0;
  }

  private async resolveOrg(input: NewUser): Promise<string> {
    const repo = new OrgRepo(this.deps.db);
    if (input.orgId !== undefined) {
      if (!(await repo.find(input.orgId))) throw notFound("organization");
      return input.orgId;
    }
    if (input.orgSlug !== undefined) return (await repo.mustGetBySlug(input.orgSlug)).id;
    throw invalid({ org: "an organization is required" });
  }
}
