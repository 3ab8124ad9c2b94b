import { Elysia, t } from "elysia";
import { authGuard } from "../auth/guard";
import { chunksResponse } from "../http/chunks-response";
import { ErrorBody } from "../http/errors";
import { envelope, pageFrom } from "../wire/pagination";
import { type HttpConfig, publicUrlOf } from "../http/public-url";
import { withEtag } from "../records/http";
import type { Services } from "../services";
import { rulesInWords } from "./merge";
import { ConflictListQuery, ConflictPage, ConflictView, PullQuery, PullResponse, PushBody, PushResponse, ResolveBody } from "./model";

const JSON_HEADERS = { "content-type": "application/json;charset=utf-8" };

const sync = (summary: string, description?: string) => ({ tags: ["sync"], summary, description });
const conflicts = (summary: string, description?: string) => ({ tags: ["conflicts"], summary, description });

/** Sync: push, pull, conflicts. */
export const syncRoutes = (s: Services, http: HttpConfig) =>
  new Elysia()
    .use(authGuard(s))
    .use(publicUrlOf(http))
    .post("/api/sync/push", ({ auth, body }) => s.sync.push(auth, body), {
      body: PushBody,
      response: { 200: PushResponse, 403: ErrorBody, 413: ErrorBody, 422: ErrorBody },
      detail: sync(
        "Push a batch of changes",
        "Up to 1,000 changes, applied atomically each and exactly once (a retried change_id answers duplicate). " +
          "One result per change, in order; a malformed change is rejected and the others still processed. Answered after COMMIT. " +
          `Concurrent edits merge field by field: ${rulesInWords()}; the rest is a conflict.`,
      ),
    })
    // The answer comes as JSON text (the changes as their feed rows store them), not checked against
    // the response model record by record (up to 5,000 a page); the model still documents it.
    .get("/api/sync/pull", async ({ auth, query }) => chunksResponse(await s.sync.pullBody(auth, query), { headers: JSON_HEADERS }), {
      query: PullQuery,
      response: { 200: PullResponse, 400: ErrorBody, 403: ErrorBody, 410: ErrorBody, 422: ErrorBody },
      detail: sync(
        "Pull changes",
        "Without cursor: a snapshot of the live records. With one: every record changed since, once, in its latest state, " +
          "in commit order, leaving out what this device pushed itself. 400 invalid_cursor; 410 reset_required (pull again without a cursor).",
      ),
    })
    .get(
      "/api/sync/conflicts",
      async ({ auth, query, publicUrl }) => {
        const page = pageFrom(query);
        return envelope(publicUrl(), page, await s.conflicts.list(auth, query, page));
      },
      { query: ConflictListQuery, response: { 200: ConflictPage, 422: ErrorBody }, detail: conflicts("List conflicts", "Unresolved ones, oldest first; all with include_resolved=true.") },
    )
    // No params model: an id that is not even valid UTF-8 must answer 404 like any unknown id, not 422.
    .get("/api/sync/conflicts/:id", ({ auth, params }) => s.conflicts.get(auth, params.id), {
      response: { 200: ConflictView, 404: ErrorBody },
      detail: conflicts("One conflict"),
    })
    .post("/api/sync/conflicts/:id/resolve", async ({ auth, params, body, set }) => withEtag(set, await s.conflicts.resolve(auth, params.id, body)), {
      body: ResolveBody,
      response: { 200: t.Record(t.String(), t.Unknown(), { description: "the record after the resolution" }), 403: ErrorBody, 404: ErrorBody, 409: ErrorBody, 422: ErrorBody },
      detail: conflicts(
        "Resolve a conflict",
        "local or remote: that side's values of the conflict's fields; custom: `data`, validated like a PATCH. " +
          "Writes a new version whose clock is newer than both sides; 409 already_resolved the second time. " +
          "When a later write changed one of the conflict's fields, remote keeps its current value and local answers 409 version_conflict " +
          "(details.current: the record now, details.fields: the fields changed; the conflict stays open). " +
          "A resolution that rewrites another user's comment is 403 forbidden, and so is one that brings back a comment another user deleted, unless an admin's.",
      ),
    });
