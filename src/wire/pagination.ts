import { t, type TSchema } from "elysia";
import type { PageRequest, PageResult } from "../db/page";
import { invalid } from "../errors";
import { QueryInteger, queryIntegerIn, queryPairs } from "./query";

/** Largest page a list answers, and the size of a page when `page_size` is absent. */
const MAX_PAGE_SIZE = 500;
const DEFAULT_PAGE_SIZE = 50;

/**
 * Query parameters of every paginated list (spread into the list's query model). Only the form is
 * checked here (decimal digits); the range their `minimum`/`maximum` document is checked by
 * {@link pageFrom}, whose 422 names the bounds (a {@link QueryInteger}'s own check reads neither).
 */
export const PageQuery = {
  page: t.Optional(QueryInteger({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: "page number, from 1 (default 1)" })),
  page_size: t.Optional(QueryInteger({ minimum: 1, maximum: MAX_PAGE_SIZE, description: `1..${MAX_PAGE_SIZE} (default ${DEFAULT_PAGE_SIZE})` })),
};

/** The page parameters of a list's query, as {@link PageQuery} passes them (or numbers, from code). */
export interface PageParams {
  page?: string | number;
  page_size?: string | number;
}

/**
 * The page a list request asks for (`page` and `page_size` within the bounds {@link PageQuery}
 * documents, defaults applied), from its query parsed with it; 422 `validation_failed` naming the field otherwise.
 * Every list goes through it.
 */
export function pageFrom(query: PageParams): PageRequest {
  const page = queryIntegerIn(PageQuery.page, query.page, 1);
  const pageSize = queryIntegerIn(PageQuery.page_size, query.page_size, DEFAULT_PAGE_SIZE);
  const errors: Record<string, string> = {};
  if ("reason" in page) errors.page = page.reason;
  if ("reason" in pageSize) errors.page_size = pageSize.reason;
  if ("reason" in page || "reason" in pageSize) throw invalid(errors);
  return { page: page.value, pageSize: pageSize.value };
}

/** The contract's list envelope: `{count, next, previous, results}` with absolute page URLs. */
export function envelope<T>(requestUrl: string, p: PageRequest, r: PageResult<T>) {
  const link = (page: number) => {
    const u = new URL(requestUrl);
    // Every other parameter as the server read it (`queryPairs`), so that the link asks for the same list.
    const params = new URLSearchParams(queryPairs(u.search));
    params.set("page", String(page));
    params.set("page_size", String(p.pageSize));
    u.search = params.toString();
    return u.toString();
  };
  return {
    count: r.count,
    next: p.page * p.pageSize < r.count ? link(p.page + 1) : null,
    // Past the end, `previous` is the last page that has results (not the empty page before this one).
    previous: p.page > 1 ? link(Math.min(p.page - 1, Math.max(1, Math.ceil(r.count / p.pageSize)))) : null,
    results: r.results,
  };
}

/** The envelope's schema, named `title` in the OpenAPI document (e.g. `TaskPage`: see src/docs/components.ts). */
export const Paginated = <T extends TSchema>(item: T, title: string) =>
  t.Object(
    {
      count: t.Integer(),
      next: t.Union([t.String(), t.Null()]),
      previous: t.Union([t.String(), t.Null()]),
      results: t.Array(item),
    },
    { title },
  );
