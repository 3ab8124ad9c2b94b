/**
 * Multi-row statements for both dialects: many rows in as few statements as the database allows.
 *
 * - SQLite: `INSERT … VALUES (…), (…), …` in chunks whose row counts are powers of two (at most 256
 *   rows, 32,766 bound parameters and {@link SQLITE_STATEMENT_CHARS} of text), so that only a handful
 *   of distinct statements are ever compiled and cached per table.
 * - Postgres: ONE statement whatever the number of rows, its rows in ONE `jsonb` parameter
 *   ({@link pgRowSource}). postgres.js encodes every bound parameter on its own (about 3 µs each
 *   here), and the thousands of a multi-row VALUES list were the largest part of the server's time
 *   in a push; one JSON text also replaced `COPY … FROM STDIN`, at the same speed, with one round trip.
 *   Rows of large values (records with long texts) go as plain bound parameters instead
 *   ({@link pgRowBatches}): for them Postgres' parsing of the `jsonb` text cost more than the parameters.
 */
import { sqlOf } from "./dialect";
import type { Executor, SqlValue } from "./types";

/** The SQL type of a column: what Postgres casts its JSON value to (SQLite ignores it). */
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
/** Rows per statement at most (beyond this, bigger statements no longer pay). */
const MAX_ROWS = 256;

const PG_CAST: Record<ColumnType, string> = { text: "TEXT", integer: "INTEGER", bigint: "BIGINT", double: "DOUBLE PRECISION" };

/**
 * Inserts `rows` (values in `cols` order) into `table`; `suffix` is appended to each statement
 * (e.g. `ON CONFLICT (id) DO NOTHING`). Returns the number of rows inserted.
 */
export async function insertRows(exec: Executor, table: string, cols: BulkColumns, rows: readonly SqlValue[][], suffix = ""): Promise<number> {
  if (rows.length === 0) return 0;
  const names = cols.names.join(", ");
  return forRows(exec, cols, rows, (values) => `INSERT INTO ${table} (${names}) ${values} ${suffix}`);
}

/**
 * Deletes the rows whose `cols` equal one of `keys` (values in `cols` order), with
 * `DELETE … WHERE (a, b) IN (rows)`, the rows passed as by {@link insertRows}: `cols`
 * should lead an index (a primary key) for each key to be one lookup. Returns the rows deleted.
 */
export async function deleteRows(exec: Executor, table: string, cols: BulkColumns, keys: readonly SqlValue[][]): Promise<number> {
  const target = `(${cols.names.join(", ")})`;
  return forRows(exec, cols, keys, (values) => `DELETE FROM ${table} WHERE ${target} IN (${values})`);
}

/**
 * Runs `statement(values)` for `rows`, `values` standing where a `VALUES (…), (…)` list would.
 * SQLite: once per chunk, `values` being the chunk's `VALUES (?, …), (?, …)`. Postgres: once, `values`
 * being {@link pgRowSource} over ONE parameter, the rows as a JSON array (see there). Returns the rows changed.
 */
async function forRows(exec: Executor, cols: BulkColumns, rows: readonly SqlValue[][], statement: (values: string) => string): Promise<number> {
  if (rows.length === 0) return 0;
  if (exec.dialect === "postgres") {
    let changed = 0;
    for (const batch of pgRowBatches(rows, cols.types)) changed += (await exec.run(statement(batch.source), batch.params)).changes;
    return changed;
  }
  const tuple = `(${cols.names.map(() => "?").join(", ")})`;
  let changed = 0;
  for (const [runStart, runEnd] of runsOfChars(rows, SQLITE_STATEMENT_CHARS.max)) {
    for (const [first, n] of chunks(runEnd - runStart, cols.names.length, SQLITE_MAX_PARAMS)) {
      const start = runStart + first;
      const params: SqlValue[] = [];
      for (let i = start; i < start + n; i++) for (const v of rows[i]) params.push(v);
      changed += (await exec.run(statement(`VALUES ${Array(n).fill(tuple).join(", ")}`), params)).changes;
    }
  }
  return changed;
}

/**
 * SQLite: the most characters of text one multi-row statement binds (a row above it alone is one of
 * its own). bun:sqlite runs a statement without letting the event loop take a turn, so a statement
 * of 256 history rows of records with long descriptions (about 80 MB) held the whole process — every
 * other request — for a second; bounded, the transaction lets other requests in between its
 * statements (src/db/sqlite-turns.ts).
 */
