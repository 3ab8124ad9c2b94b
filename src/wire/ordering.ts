/** The `ordering` query parameter of the record lists (parsed by `parseOrdering`, src/records/list.ts). */
import { t } from "elysia";
import { REASON } from "./reasons";

/** The orderings a list accepts: its sortable `fields`, and `fallback` when the query names none. */
export interface Orderings<F extends string> {
  readonly fields: readonly F[];
  readonly fallback: string;
}

/** Declares a list's {@link Orderings} (its field names kept as a union type). */
export const orderings = <const F extends string>(fields: readonly F[], fallback: `${"" | "-"}${NoInfer<F>}`): Orderings<F> => ({ fields, fallback });

/**
 * The `ordering` query parameter of a list with these {@link Orderings}: comma-separated field
 * names, up to three, each optionally prefixed with `-` for descending.
 */
export function OrderingQuery({ fields, fallback }: Orderings<string>) {
  const one = `-?(${fields.join("|")})`;
  return t.Optional(
    t.String({
      pattern: `^${one}(,${one}){0,2}$`,
      description: `${fields.join(", ")}; prefix - for descending; default ${fallback}`,
      [REASON]: `must be up to three of ${fields.join(", ")}, comma-separated, each optionally prefixed with - (descending)`,
    }),
  );
}
