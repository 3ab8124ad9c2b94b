import type { Executor, SqlValue } from "./types";

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
  /** The order, or the order given how many rows match (counted first): the planner then finds them another way (src/tasks/repo.ts). */
  orderBy: string | ((count: number) => string);
}

/** One page of a query's rows, each mapped, and the count of all its rows: a COUNT, then the page (`LIMIT`/`OFFSET`). */
export async function selectPage<R, T>(exec: Executor, q: PageSelect, page: PageRequest, map: (row: R) => T): Promise<PageResult<T>> {
  const n = await exec.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${q.from} ${q.where}`, q.params);
  const count = Number(n?.n ?? 0);
  const order = typeof q.orderBy === "string" ? q.orderBy : q.orderBy(count);
  const rows = await exec.all<R>(`SELECT ${q.columns} FROM ${q.from} ${q.where} ${order} LIMIT ? OFFSET ?`, [...q.params, ...limitOffset(page)]);
  return { count, results: rows.map(map) };
}

/** SQL `LIMIT ? OFFSET ?` values of a page. */
export function limitOffset(p: PageRequest): [number, number] {
  return [p.pageSize, (p.page - 1) * p.pageSize];
}