export const SQLITE_STATEMENT_CHARS = { max: 1024 * 1024 };

/** Characters of text in a row's values. */
function charsOf(row: readonly SqlValue[]): number {
  let n = 0;
  for (const v of row) if (typeof v === "string") n += v.length;
  return n;
}

/**
 * `rows` cut into consecutive runs (`[start, end)`) of at most `maxChars` characters of text each, a
 * row above it alone being a run of its own: as few runs as the limit allows, one for rows that fit.
 */
export function runsOfChars(rows: readonly (readonly SqlValue[])[], maxChars: number): [number, number][] {
  const runs: [number, number][] = [];
  let start = 0;
  let chars = 0;
  for (let i = 0; i < rows.length; i++) {
    const rowChars = charsOf(rows[i]!);
    if (i > start && chars + rowChars > maxChars) {
      runs.push([start, i]);
      start = i;
      chars = 0;
    }
    chars += rowChars;
  }
  if (rows.length > start) runs.push([start, rows.length]);
  return runs;
}

/** Ids per `IN (…)` lookup ({@link inChunks}): far below both dialects' parameter limits (SQLite 32,766, Postgres 65,535). */
export const IDS_PER_QUERY = 500;

/**
 * A batched lookup: `items` de-duplicated (by `key` when given, else by value; first position kept),
 * split into chunks of at most `size`, and `query(chunk, marks)` run once per chunk, `marks` being the
 * chunk's `?, ?, …` for an `IN (…)`; answers every chunk's rows in order. `size` bounds the parameters
 * of one statement: pass fewer items per chunk when each one binds several. No query for no items.
 */
export async function inChunks<T, R>(
  items: Iterable<T>,
  size: number,
  query: (chunk: T[], marks: string) => Promise<R[]>,
  key?: (item: T) => string,
): Promise<R[]> {
  const unique = key ? [...new Map([...items].map((i) => [key(i), i] as const)).values()] : [...new Set(items)];
  const out: R[] = [];
  for (let i = 0; i < unique.length; i += size) {
    const chunk = unique.slice(i, i + size);
    for (const row of await query(chunk, Array(chunk.length).fill("?").join(", "))) out.push(row);
  }
  return out;
}

/** A lookup of rows by one text key ({@link rowsByKey}). */
export interface KeyLookup {
  /** The columns to read (`SELECT` list). */
  columns: string;
  table: string;
  /** The key column: with the equalities of `where`, the columns of a unique index (one probe per key). */
  key: string;
  /** The other conditions, `?` placeholders standing for `params`. */
  where: string;
  params: readonly SqlValue[];
  /** Postgres: each row is also locked until COMMIT, in key order (SQLite: one writer, nothing to lock). */
  forUpdate?: boolean;
}

/**
 * The rows whose `key` is one of `keys` (de-duplicated) and that match `where`. SQLite: one
 * `key IN (?, …)` query per {@link IDS_PER_QUERY} keys ({@link inChunks}). Postgres: ONE prepared
 * statement whatever the number of keys, the keys in one `jsonb` parameter, each row read by its own
 * index probe, in the order of the keys (sorted when locking: the order the batch's writes sort their
 * rows in, and `ORDER BY id`'s for the lower-case UUIDs stored): a LATERAL subquery per key, which
 * `OFFSET 0` keeps from being flattened into a join whose plan the statistics would choose. No
 * `LIMIT` on the keys (unlike {@link pgRowSource}): with one, a lookup of fewer than 10 keys costs
 * less planned with its values than the generic plan, so Postgres planned it again at every call
 * (0.47 against 0.15 ms for one key). With `IN (…)`, and no statistics (autovacuum off, a fresh database),
 * Postgres read all the organization's tasks and all the device's `sync_changes` and filtered them
 * against the list (with statistics, `sync_changes` whole): 500 edits into 10,000 tasks spent 12 ms
 * locking their tasks and 8 ms finding no `sync_changes` row, growing with the data; and each long
 * list was sent unnamed, parsed and described at every call (`plannedWithValues`, src/db/postgres.ts).
 */
