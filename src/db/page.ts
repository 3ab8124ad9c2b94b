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

/** SQL `LIMIT ? OFFSET ?` values of a page. */
export function limitOffset(p: PageRequest): [number, number] {
  return [p.pageSize, (p.page - 1) * p.pageSize];
}
