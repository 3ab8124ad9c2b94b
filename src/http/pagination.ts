import { t, type Static, type TSchema } from "elysia";

/** Query parameters of every paginated list. */
export const PageQuery = {
  page: t.Optional(t.Integer({ minimum: 1, default: 1 })),
  page_size: t.Optional(t.Integer({ minimum: 1, maximum: 500, default: 50 })),
};

export interface PageRequest {
  page: number;
  pageSize: number;
}

/** What a repository's `list` returns for one page. */
export interface PageResult<T> {
  count: number;
  results: T[];
}

/** Page number and size from a parsed query, with the defaults applied. */
export function pageOf(query: { page?: number; page_size?: number }): PageRequest {
  return { page: query.page ?? 1, pageSize: query.page_size ?? 50 };
}

/** SQL `LIMIT ? OFFSET ?` values of a page. */
export function limitOffset(p: PageRequest): [number, number] {
  return [p.pageSize, (p.page - 1) * p.pageSize];
}

/** The contract's list envelope: `{count, next, previous, results}` with absolute page URLs. */
export function envelope<T>(requestUrl: string, p: PageRequest, r: PageResult<T>) {
  const link = (page: number) => {
    const u = new URL(requestUrl);
    u.searchParams.set("page", String(page));
    u.searchParams.set("page_size", String(p.pageSize));
    return u.toString();
  };
  return {
    count: r.count,
    next: p.page * p.pageSize < r.count ? link(p.page + 1) : null,
    previous: p.page > 1 ? link(p.page - 1) : null,
    results: r.results,
  };
}

/** The envelope's schema, for OpenAPI. */
export const Paginated = <T extends TSchema>(item: T) =>
  t.Object({
    count: t.Integer(),
    next: t.Union([t.String(), t.Null()]),
    previous: t.Union([t.String(), t.Null()]),
    results: t.Array(item),
  });

export type PaginatedOf<T extends TSchema> = Static<ReturnType<typeof Paginated<T>>>;
