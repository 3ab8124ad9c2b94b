import { Elysia } from "elysia";
import { authenticateBeforeBody, guardedRoutes, refusedCaller } from "./auth/guard";
import { authRoutes } from "./auth/routes";
import { commentRoutes } from "./comments/routes";
import { deviceRoutes } from "./devices/routes";
import { docsRoutes } from "./docs/routes";
import { healthRoutes } from "./health/routes";
import { EMPTY_BODY, isOversized, MAX_ANONYMOUS_BODY_BYTES, MAX_BODY_BYTES, parseJsonBody, payloadTooLarge, refuseNonObjectBody } from "./http/body";
import { clientAddress } from "./wire/client-address";
import { noneMatch } from "./wire/conditional";
import { NOT_UTF8_REASON, REPEATED_REASON, repeatedParameter, undecodableParameter } from "./wire/query";
import { cors } from "./http/cors";
import { errorHandler, failureOf } from "./http/errors";
import { declaredQueries } from "./http/declared-queries";
import { type RegisteredRoute, routeOf } from "./http/methods";
import { namedDevice } from "./http/named-device";
import { hasInvalidHost, invalidHost, originOf } from "./http/origin";
import type { HttpConfig } from "./http/public-url";
import { invalid } from "./errors";
import { lowerBodyIds, lowerParamIds } from "./ids";
import type { Logger } from "./log/logger";
import { metricsRoutes } from "./metrics/routes";
import { projectRoutes } from "./projects/routes";
import type { Services } from "./services";
import { syncRoutes } from "./sync/routes";
import { taskRoutes } from "./tasks/routes";
import { userRoutes } from "./users/routes";

/** What the HTTP layer is built from besides the services. */
export interface AppOptions {
  config: HttpConfig;
  /** Request log lines and unexpected errors. */
  log: Logger;
}

/** The composition root of the HTTP API: every feature's routes behind one error mapping. */
export function createApp(s: Services, { config, log }: AppOptions) {
  const started = new WeakMap<Request, number>();
  const devices = new WeakMap<Request, string>(); // the device a request names, for its log line
  const clients = new WeakMap<Request, string>(); // who sent it, read on arrival (Bun forgets the peer once answered)
  const declared = declaredQueries(() => app.routes);
  const callerCheckOf = guardedRoutes(() => app.routes);
  // The body limit the 413 of a declared size names: a route that takes no token (login, refresh) has the smaller one.
  const bodyLimitOf = (request: Request): number => {
    const route = routeOf(app.routes, request.method, new URL(request.url).pathname);
    const routed = route !== null && app.routes.some((r) => r.method === request.method && r.path === route);
    return routed && callerCheckOf(request.method, route) === null ? MAX_ANONYMOUS_BODY_BYTES : MAX_BODY_BYTES;
  };
  const app = new Elysia({ strictPath: false, normalize: false })
    .use(cors(config.corsOrigins, (): readonly RegisteredRoute[] => app.routes))
    // A request no route matches: 405 when its path is a route's with other methods (read then: every route is registered).
    .use(errorHandler(log, (): readonly RegisteredRoute[] => app.routes))
    .onRequest(async ({ request, set }) => {
      started.set(request, performance.now());
      clients.set(request, clientAddress(originOf(request, app.server).peer, request.headers.get("x-forwarded-for"), config.trustedProxies));
      // No browser may read an answer as another type than it says (a JSON answer echoes stored text).
      set.headers["x-content-type-options"] = "nosniff";
      if (hasInvalidHost(request)) throw invalidHost();
      if (isOversized(request)) throw payloadTooLarge(bodyLimitOf(request)); // by its declared size: nothing read
    })
    // The token first (Elysia parses before any derive): without one, 401 and the body is never read.
    // Then JSON only, strict UTF-8, bounded nesting, malformed JSON refused even where the body is optional;
    // a route without a token (login, refresh) takes small bodies only.
    .onParse({ as: "global" }, async ({ request, route }) => {
      const check = callerCheckOf(request.method, route);
      if (check === null) return parseJsonBody(request, MAX_ANONYMOUS_BODY_BYTES);
      await authenticateBeforeBody(check, request);
      return parseJsonBody(request, MAX_BODY_BYTES);
    })
    .onTransform({ as: "global" }, (ctx) => {
      // Before validation: an empty body is no body (sent chunked too), and ids in any letter case name the same record.
      if (ctx.body === EMPTY_BODY) ctx.body = undefined;
      lowerParamIds(ctx.params);
      lowerParamIds(ctx.query);
      lowerBodyIds(ctx.body);
      const device = namedDevice(ctx.body, ctx.query);
      if (device !== null) devices.set(ctx.request, device);
    })
    .onBeforeHandle({ as: "global" }, ({ body, request, route }) => {
      // After authentication (a caller without a token is 401 first, as for any invalid query).
      refuseNonObjectBody(body); // 422: an optional lock body of 2, "2", [] or null is not "no body"
      const names = declared(request.method, route);
      const repeated = repeatedParameter(request.url, names);
      if (repeated !== null) throw invalid({ [repeated]: REPEATED_REASON });
      const undecodable = undecodableParameter(request.url, names);
      if (undecodable !== null) throw invalid({ [undecodable]: NOT_UTF8_REASON }, `invalid query: ${undecodable}`);
    })
    .onAfterHandle({ as: "global" }, ({ request, set }) => {
      // A record the client already holds (its ETag in If-None-Match): 304 without the record.
      const etag = set.headers.etag;
      if ((request.method === "GET" || request.method === "HEAD") && typeof etag === "string" && noneMatch(request.headers.get("if-none-match"), etag)) {
        set.status = 304;
        return new Response(null, { status: 304, headers: { etag } });
      }
    })
    .onAfterResponse({ as: "global" }, (ctx) => {
      const { request, set } = ctx;
      const auth = (ctx as { auth?: { userId?: string; orgId?: string } }).auth ?? refusedCaller(request);
      const t0 = started.get(request);
      const status = typeof set.status === "number" ? set.status : 200;
      const elapsedMs = t0 === undefined ? null : performance.now() - t0;
      const path = new URL(request.url).pathname;
      // A request answered without routing (413, 400, 405) is counted under the route of its path.
      const route = ctx.route || routeOf(app.routes, request.method, path) || "unmatched";
      s.metrics.http.observe(request.method, route, status, (elapsedMs ?? 0) / 1000);
      log.info("request", {
        method: request.method,
        path,
        status,
        duration_ms: elapsedMs === null ? null : Math.round(elapsedMs * 100) / 100,
        user_id: auth?.userId ?? null,
        org_id: auth?.orgId ?? null,
        device_id: devices.get(request) ?? null,
        // Who sent it (the address the login rate limit counts) and, when refused, why (the error body's code and message).
        client: clients.get(request) ?? null,
        error: failureOf(request),
      });
    })
    .use(docsRoutes())
    .use(healthRoutes(s))
    .use(authRoutes(s, config))
    .use(userRoutes(s, config))
    .use(deviceRoutes(s, config))
    .use(metricsRoutes(s, config))
    .use(projectRoutes(s, config))
    .use(taskRoutes(s, config))
    .use(commentRoutes(s, config))
    .use(syncRoutes(s, config));
  return app;
}

export type App = ReturnType<typeof createApp>;
