import { Elysia, t } from "elysia";
import pkg from "../../package.json";
import type { Services } from "../services";

export const HealthResponse = t.Object({
  status: t.Literal("ok"),
  database: t.Union([t.Literal("sqlite"), t.Literal("postgres")]),
  version: t.String(),
});

/** `GET /api/health`: public liveness and the database in use. */
export const healthRoutes = (s: Services) =>
  new Elysia().get(
    "/api/health",
    () => ({ status: "ok" as const, database: s.deps.db.dialect, version: pkg.version }),
    { response: HealthResponse, detail: { tags: ["operations"], summary: "Liveness and database kind" } },
  );
