/**
 * Wire shapes of the synced records (projects, tasks, comments) and of their history: the ONE
 * definition, shared by the REST resources (src/projects, src/tasks, src/comments) and the sync
 * engine. Integers use TypeBox's own `Type.Integer` (Elysia's `t.Integer` is a string-coercing
 * transform meant for query strings). Field schemas are plain TypeBox (`Text`, `t.Array`, …) so that
 * the write core can check values coming from sync pushes with the same rules as REST bodies
 * (src/records/validate.ts); the record models answered derive from them without the write-only rules.
 * A `title` names a model in the OpenAPI document (`components.schemas`, src/docs/components.ts); it
 * changes no validation.
 */
import { type TOptional, type TProperties, Type } from "@sinclair/typebox";
import { t, type Static, type TSchema } from "elysia";
import { Nullable, OneOf, Timestamp, Uuid } from "../wire/schema";
import { isText, Text } from "../wire/text";


/**
 * `YYYY-MM-DD`, or an ISO-8601 date-time with a zone (`Z` or ±HH:MM); `t` and `z` in lower case too,
 * as RFC 3339 allows (stored in upper case). The write core also checks it is a real date.
 */
export const DUE_DATE_PATTERN =
  "^[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt][0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]{1,9})?)?([Zz]|[+-][0-9]{2}:[0-9]{2}))?$";
export const DueDate = t.String({ pattern: DUE_DATE_PATTERN, description: "ISO date (YYYY-MM-DD) or date-time with zone" });

/** Every property of `props`, optional: the fields of a PATCH body, or of a create body but the required ones. */
export function optionalProps<P extends TProperties>(props: P): { [K in keyof P]: TOptional<P[K]> } {
  return Object.fromEntries(Object.entries(props).map(([k, s]) => [k, t.Optional(s)])) as { [K in keyof P]: TOptional<P[K]> };
}

/** device id (or `server`) → positive counter. */
export const VectorClockSchema = t.Record(t.String(), Type.Integer({ minimum: 1 }), { description: "device id → counter" });

export const TASK_STATUSES = ["todo", "in_progress", "blocked", "done", "cancelled"] as const;
export const TASK_PRIORITIES = ["low", "medium", "high", "urgent"] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];
export type TaskPriority = (typeof TASK_PRIORITIES)[number];
const TaskStatusSchema = OneOf(TASK_STATUSES);
const TaskPrioritySchema = OneOf(TASK_PRIORITIES);
/** Sort rank of each priority (`ordering=priority` sorts by it; stored as tasks.priority_rank). */
export const PRIORITY_RANK: Record<TaskPriority, number> = { low: 0, medium: 1, high: 2, urgent: 3 };

// ---- Writable fields of each entity (what REST bodies and sync `data` may set) ----
// Required human text (name, title, body) must hold a character other than whitespace; it is stored as sent, never trimmed.

export const ProjectFieldProps = {
  name: Text({ minLength: 1, maxLength: 200, nonBlank: true }),
  description: Text({ maxLength: 100_000 }),
  color: Nullable(Text({ maxLength: 32 })),
  archived: t.Boolean(),
};
export const TaskFieldProps = {
  project_id: Nullable(Uuid),
  title: Text({ minLength: 1, maxLength: 500, nonBlank: true }),
  description: Text({ maxLength: 100_000 }),
  status: TaskStatusSchema,
  priority: TaskPrioritySchema,
  due_date: Nullable(DueDate),
  tags: t.Array(Text({ minLength: 1, maxLength: 100, nonBlank: true }), { maxItems: 100 }),
  assignee_id: Nullable(Uuid),
};
export const CommentFieldProps = {
  task_id: Uuid,
  parent_id: Nullable(Uuid),
  body: Text({ minLength: 1, maxLength: 100_000, nonBlank: true }),
};

/** The body field that locks a write to the version the client last read (a PATCH's, a DELETE's, an archive's). */
export const VersionLock = t.Optional(
  Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: "expected current version (409 if it differs; not a safe integer: 422, as a push's base_version is refused)" }),
);

