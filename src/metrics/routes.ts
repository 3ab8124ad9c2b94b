import { Elysia, t } from "elysia";
import { ErrorBody } from "../http/errors";
import { adminGuard } from "../auth/guard";
import { type HttpConfig, publicUrlOf } from "../http/public-url";
import type { Services } from "../services";
import { envelope, pageFrom } from "../wire/pagination";
import { HourlyMetricsPage, HourlyMetricsQuery, MetricsQuery, MetricsReport } from "./model";
import { PROMETHEUS_CONTENT_TYPE } from "./prometheus";

/**
 * True when the client prefers text (Prometheus sends `text/plain` or OpenMetrics) to JSON: the
 * highest quality (`q`, 1 when absent) it gives a text type (`text/plain`, any `text` type, OpenMetrics) is
 * above 0 and above the one it gives JSON (`application/json` or any `application` type); a tie, the
 * wildcard of every type alone included, answers JSON, the default.
 */
export function wantsPrometheus(accept: string | undefined): boolean {
  let text = 0;
  let json = 0;
  for (const range of (accept ?? "").toLowerCase().split(",")) {
    const [type, ...params] = range.split(";").map((p) => p.trim());
    const q = params.find((p) => p.startsWith("q="));
    const quality = q === undefined ? 1 : Number(q.slice(2));
    if (!(quality >= 0 && quality <= 1)) continue;
    if (type === "text/plain" || type === "text/*" || type === "application/openmetrics-text") text = Math.max(text, quality);
    else if (type === "application/json" || type === "application/*") json = Math.max(json, quality);
  }
  return text > 0 && text > json;
}

/**
 * Organization admins only: `GET /api/metrics?window=24h` (JSON, or Prometheus text with
 * `Accept: text/plain`) and `GET /api/metrics/hourly` (the stored hourly snapshots, JSON only).
 */
export const metricsRoutes = (s: Services, http: HttpConfig) =>
  new Elysia()
    .use(adminGuard(s))
    .use(publicUrlOf(http))
    .get(
      "/api/metrics",
      async ({ auth, query, headers, set }) => {
        // The answer's format follows Accept: a cache must not give one format's answer for the other.
        set.headers.vary = typeof set.headers.vary === "string" && set.headers.vary !== "" ? `${set.headers.vary}, Accept` : "Accept";
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
    )
    .get(
      "/api/metrics/hourly",
      async ({ auth, query, publicUrl }) => {
        const page = pageFrom(query);
        return envelope(publicUrl(), page, await s.metrics.hourly(auth.orgId, query, page));
      },
      {
        query: HourlyMetricsQuery,
        response: { 200: HourlyMetricsPage, 403: ErrorBody, 422: ErrorBody },
        detail: {
          tags: ["operations"],
          summary: "Hourly sync metrics of the caller's organization (admins)",
          description:
            "The hours the sync-metrics job stored, newest first, kept for SYNC_LOG_RETENTION_DAYS. from/to: only the hours whose end lies in (from, to]. JSON only, whatever Accept says.",
        },
      },
    );
