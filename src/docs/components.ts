/**
 * Named schemas of the OpenAPI document. A wire type is named by the `title` of its model.ts
 * definition (`t.Object({…}, { title: "Task" })`); every schema of the generated document that
 * carries a title is moved to `components.schemas` under that name and replaced by a `$ref`, so that
 * a client generator makes one `Task` type rather than an inline copy per operation.
 *
 * Not @elysiajs/openapi's own way (`.model({ Task })`, then `response: "Task"`): the library makes a
 * reference only where a route names a model as its whole body. A model inside another schema (a
 * task in a page, a result in a push answer) takes `t.Ref("Task")`, which 1.4.16 writes as
 * `{"$ref": "Task"}` (no reference a generator can follow: elysia-openapi#232) and which Elysia's
 * validators must then resolve at runtime. A `title` is an annotation that no validator reads.
 */

/** A JSON schema as it stands in the generated document. */
export type Schema = Record<string, unknown>;

/** Keywords whose value is one subschema, a list of them, or a map of them (JSON Schema 2020-12). */
const ONE = ["items", "additionalProperties", "not", "contains", "propertyNames", "if", "then", "else", "unevaluatedItems", "unevaluatedProperties"];
const LIST = ["anyOf", "oneOf", "allOf", "prefixItems"];
const MAP = ["properties", "patternProperties", "dependentSchemas", "$defs"];

const isObject = (value: unknown): value is Schema => typeof value === "object" && value !== null && !Array.isArray(value);

/** A copy of `schema` in which `fn` has rewritten each subschema, innermost first, then `schema` itself. */
export function mapSchema(schema: unknown, fn: (s: Schema) => Schema): unknown {
  if (!isObject(schema)) return schema;
  const out: Schema = { ...schema };
  for (const key of ONE) if (key in out) out[key] = mapSchema(out[key], fn);
  for (const key of LIST) if (Array.isArray(out[key])) out[key] = out[key].map((s) => mapSchema(s, fn));
  for (const key of MAP) {
    const map = out[key];
    if (isObject(map)) out[key] = Object.fromEntries(Object.entries(map).map(([name, s]) => [name, mapSchema(s, fn)]));
  }
  return fn(out);
}

type Media = { schema?: unknown };
type Operation = {
  parameters?: Media[];
  requestBody?: { content?: Record<string, Media> };
  responses?: Record<string, { content?: Record<string, Media>; headers?: Record<string, Media> }>;
};

/** Rewrites, in place, every schema of the operations of `paths` with {@link mapSchema}: parameters, bodies, response headers. */
export function mapOperationSchemas(paths: Record<string, unknown>, fn: (s: Schema) => Schema): void {
  const rewrite = (holder: Media) => {
    if (holder.schema !== undefined) holder.schema = mapSchema(holder.schema, fn);
  };
  for (const item of Object.values(paths)) {
    if (!isObject(item)) continue;
    for (const op of Object.values(item)) {
      if (!isObject(op)) continue;
      const { parameters, requestBody, responses } = op as Operation;
      for (const parameter of parameters ?? []) rewrite(parameter);
      for (const media of Object.values(requestBody?.content ?? {})) rewrite(media);
      for (const response of Object.values(responses ?? {})) {
        for (const media of Object.values(response.content ?? {})) rewrite(media);
        for (const header of Object.values(response.headers ?? {})) rewrite(header);
      }
    }
  }
}

/**
 * Moves every titled schema of the operations of `paths` (in place) and of `extra` (models that no
 * route answers, documented all the same) to the returned map, keyed by title, and puts a `$ref` in
 * its place. Two different schemas with one title are a programming error: thrown.
 */
export function liftNamedSchemas(paths: Record<string, unknown>, extra: readonly unknown[]): Record<string, Schema> {
  const named: Record<string, Schema> = {};
  const lift = (s: Schema): Schema => {
    if (typeof s.title !== "string") return s;
    const { title, ...schema } = s;
    const known = named[title];
    if (known && !Bun.deepEquals(known, schema, true)) throw new Error(`two different schemas are named ${title} in the OpenAPI document`);
    named[title] = schema;
    return { $ref: `#/components/schemas/${title}` };
  };
  mapOperationSchemas(paths, lift);
  for (const model of extra) mapSchema(model, lift);
  return named;
}
