import { IDS_PER_QUERY, idsInOrg, inChunks } from "../db/bulk";
import { sqlOf } from "../db/dialect";
import type { Executor, Tx } from "../db/types";
import { lockWithdrawal, lockWriter } from "../db/write-locks";
import { notFound } from "../errors";
import { type PageRequest, type PageResult, selectPage } from "../db/page";
import { columnsOf, insertRow } from "../db/row";
import type { OrgScope } from "../orgs/scope";
import type { Clock } from "../time";
import { emailLookupForms, type Role, type User } from "./model";

interface UserRow {
  id: string;
  org_id: string;
  email: string;
  name: string;
  role: Role;
  active: number;
  created_at: string;
  updated_at: string;
}

const COLUMNS = columnsOf<UserRow>({ id: true, org_id: true, email: true, name: true, role: true, active: true, created_at: true, updated_at: true });
const COLS = COLUMNS.join(", ");
/** {@link COLS} of `users u` in a join. */
const U_COLS = COLUMNS.map((c) => `u.${c}`).join(", ");
/** What an INSERT stores: the row and the password hash (read only by {@link findCredentialsByEmail}). */
const STORED_COLUMNS = [...COLUMNS, "password_hash"] as const;
const toUser = (r: UserRow): User => ({
  id: r.id,
  orgId: r.org_id,
  email: r.email,
  name: r.name,
  role: r.role,
  active: Number(r.active) === 1,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});
const userRow = (u: User, orgId: string): UserRow => ({
  id: u.id,
  org_id: orgId,
  email: u.email,
  name: u.name,
  role: u.role,
  active: u.active ? 1 : 0,
  created_at: u.createdAt,
  updated_at: u.updatedAt,
});

/** A user together with the password hash, for the only two callers that need it (login, password checks). */
export interface Credentials {
  user: User;
  passwordHash: string;
}

/**
 * The statement and parameters that find the user a typed email names ({@link emailLookupForms}: the
 * stored form of today first, then that of earlier versions), `columns` selected.
 */
function byEmail(columns: string, email: string): [string, string[]] {
  const forms = emailLookupForms(email);
  if (forms.length === 1) return [`SELECT ${columns} FROM users WHERE email = ?`, forms];
  return [`SELECT ${columns} FROM users WHERE email IN (?, ?) ORDER BY CASE WHEN email = ? THEN 0 ELSE 1 END LIMIT 1`, [...forms, forms[0]!]];
}

/**
 * Looks a user up by email as typed (in any letter case and Unicode form) across organizations, with
 * the password hash: emails are globally unique and login does not know the organization yet. Only
 * for what checks a password; {@link findUserByEmail} otherwise.
 */
export async function findCredentialsByEmail(exec: Executor, email: string): Promise<Credentials | undefined> {
  const r = await exec.get<UserRow & { password_hash: string }>(...byEmail(`${COLS}, password_hash`, email));
  return r && { user: toUser(r), passwordHash: r.password_hash };
}

/** The user with this email as typed (in any letter case and Unicode form) in any organization, without the password hash (CLI lookups). */
export async function findUserByEmail(exec: Executor, email: string): Promise<User | undefined> {
  const r = await exec.get<UserRow>(...byEmail(COLS, email));
  return r && toUser(r);
}

/**
 * Users of every organization, or of `scope`'s, in ONE query: organization by organization (in
 * `OrgRepo.list` order: oldest first, then by slug), each one's users oldest first. Only for the
 * CLI (`users list`, and the emails of `devices list`).
 */
export async function listUsersAnyOrg(exec: Executor, scope: OrgScope): Promise<User[]> {
  const rows = await exec.all<UserRow>(
    `SELECT ${U_COLS} FROM users u JOIN organizations o ON o.id = u.org_id ${scope.orgId === undefined ? "" : "WHERE u.org_id = ?"}
     ORDER BY o.created_at, o.slug, u.created_at, u.id`,
    scope.orgId === undefined ? [] : [scope.orgId],
  );
  return rows.map(toUser);
}

/** The users with these ids, whatever their organization (an id is unique across them), 500 ids a statement; for the CLI's listings. */
export async function findUsersAnyOrg(exec: Executor, ids: Iterable<string>): Promise<User[]> {
  const rows = await inChunks(ids, IDS_PER_QUERY, (chunk, marks) => exec.all<UserRow>(`SELECT ${U_COLS} FROM users u WHERE u.id IN (${marks})`, chunk));
  return rows.map(toUser);
}

/** Users of one organization. */
export class UserRepo<E extends Executor = Executor> {
  constructor(
    private readonly exec: E,
    private readonly orgId: string,
  ) {}

  async find(id: string): Promise<User | undefined> {
    const r = await this.exec.get<UserRow>(`SELECT ${COLS} FROM users WHERE id = ? AND org_id = ?`, [id, this.orgId]);
    return r && toUser(r);
  }

  /**
   * The ids among `ids` of users of the organization ({@link idsInOrg}): THE
   * check that a user belongs to it (a task's assignee; a push asks for all of its assignees at once).
   */
  findIds(ids: Iterable<string>): Promise<Set<string>> {
    return idsInOrg(this.exec, "users", this.orgId, ids);
  }