export async function rowsByKey<R>(exec: Executor, keys: Iterable<string>, q: KeyLookup): Promise<R[]> {
  const lock = q.forUpdate === true && sqlOf(exec).rowLocks;
  if (exec.dialect !== "postgres") {
    return inChunks(keys, IDS_PER_QUERY, (chunk, marks) =>
      exec.all<R>(`SELECT ${q.columns} FROM ${q.table} WHERE ${q.key} IN (${marks}) AND ${q.where}`, [...chunk, ...q.params]),
    );
  }
  const unique = [...new Set(keys)];
  if (unique.length === 0) return [];
  if (lock) unique.sort();
  const [json] = pgRowsParams(unique.map((k) => [k]));
  const one = `SELECT ${q.columns} FROM ${q.table} WHERE ${q.key} = k.e->>0 AND ${q.where} OFFSET 0${lock ? " FOR UPDATE" : ""}`;
  return exec.all<R>(`SELECT r.* FROM jsonb_array_elements(CAST(CAST(? AS TEXT) AS jsonb)) AS k(e) CROSS JOIN LATERAL (${one}) AS r`, [json, ...q.params]);
}

/**
 * The ids among `ids` of rows of `table` in organization `orgId`, read by key ({@link rowsByKey}; none
 * for none): which of the users, devices… a request names are the organization's.
 * `CAST(org_id AS TEXT)` keeps SQLite's planner on the primary key (as `findMany` does): with a plain
 * `org_id = ?` it read every device of the organization along `devices_org` at each push (6,000
 * devices: 0.46 ms a lookup against 0.01 ms by id).
 */
export async function idsInOrg(exec: Executor, table: "users" | "devices", orgId: string, ids: Iterable<string>): Promise<Set<string>> {
  const rows = await rowsByKey<{ id: string }>(exec, ids, { columns: "id", table, key: "id", where: "CAST(org_id AS TEXT) = ?", params: [orgId] });
  return new Set(rows.map((r) => r.id));
}

/** A row to overwrite if it still has `expected` as its `version`: its new `values` in column order, and its stored ones (`before`) when known. */
export interface VersionedRow {
  values: readonly SqlValue[];
  expected: number;
  /** The stored values: only the columns whose value changes are then written (null: all of them). */
  before: readonly SqlValue[] | null;
}

/**
 * Overwrites one row of `table` (columns `cols`, `id` among them) in organization `orgId` if its
 * stored `version` is still `row.expected`: an atomic compare-and-set (`UPDATE … WHERE id AND org_id
 * AND version`), writing only the columns whose value changes (SQLite then maintains only the
 * indexes over those). False when another write got there first.
 */
export async function updateRowIfVersion(exec: Executor, table: string, orgId: string, cols: BulkColumns, row: VersionedRow): Promise<boolean> {
  const set: string[] = [];
  const params: SqlValue[] = [];
  cols.names.forEach((c, i) => {
    if (c === "id" || (row.before !== null && row.before[i] === row.values[i])) return;
    set.push(`${c} = ?`);
    params.push(row.values[i]);
  });
  if (set.length === 0) set.push("version = version"); // nothing differs (cannot happen: the version moves)
  const id = row.values[idColumn(cols)];
  const { changes } = await exec.run(`UPDATE ${table} SET ${set.join(", ")} WHERE id = ? AND org_id = ? AND version = ?`, [...params, id, orgId, row.expected]);
  return changes === 1;
}

/**
 * {@link updateRowIfVersion} of many rows, each against its own expected version; answers how many
 * were updated. Postgres: ONE `UPDATE … FROM (rows)` statement, the rows in one parameter
 * ({@link pgRowSource}), sending and setting only the columns some row changes, rows in id order
 * (the order of the locks a batch takes). SQLite: one prepared statement per row (no round trips
 * there, only each row's changed columns, and its planner joins a row source poorly).
 */
export async function updateRowsIfVersion(exec: Executor, table: string, orgId: string, cols: BulkColumns, rows: readonly VersionedRow[]): Promise<number> {
  if (rows.length === 0) return 0;
  const idIndex = idColumn(cols);
  if (exec.dialect !== "postgres") {
    let n = 0;
    for (const row of rows) if (await updateRowIfVersion(exec, table, orgId, cols, row)) n++;
    return n;
  }
  const idOf = (r: VersionedRow) => r.values[idIndex] as string;
  const sorted = [...rows].sort((a, b) => (idOf(a) < idOf(b) ? -1 : idOf(a) > idOf(b) ? 1 : 0));
  const changed = cols.names
    .map((c, i) => ({ c, i }))
    .filter(({ c, i }) => c !== "id" && sorted.some((r) => r.before === null || r.before[i] !== r.values[i]));
  const names = ["expected", "id", ...changed.map((x) => x.c)];
  const types: ColumnType[] = ["integer", "text", ...changed.map(({ i }) => cols.types[i] as ColumnType)];
  const values = sorted.map((r): SqlValue[] => [r.expected, idOf(r), ...changed.map(({ i }) => r.values[i] as SqlValue)]);
  const set = changed.length ? changed.map(({ c }) => `${c} = v.${c}`).join(", ") : "version = t.version";
  let updated = 0;
  for (const batch of pgRowBatches(values, types)) {
    const { changes } = await exec.run(
      `UPDATE ${table} AS t SET ${set} FROM (${batch.source}) AS v(${names.join(", ")})
       WHERE t.id = v.id AND t.org_id = ? AND t.version = v.expected`,
      [...batch.params, orgId],
    );
    updated += changes;
  }
  return updated;
}

