/**
 * README.md lists the length limits of the fields a client writes (a client must cut or refuse
 * longer texts itself: one over is a 422, and a pushed change carrying it is `rejected`), and the range
 * of an integer field. The list is built here from the models, every entity kind's, so a limit changed or
 * added in a model, or a new kind, fails until README.md says it too.
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { TSchema } from "elysia";
import { CreateDeviceBody } from "../../src/devices/model";
import { type EntityKind, KIND_MODELS, writableFieldSchemas } from "../../src/records/model";

interface Bounds {
  minLength?: number;
  maxLength?: number;
  maxItems?: number;
  items?: Bounds;
  minimum?: number;
  maximum?: number;
}

/** The string (or array) schema of a field, out of a `Nullable(…)` union. */
const bounds = (schema: TSchema): Bounds => {
  const s = schema as TSchema & Bounds & { anyOf?: (TSchema & Bounds)[] };
  return s.anyOf?.find((x) => x.maxLength !== undefined || x.maxItems !== undefined || x.maximum !== undefined) ?? s;
};

const number = (n: number) => n.toLocaleString("en-US");
const length = (b: Bounds) => (b.minLength ? `${b.minLength}..${number(b.maxLength!)}` : `up to ${number(b.maxLength!)}`);

/** How README.md words one field's limits: `` `title` 1..500 ``, `` `tags` at most 100, each 1..100 ``, an integer's `` `n` 0..100,000 ``. */
function phrase(field: string, schema: TSchema): string | null {
  const b = bounds(schema);
  if (b.maxItems !== undefined) return `\`${field}\` at most ${number(b.maxItems)}, each ${length(b.items!)}`;
  if (b.maxLength !== undefined) return `\`${field}\` ${length(b)}`;
  if (b.maximum !== undefined) return `\`${field}\` ${number(b.minimum ?? Number.MIN_SAFE_INTEGER)}..${number(b.maximum)}`;
  return null;
}

/** Every entity kind's writable fields, in the order the OpenAPI document lists the kinds (KIND_MODELS), then a device's. */
const KINDS: [string, Readonly<Record<string, TSchema>>][] = [
  ...(Object.keys(KIND_MODELS) as EntityKind[]).map((kind): [string, Readonly<Record<string, TSchema>>] => [kind.replaceAll("_", " "), writableFieldSchemas(kind)]),
  ["device", CreateDeviceBody.properties],
];

test("README.md lists every field's length limits as the models define them", () => {
  const readme = readFileSync(join(import.meta.dir, "..", "..", "README.md"), "utf8").replace(/\s+/g, " ");
  const expected = KINDS.map(([kind, props]) => {
    const limits = Object.entries(props).flatMap(([field, schema]) => phrase(field, schema) ?? []);
    return `${kind}: ${limits.join(", ")}`;
  }).join("; ");
  expect(expected).toContain("task: `title` 1..500"); // the contract's own limit, read from the model
  if (!readme.includes(expected)) throw new Error(`README.md ("Values", Lengths) should list the limits as: ${expected}`);
});