  /**
   * Locks the user's row until COMMIT. Postgres: `FOR NO KEY UPDATE`, which the foreign-key checks of
   * rows inserted for the user (devices, refresh tokens) do not wait for; SQLite: nothing to do, a
   * transaction already excludes every other writer.
   *
   * The lock order of sessions: a transaction that changes a user's refresh tokens takes this lock
   * (or updates the user's row, which takes it too) before it touches any token. Statements that
   * update several tokens at once (a family, a device's, a user's) lock them in an order that
   * depends on the plan and on where each row version lies, and a conditional UPDATE that waited for
   * another transaction keeps its row locked even when it then changes nothing: without one lock
   * taken first, two of them can wait for each other's tokens (a deadlock).
   */
  async lockForTokens(this: UserRepo<Tx>, id: string): Promise<void> {
    if (!sqlOf(this.exec).rowLocks) return;
    await this.exec.get("SELECT id FROM users WHERE id = ? AND org_id = ? FOR NO KEY UPDATE", [id, this.orgId]);
  }

  async mustGet(id: string): Promise<User> {
    const u = await this.find(id);
    if (!u) throw notFound("user");
    return u;
  }

  async list(page: PageRequest): Promise<PageResult<User>> {
    return selectPage(this.exec, { columns: COLS, from: "users", where: "WHERE org_id = ?", params: [this.orgId], orderBy: "ORDER BY created_at, id" }, page, toUser);
  }

  /** Inserts the user; false when the email is taken (in any organization). */
  async put(u: User, passwordHash: string): Promise<boolean> {
    const row = { ...userRow(u, this.orgId), password_hash: passwordHash };
    return (await insertRow(this.exec, "users", STORED_COLUMNS, row, "ON CONFLICT (email) DO NOTHING")) === 1;
  }

  /**
   * Replaces the hash `old` by `hash`, another hash of the same password (made on the server's
   * current parameters at a login); `updated_at` and the sessions are left as they are. Nothing when
   * the stored hash is no longer `old`.
   */
  async replacePasswordHash(id: string, old: string, hash: string): Promise<void> {
    await this.exec.run("UPDATE users SET password_hash = ? WHERE id = ? AND org_id = ? AND password_hash = ?", [hash, id, this.orgId, old]);
  }

  async setPasswordHash(id: string, hash: string, now: string): Promise<void> {
    await this.exec.run("UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ? AND org_id = ?", [hash, now, id, this.orgId]);
  }

  /**
   * Marks the user inactive, in a transaction: first waits for their pushes in flight
   * ({@link lockWithdrawal}), which so commit before it, then stamps `updated_at` with the time it
   * takes effect, read from `clock` only then. A user already inactive keeps theirs. Answers the
   * `updated_at` stored, and whether this call deactivated the user.
   */
  async deactivate(this: UserRepo<Tx>, id: string, clock: Clock): Promise<{ updatedAt: string; deactivatedNow: boolean }> {
    await lockWithdrawal(this.exec, "user", id);
    const now = clock.now().toISOString();
    const { changes } = await this.exec.run("UPDATE users SET active = 0, updated_at = ? WHERE id = ? AND org_id = ? AND active = 1", [now, id, this.orgId]);
    if (changes === 1) return { updatedAt: now, deactivatedNow: true };
    const stored = await this.exec.get<{ updated_at: string }>("SELECT updated_at FROM users WHERE id = ? AND org_id = ?", [id, this.orgId]);
    return { updatedAt: stored?.updated_at ?? now, deactivatedNow: false };
  }

  /**
   * The user's role, or null when they are not active (or not of the organization), for a write of
   * theirs to check again inside its transaction: the request's check ran before it, and a
   * deactivation or a change of role may commit in between. Postgres: the write's lock is taken
   * first ({@link lockWriter}), so such a change either committed before this read or waits for the
   * write's COMMIT.
   */
  async roleForWrite(this: UserRepo<Tx>, id: string): Promise<Role | null> {
    await lockWriter(this.exec, null, id);
    const r = await this.exec.get<{ active: number | boolean; role: Role }>("SELECT active, role FROM users WHERE id = ? AND org_id = ?", [id, this.orgId]);
    return r !== undefined && Number(r.active) === 1 ? r.role : null;
  }

  /**
   * Gives the user `role`, in a transaction; false when they already had it. First waits for their
   * writes in flight ({@link lockWithdrawal}), as a deactivation does: a write decides what the
   * user's role allows by the role it reads in its own transaction (`roleForWrite`), so a demoted
   * admin's write either commits before the demotion or is judged as a member's.
   */
  async setRole(this: UserRepo<Tx>, id: string, role: Role, now: string): Promise<boolean> {
    await lockWithdrawal(this.exec, "user", id);
    return (await this.exec.run("UPDATE users SET role = ?, updated_at = ? WHERE id = ? AND org_id = ? AND role <> ?", [role, now, id, this.orgId, role])).changes === 1;
  }

  /** How many active admins the organization has. */
  async countActiveAdmins(): Promise<number> {
    const r = await this.exec.get<{ n: number | string }>("SELECT COUNT(*) AS n FROM users WHERE org_id = ? AND role = 'admin' AND active = 1", [this.orgId]);
    return Number(r?.n ?? 0);
  }

  /** Makes an inactive user active again; false when the user already was. */
  async activate(id: string, now: string): Promise<boolean> {
    return (await this.exec.run("UPDATE users SET active = 1, updated_at = ? WHERE id = ? AND org_id = ? AND active = 0", [now, id, this.orgId])).changes === 1;
  }
}