/** The position of the `id` column, which a compare-and-set needs. */
function idColumn(cols: BulkColumns): number {
  const i = cols.names.indexOf("id");
  if (i < 0) throw new Error("a compare-and-set needs an id column");
  return i;
}

const pgSources = new Map<string, string>();

/**
 * Postgres: a row source that can stand wherever a `VALUES (…), (…)` list can (after `INSERT INTO t (…)`,
 * in `IN (…)`, as `FROM (…) AS v(…)`), reading its rows from ONE `jsonb` parameter, column `i` of each
 * row typed by `types[i]`, followed by a `LIMIT` parameter holding their number ({@link pgRowsParams}
 * answers both). One statement whatever the number of rows, prepared once, and one parameter for
 * the rows: postgres.js encodes each bound parameter on its own, and for the thousands of a
 * multi-row VALUES list that was the largest part of the server's time in a push.
 *
 * The `LIMIT` caps the planner's estimate of the rows: it assumes 100 for any set-returning function
 * (a `LIMIT` can lower that, never raise it; a generic plan takes an unknown `LIMIT` for 10 rows),
 * and with 100 it joined a small push's rows to the table by scanning the whole organization's rows
 * (20 edits into 2,000 tasks: 8.7 ms of `Seq Scan` instead of 20 lookups by key).
 */
export function pgRowSource(types: readonly ColumnType[]): string {
  const key = types.join(",");
  let sql = pgSources.get(key);
  if (sql === undefined) {
    const cols = types.map((t, i) => (t === "text" ? `e->>${i}` : `CAST(e->>${i} AS ${PG_CAST[t]})`));
    pgSources.set(key, (sql = `SELECT ${cols.join(", ")} FROM jsonb_array_elements(CAST(CAST(? AS TEXT) AS jsonb)) AS e LIMIT ?`));
  }
  return sql;
}

/**
 * The two parameters of {@link pgRowSource}: `rows` as a JSON array of arrays, and their number. A
 * string with an unpaired surrogate (which JSON.stringify writes as a `\ud800` escape, and `jsonb`
 * refuses) goes in with U+FFFD in its place: what UTF-8, hence a bound parameter or SQLite, stores for it anyway.
 */
export function pgRowsParams(rows: readonly SqlValue[][]): [json: string, count: number] {
  const json = JSON.stringify(rows);
  const wellFormed = LONE_SURROGATE_ESCAPE.test(json) ? JSON.stringify(rows, (_key, v: unknown) => (typeof v === "string" ? v.toWellFormed() : v)) : json;
  return [wellFormed, rows.length];
}

/**
 * The most JSON text (in UTF-16 units, as JavaScript counts a string's length) that one
 * {@link pgRowSource} parameter carries. Postgres refuses a `jsonb` value over 256 MB ("total size of
 * jsonb array elements exceeds the maximum"), and a text of n units is at most 3n bytes of UTF-8:
 * rows beyond this go in further statements ({@link pgRowParts}). A push of small edits to many
 * records with long descriptions stores a whole record in each history and feed row, which one
 * statement could not take (and every retry of that push failed alike). Tests lower it.
 */
export const PG_ROWS_JSON = {
  maxChars: 32 * 1024 * 1024,
  /**
   * Rows whose values average at least this many characters of text go as plain bound parameters
   * ({@link pgRowBatches}), not through the `jsonb` parameter. Tests lower it.
   */
  bindFromChars: 4096,
};

/** One statement's share of a multi-row write on Postgres: its rows and their {@link pgRowsParams}. */
export interface PgRowPart {
  rows: readonly SqlValue[][];
  params: [json: string, count: number];
}

