import { t, type Static } from "elysia";
import { Uuid } from "../wire/schema";
import { PageQuery, Paginated } from "../wire/pagination";
import { Query } from "../wire/query";
import { Text } from "../wire/text";
import { OrderingQuery, orderings } from "../wire/ordering";
import { LockBody, optionalProps, Project, ProjectFieldProps, VersionLock } from "../records/model";

export { Project } from "../records/model";

export const ProjectPage = Paginated(Project, "ProjectPage");

/** `POST /api/projects`: `name` required; `id` optional (client-supplied UUID); read-only fields refused. */
export const ProjectCreateBody = t.Object(
  { id: t.Optional(Uuid), ...optionalProps(ProjectFieldProps), name: ProjectFieldProps.name },
  { additionalProperties: false, title: "ProjectCreate" },
);
export type ProjectCreateBody = Static<typeof ProjectCreateBody>;

/** `PATCH /api/projects/{id}` (`archived: false` un-archives); `version` is the optimistic lock. */
export const ProjectPatchBody = t.Object(
  { ...optionalProps(ProjectFieldProps), version: VersionLock },
  { additionalProperties: false, title: "ProjectUpdate" },
);
export type ProjectPatchBody = Static<typeof ProjectPatchBody>;
/** The fields a PATCH changes (its body without the lock). */
export type ProjectPatchFields = Omit<ProjectPatchBody, "version">;

/** `POST /api/projects/{id}/archive`: an optional body with the optimistic lock. */
export const ArchiveBody = LockBody;

export const PROJECT_ORDERING = orderings(["name", "created_at", "updated_at"], "name");
export type ProjectOrderingField = (typeof PROJECT_ORDERING.fields)[number];

/** `GET /api/projects` query. Unknown parameters are ignored. */
export const ProjectListQuery = Query({
  ...PageQuery,
  archived: t.Optional(t.Boolean({ description: "only archived (true) or only active (false) projects" })),
  search: t.Optional(Text({ maxLength: 500, description: "case-insensitive substring of name or description (% and _ are literal)" })),
  ordering: OrderingQuery(PROJECT_ORDERING),
  include_deleted: t.Optional(t.Boolean({ description: "also list soft-deleted projects" })),
});
export type ProjectListQuery = Static<typeof ProjectListQuery>;
