/**
 * Wire shapes of the sync endpoints (api-contract.md, "Sync"): push, pull and conflicts.
 * The ONE definition of each; TypeScript types are derived from them. The records inside push
 * results, pulled changes and conflicts are modelled as plain objects: the push answer is checked
 * only that far and a pull page not at all (it is JSON text from the database); the OpenAPI document
 * types them (src/docs/records.ts).
 */
import { Type } from "@sinclair/typebox";
import { t, type Static } from "elysia";
import { invalid } from "../errors";
import { CheckedLater } from "../wire/checked-later";
import { PageQuery, Paginated } from "../wire/pagination";
import { Query, QueryInteger, queryIntegerIn } from "../wire/query";
import { UUID_PATTERN } from "../ids";
import { Nullable, OneOf, Timestamp, Uuid } from "../wire/schema";
import { ENTITY_KINDS, kindModels, VectorClockSchema } from "../records/model";

/** Most changes one push may carry (more answers 413 `payload_too_large`). */
export const MAX_PUSH_CHANGES = 1000;
/** `limit` of a pull: default and maximum. */
const DEFAULT_PULL_LIMIT = 500;
const MAX_PULL_LIMIT = 5000;

/** What a pushed change asks for. */
export const CHANGE_OPS = ["create", "update", "delete"] as const;
export type ChangeOp = (typeof CHANGE_OPS)[number];

export const CHANGE_STATUSES = ["applied", "merged", "conflict", "duplicate", "stale", "rejected"] as const;
export type ChangeStatus = (typeof CHANGE_STATUSES)[number];

/**
 * One pushed change as the contract describes it: the document's, and the keys a change may have.
 * Not used to validate: src/sync/change.ts checks each change (finer than this schema can say:
 * `data` by entity and op, the clock's limits) and takes its keys from here;
 * test/sync/change-model.test.ts keeps the two in agreement field by field.
 */
export const PushedChange = t.Object(
  {
    change_id: t.String({ pattern: UUID_PATTERN, description: "a UUID chosen by the client, unique per device" }),
    entity: OneOf(ENTITY_KINDS),
    entity_id: Uuid,
    op: OneOf(CHANGE_OPS),
    data: t.Optional(
      t.Union([...kindModels("changes"), t.Null()], {
        description: "the fields of `entity` the device changed: an object, required for create (all fields) and update; absent, null or {} for delete",
      }),
    ),
    base_version: t.Optional(
      Nullable(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: "the server version the edit started from (absent or null for create)" })),
    ),
    vector_clock: VectorClockSchema,
  },
  { additionalProperties: false, title: "PushChange" },
);

/** `POST /api/sync/push`. `changes` is checked change by change by the service, not here. */
export const PushBody = t.Object(
  {
    device_id: t.String({ description: "the pushing device: the caller's, not revoked (403 otherwise)" }),
    changes: t.Array(CheckedLater(PushedChange), {
      description: `at most ${MAX_PUSH_CHANGES} changes (413 beyond); a malformed one is answered rejected, the others are still processed`,
    }),
  },
  { title: "PushRequest" },
);
export type PushBody = Static<typeof PushBody>;

/** `error.code` of a rejected change (docs/sync-design.md, "Checking one change"). */
export const CHANGE_ERROR_CODES = [
  "invalid_change",
  "unknown_entity",
  "unknown_op",
  "invalid_clock",
  "validation_failed",
  "forged_clock",
  "not_found",
  "forbidden",
  "already_exists",
  "change_id_reused",
] as const;
export type ChangeErrorCode = (typeof CHANGE_ERROR_CODES)[number];

export const ChangeError = t.Object(
  {
    // The document lists the codes; the server only builds them as ChangeErrorCode, readers see a string.
    code: t.String({ enum: [...CHANGE_ERROR_CODES] }),
    message: t.String(),
    // Always an object, as in the HTTP error body: `fields` names the keys at fault where there are any.
    details: t.Record(t.String(), t.Unknown()),
  },
  { title: "ChangeError" },
);
export type ChangeError = Static<typeof ChangeError>;

