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

/** What a list service method answers: the page asked for and its rows (the route builds the envelope). */
export interface Page<T> {
  page: PageRequest;
  result: PageResult<T>;
}

/** SQL `LIMIT ? OFFSET ?` values of a page. */
export function limitOffset(p: PageRequest): [number, number] {
  return [p.pageSize, (p.page - 1) * p.pageSize];
}
