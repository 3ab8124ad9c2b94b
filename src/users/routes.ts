import { Elysia } from "elysia";
import { authGuard } from "../auth/guard";
import { ErrorBody } from "../http/errors";
import { envelope, PageQuery, pageFrom } from "../wire/pagination";
import { Query } from "../wire/query";
import { type HttpConfig, publicUrlOf } from "../http/public-url";
import type { Services } from "../services";
import { toUserView, UserPage, UserView } from "./model";

const detail = (summary: string) => ({ tags: ["users"], summary });

/** `GET /api/users` (members of the caller's organization) and `GET /api/users/me`. */
export const userRoutes = (s: Services, http: HttpConfig) =>
  new Elysia()
    .use(authGuard(s))
    .use(publicUrlOf(http))
    .get(
      "/api/users",
      async ({ auth, query, publicUrl }) => {
        const page = pageFrom(query);
        const r = await s.users.list(auth, page);
        return envelope(publicUrl(), page, { count: r.count, results: r.results.map(toUserView) });
      },
      { query: Query(PageQuery), response: { 200: UserPage, 422: ErrorBody }, detail: detail("Members of your organization") },
    )
    .get("/api/users/me", async ({ auth }) => toUserView(await s.users.me(auth)), { response: UserView, detail: detail("Your account") });
