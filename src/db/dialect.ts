/**
 * The few SQL expressions and capabilities that differ between the dialects, for statements
 * otherwise written once (`?` placeholders, portable types): feature code asks `sqlOf(exec)` for
 * them instead of testing which database it runs on.
 */
import type { Executor } from "./types";

export interface SqlDialect {
  /**
   * Rows can be locked for the rest of the transaction (`FOR UPDATE`). Postgres; on SQLite a write
   * transaction already excludes every other writer, so there is nothing to lock.
   */
  readonly rowLocks: boolean;
  /**
   * `expr` case-folded for a comparison with `term` (which is folded alike): SQLite's `LOWER`
   * changes ASCII letters only, so it uses `fold_case` (JavaScript's `toLowerCase`, defined on every
   * connection, src/db/sqlite.ts); Postgres lowers as the database's locale says, and reads the
   * Greek final sigma as σ when the term is not ASCII, as `fold_case` does.
   */
  fold(expr: string, term: string): string;
  /**
   * Whether the text `needle` occurs in the text `haystack` (both SQL expressions), literally: no
   * wildcard. `instr` / `strpos`, not `LIKE '%…%'`: SQLite's `LIKE` matches a long term against a long
   * text character by character with backtracking (a 500-character search over 100 descriptions of
   * 100,000 characters held the event loop, and so every request, for 5.6 s); `instr` compares bytes
   * (0.1 s), and Postgres' `strpos` likewise beats its `LIKE` (4 ms against 85 ms).
   */
  contains(haystack: string, needle: string): string;
  /** A text column's value as its UTF-8 bytes (read raw: `Executor.rawRows`). */
  bytes(column: string): string;
}

const SQLITE: SqlDialect = {
  rowLocks: false,
  fold: (expr) => `fold_case(${expr})`,
  contains: (haystack, needle) => `instr(${haystack}, ${needle}) > 0`,
  bytes: (column) => `CAST(${column} AS BLOB)`,
};

const POSTGRES: SqlDialect = {
  rowLocks: true,
  fold: (expr, term) => (/^[\x00-\x7f]*$/.test(term) ? `LOWER(${expr})` : `translate(LOWER(${expr}), 'ς', 'σ')`),
  contains: (haystack, needle) => `strpos(${haystack}, ${needle}) > 0`,
  // postgres.js reads every column of `rawRows` as the bytes of its text form.
  bytes: (column) => column,
};

/** The dialect of the database behind `exec`. */
export const sqlOf = (exec: Pick<Executor, "dialect">): SqlDialect => (exec.dialect === "postgres" ? POSTGRES : SQLITE);
