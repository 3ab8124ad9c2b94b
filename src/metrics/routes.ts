import { Elysia, t } from "elysia";
import { ErrorBody } from "../http/errors";
import { adminGuard } from "../auth/guard";
import type { Services } from "../services";
import { MetricsQuery, MetricsReport } from "./model";
import { PROMETHEUS_CONTENT_TYPE } from "./prometheus";

/** True when the client asks for text (Prometheus sends `text/plain` or OpenMetrics) rather than JSON. */
export function wantsPrometheus(accept: string | undefined): boolean {
  const a = (accept ?? "").toLowerCase();
  return (a.includes("text/plain") || a.includes("application/openmetrics-text")) && !a.includes("application/json");
}

/** `GET /api/metrics?window=24h`: organization admins only; JSON, or Prometheus text with `Accept: text/plain`. */
export const metricsRoutes = (s: Services) =>
  new Elysia().use(adminGuard(s)).get(
    "/api/metrics",
    async ({ auth, query, headers, set }) => {
      if (!wantsPrometheus(headers.accept)) return s.metrics.report(auth.orgId, query.window);
      set.headers["content-type"] = PROMETHEUS_CONTENT_TYPE;
      return s.metrics.prometheus(auth.orgId, query.window);
    },
    {
      query: MetricsQuery,
      response: { 200: t.Union([MetricsReport, t.String({ description: "Prometheus text format" })]), 403: ErrorBody, 422: ErrorBody },
      detail: {
        tags: ["operations"],
        summary: "Sync metrics of the caller's organization (admins)",
        description:
          "JSON by default; the Prometheus text format (with this instance's HTTP request counts and latency histograms) with `Accept: text/plain`.",
      },
    },
  );
