/** SQL of the `conflicts` table, scoped by organization (the CLI's cross-organization lookups are named so). */
import { IDS_PER_QUERY, inChunks } from "../db/bulk";
import type { Executor } from "../db/types";
import { notFound } from "../errors";
import { type PageRequest, type PageResult, selectPage } from "../db/page";
import { columnsOf, insertRow } from "../db/row";
import { isUuid } from "../ids";
import type { OrgScope } from "../orgs/scope";
import type { EntityKind } from "../records/model";
import type { Resolution } from "./model";

/** A Conflict as the services see it. */
export interface Conflict {
  id: string;
  orgId: string;
  entity: EntityKind;
  entityId: string;
  fields: string[];
  local: Record<string, unknown>;
  remote: Record<string, unknown>;
  /** The record at the change's base_version; null when unknown. */
  base: Record<string, unknown> | null;
  deviceId: string | null;
  userId: string | null;
  createdAt: string;
  resolvedAt: string | null;
  /** How it was resolved (only ever stored from a checked resolution: the API's and the CLI's choices). */
  resolution: Resolution | null;
  resolvedBy: string | null;
}

interface ConflictRow {
  id: string;
  org_id: string;
  entity: string;
  entity_id: string;
  fields: string;
  local: string;
  remote: string;
  base: string | null;
  device_id: string | null;
  user_id: string | null;
  created_at: string;
  resolved_at: string | null;
  resolution: string | null;
  resolved_by: string | null;
}

const COLUMNS = columnsOf<ConflictRow>({
  id: true,
  org_id: true,
  entity: true,
  entity_id: true,
  fields: true,
  local: true,
  remote: true,
  base: true,
  device_id: true,
  user_id: true,
  created_at: true,
  resolved_at: true,
  resolution: true,
  resolved_by: true,
});
const COLS = COLUMNS.join(", ");

const toConflict = (r: ConflictRow): Conflict => ({
  id: r.id,
  orgId: r.org_id,
  entity: r.entity as EntityKind,
  entityId: r.entity_id,
  fields: JSON.parse(r.fields),
  local: JSON.parse(r.local),
  remote: JSON.parse(r.remote),
  base: r.base === null ? null : JSON.parse(r.base),
  deviceId: r.device_id,
  userId: r.user_id,
  createdAt: r.created_at,
  resolvedAt: r.resolved_at,
  resolution: r.resolution as Resolution | null,
  resolvedBy: r.resolved_by,
});

/** Looks a conflict up by id in any organization: only for the CLI (`conflicts show|resolve ID`). */
export async function findConflictAnyOrg(exec: Executor, id: string): Promise<Conflict | undefined> {
  if (!isUuid(id)) return undefined;
  const r = await exec.get<ConflictRow>(`SELECT ${COLS} FROM conflicts WHERE id = ?`, [id.toLowerCase()]);
  return r && toConflict(r);
}

/**
 * A conflict without its three record copies (`local`, `remote`, `base`) and who resolved it, with the
 * email of the user whose change it keeps (null when none is stored): a line of `taskmgr conflicts list`.
 */
export type ConflictSummary = Pick<Conflict, "id" | "orgId" | "entity" | "entityId" | "fields" | "createdAt" | "resolution"> & { userEmail: string | null };

/**
 * Summaries of the conflicts of every organization, or of `opts.orgId`'s, in ONE query, oldest first
 * (whatever their organization): only for the CLI (`conflicts list`). Without the record copies, which
 * are most of a conflict's bytes: 20,000 conflicts read whole took 257 MB.
 */
export async function listConflictSummariesAnyOrg(exec: Executor, opts: OrgScope & { includeResolved: boolean }): Promise<ConflictSummary[]> {
  const where: string[] = [];
  const params: string[] = [];
  if (opts.orgId !== undefined) {
    where.push("c.org_id = ?");
    params.push(opts.orgId);
  }
  if (!opts.includeResolved) where.push("c.resolved_at IS NULL");
  const rows = await exec.all<Pick<ConflictRow, "id" | "org_id" | "entity" | "entity_id" | "fields" | "created_at" | "resolution"> & { user_email: string | null }>(
    `SELECT c.id, c.org_id, c.entity, c.entity_id, c.fields, c.created_at, c.resolution, u.email AS user_email
     FROM conflicts c LEFT JOIN users u ON u.id = c.user_id AND u.org_id = c.org_id
     ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY c.created_at, c.id`,
    params,
  );
  return rows.map((r) => ({
    id: r.id,
    orgId: r.org_id,
    entity: r.entity as EntityKind,
    entityId: r.entity_id,
    fields: JSON.parse(r.fields),
    createdAt: r.created_at,
    resolution: r.resolution as Resolution | null,
    userEmail: r.user_email,
  }));
}

/** The conflicts with these ids, whatever their organization, one query per {@link IDS_PER_QUERY} (in no particular order): only for the CLI. */
export async function findConflictsAnyOrg(exec: Executor, ids: readonly string[]): Promise<Conflict[]> {
  const rows = await inChunks(ids, IDS_PER_QUERY, (chunk, marks) => exec.all<ConflictRow>(`SELECT ${COLS} FROM conflicts WHERE id IN (${marks})`, chunk));
  return rows.map(toConflict);
}

/** The `conflicts` rows of one organization (the queue a person resolves). */
export class ConflictRepo {
  constructor(
    private readonly exec: Executor,
    private readonly orgId: string,
  ) {}

  async put(c: Conflict): Promise<void> {
    await insertRow(this.exec, "conflicts", COLUMNS, {
      id: c.id,
      org_id: this.orgId,
      entity: c.entity,
      entity_id: c.entityId,
      fields: JSON.stringify(c.fields),
      local: JSON.stringify(c.local),
      remote: JSON.stringify(c.remote),
      base: c.base === null ? null : JSON.stringify(c.base),
      device_id: c.deviceId,
      user_id: c.userId,
      created_at: c.createdAt,
      resolved_at: c.resolvedAt,
      resolution: c.resolution,
      resolved_by: c.resolvedBy,
    });
  }

  async find(id: string): Promise<Conflict | undefined> {
    if (!isUuid(id)) return undefined;
    const r = await this.exec.get<ConflictRow>(`SELECT ${COLS} FROM conflicts WHERE id = ? AND org_id = ?`, [id.toLowerCase(), this.orgId]);
    return r && toConflict(r);
  }

  async mustGet(id: string): Promise<Conflict> {
    const c = await this.find(id);
    if (!c) throw notFound("conflict");
    return c;
  }

  /** One page, oldest first: unresolved ones, or all with `includeResolved`. */
  async list(includeResolved: boolean, page: PageRequest): Promise<PageResult<Conflict>> {
    const where = `WHERE org_id = ?${includeResolved ? "" : " AND resolved_at IS NULL"}`;
    return selectPage(this.exec, { columns: COLS, from: "conflicts", where, params: [this.orgId], orderBy: "ORDER BY created_at, id" }, page, toConflict);
  }

  /**
   * Marks the conflict resolved if it is still open (compare-and-set, so that of two concurrent
   * resolutions exactly one wins); false when it was already resolved.
   */
  async markResolved(id: string, resolution: Resolution, resolvedBy: string | null, at: string): Promise<boolean> {
    const { changes } = await this.exec.run(
      "UPDATE conflicts SET resolved_at = ?, resolution = ?, resolved_by = ? WHERE id = ? AND org_id = ? AND resolved_at IS NULL",
      [at, resolution, resolvedBy, id, this.orgId],
    );
    return changes === 1;
  }
}
