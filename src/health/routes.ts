import { Elysia } from "elysia";
import { ErrorBody } from "../http/errors";
import type { Services } from "../services";
import { HealthResponse } from "./model";

/** `GET /api/health`: public liveness, the database in use, migration state and the latest job runs. */
export const healthRoutes = (s: Services) =>
  new Elysia().get("/api/health", () => s.health.check(), {
    response: { 200: HealthResponse, 503: ErrorBody },
    detail: { tags: ["operations"], summary: "Liveness, database kind, migrations and latest job runs" },
  });