/**
 * The optional body of a locked write that sends no fields (DELETE, archive): `{"version": N}`, the
 * optimistic lock a PATCH body carries (409 `version_conflict` when the record's version differs).
 */
export const LockBody = t.Optional(t.Object({ version: VersionLock }, { additionalProperties: false }));
export type LockBody = Static<typeof LockBody>;

export const ProjectFields = t.Object(ProjectFieldProps, { additionalProperties: false });
export const TaskFields = t.Object(TaskFieldProps, { additionalProperties: false });
export const CommentFields = t.Object(CommentFieldProps, { additionalProperties: false });
export type ProjectFields = Static<typeof ProjectFields>;
export type TaskFields = Static<typeof TaskFields>;
export type CommentFields = Static<typeof CommentFields>;

/**
 * A sync change's `data` (`POST /api/sync/push`): some of the entity's writable fields, all of them
 * for a create. Documentation only: the write core checks pushed data change by change (validate.ts).
 */
export const ProjectChanges = t.Partial(ProjectFields, { title: "ProjectChanges" });
export const TaskChanges = t.Partial(TaskFields, { title: "TaskChanges" });
export const CommentChanges = t.Partial(CommentFields, { title: "CommentChanges" });

// ---- Records as the server holds and answers them ----

/** Server-maintained fields of every synced record (read-only for clients). */
const MetaProps = {
  id: Uuid,
  version: Type.Integer({ minimum: 1 }),
  vector_clock: VectorClockSchema,
  created_at: Timestamp(),
  updated_at: Timestamp(),
  deleted_at: Nullable(Timestamp("ISO-8601 UTC; set on soft delete")),
  deleted_by: Nullable(t.String({ description: "user who soft-deleted the record" })),
};

/**
 * `schema` as an answer is checked: a {@link Text} as a plain string (also inside a union or an
 * array). What a write must satisfy (lengths in characters, no NUL) is not re-checked on the way
 * out, so that a record stored before a rule was tightened stays readable.
 */
function answered(schema: TSchema): TSchema {
  const s = schema as TSchema & { anyOf?: TSchema[]; items?: TSchema; description?: string };
  if (isText(schema as unknown)) return Type.String(s.description === undefined ? {} : { description: s.description });
  if (Array.isArray(s.anyOf)) return t.Union(s.anyOf.map(answered));
  if (s.type === "array" && s.items) return t.Array(answered(s.items));
  return schema;
}

/** The props of a record as answered ({@link answered}); the static types are unchanged. */
const answeredProps = <P extends TProperties>(props: P): P => Object.fromEntries(Object.entries(props).map(([k, s]) => [k, answered(s)])) as P;

export const Project = t.Object({ ...MetaProps, ...answeredProps(ProjectFieldProps), created_by: Nullable(t.String()) }, { title: "Project" });
export const Task = t.Object({ ...MetaProps, ...answeredProps(TaskFieldProps), created_by: t.String() }, { title: "Task" });
export const Comment = t.Object({ ...MetaProps, ...answeredProps(CommentFieldProps), author_id: t.String() }, { title: "Comment" });
export type Project = Static<typeof Project>;
export type Task = Static<typeof Task>;
export type Comment = Static<typeof Comment>;

/**
 * The synced entity kinds (the `entity` of sync changes and feed rows), referenced before
 * referencing (a task names its project, a comment its task): the order batched writes are stored in.
 */
export const ENTITY_KINDS = ["project", "task", "comment"] as const;
export type EntityKind = (typeof ENTITY_KINDS)[number];

/** True for a known entity kind (e.g. the `entity` of a sync change). */
export const isEntityKind = (s: unknown): s is EntityKind => (ENTITY_KINDS as readonly unknown[]).includes(s);

