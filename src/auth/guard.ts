import { Elysia } from "elysia";
import { forbidden } from "../errors";
import type { Services } from "../services";
import type { AuthContext } from "./model";

export type { AuthContext } from "./model";

/** How a guard finds the caller of a request from its `Authorization` header (throws 401, or 403 for the admin guard). */
type CallerCheck = (authorization: string | null | undefined, request: Request) => Promise<AuthContext>;

/** Where a guard's derive function carries its check, for {@link guardedRoutes} to find in a route's hooks. */
const CHECK = Symbol("caller check");

/** Callers found before their request's body was read ({@link authenticateBeforeBody}): the guard's derive takes them as they are. */
const earlyCallers = new WeakMap<Request, AuthContext>();

/**
 * A guard: `derive` gives handlers `auth`, the caller found before the body was read or else
 * `check`ed now (a route without a body: GET, HEAD). Either way the token is verified once a request.
 */
function guardOf(check: CallerCheck) {
  const derive = async ({ headers, request }: { headers: Record<string, string | undefined>; request: Request }) => ({
    auth: earlyCallers.get(request) ?? (await check(headers.authorization, request)),
  });
  return new Elysia().derive({ as: "scoped" }, Object.assign(derive, { [CHECK]: check }));
}

/** A route as Elysia lists it, with its transform hooks (where a guard's derive sits). */
interface RouteWithHooks {
  method: string;
  path: string;
  hooks?: { transform?: readonly { fn?: unknown }[] };
}

/**
 * The caller check of the guard each route is behind, by method and route path, or null for a route
 * that needs no token (login, refresh, health…), each looked up in `routes()` once.
 */
export function guardedRoutes(routes: () => readonly RouteWithHooks[]): (method: string, path: string) => CallerCheck | null {
  const cache = new Map<string, CallerCheck | null>();
  return (method, path) => {
    const key = `${method} ${path}`;
    let check = cache.get(key);
    if (check === undefined) {
      const route = routes().find((r) => r.method === method && r.path === path);
      const fn = route?.hooks?.transform?.find((h) => typeof h.fn === "function" && CHECK in h.fn)?.fn as { [CHECK]: CallerCheck } | undefined;
      check = fn?.[CHECK] ?? null;
      cache.set(key, check);
    }
    return check;
  };
}

/**
 * Runs a route's guard `check` before its body is read (the app's body parser, src/app.ts: Elysia
 * parses the body before any derive): a request without a valid token answers 401 whatever its body,
 * which is then never read. The caller is kept for the guard's derive.
 */
export async function authenticateBeforeBody(check: CallerCheck, request: Request): Promise<void> {
  earlyCallers.set(request, await check(request.headers.get("authorization"), request));
}

/**
 * Requires `Authorization: Bearer <access token>` on every route of the instance that `.use()`s it,
 * and gives handlers `auth: AuthContext`. Missing, invalid or expired tokens, deactivated users and
 * revoked devices answer 401 `unauthenticated`.
 *
 * A route with a body is authenticated before its body is read ({@link authenticateBeforeBody});
 * any other in `derive`, which runs before the query and params are validated (`resolve` would run
 * after): a request without a valid token is 401 even when it is also invalid.
 *
 *     new Elysia().use(authGuard(s)).get("/api/things", ({ auth }) => s.things.list(auth))
 */
export const authGuard = (s: Pick<Services, "auth">) => guardOf((authorization) => s.auth.authenticate(authorization));

/**
 * Like `authGuard`, but a token whose session has already ended is accepted: for logout, so that a
 * retry after a lost answer is answered 204 again (the session stays ended).
 */
export const logoutGuard = (s: Pick<Services, "auth">) => guardOf((authorization) => s.auth.authenticate(authorization, { endedSessionOk: true }));

/** Callers refused by {@link adminGuard} (authenticated, then 403), so that the request log still names them. */
const refusedCallers = new WeakMap<Request, AuthContext>();

/**
 * The authenticated caller of a request that did not reach its handler, if any (for the request log):
 * refused by the admin guard, or authenticated before a body that was then refused.
 */
export const refusedCaller = (request: Request): AuthContext | undefined => refusedCallers.get(request) ?? earlyCallers.get(request);

/** Like `authGuard`, and members get 403 `forbidden` (also before validation): for routes only organization admins may call. */
export const adminGuard = (s: Pick<Services, "auth">) =>
  guardOf(async (authorization, request) => {
    const auth = await s.auth.authenticate(authorization);
    if (auth.role !== "admin") refusedCallers.set(request, auth);
    requireAdmin(auth);
    return auth;
  });

/** Throws 403 `forbidden` unless the caller is an admin of their organization (the check of {@link adminGuard}). */
function requireAdmin(auth: AuthContext): void {
  if (auth.role !== "admin") throw forbidden("only organization admins may do this");
}