/** The answer to one change, in the order of the request. */
export const ChangeResult = t.Object(
  {
    change_id: Nullable(t.String()),
    status: OneOf(CHANGE_STATUSES),
    entity: Nullable(t.String()),
    entity_id: Nullable(t.String()),
    version: Nullable(Type.Integer()),
    vector_clock: Nullable(VectorClockSchema),
    record: Nullable(t.Record(t.String(), t.Unknown(), { description: "the record as the server now holds it" })),
    conflict_id: t.Optional(t.String({ description: "only for status conflict" })),
    error: t.Optional(ChangeError),
  },
  { title: "PushResult" },
);
export type ChangeResult = Static<typeof ChangeResult>;

export const PushResponse = t.Object({ results: t.Array(ChangeResult) }, { title: "PushResponse" });
export type PushResponse = Static<typeof PushResponse>;

/** `GET /api/sync/pull` query. */
export const PullQuery = Query({
  device_id: t.String({ description: "the pulling device: the caller's, not revoked (403 otherwise)" }),
  cursor: t.Optional(t.String({ description: "from the previous pull; absent for a full snapshot" })),
  limit: t.Optional(QueryInteger({ minimum: 1, maximum: MAX_PULL_LIMIT, description: `changes per page, 1..${MAX_PULL_LIMIT} (default ${DEFAULT_PULL_LIMIT}; 422 outside)` })),
});
export type PullQuery = Static<typeof PullQuery>;

/** A pull's `limit` ({@link DEFAULT_PULL_LIMIT} when absent); 422 naming it outside 1..{@link MAX_PULL_LIMIT}. */
export function pullLimit(raw: string | number | undefined): number {
  const limit = queryIntegerIn(PullQuery.properties.limit, raw, DEFAULT_PULL_LIMIT);
  if ("reason" in limit) throw invalid({ limit: limit.reason });
  return limit.value;
}

export const PulledChange = t.Object(
  {
    entity: OneOf(ENTITY_KINDS),
    entity_id: t.String(),
    op: OneOf(["upsert", "delete"]),
    record: t.Record(t.String(), t.Unknown(), { description: "the record (a tombstone for delete)" }),
    version: Type.Integer(),
    vector_clock: VectorClockSchema,
  },
  { title: "PullChange" },
);
export type PulledChange = Static<typeof PulledChange>;

export const PullResponse = t.Object(
  {
    changes: t.Array(PulledChange),
    cursor: t.String({ description: "opaque; pass it to the next pull" }),
    has_more: t.Boolean(),
  },
  { title: "PullPage" },
);
export type PullResponse = Static<typeof PullResponse>;

// ---- Conflicts ----

export const RESOLUTIONS = ["local", "remote", "custom"] as const;
export type Resolution = (typeof RESOLUTIONS)[number];

export const ConflictView = t.Object(
  {
    id: t.String(),
    entity: OneOf(ENTITY_KINDS),
    entity_id: t.String(),
    fields: t.Array(t.String(), { description: "the fields that could not be merged (`deleted_at` when one side deleted the record)" }),
    local: t.Record(t.String(), t.Unknown(), { description: "what the pushing device proposed" }),
    remote: t.Record(t.String(), t.Unknown(), { description: "what the server held when the conflict arose" }),
    base: t.Record(t.String(), t.Unknown(), { description: "the record at the change's base_version ({} when unknown)" }),
    device_id: Nullable(t.String()),
    user_id: Nullable(t.String()),
    created_at: Timestamp(),
    resolved_at: Nullable(Timestamp()),
    resolution: Nullable(OneOf(RESOLUTIONS)),
    resolved_by: Nullable(t.String()),
  },
  { title: "Conflict" },
);
export type ConflictView = Static<typeof ConflictView>;

/** What the document says `local`, `remote` and `base` of a {@link ConflictView} hold (documentation only). */
export const ConflictSide = t.Union(kindModels("conflictSide"), {
  title: "ConflictSide",
  description: "fields of the conflict's `entity` and its deleted_at, as many as this side holds",
});

export const ConflictPage = Paginated(ConflictView, "ConflictPage");

export const ConflictListQuery = Query({
  include_resolved: t.Optional(t.BooleanString({ description: "true: resolved conflicts too" })),
  ...PageQuery,
});
export type ConflictListQuery = Static<typeof ConflictListQuery>;

export const ResolveBody = t.Object(
  {
    resolution: OneOf(RESOLUTIONS),
    data: t.Optional(t.Record(t.String(), t.Unknown(), { description: "custom only: the fields to write, validated like a PATCH" })),
  },
  { additionalProperties: false, title: "ConflictResolution" },
);
export type ResolveBody = Static<typeof ResolveBody>;
