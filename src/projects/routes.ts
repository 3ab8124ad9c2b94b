import { Elysia, t } from "elysia";
import { authGuard } from "../auth/guard";
import { envelope, pageFrom } from "../wire/pagination";
import { type HttpConfig, publicUrlOf } from "../http/public-url";
import { CREATE_ERRORS, IdParams, IfMatchHeaders, LIST_ERRORS, LOCKED_WRITE_ERRORS, preconditionOf, READ_ERRORS, withEtag } from "../records/http";
import { LockBody } from "../records/model";
import type { Services } from "../services";
import { ArchiveBody, Project, ProjectCreateBody, ProjectListQuery, ProjectPage, ProjectPatchBody } from "./model";

const detail = (summary: string, description?: string) => ({ tags: ["projects"], summary, description });

/** Projects: list/create, read/update/soft-delete, archive. */
export const projectRoutes = (s: Services, http: HttpConfig) =>
  new Elysia()
    .use(authGuard(s))
    .use(publicUrlOf(http))
    .get(
      "/api/projects",
      async ({ auth, query, publicUrl }) => {
        const page = pageFrom(query);
        return envelope(publicUrl(), page, await s.projects.list(auth, query, page));
      },
      { query: ProjectListQuery, response: { 200: ProjectPage, ...LIST_ERRORS }, detail: detail("List projects") },
    )
    .post(
      "/api/projects",
      async ({ auth, body, set }) => {
        const project = await s.projects.create(auth, body);
        set.status = 201;
        set.headers.location = `/api/projects/${project.id}`;
        return withEtag(set, project);
      },
      {
        body: ProjectCreateBody,
        response: { 201: Project, ...CREATE_ERRORS },
        detail: detail("Create a project", "A client may supply the id (UUID); an id already in use answers 409 already_exists."),
      },
    )
    .get("/api/projects/:id", async ({ auth, params, set }) => withEtag(set, await s.projects.get(auth, params.id)), {
      params: IdParams,
      response: { 200: Project, ...READ_ERRORS },
      detail: detail("One project (404 once soft-deleted)"),
    })
    .patch(
      "/api/projects/:id",
      async ({ auth, params, body: { version, ...data }, headers, set }) => withEtag(set, await s.projects.update(auth, params.id, data, preconditionOf(headers, version))),
      {
        params: IdParams,
        headers: IfMatchHeaders,
        body: ProjectPatchBody,
        response: { 200: Project, ...LOCKED_WRITE_ERRORS },
        detail: detail("Update a project", 'Optimistic lock: If-Match: "<version>" (412) or body version (409). archived: false un-archives.'),
      },
    )
    .post(
      "/api/projects/:id/archive",
      async ({ auth, params, body, headers, set }) => withEtag(set, await s.projects.archive(auth, params.id, preconditionOf(headers, body?.version))),
      {
        params: IdParams,
        headers: IfMatchHeaders,
        body: ArchiveBody,
        response: { 200: Project, ...LOCKED_WRITE_ERRORS },
        detail: detail("Archive a project", "Sets archived: true (no new version if it already is)."),
      },
    )
    .delete(
      "/api/projects/:id",
      async ({ auth, params, body, headers, set }) => {
        await s.projects.delete(auth, params.id, preconditionOf(headers, body?.version));
        set.status = 204;
      },
      {
        params: IdParams,
        headers: IfMatchHeaders,
        body: LockBody,
        response: { 204: t.Void(), ...LOCKED_WRITE_ERRORS },
        detail: detail("Soft-delete a project", 'Its tasks keep their project_id. Optimistic lock: If-Match: "<version>" (412) or body {"version": N} (409), as for a PATCH.'),
      },
    );
