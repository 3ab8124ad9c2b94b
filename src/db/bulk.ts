/**
 * Multi-row statements for both dialects: many rows in as few statements (on Postgres: round
 * trips) as the database allows.
 *
 * - `INSERT … VALUES (…), (…), …` in chunks whose row counts are powers of two (at most 256 rows,
 *   and at most 32,766 bound parameters on SQLite, 65,535 on Postgres), so that only a handful of
 *   distinct statements are ever compiled and cached per table. On Postgres the chunks of one call
 *   are sent together (pipelined on the transaction's connection): one round trip's wait.
 * - Postgres, plain appends (no ON CONFLICT) of 64 rows or more: `COPY … FROM STDIN`, measured 2–3×
 *   cheaper than multi-row INSERTs (and than `INSERT … SELECT FROM unnest(arrays)`) for wide rows
 *   such as history; below that the INSERT's single round trip wins.
 */
import type { Executor, SqlValue } from "./types";

/** The SQL type of a column, for Postgres' typed arrays (SQLite ignores it). */
export type ColumnType = "text" | "integer" | "bigint" | "double";

/** A table's columns in insert order with their types. */
export interface BulkColumns {
  readonly names: readonly string[];
  readonly types: readonly ColumnType[];
}

/** Builds a {@link BulkColumns} from `[name, type]` pairs. */
export function columns(spec: readonly (readonly [string, ColumnType])[]): BulkColumns {
  return { names: spec.map((c) => c[0]), types: spec.map((c) => c[1]) };
}

/** SQLite's default SQLITE_MAX_VARIABLE_NUMBER (since 3.32). */
export const SQLITE_MAX_PARAMS = 32_766;
/** Postgres' limit of bind parameters per statement. */
export const PG_MAX_PARAMS = 65_535;
/** Postgres: fewer rows go in a multi-row INSERT (one round trip; a COPY takes two and a stream). */
const COPY_MIN_ROWS = 64;
/** Rows per statement at most (beyond this, bigger statements no longer pay). */
const MAX_ROWS = 256;

const PG_CAST: Record<ColumnType, string> = { text: "TEXT", integer: "INTEGER", bigint: "BIGINT", double: "DOUBLE PRECISION" };

/**
 * Inserts `rows` (values in `cols` order) into `table`; `suffix` is appended to each statement
 * (e.g. `ON CONFLICT (id) DO NOTHING`). Returns the number of rows inserted.
 */
export async function insertRows(exec: Executor, table: string, cols: BulkColumns, rows: readonly SqlValue[][], suffix = ""): Promise<number> {
  if (rows.length === 0) return 0;
  if (suffix === "" && exec.copyRows && rows.length >= COPY_MIN_ROWS) {
    await exec.copyRows(table, cols.names, rows);
    return rows.length;
  }
  const names = cols.names.join(", ");
  return inValuesChunks(exec, cols, rows, (values) => `INSERT INTO ${table} (${names}) VALUES ${values} ${suffix}`);
}

/**
 * Deletes the rows whose `cols` equal one of `keys` (values in `cols` order), with
 * `DELETE … WHERE (a, b) IN (VALUES (…), …)` in the same chunks as {@link insertRows}: `cols`
 * should lead an index (a primary key) for each key to be one lookup. Returns the rows deleted.
 */
export async function deleteRows(exec: Executor, table: string, cols: BulkColumns, keys: readonly SqlValue[][]): Promise<number> {
  const target = `(${cols.names.join(", ")})`;
  return inValuesChunks(exec, cols, keys, (values) => `DELETE FROM ${table} WHERE ${target} IN (VALUES ${values})`);
}

/**
 * Runs `statement(values)` once per chunk of `rows`, `values` being the chunk's `(?, …), (?, …)` list
 * (on Postgres typed: it types a VALUES list from its first row, and typed placeholders keep numbers
 * numbers; the chunks are sent together, pipelined). Returns the rows changed.
 */
async function inValuesChunks(exec: Executor, cols: BulkColumns, rows: readonly SqlValue[][], statement: (values: string) => string): Promise<number> {
  if (rows.length === 0) return 0;
  const pg = exec.dialect === "postgres";
  const tuple = `(${cols.types.map((t) => (pg && t !== "text" ? `CAST(? AS ${PG_CAST[t]})` : "?")).join(", ")})`;
  const statements = chunks(rows.length, cols.names.length, pg ? PG_MAX_PARAMS : SQLITE_MAX_PARAMS).map(([start, n]) => {
    const params: SqlValue[] = [];
    for (let i = start; i < start + n; i++) for (const v of rows[i]) params.push(v);
    return () => exec.run(statement(Array(n).fill(tuple).join(", ")), params);
  });
  let changed = 0;
  if (pg) for (const { changes } of await Promise.all(statements.map((s) => s()))) changed += changes;
  else for (const s of statements) changed += (await s()).changes;
  return changed;
}

/**
 * `[start, count]` chunks covering `total` rows of `width` values: as many of the largest allowed
 * power of two as fit, then the binary decomposition of the rest — at most log2(256) + 1 distinct sizes.
 */
export function chunks(total: number, width: number, maxParams = SQLITE_MAX_PARAMS): [number, number][] {
  let cap = 1;
  const limit = Math.min(MAX_ROWS, Math.floor(maxParams / Math.max(1, width)));
  while (cap * 2 <= limit) cap *= 2;
  const out: [number, number][] = [];
  let start = 0;
  while (total - start >= cap) {
    out.push([start, cap]);
    start += cap;
  }
  for (let size = cap >> 1; size >= 1; size >>= 1) {
    if (total - start >= size) {
      out.push([start, size]);
      start += size;
    }
  }
  return out;
}