/**
 * `rows` in consecutive parts, in order, each within {@link PG_ROWS_JSON}'s limit (a row above it
 * alone is a part of its own): one part, costing nothing more than {@link pgRowsParams}, whenever
 * they fit together. Otherwise each row is written as JSON once more and the parts are cut from those texts.
 */
export function pgRowParts(rows: readonly SqlValue[][]): PgRowPart[] {
  const params = pgRowsParams(rows);
  if (params[0].length <= PG_ROWS_JSON.maxChars || rows.length <= 1) return [{ rows, params }];
  const texts = rows.map((row) => pgRowsParams([row])[0].slice(1, -1));
  const parts: PgRowPart[] = [];
  let start = 0;
  let chars = 2;
  const cut = (end: number) => {
    parts.push({ rows: rows.slice(start, end), params: [`[${texts.slice(start, end).join(",")}]`, end - start] });
    start = end;
    chars = 2;
  };
  for (let i = 0; i < rows.length; i++) {
    if (i > start && chars + 1 + texts[i]!.length > PG_ROWS_JSON.maxChars) cut(i);
    chars += (i > start ? 1 : 0) + texts[i]!.length;
  }
  cut(rows.length);
  return parts;
}

/** One Postgres statement's rows ({@link pgRowBatches}): the row source that stands where a `VALUES` list would, and its parameters. */
export interface PgRowBatch {
  rows: readonly SqlValue[][];
  /** The row source's SQL: {@link pgRowSource}, or a `VALUES` list of bound parameters. */
  source: string;
  /** Its parameters, in order. */
  params: SqlValue[];
}

/** Bound parameters of one statement at most (Postgres takes 65,535; a few are left to the statement around the rows). */
const PG_MAX_BOUND = 65_000;

/**
 * `rows` (values typed by `types`) in statements, in order: through {@link pgRowSource}'s one `jsonb`
 * parameter ({@link pgRowParts}), or — when their values average {@link PG_ROWS_JSON}`.bindFromChars`
 * characters of text or more — as a `VALUES` list of bound parameters, each value cast to its
 * column's type. For such rows (small edits of records with long descriptions: every history and feed
 * row holds the whole record) the `jsonb` way wrote every value into a JSON text, escaped again the
 * JSON texts among them, and had Postgres parse it all into `jsonb` and take it apart: 2–4 times the
 * time of binding them, and the texts' copies in this process. A statement binds at most
 * {@link PG_ROWS_JSON}`.maxChars` characters (a row above it alone is one of its own) and a power of two
 * of rows, so that few distinct statements are prepared. The values are stored alike either way (an
 * unpaired surrogate as U+FFFD, what {@link pgRowsParams} makes of it).
 */
export function pgRowBatches(rows: readonly SqlValue[][], types: readonly ColumnType[]): PgRowBatch[] {
  let chars = 0;
  for (const row of rows) chars += charsOf(row);
  if (rows.length === 0 || chars < rows.length * PG_ROWS_JSON.bindFromChars) {
    const source = pgRowSource(types);
    return pgRowParts(rows).map((part) => ({ rows: part.rows, source, params: part.params }));
  }
  const out: PgRowBatch[] = [];
  for (const [start, end] of runsOfChars(rows, PG_ROWS_JSON.maxChars)) {
    for (const [first, n] of chunks(end - start, types.length, PG_MAX_BOUND)) {
      const part = rows.slice(start + first, start + first + n);
      const params: SqlValue[] = [];
      for (const row of part) for (const v of row) params.push(typeof v === "string" && !v.isWellFormed() ? v.toWellFormed() : v);
      out.push({ rows: part, source: pgValuesSource(types, n), params });
    }
  }
  return out;
}

const pgValuesSources = new Map<string, string>();

/** `VALUES (CAST(? AS …), …), …`: `n` rows of bound parameters typed by `types` ({@link pgRowBatches}). */
function pgValuesSource(types: readonly ColumnType[], n: number): string {
  const key = `${types.join(",")}:${n}`;
  let sql = pgValuesSources.get(key);
  if (sql === undefined) {
    const tuple = `(${types.map((t) => `CAST(? AS ${PG_CAST[t]})`).join(", ")})`;
    pgValuesSources.set(key, (sql = `VALUES ${Array(n).fill(tuple).join(", ")}`));
  }
  return sql;
}

/** What JSON.stringify writes for an unpaired surrogate (also matches an escaped backslash before such text: then only the slower path runs). */
const LONE_SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;

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
