/**
 * One table row as a typed object: its column list derived from the row type, and a one-row INSERT
 * built from it. A column added to a row type then fails to compile until it is listed, and an
 * INSERT can neither miscount its `?`s nor put a value under another column's name.
 * (Many rows at once: src/db/bulk.ts.)
 */
import type { Executor, SqlValue } from "./types";

/** A row type's column names, in the order {@link columnsOf} was given them. */
export type Columns<R> = readonly (keyof R & string)[];

/**
 * The columns of row type `R`: every key of `R` and no other, checked by the compiler (a missing or
 * unknown key of `spec` does not compile), in `spec`'s order. `COLUMNS.join(", ")` is a SELECT list.
 */
export function columnsOf<R>(spec: { readonly [K in keyof R & string]: true }): Columns<R> {
  return Object.keys(spec) as (keyof R & string)[];
}

/**
 * `INSERT INTO table (columns) VALUES (?, …) suffix`, each value read from `row` by its column's
 * name; `suffix` e.g. `ON CONFLICT (id) DO NOTHING`. Answers the rows inserted (0 or 1).
 */
export async function insertRow<R extends { readonly [K in keyof R]: SqlValue }>(
  exec: Executor,
  table: string,
  columns: Columns<R>,
  row: R,
  suffix = "",
): Promise<number> {
  const sql = `INSERT INTO ${table} (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")})${suffix === "" ? "" : ` ${suffix}`}`;
  return (await exec.run(sql, columns.map((c) => row[c]))).changes;
}
