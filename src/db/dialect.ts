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
   * A literal substring test for `term` (no wildcard): `test(haystack, needle)` is the SQL condition
   * for two SQL expressions, `needle` being bound to `param`. A long term is never matched with
   * `LIKE '%…%'`, which matches it against a long text character by character with backtracking (a
   * 500-character term over 100 descriptions of 100,000 characters held SQLite's event loop, and so
   * every request, for 5.6 s; Postgres 2–4 s for 40 such rows): SQLite uses `instr` for every term
   * (it costs the same as `LIKE` for short ones), Postgres `strpos` beyond {@link LIKE_MAX_TERM}
   * characters, and `LIKE` up to it, whose cost the term's length bounds and whose estimate lets the
   * planner scan in parallel (`strpos` made ordinary searches 5–55% slower: docs/performance.md).
   */
  contains(term: string): { test: (haystack: string, needle: string) => string; param: string };
  /** A text column's value as its UTF-8 bytes (read raw: `Executor.rawRows`). */
  bytes(column: string): string;
  /**
   * The planner knows how many rows a condition matches (Postgres' statistics). SQLite's does not:
   * given an `ORDER BY` that an index provides, it walks that index rather than the one of a selective
   * equality, however few rows that would match — queries that know better drive it themselves.
   */
  readonly plansBySelectivity: boolean;
  /**
   * `table` read along `index` (SQLite's `INDEXED BY`, for a planner without statistics: see
   * {@link plansBySelectivity}); `table` alone on Postgres, whose planner chooses for itself. The
   * statement must be one the index can serve (a partial index: its condition in the WHERE), or
   * SQLite refuses it.
   */
  indexedBy(table: string, index: string): string;
}

/** The longest search term Postgres matches with `LIKE` (see {@link SqlDialect.contains}). */
export const LIKE_MAX_TERM = 32;

const SQLITE: SqlDialect = {
  rowLocks: false,
  fold: (expr) => `fold_case(${expr})`,
  contains: (term) => ({ test: (haystack, needle) => `instr(${haystack}, ${needle}) > 0`, param: term }),
  bytes: (column) => `CAST(${column} AS BLOB)`,
  plansBySelectivity: false,
  indexedBy: (table, index) => `${table} INDEXED BY ${index}`,
};

const POSTGRES: SqlDialect = {
  rowLocks: true,
  fold: (expr, term) => (/^[\x00-\x7f]*$/.test(term) ? `LOWER(${expr})` : `translate(LOWER(${expr}), 'ς', 'σ')`),
  contains: (term) =>
    term.length <= LIKE_MAX_TERM
      ? { test: (haystack, needle) => `${haystack} LIKE ${needle} ESCAPE '\\'`, param: `%${term.replace(/[\\%_]/g, (c) => `\\${c}`)}%` }
      : { test: (haystack, needle) => `strpos(${haystack}, ${needle}) > 0`, param: term },
  // postgres.js reads every column of `rawRows` as the bytes of its text form.
  bytes: (column) => column,
  plansBySelectivity: true,
  indexedBy: (table) => table,
};

/** The dialect of the database behind `exec`. */
export const sqlOf = (exec: Pick<Executor, "dialect">): SqlDialect => (exec.dialect === "postgres" ? POSTGRES : SQLITE);
