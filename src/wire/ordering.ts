/** The `ordering` query parameter of the record lists (parsed by `parseOrdering`, src/records/list.ts). */
import { t } from "elysia";
import { REASON } from "./reasons";

/**
 * The `ordering` query parameter of a list whose fields are `fields` (default `fallback`):
 * comma-separated names, up to three, each optionally prefixed with `-` for descending.
 */
export function OrderingQuery(fields: readonly string[], fallback: string) {
  const one = `-?(${fields.join("|")})`;
  return t.Optional(
    t.String({
      pattern: `^${one}(,${one}){0,2}$`,
      description: `${fields.join(", ")}; prefix - for descending; default ${fallback}`,
      [REASON]: `must be up to three of ${fields.join(", ")}, comma-separated, each optionally prefixed with - (descending)`,
    }),
  );
}
