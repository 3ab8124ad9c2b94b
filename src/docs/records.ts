/**
 * What the OpenAPI document says of records beyond their runtime models: due dates as the formats
 * the server accepts, and the records inside sync answers as tasks, projects or comments. Both are
 * added to the generated document only, so that no validator changes.
 */
import type { TSchema } from "@sinclair/typebox";
import { DUE_DATE_PATTERN, KIND_MODELS, kindModels } from "../records/model";
import type { Schema } from "./components";

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/**
 * A due date as an ISO date or date-time (`format`), or null where its model allows null. The
 * model's pattern checks the shape only: it lets 2026-02-30 through, which the write core then
 * answers with 422 (src/records/validate.ts); the formats say which values are accepted.
 */
export function dueDateAsFormats(s: Schema): Schema {
  if (s.pattern !== DUE_DATE_PATTERN) return s;
  const { pattern: _pattern, type, ...rest } = s;
  const nullable = Array.isArray(type) && type.includes("null");
  return { ...rest, anyOf: [{ type: "string", format: "date" }, { type: "string", format: "date-time" }, ...(nullable ? [{ type: "null" }] : [])] };
}

/** The name of a record model in the document (its `title`). */
const titleOf = (model: TSchema): string => {
  if (typeof model.title !== "string") throw new Error(`a record model has no title: ${JSON.stringify(model)}`);
  return model.title;
};

/** "a task, project or comment": the kinds as prose, in {@link KIND_MODELS}' order. */
const kindsAsProse = (): string => {
  const names = Object.keys(KIND_MODELS).map((k) => k.replaceAll("_", " "));
  return `a ${names.length > 1 ? `${names.slice(0, -1).join(", ")} or ${names.at(-1)}` : names[0]}`;
};

/** The records sync answers carry, one of each kind ({@link KIND_MODELS}); oneOf, as each kind has required fields the others lack. */
const SYNC_RECORD = { oneOf: kindModels("record").map((m) => ref(titleOf(m))), description: `${kindsAsProse()}: the kind \`entity\` names` };

/**
 * The properties of named schemas that hold records, and their type in the document. Their models
 * say "an object" on purpose: typed there, every record of a push answer would be checked against
 * the record models at runtime, and a pull page is sent as the database's JSON text, never checked.
 */
const RECORD_PROPERTIES: readonly [schema: string, property: string, type: Schema][] = [
  ["PushResult", "record", { anyOf: [ref("SyncRecord"), { type: "null" }] }],
  ["PullChange", "record", ref("SyncRecord")],
  ["Conflict", "local", ref("ConflictSide")],
  ["Conflict", "remote", ref("ConflictSide")],
  ["Conflict", "base", ref("ConflictSide")],
];

/** The record a conflict's resolution answers (its model, too, says only "an object"). */
const RESOLVED = ["/api/sync/conflicts/{id}/resolve", "post", "200"] as const;

/**
 * Adds `SyncRecord` to `schemas` and types with it (or with `ConflictSide`) the records inside push
 * results, pulled changes, conflicts and a resolution's answer, keeping their descriptions. Throws
 * when one of them is missing (a renamed model or property), so the document cannot silently lose them.
 */
export function typeSyncRecords(schemas: Record<string, Schema>, paths: Record<string, unknown>): void {
  schemas.SyncRecord = SYNC_RECORD;
  for (const [name, property, type] of RECORD_PROPERTIES) {
    const properties = schemas[name]?.properties as Record<string, Schema> | undefined;
    const loose = properties?.[property];
    if (!properties || !loose) throw new Error(`the OpenAPI document has no ${name}.${property}`);
    properties[property] = { ...type, description: loose.description };
  }
  const [path, method, status] = RESOLVED;
  const media = (paths[path] as Record<string, { responses?: Record<string, { content?: Record<string, { schema?: Schema }> }> }> | undefined)?.[method]?.responses?.[status]
    ?.content?.["application/json"];
  if (!media?.schema) throw new Error(`the OpenAPI document has no JSON answer ${status} to ${method.toUpperCase()} ${path}`);
  media.schema = { ...ref("SyncRecord"), description: media.schema.description };
}
