import { Elysia } from "elysia";
import { healthRoutes } from "./health/routes";
import { errorBody, errorHandler } from "./http/errors";
import type { Services } from "./services";

/** Request bodies above this answer 413. */
export const MAX_BODY_BYTES = 5 * 1024 * 1024;

/** The composition root of the HTTP API: every feature's routes behind one error mapping. */
export function createApp(s: Services) {
  const log = s.deps.log;
  const started = new WeakMap<Request, number>();
  return new Elysia({ strictPath: false, normalize: false })
    .use(errorHandler(log))
    .onRequest(({ request }) => {
      started.set(request, performance.now());
      const length = Number(request.headers.get("content-length") ?? 0);
      if (length > MAX_BODY_BYTES) {
        return new Response(JSON.stringify(errorBody("payload_too_large", "the request body is larger than 5 MB")), {
          status: 413,
          headers: { "content-type": "application/json" },
        });
      }
    })
    .onAfterResponse({ as: "global" }, (ctx) => {
      const { request, set } = ctx;
      const auth = (ctx as { auth?: { userId?: string; orgId?: string } }).auth;
      const t0 = started.get(request);
      log.info("request", {
        method: request.method,
        path: new URL(request.url).pathname,
        status: typeof set.status === "number" ? set.status : 200,
        duration_ms: t0 === undefined ? null : Math.round((performance.now() - t0) * 100) / 100,
        user_id: auth?.userId ?? null,
        org_id: auth?.orgId ?? null,
      });
    })
    .use(healthRoutes(s));
}

export type App = ReturnType<typeof createApp>;
