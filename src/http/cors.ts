/**
 * CORS for web clients served from another origin (`CORS_ORIGINS`, src/wire/cors.ts). Off (no hook at
 * all) when no origin is configured. Otherwise every answer to a request from an allowed origin names
 * it in `Access-Control-Allow-Origin` (`*` on every answer, with or without `Origin`, when every origin is allowed) and exposes the headers
 * clients read; a browser's preflight (`OPTIONS` with `Access-Control-Request-Method`) from an allowed
 * origin to a known path answers 204 with that path's methods, derived from the registered routes as
 * the 405's `Allow` is. Anything else is answered as without CORS: a preflight from another origin is
 * the 405 of any `OPTIONS`, an unknown path 404. Tokens are bearer headers, never cookies: no
 * credentials mode (`Access-Control-Allow-Credentials` is never sent).
 */
import { Elysia } from "elysia";
import type { CorsOrigins } from "../wire/cors";
import { allowedMethods, type RegisteredRoute } from "./methods";

/** The request headers a client's page may send (the bearer token, a JSON body, the conditional headers). */
const ALLOWED_HEADERS = "Authorization, Content-Type, If-Match, If-None-Match";
/** The answer headers a client's page may read besides the safelisted ones. */
const EXPOSED_HEADERS = "ETag, Location, Retry-After, Allow, WWW-Authenticate";
/** How long a browser may keep a preflight's answer, in seconds (Chromium's maximum). */
const MAX_AGE = "7200";

/**
 * The `Access-Control-Allow-Origin` for a request from `origin` (its `Origin` header), or null: not allowed.
 * `*` is every request's, one without `Origin` too: every answer is then the same, and a cache that
 * kept one for a request without `Origin` (a docs asset, a list) gives a page one it may read.
 */
function allowOrigin(origins: CorsOrigins, origin: string | null): string | null {
  if (origins === "*") return "*";
  if (origin === null) return null;
  return origins.has(origin) ? origin : null;
}

/**
 * The CORS hooks, for `origins` (none: a plugin without hooks). `routes` are the app's registered
 * routes, read when a preflight comes. Used before the error handler: it answers a preflight,
 * which no route takes, before the error handler makes it a 405.
 */
export function cors(origins: CorsOrigins, routes: () => readonly RegisteredRoute[]) {
  const plugin = new Elysia();
  if (origins !== "*" && origins.size === 0) return plugin;
  return plugin
    .onRequest(({ request, set }) => {
      // Caches must not give one origin's answer to another (with `*` every answer is the same).
      if (origins !== "*") set.headers.vary = "Origin";
      const allowed = allowOrigin(origins, request.headers.get("origin"));
      if (allowed === null) return;
      set.headers["access-control-allow-origin"] = allowed;
      set.headers["access-control-expose-headers"] = EXPOSED_HEADERS;
    })
    .onError({ as: "global" }, ({ code, request, set }) => {
      if (code !== "NOT_FOUND" || request.method !== "OPTIONS" || !request.headers.has("access-control-request-method")) return;
      // A preflight comes from a page: an OPTIONS without Origin is the 405 it always was, whatever `origins`.
      const origin = request.headers.get("origin");
      if (origin === null || allowOrigin(origins, origin) === null) return;
      const methods = allowedMethods(routes(), new URL(request.url).pathname);
      if (methods.length === 0) return;
      set.headers["access-control-allow-methods"] = methods.join(", ");
      set.headers["access-control-allow-headers"] = ALLOWED_HEADERS;
      set.headers["access-control-max-age"] = MAX_AGE;
      set.status = 204;
      return new Response(null, { status: 204 });
    });
}
