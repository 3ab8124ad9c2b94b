/**
 * Helpers of the record lists (projects, tasks, comments): WHERE building, case-insensitive
 * literal search, `ordering` parsing. (Pages: src/db/page.ts; query parameters and envelope: src/wire/pagination.ts.)
 */
import type { PageSelect } from "../db/page";
import type { SqlDialect } from "../db/dialect";
import type { SqlValue } from "../db/types";
import { invalid } from "../errors";
import type { Orderings } from "../wire/ordering";
import type { PageParams } from "../wire/pagination";

/** Conditions and their parameters, joined with AND. */
export class Where {
  private readonly parts: string[] = [];
  readonly params: SqlValue[] = [];

  add(sql: string, ...params: SqlValue[]): this {
    this.parts.push(sql);
    this.params.push(...params);
    return this;
  }

  /** `col IN (?, …)`. */
  in(col: string, values: readonly SqlValue[]): this {
    return this.add(`${col} IN (${values.map(() => "?").join(", ")})`, ...values);
  }

  get sql(): string {
    return this.parts.length ? `WHERE ${this.parts.join(" AND ")}` : "";
  }

  /** The `where` and `params` of a {@link PageSelect}. */
  get query(): Pick<PageSelect, "where" | "params"> {
    return { where: this.sql, params: this.params };
  }
}

/**
 * A case-insensitive search for `text`, literally (`%`, `_` and `\` included), anywhere in any of
 * `columns`, added to `w`. Both sides are folded by the database alike ({@link SqlDialect.fold}), and
 * compared by a substring test ({@link SqlDialect.contains}) whose cost a member cannot make grow with
 * the term's length times the text's.
 */
export function whereContains(w: Where, dialect: SqlDialect, columns: readonly string[], text: string): Where {
  const fold = (x: string) => dialect.fold(x, text);
  const { test, param } = dialect.contains(text);
  return w.add(`(${columns.map((c) => test(fold(c), fold("?"))).join(" OR ")})`, ...columns.map(() => param));
}

/** One `ordering` term: a documented field name (one of `F`) and its direction. */
export interface OrderTerm<F extends string = string> {
  field: F;
  desc: boolean;
}

/** Parses `ordering` (already matched against the pattern of `OrderingQuery`, src/wire/ordering.ts); 422 naming `ordering` otherwise. */
export function parseOrdering<F extends string>(raw: string | undefined, { fields, fallback }: Orderings<F>): OrderTerm<F>[] {
  const terms = (raw ?? fallback).split(",").map((s) => ({ field: s.trim().replace(/^-/, ""), desc: s.trim().startsWith("-") }));
  const known = (t: { field: string }): t is OrderTerm<F> => (fields as readonly string[]).includes(t.field);
  if (terms.length === 0 || !terms.every(known)) throw invalid({ ordering: `must be one of ${fields.join(", ")} (prefix - for descending)` });
  return terms;
}

/** How a list orders by a field: its SQL expression, and what its index orders ties by before the id. */
export interface OrderColumn {
  expr: string;
  nullable?: boolean;
  /**
   * A column the field's index has between it and the id (`tasks_live_priority`: `created_at`): when
   * the field is the last term, ties are ordered by it, in the same direction, so that the index is the page's order.
   */
  ties?: string;
}

/**
 * `ORDER BY …` for terms, given each field's SQL expression, with `id` as the final tie-break
 * (in the direction of the last term; after the last field's `ties` column, if any) so that pages
 * are stable. NULLs of a nullable column sort as if greater than every value: last ascending,
 * first descending (spelled out, since SQLite and Postgres differ by default; this way both walk
 * the same ascending index, forwards or backwards). `sortMatches`: the terms are written so that no
 * index can give the order (`+expr`), so that the rows are found by the conditions' index and sorted.
 */
export function orderBy<F extends string>(terms: OrderTerm<F>[], columns: Record<F, OrderColumn>, prefix = "", opts: { sortMatches?: boolean } = {}): string {
  // `+x` is x, but no index can give it: SQLite then finds the rows by the index of the conditions and sorts them.
  const plus = opts.sortMatches ? "+" : "";
  const out: string[] = [];
  for (const t of terms) {
    const c = columns[t.field];
    out.push(`${plus}${c.expr} ${t.desc ? "DESC" : "ASC"}${c.nullable ? (t.desc ? " NULLS FIRST" : " NULLS LAST") : ""}`);
  }
  const last = terms[terms.length - 1];
  const ties = last && columns[last.field].ties;
  if (ties) out.push(`${plus}${prefix}${ties} ${last.desc ? "DESC" : "ASC"}`);
  out.push(`${plus}${prefix}id ${last?.desc ? "DESC" : "ASC"}`);
  return `ORDER BY ${out.join(", ")}`;
}

/** Splits a comma-separated filter value (`status=todo,done`). */
export const listValues = (raw: string): string[] => [...new Set(raw.split(",").map((s) => s.trim()).filter(Boolean))];

/**
 * A list's filter as its repository takes it: one entry per parameter of the list's query `Q` (but the
 * page's), under the parameter's name, each required (its value may be undefined), with the parsed type
 * `V` gives it. A parameter added to the query does not compile until `V` has it and the service sets it:
 * none is silently ignored.
 */
export type ListFilter<Q, V extends { [K in Exclude<keyof Q, keyof PageParams>]: unknown }> = { [K in Exclude<keyof Q, keyof PageParams>]-?: V[K] };
