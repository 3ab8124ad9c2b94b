import type { Executor } from "../db/types";
import { notFound } from "../errors";
import { type EntityDef, entityDef } from "./entities";
import type { EntityKind, RecordOf } from "./model";

/** Ids per `IN (…)` query: far below both dialects' parameter limits. */
const BATCH = 500;

const LABEL: Record<EntityKind, string> = { project: "project", task: "task", comment: "comment" };

/**
 * The storage of one entity kind within one organization. Every query is scoped by
 * `org_id`, so a record of another organization is indistinguishable from a missing one.
 * Reads return tombstones too (`deleted_at` set); callers decide whether they count.
 */
export class RecordRepo<K extends EntityKind> {
  readonly def: EntityDef<K>;
  protected readonly cols: string;

  constructor(
    protected readonly exec: Executor,
    readonly orgId: string,
    readonly kind: K,
  ) {
    this.def = entityDef(kind);
    this.cols = this.def.columns.join(", ");
  }

  /** The record (live or tombstone), or undefined when it does not exist in this organization. */
  async find(id: string): Promise<RecordOf[K] | undefined> {
    const row = await this.exec.get(`SELECT ${this.cols} FROM ${this.def.table} WHERE id = ? AND org_id = ?`, [id, this.orgId]);
    return row ? this.def.fromRow(row) : undefined;
  }

  /** The record (live or tombstone); `not_found` otherwise. */
  async mustGet(id: string): Promise<RecordOf[K]> {
    const r = await this.find(id);
    if (!r) throw notFound(LABEL[this.kind]);
    return r;
  }

  /** A live (not soft-deleted) record; `not_found` for tombstones too. */
  async mustGetLive(id: string): Promise<RecordOf[K]> {
    const r = await this.find(id);
    if (!r || r.deleted_at !== null) throw notFound(LABEL[this.kind]);
    return r;
  }

  /** The records with these ids (tombstones included), one query per 500 ids; missing ids are left out. */
  async findMany(ids: readonly string[]): Promise<Map<string, RecordOf[K]>> {
    const out = new Map<string, RecordOf[K]>();
    const unique = [...new Set(ids)];
    for (let i = 0; i < unique.length; i += BATCH) {
      const chunk = unique.slice(i, i + BATCH);
      // `CAST(org_id AS TEXT)` keeps SQLite's planner on the primary key: with a plain `org_id = ?`
      // it picks the (org_id, …) indexes and scans the whole organization for every batch.
      const rows = await this.exec.all(
        `SELECT ${this.cols} FROM ${this.def.table} WHERE id IN (${chunk.map(() => "?").join(", ")}) AND CAST(org_id AS TEXT) = ?`,
        [...chunk, this.orgId],
      );
      for (const row of rows) {
        const r = this.def.fromRow(row);
        out.set(r.id, r);
      }
    }
    return out;
  }

  /** Inserts a new record; false (nothing written) when the id is already taken. Use writeRecord, not this. */
  async insert(r: RecordOf[K]): Promise<boolean> {
    const { changes } = await this.exec.run(
      `INSERT INTO ${this.def.table} (org_id, ${this.cols}) VALUES (?, ${this.def.columns.map(() => "?").join(", ")}) ON CONFLICT (id) DO NOTHING`,
      [this.orgId, ...this.def.toRow(r)],
    );
    return changes === 1;
  }

  /**
   * Overwrites the record if its stored version is still `expectedVersion` (atomic compare-and-set:
   * `UPDATE … WHERE id AND org_id AND version`); false when another write got there first.
   * Use writeRecord, not this.
   */
  async updateIfVersion(r: RecordOf[K], expectedVersion: number): Promise<boolean> {
    const cols = this.def.columns.filter((c) => c !== "id");
    const values = this.def.toRow(r).filter((_, i) => this.def.columns[i] !== "id");
    const { changes } = await this.exec.run(
      `UPDATE ${this.def.table} SET ${cols.map((c) => `${c} = ?`).join(", ")} WHERE id = ? AND org_id = ? AND version = ?`,
      [...values, r.id, this.orgId, expectedVersion],
    );
    return changes === 1;
  }
}

/** The repository of any entity kind in one organization (for generic code such as sync). */
export const recordRepo = <K extends EntityKind>(exec: Executor, orgId: string, kind: K) => new RecordRepo(exec, orgId, kind);