/** The writable fields' schemas of each entity kind: what its REST bodies, pushes and table columns follow. */
const FIELD_PROPS = {
  project: ProjectFieldProps,
  task: TaskFieldProps,
  comment: CommentFieldProps,
} as const satisfies { readonly [K in EntityKind]: Readonly<Record<string, TSchema>> };

/**
 * The name of a writable field of `K`: what tables keyed by field (normalization, merge rules, set fields)
 * are typed with, so that a field renamed or removed in the model does not compile there.
 */
export type WritableField<K extends EntityKind> = keyof (typeof FIELD_PROPS)[K] & string;

/** The writable fields of an entity, in a fixed order (their `<Entity>FieldProps` order). */
export const writableFields = (kind: EntityKind): string[] => Object.keys(FIELD_PROPS[kind]);

/** The schema of each writable field of an entity, by name. */
export const writableFieldSchemas = (kind: EntityKind): Readonly<Record<string, TSchema>> => FIELD_PROPS[kind];

/**
 * One side of a sync conflict (`local`, `remote` or `base`): the record's writable fields and its
 * `deleted_at`, as many as the side holds (`local`: what the device pushed; `base`: none when
 * unknown). Documentation only: a conflict is answered as stored.
 */
const conflictSide = (props: TProperties, title: string) => t.Partial(t.Object({ ...answeredProps(props), deleted_at: MetaProps.deleted_at }), { title });
export const ProjectConflictSide = conflictSide(ProjectFieldProps, "ProjectConflictSide");
export const TaskConflictSide = conflictSide(TaskFieldProps, "TaskConflictSide");
export const CommentConflictSide = conflictSide(CommentFieldProps, "CommentConflictSide");

/** The wire models of one entity kind: the record answered, a sync change's `data`, a conflict's side. */
export interface KindModels {
  readonly record: TSchema;
  readonly changes: TSchema;
  readonly conflictSide: TSchema;
}

/**
 * Each entity kind's wire models, in the order the OpenAPI document lists them. The document's
 * unions over the kinds (a pushed change's `data`, `ConflictSide`, `SyncRecord`) are made from it, so
 * a new kind does not compile until it has all three. Checked with `satisfies` rather than typed, so that
 * each model keeps its own type: {@link RecordOf} is read from the records'.
 */
export const KIND_MODELS = {
  task: { record: Task, changes: TaskChanges, conflictSide: TaskConflictSide },
  project: { record: Project, changes: ProjectChanges, conflictSide: ProjectConflictSide },
  comment: { record: Comment, changes: CommentChanges, conflictSide: CommentConflictSide },
} as const satisfies { readonly [K in EntityKind]: KindModels };

/** The record of each entity kind, as answered: the static type of its {@link KIND_MODELS} `record`. */
export type RecordOf = { [K in EntityKind]: Static<(typeof KIND_MODELS)[K]["record"]> };
/** A record of any kind. */
export type AnyRecord = RecordOf[EntityKind];

/** One model of each kind ({@link KIND_MODELS}), in its order. */
export const kindModels = (which: keyof KindModels): TSchema[] => Object.values(KIND_MODELS).map((m) => m[which]);

// ---- History ----

const HISTORY_ACTIONS = ["created", "updated", "deleted", "merged", "conflict_resolved"] as const;
export type HistoryAction = (typeof HISTORY_ACTIONS)[number];

export const FieldChange = t.Object({ old: t.Unknown(), new: t.Unknown() });
/** `GET /api/tasks/{id}/history` entries (contract shape). */
export const TaskHistoryEntry = t.Object(
  {
    id: t.String(),
    task_id: t.String(),
    version: Type.Integer(),
    action: OneOf(HISTORY_ACTIONS),
    changes: t.Record(t.String(), FieldChange),
    user_id: Nullable(t.String()),
    device_id: Nullable(t.String()),
    vector_clock: VectorClockSchema,
    created_at: Timestamp(),
  },
  { title: "HistoryEntry" },
);
export type TaskHistoryEntry = Static<typeof TaskHistoryEntry>;
