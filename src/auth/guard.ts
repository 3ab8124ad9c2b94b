import { Elysia } from "elysia";
import { forbidden } from "../errors";
import type { Services } from "../services";
import type { AuthContext } from "./model";

export type { AuthContext } from "./model";

/**
 * Requires `Authorization: Bearer <access token>` on every route of the instance that `.use()`s it,
 * and gives handlers `auth: AuthContext`. Missing, invalid or expired tokens, deactivated users and
 * revoked devices answer 401 `unauthenticated`.
 *
 * The caller is resolved in `derive`, which runs before the query, params and body are validated
 * (`resolve` would run after): a request without a valid token is 401 even when it is also invalid.
 *
 *     new Elysia().use(authGuard(s)).get("/api/things", ({ auth }) => s.things.list(auth))
 */
export const authGuard = (s: Pick<Services, "auth">) =>
  new Elysia().derive({ as: "scoped" }, async ({ headers }) => ({ auth: await s.auth.authenticate(headers.authorization) }));

/**
 * Like `authGuard`, but a token whose session has already ended is accepted: for logout, so that a
 * retry after a lost answer is answered 204 again (the session stays ended).
 */
export const logoutGuard = (s: Pick<Services, "auth">) =>
  new Elysia().derive({ as: "scoped" }, async ({ headers }) => ({ auth: await s.auth.authenticate(headers.authorization, { endedSessionOk: true }) }));

/** Callers refused by {@link adminGuard} (authenticated, then 403), so that the request log still names them. */
const refusedCallers = new WeakMap<Request, AuthContext>();

/** The authenticated caller of a request the admin guard refused, if any (for the request log). */
export const refusedCaller = (request: Request): AuthContext | undefined => refusedCallers.get(request);

/** Like `authGuard`, and members get 403 `forbidden` (also before validation): for routes only organization admins may call. */
export const adminGuard = (s: Pick<Services, "auth">) =>
  new Elysia().derive({ as: "scoped" }, async ({ headers, request }) => {
    const auth = await s.auth.authenticate(headers.authorization);
    if (auth.role !== "admin") refusedCallers.set(request, auth);
    requireAdmin(auth);
    return { auth };
  });

/** Throws 403 `forbidden` unless the caller is an admin of their organization (the check of {@link adminGuard}). */
function requireAdmin(auth: AuthContext): void {
  if (auth.role !== "admin") throw forbidden("only organization admins may do this");
}
