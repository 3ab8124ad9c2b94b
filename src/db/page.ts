import type { Database, Executor, SqlValue } from "./types";

/** One page of a list, as repositories take it: `page` from 1, `pageSize` rows. */
export interface PageRequest {
  page: number;
  pageSize: number;
}

/** What a repository's `list` returns for one page. */
export interface PageResult<T> {
  count: number;
  results: T[];
}

/** The parts of a list's `SELECT {columns} FROM {from} {where} {orderBy}` (`where` with `?` placeholders for `params`). */
export interface PageSelect {
  columns: string;
  from: string;
  where: string;
  params: SqlValue[];
  /**
   * The count's own condition (and parameters), when another form of `where`, matching the same rows,
   * is counted faster than the one that finds a page soonest (src/comments/repo.ts).
   */
  countWhere?: { where: string; params: SqlValue[] };
  /** The order, or the order given how many rows match (counted first): the planner then finds them another way (src/tasks/repo.ts). */
  orderBy: string | ((count: number) => string);
  /**
   * Read the page in two steps: the keys of its rows (`key`, unique) in the page's order, then those
   * rows by key. A sort, and the rows an `OFFSET` passes over, then carry keys and sort columns only,
   * never whole rows: for tables whose rows may be large (a task's description holds up to 100,000
   * characters), one sorted request far into a list held every row up to its offset in SQLite's
   * sorter (5,000 tasks of 100 KB: about 600 MB). `scope` (with `scopeParams`) is a condition on the
   * second step that keeps SQLite's planner on the key's index (`CAST(org_id AS TEXT) = ?`: the
   * organization's ordering indexes cannot serve it).
   */
  byKey?: {
    key: string;
    scope: string;
    scopeParams: SqlValue[];
    /** The ids' step's FROM, when not `from` (an index to walk: `indexedBy`, src/db/dialect.ts); like `orderBy`, it may depend on the count. */
    from?: string | ((count: number) => string);
  };
}

/**
 * One page of a query's rows, each mapped, and the count of all its rows: a COUNT, then the page
 * (`LIMIT`/`OFFSET`), both read from one snapshot ({@link Database.readSnapshot}) so that a write
 * committing between them cannot make the count disagree with the page. (Inside a transaction: its
 * own statements.)
 */
export function selectPage<R, T>(exec: Executor, q: PageSelect, page: PageRequest, map: (row: R) => T): Promise<PageResult<T>> {
  const db = exec as Partial<Database>;
  return typeof db.readSnapshot === "function" ? db.readSnapshot((e) => countAndPage(e, q, page, map)) : countAndPage(exec, q, page, map);
}

async function countAndPage<R, T>(exec: Executor, q: PageSelect, page: PageRequest, map: (row: R) => T): Promise<PageResult<T>> {
  const counted = q.countWhere ?? q;
  const n = await exec.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${q.from} ${counted.where}`, counted.params);
  const count = Number(n?.n ?? 0);
  const order = typeof q.orderBy === "string" ? q.orderBy : q.orderBy(count);
  const keysFrom = typeof q.byKey?.from === "function" ? q.byKey.from(count) : (q.byKey?.from ?? q.from);
  const rows = q.byKey
    ? await exec.all<R>(
        `SELECT ${q.columns} FROM ${q.from} WHERE ${q.byKey.key} IN (SELECT ${q.byKey.key} FROM ${keysFrom} ${q.where} ${order} LIMIT ? OFFSET ?) AND ${q.byKey.scope} ${order}`,
        [...q.params, ...limitOffset(page), ...q.byKey.scopeParams],
      )
    : await exec.all<R>(`SELECT ${q.columns} FROM ${q.from} ${q.where} ${order} LIMIT ? OFFSET ?`, [...q.params, ...limitOffset(page)]);
  return { count, results: rows.map(map) };
}

/** SQL `LIMIT ? OFFSET ?` values of a page. */
export function limitOffset(p: PageRequest): [number, number] {
  return [p.pageSize, (p.page - 1) * p.pageSize];
}
