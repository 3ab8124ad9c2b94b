import { type BulkColumns, columns, insertRows, rowsByKey, updateRowIfVersion, updateRowsIfVersion, type VersionedRow } from "../db/bulk";
import type { PageSelect } from "../db/page";
import type { Executor, SqlValue } from "../db/types";
import { notFound } from "../errors";
import { isUuid } from "../ids";
import { type EntityDef, entityDef } from "./entities";
import { ENTITY_KINDS, type EntityKind, type RecordOf } from "./model";

const typedColumns = (kind: EntityKind) => entityDef(kind).typedColumns;

/** Per entity: its columns, typed (compare-and-set writes). */
const RECORD_COLUMNS = Object.fromEntries(ENTITY_KINDS.map((k) => [k, columns(typedColumns(k))])) as Record<EntityKind, BulkColumns>;

/** Per entity: `org_id` and its columns, typed (multi-row inserts). */
const INSERT_COLUMNS = Object.fromEntries(ENTITY_KINDS.map((k) => [k, columns([["org_id", "text"], ...typedColumns(k)])])) as Record<EntityKind, BulkColumns>;

/** Column values a record must also have ({@link RecordRepo.isLive}). */
export type LiveMatch<K extends EntityKind> = Partial<Record<keyof RecordOf[K] & string, SqlValue>>;

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

  /** A list page's rows read by id, scoped to this organization ({@link PageSelect.byKey}). */
  protected get pageById(): NonNullable<PageSelect["byKey"]> {
    return { key: "id", scope: "CAST(org_id AS TEXT) = ?", scopeParams: [this.orgId] };
  }

  /** The record (live or tombstone), or undefined when it does not exist in this organization (an id that is not a UUID never does). */
  async find(id: string): Promise<RecordOf[K] | undefined> {
    if (!isUuid(id)) return undefined; // nothing to ask the database (a NUL in a path would make Postgres fail)
    const row = await this.exec.get(`SELECT ${this.cols} FROM ${this.def.table} WHERE id = ? AND org_id = ?`, [id, this.orgId]);
    return row ? this.def.fromRow(row) : undefined;
  }

  /** The record (live or tombstone); `not_found` otherwise. */
  async mustGet(id: string): Promise<RecordOf[K]> {
    const r = await this.find(id);
    if (!r) throw notFound(this.kind);
    return r;
  }

  /** A live (not soft-deleted) record; `not_found` for tombstones too. */
  async mustGetLive(id: string): Promise<RecordOf[K]> {
    const r = await this.find(id);
    if (!r || r.deleted_at !== null) throw notFound(this.kind);
    return r;
  }

  /**
   * Whether the organization has this record live (not soft-deleted), with the column values of
   * `match` when given (a reply's parent: a comment on the reply's task). Reads the id only: for
   * reference checks (src/records/refs.ts).
   */
  async isLive(id: string, match: LiveMatch<K> = {}): Promise<boolean> {
    const params: SqlValue[] = [id, this.orgId];
    let also = "";
    for (const [column, value] of Object.entries(match) as [string, SqlValue][]) {
      if (!this.def.columns.includes(column)) throw new Error(`isLive: ${column} is not a column of ${this.def.table}`);
      also += ` AND ${column} = ?`;
      params.push(value);
    }
    return (await this.exec.get(`SELECT id FROM ${this.def.table} WHERE id = ? AND org_id = ?${also} AND deleted_at IS NULL`, params)) !== undefined;
  }

  /**
   * The records with these ids (tombstones included), one query per {@link IDS_PER_QUERY} ids; missing ids are left out.
   * `forUpdate` (Postgres): the rows are also locked until COMMIT, in id order (SQLite: one writer, nothing to lock).
   */
  async findMany(ids: readonly string[], opts: { forUpdate?: boolean } = {}): Promise<Map<string, RecordOf[K]>> {
    const out = new Map<string, RecordOf[K]>();
    for (const row of await this.findRows(ids, opts)) {
      const r = this.def.fromRow(row);
      out.set(r.id, r);
    }
    return out;
  }

  /** Like {@link findMany}, the rows as the database returns them (`def.fromRow` maps them). */
  private findRows(ids: readonly string[], opts: { forUpdate?: boolean } = {}): Promise<Record<string, unknown>[]> {
    // `CAST(org_id AS TEXT)` keeps SQLite's planner on the primary key: with a plain `org_id = ?`
    // it picks the (org_id, …) indexes and scans the whole organization for every batch.
    return rowsByKey(this.exec, ids.filter(isUuid), { columns: this.cols, table: this.def.table, key: "id", where: "CAST(org_id AS TEXT) = ?", params: [this.orgId], forUpdate: opts.forUpdate });
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
   * Overwrites the record if its stored version is still `expectedVersion` (an atomic compare-and-set,
   * {@link updateRowIfVersion}); false when another write got there first. With `before` (the stored
   * record), only the columns whose value changes are written. Use writeRecord, not this.
   */
  async updateIfVersion(r: RecordOf[K], expectedVersion: number, before?: RecordOf[K]): Promise<boolean> {
    return updateRowIfVersion(this.exec, this.def.table, this.orgId, RECORD_COLUMNS[this.kind], this.versioned(r, expectedVersion, before));
  }

  /** Inserts new records (multi-row); answers how many were inserted (an id already taken is skipped). Use storeWrites, not this. */
  async insertMany(records: readonly RecordOf[K][]): Promise<number> {
    const cols = INSERT_COLUMNS[this.kind];
    // Sorted by id: concurrent batches inserting the same new ids take their index locks in one order.
    const rows = [...records].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map((r) => [this.orgId, ...this.def.toRow(r)]);
    return insertRows(this.exec, this.def.table, cols, rows, "ON CONFLICT (id) DO NOTHING");
  }

  /** Compare-and-set of many records at once, each against its own expected version ({@link updateRowsIfVersion}); answers how many were updated. Use storeWrites, not this. */
  async updateManyIfVersion(items: readonly { record: RecordOf[K]; expected: number; before?: RecordOf[K] }[]): Promise<number> {
    const rows = items.map(({ record, expected, before }) => this.versioned(record, expected, before));
    return updateRowsIfVersion(this.exec, this.def.table, this.orgId, RECORD_COLUMNS[this.kind], rows);
  }

  private versioned(r: RecordOf[K], expected: number, before?: RecordOf[K]): VersionedRow {
    return { values: this.def.toRow(r), expected, before: before ? this.def.toRow(before) : null };
  }
}
